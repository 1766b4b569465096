// The store as the gateway sees it: inbox, outbox and sessions over one database, plus the one
// transaction that finishes a turn.
import type { Transaction } from 'better-sqlite3';
import { CLEAR_TEXT } from './crypto.ts';
import { openDb, type OpenedDb, type OpenOptions } from './db.ts';
import { Approvals } from './approvals.ts';
import { ApiKeys } from './api-keys.ts';
import { MemoryStore } from './memory.ts';
import { AuditLog } from './audit.ts';
import { Inbox } from './inbox.ts';
import { Outbox } from './outbox.ts';
import { ScheduleRuns } from './schedules.ts';
import { Sessions } from './sessions.ts';
import type { HistoryEntry, OutboundMessage } from '../core/types.ts';

export interface TurnCompletion {
  readonly inboxId: number;
  readonly conversation: string;
  readonly reply: OutboundMessage;
  /** Entries to remember in the session (empty when the turn failed: a failure isn't context). */
  readonly remember: readonly HistoryEntry[];
  readonly sessionTtlMs: number;
}

interface QueuedWrite {
  readonly fn: () => unknown;
  /** The write is one statement or its own db.transaction, so it needs no savepoint to fail alone. */
  readonly atomic: boolean;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

export class Store {
  readonly inbox: Inbox;
  readonly outbox: Outbox;
  readonly sessions: Sessions;
  readonly audit: AuditLog;
  readonly approvals: Approvals;
  readonly schedules: ScheduleRuns;
  readonly apiKeys: ApiKeys;
  readonly memory: MemoryStore;
  readonly #opened: OpenedDb;
  readonly #complete: (c: TurnCompletion, now: number) => number;
  readonly #markDone;
  readonly #ping;
  readonly #savepoint: (fn: () => unknown) => unknown;
  readonly #batch: Transaction<(ops: readonly QueuedWrite[], results: { ok: boolean; v: unknown }[]) => void>;
  #queue: QueuedWrite[] = [];
  /** Settles after the batch now queued has committed (see settled()). */
  #batchDone: Promise<void> | undefined;

  constructor(opened: OpenedDb) {
    this.#opened = opened;
    const { db } = opened;
    // Without a data key the codec stores text as it is: no cost on the hot path.
    const codec = opened.codec ?? CLEAR_TEXT;
    this.inbox = new Inbox(db, codec);
    this.outbox = new Outbox(db, codec);
    this.sessions = new Sessions(db, codec);
    this.audit = new AuditLog(db, codec);
    this.approvals = new Approvals(db, codec);
    this.schedules = new ScheduleRuns(db);
    this.apiKeys = new ApiKeys(db);
    this.memory = new MemoryStore(db, codec);
    this.#ping = db.prepare('SELECT count(*) AS n FROM inbox WHERE status = \'pending\'');
    this.#markDone = db.prepare(`UPDATE inbox SET status = 'done', done_at = ? WHERE id = ?`);
    // One transaction: the reply is queued, the turn is marked done and the history grows together, so a
    // crash leaves either a pending turn (redone on start) or a queued reply (sent on start), never both.
    // Called inside the batch's transaction, better-sqlite3 turns this into a SAVEPOINT.
    this.#savepoint = db.transaction((fn: () => unknown) => fn());
    this.#batch = db.transaction((ops: readonly QueuedWrite[], results: { ok: boolean; v: unknown }[]) => {
      for (const op of ops) {
        try {
          results.push({ ok: true, v: op.atomic ? op.fn() : this.#savepoint(op.fn) });
        } catch (err) {
          // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) roll the whole transaction back, not just the
          // statement: the writes after this one would then each commit on their own. The batch ends
          // here, and every write of it fails (see #flush).
          if (!db.inTransaction) throw err;
          results.push({ ok: false, v: err });
        }
      }
    });
    this.#complete = db.transaction((c: TurnCompletion, now: number) => {
      const id = this.outbox.add(c.inboxId, c.reply, now);
      this.#markDone.run(now, c.inboxId);
      if (c.remember.length > 0) this.sessions.append(c.conversation, c.remember, now, c.sessionTtlMs);
      return id;
    });
  }

  /**
   * Runs `fn` (synchronous writes) in the next group commit. Every write queued in the same turn of the
   * event loop shares one transaction: under load the commit cost, which dominates a turn of a static
   * reply, is paid once per batch instead of three times per message. Each write runs in its own
   * savepoint, so one that throws rolls back alone and the others still commit. The promise settles
   * after the commit: callers continue only once their write is durable.
   */
  write<T>(fn: () => T): Promise<T> {
    return this.#enqueue(fn, false);
  }

  /**
   * write() for a `fn` that is atomic by itself: ONE statement (SQLite undoes a failed statement alone)
   * or one db.transaction (which nests as its own savepoint). It skips write()'s savepoint: on the hot
   * path (three of these per turn) the SAVEPOINT/RELEASE pair cost ~10% of a static reply's throughput.
   */
  writeOne<T>(fn: () => T): Promise<T> {
    return this.#enqueue(fn, true);
  }

  #enqueue<T>(fn: () => T, atomic: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, atomic, resolve: resolve as (v: unknown) => void, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /**
   * Resolves once every write queued so far has committed (or failed): a reader that must see writes
   * other code queued without waiting for them (a conversation's next turn reading the history its
   * previous turn queued) awaits this first. Immediate when nothing is queued.
   */
  settled(): Promise<void> {
    if (this.#queue.length === 0) return Promise.resolve();
    return (this.#batchDone ??= this.writeOne(() => undefined).then(() => undefined, () => undefined));
  }

  #flush(): void {
    const ops = this.#queue;
    if (ops.length === 0) return;
    this.#queue = [];
    this.#batchDone = undefined;
    const results: { ok: boolean; v: unknown }[] = [];
    try {
      // IMMEDIATE: the write lock is taken before the first read, so a batch that reads before it writes
      // (the audit chain's previous hash) cannot see a snapshot another process has moved past.
      this.#batch.immediate(ops, results);
    } catch (err) {
      for (const op of ops) op.reject(err); // the batch was rolled back or its commit failed: nothing was written
      return;
    }
    ops.forEach((op, i) => (results[i]!.ok ? op.resolve(results[i]!.v) : op.reject(results[i]!.v)));
  }

  /**
   * Opens the database at `path`. With `key` (security.encryption_key) the text columns are encrypted;
   * an encrypted database is refused without its key (EncryptionError), see openDb.
   */
  static open(path: string, opts: OpenOptions = {}): Store {
    return new Store(openDb(path, opts));
  }

  /** `keyId`: the data key's fingerprint when the database is encrypted (for doctor and the start-up log). */
  get info(): { path: string; sqliteVersion: string; vecVersion: string; keyId: string | undefined } {
    const { path, sqliteVersion, vecVersion, codec } = this.#opened;
    return { path, sqliteVersion, vecVersion, keyId: codec?.keyId };
  }

  /** A cheap query that proves the database answers; returns the number of unfinished turns. */
  pendingTurns(): number {
    return (this.#ping.get() as { n: number }).n;
  }

  /** Finishes a turn that gets no reply (no route matched). */
  completeTurnWithoutReply(inboxId: number, now: number): void {
    this.#markDone.run(now, inboxId);
  }

  /** Queues a message no turn asked for (a scheduled report, an approved command's result); returns its outbox id. */
  queueMessage(m: OutboundMessage, now: number): number {
    return this.outbox.add(null, m, now);
  }

  /** Finishes a turn atomically; returns the outbox id of the reply. */
  completeTurn(c: TurnCompletion, now: number): number {
    return this.#complete(c, now);
  }

  close(): void {
    this.#flush();
    this.#opened.close();
  }
}
