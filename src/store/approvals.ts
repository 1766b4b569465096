// Commands marked `approve: true` wait here for an Admin. An id is short enough to type in a chat; a
// request expires (then it can no longer be approved), and a decision is taken once: the UPDATE only
// matches a pending, unexpired row, so two admins answering at once cannot both run it. The arguments
// (which may hold what a user typed) go through the codec: encrypted when the database has a data key.
import { randomInt } from 'node:crypto';
import type { TextCodec } from './crypto.ts';
import type { Db } from './db.ts';

export interface ApprovalRequest {
  readonly command: string;
  /** The bound, validated parameters. */
  readonly args: Readonly<Record<string, string>>;
  /** Who asked: platform, id, name as the gateway resolved them (the role is looked up again at approval). */
  readonly requester: { readonly platform: string; readonly id: string; readonly name?: string };
  /** Where the result goes. */
  readonly platform: string;
  readonly chatId: string;
  readonly threadId: string | undefined;
  readonly inReplyTo: string | undefined;
}

export interface Approval extends ApprovalRequest {
  readonly id: string;
  readonly status: 'pending' | 'approved' | 'denied' | 'expired';
  readonly createdAt: number;
  readonly expiresAt: number;
}

interface RawRow {
  id: string; command: string; args: string; requester: string; platform: string; chat_id: string; thread_id: string | null;
  in_reply_to: string | null; status: Approval['status']; created_at: number; expires_at: number;
}

const toApproval = (r: RawRow, codec: TextCodec): Approval => ({
  id: r.id, command: r.command, args: JSON.parse(codec.decrypt(r.args)) as Record<string, string>, requester: JSON.parse(r.requester) as Approval['requester'],
  platform: r.platform, chatId: r.chat_id, threadId: r.thread_id ?? undefined, inReplyTo: r.in_reply_to ?? undefined,
  status: r.status, createdAt: r.created_at, expiresAt: r.expires_at,
});

// No 0/O/1/I/L: ids are read off a screen and typed on a phone.
const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';

export class Approvals {
  readonly #insert;
  readonly #get;
  readonly #decide;
  readonly #pending;
  readonly #expire;
  readonly #codec: TextCodec;

  constructor(db: Db, codec: TextCodec) {
    this.#codec = codec;
    this.#insert = db.prepare(
      `INSERT INTO approvals (id, command, args, requester, platform, chat_id, thread_id, in_reply_to, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    this.#get = db.prepare('SELECT * FROM approvals WHERE id = ?');
    this.#decide = db.prepare(
      `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?`,
    );
    this.#pending = db.prepare(`SELECT * FROM approvals WHERE status = 'pending' AND expires_at > ? ORDER BY created_at`);
    this.#expire = db.prepare(`UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND expires_at <= ?`);
  }

  /** Stores a request; returns its id. Must run inside a write transaction. */
  create(r: ApprovalRequest, now: number, ttlMs: number): Approval {
    const args = this.#codec.encrypt(JSON.stringify(r.args));
    for (;;) {
      let id = '';
      for (let i = 0; i < 6; i++) id += ALPHABET[randomInt(ALPHABET.length)];
      const res = this.#insert.run(id, r.command, args, JSON.stringify(r.requester), r.platform, r.chatId,
        r.threadId ?? null, r.inReplyTo ?? null, now, now + ttlMs);
      if (res.changes === 1) return { ...r, id, status: 'pending', createdAt: now, expiresAt: now + ttlMs };
    }
  }

  get(id: string): Approval | undefined {
    const r = this.#get.get(id.trim().toLowerCase()) as RawRow | undefined;
    return r && toApproval(r, this.#codec);
  }

  /** Approves or denies a pending, unexpired request; false when it was not (any more) pending. */
  decide(id: string, decision: 'approved' | 'denied', by: string, now: number): boolean {
    return this.#decide.run(decision, by, now, id.trim().toLowerCase(), now).changes === 1;
  }

  pending(now: number): Approval[] {
    return (this.#pending.all(now) as RawRow[]).map((r) => toApproval(r, this.#codec));
  }

  /** Marks requests past their time as expired; returns how many. */
  expire(now: number): number {
    return this.#expire.run(now).changes;
  }
}
