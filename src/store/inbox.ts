// The durable inbox: an inbound message is acknowledged once its row is committed here. The payload
// (the whole message) goes through the codec: encrypted when the database has a data key.
import type { TextCodec } from './crypto.ts';
import { firstIdSince, type Db } from './db.ts';
import type { InboundMessage } from '../core/types.ts';

export interface PendingTurn {
  readonly inboxId: number;
  readonly conversation: string;
  readonly message: InboundMessage;
}

export type RecordResult = { readonly duplicate: false; readonly inboxId: number } | { readonly duplicate: true };

export class Inbox {
  readonly #insert;
  readonly #pending;
  readonly #prune;
  readonly #firstSince;
  readonly #codec: TextCodec;

  constructor(db: Db, codec: TextCodec) {
    this.#codec = codec;
    this.#insert = db.prepare(
      `INSERT INTO inbox (platform, message_id, conversation, payload, received_at)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, message_id) DO NOTHING`,
    );
    this.#pending = db.prepare(`SELECT id, conversation, payload FROM inbox WHERE status = 'pending' ORDER BY id`);
    this.#firstSince = firstIdSince(db, 'inbox', 'received_at');
    // A finished turn whose reply still waits for its recipient (an offline WebSocket chat) stays, for a
    // while: its outbox row goes with it (ON DELETE CASCADE).
    this.#prune = db.prepare(
      `DELETE FROM inbox WHERE id < ? AND status = 'done' AND done_at < ?
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.inbox_id = inbox.id AND o.status = 'pending' AND o.created_at >= ?)`,
    );
  }

  /** Records a message; a second delivery of the same (platform, id) is reported as a duplicate. */
  record(message: InboundMessage, conversation: string, now: number): RecordResult {
    const r = this.#insert.run(message.platform, message.id, conversation, this.#codec.encrypt(JSON.stringify(message)), now);
    return r.changes === 0 ? { duplicate: true } : { duplicate: false, inboxId: Number(r.lastInsertRowid) };
  }

  /** Turns accepted but not finished (e.g. the process was killed mid-turn), oldest first. */
  pending(): PendingTurn[] {
    return (this.#pending.all() as { id: number; conversation: string; payload: string }[]).map((r) => ({
      inboxId: r.id,
      conversation: r.conversation,
      message: JSON.parse(this.#codec.decrypt(r.payload)) as InboundMessage,
    }));
  }

  /**
   * Forgets finished turns older than `before` (ms epoch), by rowid range (firstIdSince). Keep at least
   * 24 h for redelivery dedupe.
   * A turn whose reply still waits for its recipient is kept, with the reply, unless the reply was queued
   * before `givenUpBefore` (a WebSocket client that never came back).
   */
  prune(before: number, givenUpBefore: number): number {
    return this.#prune.run(this.#firstSince(before), before, givenUpBefore).changes;
  }
}
