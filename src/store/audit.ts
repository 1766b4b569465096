// The audit trail in SQLite. Each record carries the hash of the record before it, so an edit or a
// deletion in the middle breaks the chain at that point (tamper evidence; `walk` finds it).
// The previous hash is read inside the writing transaction: two processes on one database (serve and
// an `exec`) still build one chain.
//
// One canonical form serves the database and the JSON-lines file (src/core/audit-file.ts): a record is
// hashed as the JSON text of its line without `hash`, members in LINE_KEYS order, no whitespace:
//   hash = sha256_hex(JSON.stringify({ id, timestamp, event_type, ..., model_version, prev_hash }))
// and the line is that object with `hash` added last. So a line can be checked on its own, on a copy of
// the file, by anyone: drop `,"hash":"…"` from the end and hash the rest.
import { createHash } from 'node:crypto';
import { patternRedactor } from '../core/redact.ts';
import { CLEAR_TEXT, type TextCodec } from './crypto.ts';
import type { Db } from './db.ts';

/** What happened; the seed's fields plus who, where and the policy decision. */
export interface AuditEvent {
  /** model_invocation, command_execution, policy_denial, approval_request, admin_action, config_reload, workflow_run, key_change */
  readonly eventType: string;
  readonly userId: string | null;
  readonly platform: string | null;
  readonly role: string | null;
  readonly conversation: string | null;
  readonly decision: 'allowed' | 'denied' | null;
  readonly input: string | null;
  readonly output: string | null;
  readonly durationMs: number | null;
  readonly modelVersion: string | null;
}

export interface AuditRecord extends AuditEvent {
  readonly id: number;
  /** ms since epoch. */
  readonly timestamp: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** A record as written to the file, printed by `audit tail --json` and served by GET /v1/audit. */
export interface AuditLine {
  readonly id: number;
  /** Seconds since epoch, as the seed shows it; milliseconds kept as the fraction. */
  readonly timestamp: number;
  readonly event_type: string;
  readonly user_id: string | null;
  readonly platform: string | null;
  readonly role: string | null;
  readonly conversation: string | null;
  readonly decision: 'allowed' | 'denied' | null;
  readonly input: string | null;
  readonly output: string | null;
  readonly duration_ms: number | null;
  readonly model_version: string | null;
  readonly prev_hash: string;
  readonly hash: string;
}

/** The members of a line in their fixed order (the hash covers all but the last). */
export const LINE_KEYS = [
  'id', 'timestamp', 'event_type', 'user_id', 'platform', 'role', 'conversation', 'decision', 'input', 'output',
  'duration_ms', 'model_version', 'prev_hash', 'hash',
] as const satisfies readonly (keyof AuditLine)[];

export interface AuditFilter {
  readonly userId?: string;
  readonly platform?: string;
  readonly eventType?: string;
  /** ms since epoch. */
  readonly since?: number;
  readonly limit: number;
}

/** Where committed records are copied (the JSON-lines file). */
export interface AuditSink {
  /**
   * Copies the committed records it does not have yet, up to and including `upTo`. Runs inside a write
   * transaction, so processes sharing the database copy one at a time, in chain order.
   */
  catchUp(source: AuditSource, upTo: number): void;
}

/** What a sink reads from the database. */
export interface AuditSource {
  /** Records with afterId < id <= upTo, oldest first, at most `limit`. */
  range(afterId: number, upTo: number, limit: number): AuditRecord[];
  /** The stored hash of record `id`, or undefined when there is none. */
  hashOf(id: number): string | undefined;
}

export interface ChainBreak {
  /** The first record that is wrong (or missing). */
  readonly brokenAt: number;
  readonly reason: string;
}

export interface ChainReport {
  readonly records: number;
  readonly firstId: number | null;
  readonly lastId: number | null;
  readonly broken: ChainBreak | null;
}

export const GENESIS_HASH = '0'.repeat(64);
/** Input and output are kept to this many characters: the trail says what happened, it is not a transcript. */
const FIELD_CAP = 4000;

const cap = (s: string | null) => (s !== null && s.length > FIELD_CAP ? `${s.slice(0, FIELD_CAP)}…` : s);
/** A lone surrogate would come back from SQLite as U+FFFD and no longer match its hash. */
const wellFormed = (s: string | null) => (s === null ? null : s.toWellFormed());

export function toLine(r: AuditRecord): AuditLine {
  return {
    id: r.id, timestamp: r.timestamp / 1000, event_type: r.eventType, user_id: r.userId, platform: r.platform, role: r.role,
    conversation: r.conversation, decision: r.decision, input: r.input, output: r.output, duration_ms: r.durationMs,
    model_version: r.modelVersion, prev_hash: r.prevHash, hash: r.hash,
  };
}

/** The text that is hashed: the line without `hash`. */
export function canonicalText(l: Omit<AuditLine, 'hash'>): string {
  return JSON.stringify(Object.fromEntries(LINE_KEYS.slice(0, -1).map((k) => [k, l[k as Exclude<keyof AuditLine, 'hash'>]])));
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const ERASED = /^\[erased sha256:([0-9a-f]{64})\]$/;

/**
 * What an erased input/output is replaced by (`memory forget`): the text goes, its digest stays, so the
 * record still hashes the same and the chain still verifies.
 */
export function erasedMark(text: string): string {
  return ERASED.test(text) ? text : `[erased sha256:${sha256(text)}]`;
}

/**
 * The hash of a line: SHA-256 of its canonical text with input and output replaced by their own SHA-256
 * (an erased field carries that digest already). Hashing digests, not text, is what lets a person's
 * words be erased from the trail without breaking the chain.
 */
export function lineHash(l: Omit<AuditLine, 'hash'>): string {
  const digest = (v: string | null) => (v === null ? null : (ERASED.exec(v)?.[1] ?? sha256(v)));
  return sha256(canonicalText({ ...l, input: digest(l.input), output: digest(l.output) }));
}

/** One JSON line (no newline), members in LINE_KEYS order. */
export function formatLine(l: AuditLine): string {
  return `${canonicalText(l).slice(0, -1)},"hash":${JSON.stringify(l.hash)}}`;
}

/**
 * Follows a chain record by record and stops at the first problem. `fromGenesis`: the chain must start
 * at record 1 (the database); otherwise it may start anywhere (a file whose older parts were rotated
 * away), but a record 1 must still link to the genesis hash.
 */
export class ChainCheck {
  #prev: { id: number; hash: string } | undefined;
  #first: number | null = null;
  #count = 0;
  readonly #fromGenesis: boolean;

  constructor(opts: { fromGenesis: boolean }) {
    this.#fromGenesis = opts.fromGenesis;
  }

  /** The problem with `l` as the next record, or null (then `l` becomes the record before the next). */
  next(l: AuditLine): ChainBreak | null {
    const broken = this.#problem(l);
    if (broken) return broken;
    this.#prev = { id: l.id, hash: l.hash };
    this.#first ??= l.id;
    this.#count++;
    return null;
  }

  #problem(l: AuditLine): ChainBreak | null {
    if (lineHash(l) !== l.hash) return { brokenAt: l.id, reason: 'its content does not match its hash' };
    const prev = this.#prev;
    if (!prev) {
      if (this.#fromGenesis && l.id !== 1) return { brokenAt: 1, reason: `missing: the chain starts at record ${l.id}` };
      if (l.id === 1 && l.prev_hash !== GENESIS_HASH) return { brokenAt: 1, reason: 'does not link to the start of the chain' };
      return null;
    }
    if (l.id > prev.id + 1) return { brokenAt: prev.id + 1, reason: `missing: record ${prev.id} is followed by record ${l.id}` };
    if (l.id <= prev.id) return { brokenAt: l.id, reason: `out of order: comes after record ${prev.id}` };
    if (l.prev_hash !== prev.hash) return { brokenAt: l.id, reason: 'does not link to the record before it' };
    return null;
  }

  report(broken: ChainBreak | null): ChainReport {
    return { records: this.#count, firstId: this.#first, lastId: this.#prev?.id ?? null, broken };
  }
}

interface RawRow {
  id: number; timestamp: number; event_type: string; user_id: string | null; platform: string | null; role: string | null;
  conversation: string | null; decision: 'allowed' | 'denied' | null; input: string | null; output: string | null;
  duration_ms: number | null; model_version: string | null; prev_hash: string; hash: string;
}


export interface AuditOutputs {
  /** Applied to input and output before they are stored and hashed. */
  readonly redact: (text: string) => string;
  /** Where committed records are copied; undefined when `audit.file` is not set. */
  readonly sink: AuditSink | undefined;
}

export class AuditLog implements AuditSource {
  readonly #last;
  readonly #insert;
  readonly #range;
  readonly #hashOf;
  readonly #db: Db;
  readonly #codec: TextCodec;
  // Until serve/exec attach the config's secrets, credentials are still cut out by their look.
  #outputs: AuditOutputs = { redact: (s) => patternRedactor.redact(s), sink: undefined };

  /**
   * `codec` encrypts input and output at rest (security.encryption_key). The hash is over the clear
   * text, so re-encrypting under a new key leaves the chain as it was.
   */
  constructor(db: Db, codec: TextCodec = CLEAR_TEXT) {
    this.#db = db;
    this.#codec = codec;
    this.#last = db.prepare('SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1');
    this.#insert = db.prepare(
      `INSERT INTO audit (id, timestamp, event_type, user_id, platform, role, conversation, decision, input, output,
                          duration_ms, model_version, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#range = db.prepare('SELECT * FROM audit WHERE id > ? AND id <= ? ORDER BY id LIMIT ?');
    this.#hashOf = db.prepare('SELECT hash FROM audit WHERE id = ?').pluck();
  }

  /**
   * Erases the input and output text of a person's records (keeping their digests: the chain still
   * verifies); returns how many records changed. Must run inside a write transaction; the JSON-lines
   * copy is erased by AuditFile.erase in the same one.
   */
  erase(person: { readonly userId: string; readonly platform?: string }): number {
    const rows = (person.platform === undefined
      ? this.#db.prepare('SELECT id, input, output FROM audit WHERE user_id = ?').all(person.userId)
      : this.#db.prepare('SELECT id, input, output FROM audit WHERE user_id = ? AND platform = ?').all(person.userId, person.platform)) as { id: number; input: string | null; output: string | null }[];
    const update = this.#db.prepare('UPDATE audit SET input = ?, output = ? WHERE id = ?');
    let n = 0;
    for (const r of rows) {
      const input = this.#open(r.input);
      const output = this.#open(r.output);
      const ei = input === null ? null : erasedMark(input);
      const eo = output === null ? null : erasedMark(output);
      if (ei === input && eo === output) continue;
      update.run(this.#seal(ei), this.#seal(eo), r.id);
      n++;
    }
    return n;
  }

  /** Sets the redaction (the config's secrets) and the file copy; called again after a config reload. */
  attach(outputs: AuditOutputs): void {
    this.#outputs = outputs;
  }

  get mirrored(): boolean {
    return this.#outputs.sink !== undefined;
  }

  /** Appends one record; must run inside a write transaction (Store.write). */
  append(e: AuditEvent, now: number): AuditRecord {
    const last = this.#last.get() as { id: number; hash: string } | undefined;
    // Redacted before capped: a cut must never leave the first half of a secret behind.
    const text = (s: string | null) => cap(wellFormed(s === null ? null : this.#outputs.redact(s)));
    const base = {
      eventType: e.eventType.toWellFormed(), userId: wellFormed(e.userId), platform: wellFormed(e.platform), role: wellFormed(e.role),
      conversation: wellFormed(e.conversation), decision: e.decision, input: text(e.input), output: text(e.output),
      durationMs: e.durationMs === null ? null : Math.round(e.durationMs), modelVersion: wellFormed(e.modelVersion),
      id: (last?.id ?? 0) + 1, timestamp: Math.trunc(now), prevHash: last?.hash ?? GENESIS_HASH,
    };
    const hash = lineHash(toLine({ ...base, hash: '' }));
    this.#insert.run(base.id, base.timestamp, base.eventType, base.userId, base.platform, base.role, base.conversation, base.decision,
      this.#seal(base.input), this.#seal(base.output), base.durationMs, base.modelVersion, base.prevHash, hash);
    return { ...base, hash };
  }

  #seal(s: string | null): string | null {
    return s === null ? null : this.#codec.encrypt(s);
  }

  #open(s: string | null): string | null {
    return s === null ? null : this.#codec.decrypt(s);
  }

  #toRecord(r: RawRow): AuditRecord {
    return {
      id: r.id, timestamp: r.timestamp, eventType: r.event_type, userId: r.user_id, platform: r.platform, role: r.role,
      conversation: r.conversation, decision: r.decision, input: this.#open(r.input), output: this.#open(r.output),
      durationMs: r.duration_ms, modelVersion: r.model_version, prevHash: r.prev_hash, hash: r.hash,
    };
  }

  /** Copies committed records up to `upTo` to the sink, if any; must run inside a write transaction. */
  mirror(upTo: number): void {
    this.#outputs.sink?.catchUp(this, upTo);
  }

  range(afterId: number, upTo: number, limit: number): AuditRecord[] {
    return (this.#range.all(afterId, upTo, limit) as RawRow[]).map((r) => this.#toRecord(r));
  }

  hashOf(id: number): string | undefined {
    return this.#hashOf.get(id) as string | undefined;
  }

  /** The newest record's id (0 when there is none). */
  lastId(): number {
    return (this.#last.get() as { id: number } | undefined)?.id ?? 0;
  }

  /** The newest records matching `f`, oldest first. */
  tail(f: AuditFilter): AuditRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.userId !== undefined) { where.push('user_id = ?'); args.push(f.userId); }
    if (f.platform !== undefined) { where.push('platform = ?'); args.push(f.platform); }
    if (f.eventType !== undefined) { where.push('event_type = ?'); args.push(f.eventType); }
    if (f.since !== undefined) { where.push('timestamp >= ?'); args.push(f.since); }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, f.limit) as RawRow[]).map((r) => this.#toRecord(r)).reverse();
  }

  /** Records since `since`, counted by event and decision (the Auditor's report). */
  summary(since: number): { eventType: string; decision: string | null; count: number; users: number }[] {
    return this.#db.prepare(
      `SELECT event_type AS eventType, decision, count(*) AS count, count(DISTINCT platform || ':' || user_id) AS users
       FROM audit WHERE timestamp >= ? GROUP BY event_type, decision ORDER BY count DESC`,
    ).all(since) as { eventType: string; decision: string | null; count: number; users: number }[];
  }

  /** Walks the whole chain from record 1: how many records hold, and the first that is wrong or missing. */
  walk(): ChainReport {
    const check = new ChainCheck({ fromGenesis: true });
    for (const raw of this.#db.prepare('SELECT * FROM audit ORDER BY id').iterate() as IterableIterator<RawRow>) {
      let record: AuditRecord;
      try {
        record = this.#toRecord(raw);
      } catch (err) {
        // An encrypted value changed on disk no longer authenticates: that record is the broken one.
        return check.report({ brokenAt: raw.id, reason: `its input or output cannot be read: ${(err as Error).message}` });
      }
      const broken = check.next(toLine(record));
      if (broken) return check.report(broken);
    }
    return check.report(null);
  }

  /** The first record whose link or hash is wrong, or null when the whole chain holds. */
  verifyChain(): ChainBreak | null {
    return this.walk().broken;
  }
}
