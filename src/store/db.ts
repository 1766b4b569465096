// Opening the database: WAL, versioned migrations, sqlite-vec loaded. One process writes; better-sqlite3
// is synchronous, so every write below is one short transaction on the event loop — no lost updates.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { BetterSqlite3, nativeParts } from './native.ts';
import { migrations } from './migrations.ts';

export type { Db };

export interface OpenedDb {
  readonly db: Db;
  readonly path: string;
  readonly sqliteVersion: string;
  readonly vecVersion: string;
  close(): void;
}

/** Opens (creating if needed) the database at `path` (":memory:" for tests) and migrates it. */
export function openDb(path: string): OpenedDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const native = nativeParts();
  const db: Db = native.addon ? new BetterSqlite3(path, { nativeBinding: native.addon }) : new BetterSqlite3(path);
  try {
    // WAL + synchronous=NORMAL survives a killed process (kill -9) without losing committed rows;
    // only a power loss can drop the last transactions, which FULL would also cost on every turn.
    // busy_timeout first: switching a new database to WAL takes an exclusive lock, and a second process
    // opening it at the same moment must wait for it, not fail with "database is locked".
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.loadExtension(native.vec0);
    migrate(db);
    const { s, v } = db.prepare('select sqlite_version() as s, vec_version() as v').get() as { s: string; v: string };
    return { db, path, sqliteVersion: s, vecVersion: v, close: () => db.close() };
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
