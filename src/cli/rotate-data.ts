// `clawdbot keys rotate-data --new-key-env VAR | --new-key-file F`: re-encrypts every encrypted column
// with a new data key (the old one comes from the config). Also encrypts a database that has no key yet.
// Work is done in batches, each its own transaction, so the gateway's database is never locked for
// long; `meta` names the key being rotated to while the work runs, and every value names its key, so an
// interrupted run leaves a database that refuses to open (instead of one that half reads) and a rerun
// with the same new key picks up where it stopped. Stop `serve` first: a process that still has the old
// key would write rows the old way while the rotation runs (the last step catches those, but the process
// itself could no longer read the rows already moved).
import { existsSync } from 'node:fs';
import { readKeyFile, parseDataKey } from '../core/config/encryption.ts';
import { UsageError } from '../core/errors.ts';
import { AuditLog, type AuditEvent } from '../store/audit.ts';
import { dataCodec, EncryptionError, storedPrefix, type DataCodec } from '../store/crypto.ts';
import { ENCRYPTED_COLUMNS, openDbUnchecked, readKeyState, recodeColumn, scrubbing, writeKeyState, type KeyState } from '../store/db.ts';
import { commandContext, databasePath, loginName, type GlobalOptions } from './context.ts';

export interface RotateDataOptions extends GlobalOptions {
  /** The environment variable that holds the new key. */
  readonly newKeyEnv?: string;
  /** A file that holds the new key. */
  readonly newKeyFile?: string;
}

export interface RotateSummary {
  /** The key the database was under before (undefined: it was clear). */
  readonly from: string | undefined;
  readonly to: string;
  /** Values rewritten by this run (a rerun counts only what the interrupted one left). */
  readonly changed: number;
}

export interface RotateOptions {
  /** The key the database is encrypted with now; undefined for a database without one. */
  readonly from: Buffer | undefined;
  readonly to: Buffer;
  /** Rows per transaction. */
  readonly batchSize: number;
  /** Called after each batch with rows looked at so far and the total. */
  readonly onProgress: (done: number, total: number) => void;
  /** Who rotated: the key_change record written (under the new key) with the last step; its input is filled in here. */
  readonly audit: Omit<AuditEvent, 'input'>;
}

export async function runRotateData(opts: RotateDataOptions): Promise<number> {
  const to = newKey(opts);
  const { config } = await commandContext(opts, 'warn');
  const path = databasePath(config);
  if (!existsSync(path)) throw new UsageError(`keys rotate-data: there is no database at ${path} (system.data_dir)`);
  const from = config.security.encryptionKey;
  const bar = progressBar(process.stderr, 're-encrypting');
  const user = loginName();
  const audit = {
    eventType: 'key_change', userId: user, platform: 'cli', role: config.security.roles.roleOf('cli', user), conversation: null,
    decision: 'allowed', output: null, durationMs: null, modelVersion: null,
  } as const;
  const s = rotateData(path, { from, to, batchSize: 500, onProgress: bar, audit });
  process.stdout.write(s.changed === 0 && s.from === s.to
    ? `${path} is already encrypted with key ${s.to}; nothing to do.\n`
    : `Re-encrypted ${s.changed} value(s) in ${path} with key ${s.to} (was ${s.from ?? 'clear text'}). Set security.encryption_key to the new key before the next start: the old one no longer opens this database.\n`);
  return 0;
}

/** The new key from --new-key-env or --new-key-file (exactly one); a usage error says what is wrong, never the value. */
export function newKey(opts: Pick<RotateDataOptions, 'newKeyEnv' | 'newKeyFile'>, env: NodeJS.ProcessEnv = process.env): Buffer {
  if ((opts.newKeyEnv === undefined) === (opts.newKeyFile === undefined)) {
    throw new UsageError('keys rotate-data: give the new key with exactly one of --new-key-env VAR or --new-key-file FILE');
  }
  try {
    if (opts.newKeyFile !== undefined) return readKeyFile(opts.newKeyFile);
    const text = env[opts.newKeyEnv!];
    if (text === undefined) throw new Error(`$${opts.newKeyEnv} is not set`);
    return parseDataKey(text);
  } catch (err) {
    throw new UsageError(`keys rotate-data: ${opts.newKeyFile !== undefined ? '--new-key-file' : `--new-key-env ${opts.newKeyEnv}`}: ${(err as Error).message}`);
  }
}

/** Moves every encrypted column of the database at `path` to the key `to`. */
export function rotateData(path: string, opts: RotateOptions): RotateSummary {
  const to = dataCodec(opts.to);
  const opened = openDbUnchecked(path);
  const { db } = opened;
  try {
    const state = readKeyState(db);
    const from = sourceCodec(path, state, opts.from, to);
    if (state.keyId === to.keyId && state.rotatingTo === undefined) return { from: to.keyId, to: to.keyId, changed: 0 };
    return scrubbing(db, () => {
      db.transaction(() => writeKeyState(db, { keyId: state.keyId, rotatingTo: to.keyId })).immediate();
      const total = ENCRYPTED_COLUMNS.reduce((n, c) => n + (db.prepare(`SELECT count(*) FROM ${c.table} WHERE ${c.column} IS NOT NULL`).pluck().get() as number), 0);
      let done = 0;
      let changed = 0;
      const batch = db.transaction((c: (typeof ENCRYPTED_COLUMNS)[number], after: number) => recodeColumn(db, c, from, to, after, opts.batchSize));
      for (const c of ENCRYPTED_COLUMNS) {
        for (let after = 0; ;) {
          const r = batch.immediate(c, after);
          done += r.scanned;
          changed += r.changed;
          opts.onProgress(Math.min(done, total), total);
          if (r.last === undefined || r.scanned < opts.batchSize) break;
          after = r.last;
        }
      }
      opts.onProgress(total, total);
      // Last step, in one transaction: rows another process wrote meanwhile are moved too, the database
      // is recorded as being under the new key, and the change is audited (ids only, never a key).
      changed += db.transaction(() => {
        let late = 0;
        const head = storedPrefix(to.keyId);
        for (const c of ENCRYPTED_COLUMNS) {
          const left = db.prepare(`SELECT count(*) FROM ${c.table} WHERE ${c.column} IS NOT NULL AND substr(${c.column}, 1, ${head.length}) <> ?`).pluck().get(head) as number;
          if (left > 0) late += recodeColumn(db, c, from, to, 0, Infinity).changed;
        }
        writeKeyState(db, { keyId: to.keyId, rotatingTo: undefined });
        new AuditLog(db, to).append({ ...opts.audit, input: `rotate-data from key ${state.keyId ?? '(none)'} to key ${to.keyId}` }, Date.now());
        return late;
      }).immediate();
      return { from: state.keyId, to: to.keyId, changed };
    });
  } finally {
    opened.close();
  }
}

/**
 * The codec the rows are under now: none for a database that never had a key, else the config's key,
 * which must be the one the database records. A run may continue only the rotation it started.
 */
function sourceCodec(path: string, state: KeyState, from: Buffer | undefined, to: DataCodec): DataCodec | undefined {
  if (state.rotatingTo !== undefined && state.rotatingTo !== to.keyId) {
    throw new EncryptionError('rotation_unfinished', `${path}: a rotation to key ${state.rotatingTo} did not finish; run it again with that new key first (this one is ${to.keyId})`);
  }
  if (state.keyId === undefined) return undefined;
  if (from === undefined) {
    throw new EncryptionError('no_key', `${path} is encrypted with key ${state.keyId}: set security.encryption_key (or encryption_key_file) to that key, so the rows can be read and re-encrypted`);
  }
  const codec = dataCodec(from);
  if (codec.keyId !== state.keyId) {
    throw new EncryptionError('wrong_key', `${path} is encrypted with key ${state.keyId}, but the configured key is ${codec.keyId}${codec.keyId === to.keyId ? ' (already the new key: put the old key back in the config until the rotation has finished)' : ''}`);
  }
  return codec;
}

/** A bar redrawn in place on a terminal; elsewhere (a log, a pipe) a line per 10%. */
export function progressBar(out: { write(s: string): unknown; readonly isTTY?: boolean }, label: string): (done: number, total: number) => void {
  const WIDTH = 30;
  let shown = -1;
  return (done, total) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (out.isTTY) {
      if (pct === shown) return;
      const fill = Math.round((pct / 100) * WIDTH);
      out.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(WIDTH - fill)}] ${String(pct).padStart(3)}% ${done}/${total}${pct === 100 ? '\n' : ''}`);
      shown = pct;
    } else {
      const step = Math.floor(pct / 10) * 10;
      if (step <= shown) return;
      out.write(`${label}: ${step}% (${done}/${total} rows)\n`);
      shown = step;
    }
  };
}
