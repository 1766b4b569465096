// Opening the database: WAL, versioned migrations, sqlite-vec loaded, and the data key checked against
// the one the database was encrypted with. One process writes; better-sqlite3 is synchronous, so every
// write below is one short transaction on the event loop — no lost updates.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { dataCodec, EncryptionError, storedKeyId, storedPrefix, type DataCodec } from './crypto.ts';
import { BetterSqlite3, explainLoadError, nativeParts } from './native.ts';
import { migrations } from './migrations.ts';

export type { Db };

/**
 * For a prune by rowid range: the id of the first row of `table` whose `column` (a time) is at or after
 * the time asked for, or past every id when there is none. Rows arrive in id order, so the rows before it
 * are (nearly) those older than that time, and a delete looks at that prefix of the table only, instead
 * of an index on the time that every write would pay for. A row the clock put out of order waits for a
 * later prune.
 */
export function firstIdSince(db: Db, table: string, column: string): (time: number) => number {
  const first = db.prepare(`SELECT id FROM ${table} WHERE ${column} >= ? ORDER BY id LIMIT 1`).pluck();
  return (time) => (first.get(time) as number | undefined) ?? Number.MAX_SAFE_INTEGER;
}

export interface OpenedDb {
  readonly db: Db;
  readonly path: string;
  readonly sqliteVersion: string;
  readonly vecVersion: string;
  /** Encrypts and decrypts the text columns; undefined when the database is not encrypted. */
  readonly codec: DataCodec | undefined;
  close(): void;
}

export interface OpenOptions {
  /** The data key (security.encryption_key); without it an encrypted database is refused. */
  readonly key?: Buffer | undefined;
  /** Told when rows written before there was a key are encrypted at open. */
  readonly log?: { info(fields: object, msg: string): void };
}

/**
 * Opens (creating if needed) the database at `path` (":memory:" for tests), migrates it and checks the
 * data key (see {@link unlock}). Throws EncryptionError when the key does not fit the database.
 */
export function openDb(path: string, opts: OpenOptions = {}): OpenedDb {
  const opened = openDbUnchecked(path);
  try {
    return { ...opened, codec: unlock(opened.db, path, opts) };
  } catch (err) {
    opened.close();
    throw err;
  }
}

/** Opens and migrates without looking at the data key: for `keys rotate-data`, which manages the key state itself. */
export function openDbUnchecked(path: string): OpenedDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const native = nativeParts();
  let db: Db;
  try {
    db = native.addon ? new BetterSqlite3(path, { nativeBinding: native.addon }) : new BetterSqlite3(path);
  } catch (err) {
    throw explainLoadError(err, native.addon);
  }
  try {
    // WAL + synchronous=NORMAL survives a killed process (kill -9) without losing committed rows;
    // only a power loss can drop the last transactions, which FULL would also cost on every turn.
    // busy_timeout first: switching a new database to WAL takes an exclusive lock, and a second process
    // opening it at the same moment must wait for it, not fail with "database is locked".
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    try {
      db.loadExtension(native.vec0);
    } catch (err) {
      throw explainLoadError(err, native.vec0);
    }
    migrate(db);
    const { s, v } = db.prepare('select sqlite_version() as s, vec_version() as v').get() as { s: string; v: string };
    return { db, path, sqliteVersion: s, vecVersion: v, codec: undefined, close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrate(db: Db): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() === migrations.length) return; // the usual case: no write lock taken
  // BEGIN IMMEDIATE takes the write lock before the version is read again: two processes opening a new
  // database at once (two first starts) cannot both run the same migration.
  db.transaction(() => {
    const current = version();
    if (current > migrations.length) {
      throw new Error(`database schema version ${current} is newer than this clawdbot knows (${migrations.length}); upgrade clawdbot`);
    }
    for (let v = current; v < migrations.length; v++) db.exec(migrations[v]!);
    db.pragma(`user_version = ${migrations.length}`);
  }).immediate();
}

// ---------------------------------------------------------------------------------------------------
// Encryption at rest. Only the columns below are encrypted: what people wrote and what they were told.
// Everything else stays clear because the database works on it: ids and (platform, message_id) are the
// inbox's dedupe key; platform and chat ids find a chat's queued replies; timestamps and statuses order
// turns, pick due replies, expire approvals and prune; roles, event types and hashes filter and chain the
// audit trail; vectors are what a similarity search compares. So the file still shows who talked on
// which platform and when, not what was said.

export const ENCRYPTED_COLUMNS: readonly { readonly table: string; readonly column: string }[] = [
  { table: 'inbox', column: 'payload' },
  { table: 'outbox', column: 'text' },
  { table: 'messages', column: 'text' },
  { table: 'approvals', column: 'args' },
  { table: 'audit', column: 'input' },
  { table: 'audit', column: 'output' },
  { table: 'memory_items', column: 'text' },
];

/** The key the database is encrypted with, and the one an unfinished rotation was moving it to. */
export interface KeyState {
  readonly keyId: string | undefined;
  readonly rotatingTo: string | undefined;
}

const KEY_ID = 'encryption.key_id';
const ROTATING_TO = 'encryption.rotating_to';

export function readKeyState(db: Db): KeyState {
  const get = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  return { keyId: get.get(KEY_ID) as string | undefined, rotatingTo: get.get(ROTATING_TO) as string | undefined };
}

/** Records the key state (undefined deletes the entry); run it in the transaction that made it true. */
export function writeKeyState(db: Db, state: KeyState): void {
  const set = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const del = db.prepare('DELETE FROM meta WHERE key = ?');
  for (const [k, v] of [[KEY_ID, state.keyId], [ROTATING_TO, state.rotatingTo]] as const) {
    if (v === undefined) del.run(k);
    else set.run(k, v);
  }
}

export function rotationUnfinished(path: string, s: KeyState): EncryptionError {
  return new EncryptionError('rotation_unfinished',
    `${path}: a key rotation from key ${s.keyId ?? '(none: clear text)'} to key ${s.rotatingTo} did not finish; run \`clawdbot keys rotate-data\` again with the same new key (and the old key still in the config) to finish it`);
}

/**
 * The rule at open: a database that records a key is opened only with that key (no key → refused, so
 * nothing is ever written in clear next to encrypted rows; another key → refused, naming both ids).
 * The first open with a key encrypts the rows written before, in one transaction, and records the key.
 */
function unlock(db: Db, path: string, opts: OpenOptions): DataCodec | undefined {
  const state = readKeyState(db);
  if (state.rotatingTo !== undefined) throw rotationUnfinished(path, state);
  if (!opts.key) {
    if (state.keyId === undefined) return undefined;
    throw new EncryptionError('no_key',
      `${path} is encrypted (key ${state.keyId}) but no key is configured: set security.encryption_key (or encryption_key_file) to the key it was written with. clawdbot refuses to start without it rather than write clear text next to encrypted data`);
  }
  const codec = dataCodec(opts.key);
  const check = (s: KeyState) => {
    if (s.keyId !== undefined && s.keyId !== codec.keyId) {
      throw new EncryptionError('wrong_key', `${path} is encrypted with key ${s.keyId}, but the configured key is ${codec.keyId}: configure the key it was written with (\`clawdbot keys rotate-data\` moves it to a new one)`);
    }
  };
  check(state);
  if (state.keyId === undefined) {
    const changed = scrubbing(db, () => db.transaction(() => {
      const again = readKeyState(db); // another process may have got here first
      if (again.rotatingTo !== undefined) throw rotationUnfinished(path, again);
      check(again);
      if (again.keyId !== undefined) return 0;
      let n = 0;
      for (const c of ENCRYPTED_COLUMNS) n += recodeColumn(db, c, undefined, codec, 0, Infinity).changed;
      writeKeyState(db, { keyId: codec.keyId, rotatingTo: undefined });
      return n;
    }).immediate());
    if (changed > 0) opts.log?.info({ path, rows: changed, keyId: codec.keyId }, 'encrypted the text written before the data key was set');
  }
  return codec;
}

/**
 * Runs `fn` (which rewrites values) with secure_delete on, then checkpoints the WAL into the file and
 * truncates it: the old values (clear text, or text under a retired key) are overwritten with zeros
 * instead of lingering in free space of the file or in old WAL frames.
 */
export function scrubbing<T>(db: Db, fn: () => T): T {
  const before = db.pragma('secure_delete', { simple: true }) as number;
  db.pragma('secure_delete = ON');
  try {
    return fn();
  } finally {
    db.pragma(`secure_delete = ${before}`);
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
}

export interface Recoded {
  /** The last rowid looked at; undefined when the column has no rows after `after`. */
  readonly last: number | undefined;
  readonly scanned: number;
  readonly changed: number;
}

/**
 * Rewrites the values of one column after rowid `after` (at most `limit` rows, in rowid order) so that
 * each is encrypted with `to`. A value already under `to` is left alone (a rerun skips what is done);
 * any other is clear text when `from` is undefined, otherwise it must be under `from`. Must run inside
 * a write transaction.
 */
export function recodeColumn(db: Db, c: { readonly table: string; readonly column: string }, from: DataCodec | undefined, to: DataCodec,
  after: number, limit: number): Recoded {
  const select = db.prepare(`SELECT rowid AS id, ${c.column} AS v FROM ${c.table} WHERE rowid > ? AND ${c.column} IS NOT NULL ORDER BY rowid LIMIT ?`);
  const update = db.prepare(`UPDATE ${c.table} SET ${c.column} = ? WHERE rowid = ?`);
  const done = storedPrefix(to.keyId);
  let last: number | undefined;
  let scanned = 0;
  let changed = 0;
  for (;;) {
    const rows = select.all(last ?? after, Math.min(limit - scanned, 1000)) as { id: number; v: string }[];
    if (rows.length === 0) break;
    for (const r of rows) {
      if (!r.v.startsWith(done)) {
        update.run(to.encrypt(from ? decryptAt(from, r.v, c, r.id) : r.v), r.id);
        changed++;
      }
    }
    last = rows.at(-1)!.id;
    scanned += rows.length;
    if (scanned >= limit) break;
  }
  return { last, scanned, changed };
}

function decryptAt(codec: DataCodec, v: string, c: { readonly table: string; readonly column: string }, id: number): string {
  try {
    return codec.decrypt(v);
  } catch (err) {
    if (!(err instanceof EncryptionError)) throw err;
    const which = storedKeyId(v);
    throw new EncryptionError(err.kind, `${c.table}.${c.column} row ${id}: ${which === undefined ? 'a clear value' : `a value under key ${which}`}, expected key ${codec.keyId}: ${err.message}`, { cause: err });
  }
}
