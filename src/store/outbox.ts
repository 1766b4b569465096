// The durable outbox: a reply is committed here before it is sent and marked sent after. The text goes
// through the codec (encrypted when the database has a data key); where it goes stays clear.
import type { TextCodec } from './crypto.ts';
import { firstIdSince, type Db } from './db.ts';
import type { DeliveryReceipt, OutboundMessage } from '../core/types.ts';

export interface OutboxRow extends OutboundMessage {
  readonly id: number;
  readonly attempts: number;
  /** Platform messages of this reply already delivered (a long reply is split into several). */
  readonly partsSent: number;
}

interface RawRow { id: number; platform: string; chat_id: string; in_reply_to: string | null; thread_id: string | null; edit_of: string | null; text: string; attempts: number; parts_sent: number }

const toRow = (r: RawRow, codec: TextCodec): OutboxRow => ({
  id: r.id, platform: r.platform, chatId: r.chat_id, text: codec.decrypt(r.text), attempts: r.attempts, partsSent: r.parts_sent,
  ...(r.in_reply_to === null ? {} : { inReplyTo: r.in_reply_to }),
  ...(r.thread_id === null ? {} : { threadId: r.thread_id }),
  ...(r.edit_of === null ? {} : { editOf: r.edit_of }),
});

export class Outbox {
  readonly #insert;
  readonly #due;
  readonly #forChat;
  readonly #sent;
  readonly #retry;
  readonly #dead;
  readonly #holdAfter;
  readonly #get;
  readonly #part;
  readonly #firstSince;
  readonly #prune;
  readonly #codec: TextCodec;

  constructor(db: Db, codec: TextCodec) {
    this.#codec = codec;
    this.#insert = db.prepare(
      `INSERT INTO outbox (inbox_id, platform, chat_id, in_reply_to, thread_id, edit_of, text, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const cols = 'id, platform, chat_id, in_reply_to, thread_id, edit_of, text, attempts, parts_sent';
    this.#due = db.prepare(`SELECT ${cols} FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id`);
    this.#forChat = db.prepare(`SELECT ${cols} FROM outbox WHERE status = 'pending' AND platform = ? AND chat_id = ? ORDER BY id`);
    this.#get = db.prepare(`SELECT ${cols} FROM outbox WHERE id = ? AND status = 'pending'`);
    this.#sent = db.prepare(`UPDATE outbox SET status = 'sent', sent_at = ?, receipt = ?, attempts = attempts + 1 WHERE id = ?`);
    this.#retry = db.prepare(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`);
    this.#part = db.prepare(`UPDATE outbox SET parts_sent = max(parts_sent, ?) WHERE id = ?`);
    this.#dead = db.prepare(`UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?`);
    this.#holdAfter = db.prepare(
      `UPDATE outbox SET next_attempt_at = max(next_attempt_at, ?) WHERE status = 'pending' AND platform = ? AND chat_id = ? AND id > ?`,
    );
    this.#firstSince = firstIdSince(db, 'outbox', 'created_at');
    this.#prune = db.prepare(
      `DELETE FROM outbox WHERE id < ? AND inbox_id IS NULL AND (status <> 'pending' OR created_at < ?) AND created_at < ?`,
    );
  }

  /**
   * Forgets messages that answered no turn (scheduled results, notices) once sent or given up, when
   * older than `before`, by rowid range (firstIdSince); a turn's reply goes with its inbox row
   * (Inbox.prune). One still waiting for its recipient is given up when it was queued before
   * `givenUpBefore` (a WebSocket client that never came back), as a turn's reply is.
   */
  prune(before: number, givenUpBefore: number): number {
    return this.#prune.run(this.#firstSince(before), Math.min(givenUpBefore, before), before).changes;
  }

  /** Must run inside the transaction that finishes the turn (see Turns.complete); `inboxId` null for a message no turn asked for. */
  add(inboxId: number | null, m: OutboundMessage, now: number): number {
    return Number(this.#insert.run(inboxId, m.platform, m.chatId, m.inReplyTo ?? null, m.threadId ?? null, m.editOf ?? null, this.#codec.encrypt(m.text), now, now).lastInsertRowid);
  }

  get(id: number): OutboxRow | undefined {
    const r = this.#get.get(id) as RawRow | undefined;
    return r && toRow(r, this.#codec);
  }

  due(now: number): OutboxRow[] {
    return (this.#due.all(now) as RawRow[]).map((r) => toRow(r, this.#codec));
  }

  pendingFor(platform: string, chatId: string): OutboxRow[] {
    return (this.#forChat.all(platform, chatId) as RawRow[]).map((r) => toRow(r, this.#codec));
  }

  /** Records that the first `parts` platform messages of a reply were accepted. */
  partSent(id: number, parts: number): void {
    this.#part.run(parts, id);
  }

  markSent(id: number, receipt: DeliveryReceipt): void {
    this.#sent.run(receipt.sentAt, JSON.stringify(receipt.platformMessageIds), id);
  }

  /** The chat's pending messages queued after `afterId` are not due before `at` (they wait behind it). */
  holdAfter(platform: string, chatId: string, afterId: number, at: number): void {
    this.#holdAfter.run(at, platform, chatId, afterId);
  }

  retryAt(id: number, at: number, error: string): void {
    this.#retry.run(at, error, id);
  }

  markDead(id: number, error: string): void {
    this.#dead.run(error, id);
  }
}
