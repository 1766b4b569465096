// The store as the gateway sees it: inbox, outbox and sessions over one database, plus the one
// transaction that finishes a turn.
import { openDb, type OpenedDb } from './db.ts';
import { Inbox } from './inbox.ts';
import { Outbox } from './outbox.ts';
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

export class Store {
  readonly inbox: Inbox;
  readonly outbox: Outbox;
  readonly sessions: Sessions;
  readonly #opened: OpenedDb;
  readonly #complete: (c: TurnCompletion, now: number) => number;
  readonly #markDone;
  readonly #ping;

  constructor(opened: OpenedDb) {
    this.#opened = opened;
    const { db } = opened;
    this.inbox = new Inbox(db);
    this.outbox = new Outbox(db);
    this.sessions = new Sessions(db);
    this.#ping = db.prepare('SELECT count(*) AS n FROM inbox WHERE status = \'pending\'');
    this.#markDone = db.prepare(`UPDATE inbox SET status = 'done', done_at = ? WHERE id = ?`);
    // One transaction: the reply is queued, the turn is marked done and the history grows together, so a
    // crash leaves either a pending turn (redone on start) or a queued reply (sent on start), never both.
    this.#complete = db.transaction((c: TurnCompletion, now: number) => {
      const id = this.outbox.add(c.inboxId, c.reply, now);
      this.#markDone.run(now, c.inboxId);
      if (c.remember.length > 0) this.sessions.append(c.conversation, c.remember, now, c.sessionTtlMs);
      return id;
    });
  }

  static open(path: string): Store {
    return new Store(openDb(path));
  }

  get info(): { path: string; sqliteVersion: string; vecVersion: string } {
    const { path, sqliteVersion, vecVersion } = this.#opened;
    return { path, sqliteVersion, vecVersion };
  }

  /** A cheap query that proves the database answers; returns the number of unfinished turns. */
  pendingTurns(): number {
    return (this.#ping.get() as { n: number }).n;
  }

  /** Finishes a turn that gets no reply (no route matched). */
  completeTurnWithoutReply(inboxId: number, now: number): void {
    this.#markDone.run(now, inboxId);
  }

  /** Finishes a turn atomically; returns the outbox id of the reply. */
  completeTurn(c: TurnCompletion, now: number): number {
    return this.#complete(c, now);
  }

  close(): void {
    this.#opened.close();
  }
}
