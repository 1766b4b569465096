// The audit trail as JSON lines (`audit.file`): every record committed to the database is appended as
// one line, in chain order, with size-based rotation (file → file.1 → … → file.N). Log shippers can
// follow it, and a copy kept elsewhere can be checked on its own (`clawdbot audit verify --file`).
//
// The file copies the database rather than the other way round: after each audit commit the sink is
// asked to catch up to that record, inside a write transaction. The database's write lock thereby orders
// the appends of every process sharing it (serve and an exec), records written by a process without a
// sink are copied by the next one that has it, and a failed write is made good by the next record.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ChainCheck, formatLine, LINE_KEYS, toLine, type AuditLine, type AuditSink, type AuditSource } from '../store/audit.ts';
import { eraseInParts, type EraseReport, type Person } from './audit-erase.ts';
import type { AuditConfig } from './config/audit.ts';

/** Bytes read from the end of the file to find its last record: far more than the longest line (~50 KB). */
const TAIL_BYTES = 256 * 1024;
/** Records copied per catch-up: a file far behind (just configured) is filled over a few writes. */
const CATCH_UP_BATCH = 5000;

export class AuditFileError extends Error {
  override name = 'AuditFileError';
}

/** A line that is not an audit record. */
export class AuditLineError extends Error {
  override name = 'AuditLineError';
}

const HASH = /^[0-9a-f]{64}$/;
const isText = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** Parses and checks the shape of one line (not its hash: that is the chain's business). */
export function parseLine(text: string): AuditLine {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AuditLineError('not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AuditLineError('not a JSON object');
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !(LINE_KEYS as readonly string[]).includes(k));
  if (extra.length) throw new AuditLineError(`unexpected member ${extra.join(', ')}`);
  const missing = LINE_KEYS.filter((k) => !(k in o));
  if (missing.length) throw new AuditLineError(`missing ${missing.join(', ')}`);
  const bad = (k: string, what: string) => new AuditLineError(`${k} is not ${what}`);
  if (!Number.isSafeInteger(o.id) || (o.id as number) < 1) throw bad('id', 'a positive whole number');
  if (typeof o.timestamp !== 'number' || !Number.isFinite(o.timestamp)) throw bad('timestamp', 'a number of seconds');
  if (typeof o.event_type !== 'string' || o.event_type === '') throw bad('event_type', 'a non-empty text');
  for (const k of ['user_id', 'platform', 'role', 'conversation', 'input', 'output', 'model_version']) if (!isText(o[k])) throw bad(k, 'a text or null');
  if (o.decision !== null && o.decision !== 'allowed' && o.decision !== 'denied') throw bad('decision', 'allowed, denied or null');
  if (o.duration_ms !== null && !Number.isSafeInteger(o.duration_ms)) throw bad('duration_ms', 'a whole number or null');
  for (const k of ['prev_hash', 'hash']) if (typeof o[k] !== 'string' || !HASH.test(o[k])) throw bad(k, 'a SHA-256 hex digest');
  return o as unknown as AuditLine;
}

/**
 * The file and its rotated parts that exist, oldest first: file.N, …, file.1, file. Every numbered part
 * in the folder counts, not only an unbroken run from file.1: a part deleted from the middle must show
 * as records missing from the chain, not hide the older parts from verify.
 */
export function fileParts(path: string): string[] {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const rotated = names
    .filter((n) => n.startsWith(prefix) && /^[1-9]\d*$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => b - a)
    .map((i) => `${path}.${i}`);
  return existsSync(path) ? [...rotated, path] : rotated;
}

interface LastRecord { readonly id: number; readonly hash: string }

export class AuditFile implements AuditSink {
  readonly #path: string;
  readonly #maxSize: number;
  readonly #keep: number;
  /** What this process last left at the end of the file; valid while the file is still that size. */
  #known: { ino: number; size: number; mtimeMs: number; last: LastRecord } | undefined;
  /** The record a new file starts with, while its first append has not succeeded. */
  #startAt: number | undefined;

  constructor(config: { readonly file: string; readonly maxSize: number; readonly keep: number }) {
    this.#path = config.file;
    this.#maxSize = config.maxSize;
    this.#keep = config.keep;
  }

  static fromConfig(config: AuditConfig): AuditFile | undefined {
    return config.file === undefined ? undefined : new AuditFile({ file: config.file, maxSize: config.maxSize, keep: config.keep });
  }

  catchUp(source: AuditSource, upTo: number): void {
    // Where a new file starts (see below), kept from the first attempt until one succeeds.
    this.#startAt ??= upTo;
    const last = this.#lastWritten();
    if (last && last.id >= upTo) {
      this.#startAt = undefined;
      return; // another process copied it already
    }
    if (last && source.hashOf(last.id) !== last.hash) {
      throw new AuditFileError(`${this.#path} does not continue this database's audit chain (its record ${last.id} is not the database's); move it away and a new file is started`);
    }
    // A new file starts with the record it is first asked for; earlier ones stay in the database. A
    // failed attempt keeps that start: a failed first copy is made good by the next record, like any other.
    const records = source.range(last ? last.id : this.#startAt! - 1, upTo, CATCH_UP_BATCH);
    if (records.length > 0) this.#append(records.map((r) => ({ text: formatLine(toLine(r)), last: { id: r.id, hash: r.hash } })));
    this.#startAt = undefined;
  }

  #append(lines: readonly { text: string; last: LastRecord }[]): void {
    mkdirSync(dirname(this.#path), { recursive: true, mode: 0o700 });
    let fd = openSync(this.#path, 'a+', 0o600);
    try {
      let { size } = fstatSync(fd);
      // A torn last line (power lost mid-write) stays visible to verify, but must not swallow the next one.
      if (size > 0 && !endsWithNewline(fd, size)) size += writeSync(fd, '\n');
      for (const line of lines) {
        const data = Buffer.from(`${line.text}\n`);
        if (size > 0 && size + data.length > this.#maxSize) {
          closeSync(fd);
          this.#rotate();
          fd = openSync(this.#path, 'a+', 0o600);
          size = 0;
        }
        size += writeSync(fd, data);
      }
      const st = fstatSync(fd);
      this.#known = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, last: lines.at(-1)!.last };
    } finally {
      closeSync(fd);
    }
  }

  /** file.(keep-1) → file.keep (the oldest is replaced), …, file → file.1; with keep 0 the file is dropped. */
  #rotate(): void {
    if (this.#keep === 0) {
      unlinkSync(this.#path);
      return;
    }
    for (let i = this.#keep - 1; i >= 1; i--) {
      if (existsSync(`${this.#path}.${i}`)) renameSync(`${this.#path}.${i}`, `${this.#path}.${i + 1}`);
    }
    renameSync(this.#path, `${this.#path}.1`);
  }

  /**
   * `memory forget` for the file and its rotated parts (src/core/audit-erase.ts). Must run inside the
   * database's write transaction, like every append: that orders it with the appends of every process.
   */
  erase(person: Person): EraseReport {
    const report = eraseInParts(fileParts(this.#path), person, parseLine);
    this.#known = undefined;
    return report;
  }

  /** The last complete record in the file (or, when the file is missing or empty, in file.1). */
  #lastWritten(): LastRecord | undefined {
    const stat = statOrUndefined(this.#path);
    const k = this.#known;
    if (stat && k && stat.ino === k.ino && stat.size === k.size && stat.mtimeMs === k.mtimeMs) return k.last;
    return lastRecordIn(this.#path) ?? (this.#keep > 0 ? lastRecordIn(`${this.#path}.1`) : undefined);
  }
}

function statOrUndefined(path: string): { ino: number; size: number; mtimeMs: number } | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function endsWithNewline(fd: number, size: number): boolean {
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, size - 1);
  return b[0] === 0x0a;
}

function lastRecordIn(path: string): LastRecord | undefined {
  const stat = statOrUndefined(path);
  if (!stat || stat.size === 0) return undefined;
  const length = Math.min(stat.size, TAIL_BYTES);
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(length);
  try {
    readSync(fd, buf, 0, length, stat.size - length);
  } finally {
    closeSync(fd);
  }
  // Complete lines only: whatever follows the last newline is a torn write.
  const lines = buf.toString('utf8', 0, buf.lastIndexOf(0x0a) + 1).split('\n').slice(0, -1);
  const text = lines.at(-1);
  if (text === undefined) return undefined; // nothing but a torn line
  try {
    // One newline within the tail read: the line began before it, so it is longer than any record.
    if (lines.length === 1 && length < stat.size) throw new AuditLineError('longer than any record');
    const l = parseLine(text);
    return { id: l.id, hash: l.hash };
  } catch (err) {
    throw new AuditFileError(`the last line of ${path} is not an audit record (${(err as Error).message}); move the file away and a new one is started`);
  }
}

/** Where the file part of a verification stopped. */
export interface FileBreak {
  readonly file: string;
  /** 1-based line number in that file. */
  readonly line: number;
  /** The record concerned, when known. */
  readonly id: number | null;
  readonly reason: string;
}

export interface FileReport {
  readonly parts: readonly string[];
  readonly records: number;
  readonly firstId: number | null;
  readonly lastId: number | null;
  readonly broken: FileBreak | null;
}

/**
 * Walks the file's parts oldest first as one chain, and checks each record against the database's copy
 * of it: a file edited consistently (hashes recomputed) still differs from the database, and a record
 * the database lacks means records were deleted from the database (or the file is another's).
 */
export function verifyFile(path: string, db: AuditSource & { lastId(): number }): FileReport {
  const parts = fileParts(path);
  const check = new ChainCheck({ fromGenesis: false });
  const dbLast = db.lastId();
  const done = (broken: FileBreak | null): FileReport => ({ parts, ...check.report(null), broken });
  let expected: number | null = null;
  for (const file of parts) {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const [i, text] of lines.entries()) {
      const at = { file, line: i + 1 };
      let l: AuditLine;
      try {
        l = parseLine(text);
      } catch (err) {
        return done({ ...at, id: expected, reason: `not an audit record (${(err as Error).message})` });
      }
      const broken = check.next(l);
      if (broken) return done({ ...at, id: broken.brokenAt, reason: broken.reason });
      const stored = db.hashOf(l.id);
      if (stored === undefined) {
        return done({ ...at, id: l.id, reason: `not in the database, which ends at record ${dbLast} (records deleted from the database, or the file of another one)` });
      }
      if (stored !== l.hash) return done({ ...at, id: l.id, reason: `differs from record ${l.id} in the database` });
      expected = l.id + 1;
    }
  }
  return done(null);
}
