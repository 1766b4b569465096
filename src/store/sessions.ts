// Conversation history. A conversation idle for longer than the TTL starts afresh (its old messages
// stay until pruned but are no longer sent to the model). Message text goes through the codec
// (encrypted when the database has a data key).
import type { TextCodec } from './crypto.ts';
import type { Db } from './db.ts';
import type { HistoryEntry } from '../core/types.ts';

export class Sessions {
  readonly #get;
  readonly #upsert;
  readonly #history;
  readonly #append;
  readonly #appendPair;
  readonly #recent;
  readonly #codec: TextCodec;

  constructor(db: Db, codec: TextCodec) {
    this.#codec = codec;
    this.#get = db.prepare(`SELECT started_at, updated_at FROM sessions WHERE conversation = ?`);
    // One statement decides whether the session expired (it restarts at the new entries) or goes on:
    // a turn's writes are on the hot path, and a SELECT first would cost a statement more.
    this.#upsert = db.prepare(
      `INSERT INTO sessions (conversation, started_at, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (conversation) DO UPDATE SET
         started_at = CASE WHEN excluded.updated_at - sessions.updated_at > ? THEN excluded.started_at ELSE sessions.started_at END,
         updated_at = excluded.updated_at`,
    );
    this.#history = db.prepare(
      `SELECT role, text, at FROM messages WHERE conversation = ? AND at >= ? ORDER BY id DESC LIMIT ?`,
    );
    this.#recent = db.prepare(
      `SELECT s.conversation, s.updated_at AS updatedAt,
              (SELECT count(*) FROM messages m WHERE m.conversation = s.conversation AND m.at >= s.started_at) AS messages
       FROM sessions s ORDER BY s.updated_at DESC LIMIT ?`,
    );
    this.#append = db.prepare(`INSERT INTO messages (conversation, role, text, at) VALUES (?, ?, ?, ?)`);
    // The usual turn (question + answer) in one statement.
    this.#appendPair = db.prepare(`INSERT INTO messages (conversation, role, text, at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)`);
  }

  /** The most recently active conversations, newest first (for `/sessions`). */
  recent(limit: number): { conversation: string; updatedAt: number; messages: number }[] {
    return this.#recent.all(limit) as { conversation: string; updatedAt: number; messages: number }[];
  }

  /** The live history of a conversation, oldest first, at most `max` entries. */
  history(conversation: string, now: number, ttlMs: number, max: number): HistoryEntry[] {
    const s = this.#get.get(conversation) as { started_at: number; updated_at: number } | undefined;
    if (!s || now - s.updated_at > ttlMs || max <= 0) return [];
    const rows = this.#history.all(conversation, s.started_at, max) as { role: HistoryEntry['role']; text: string; at: number }[];
    for (const r of rows) r.text = this.#codec.decrypt(r.text);
    return rows.reverse();
  }

  /** Appends entries; must run inside the turn's transaction. Restarts the session when it expired. */
  append(conversation: string, entries: readonly HistoryEntry[], now: number, ttlMs: number): void {
    let startedAt = now; // where a new (or restarted) session begins: its first entry
    for (const e of entries) if (e.at < startedAt) startedAt = e.at;
    this.#upsert.run(conversation, startedAt, now, ttlMs);
    const [a, b] = entries;
    if (entries.length === 2 && a && b) {
      const c = this.#codec;
      this.#appendPair.run(conversation, a.role, c.encrypt(a.text), a.at, conversation, b.role, c.encrypt(b.text), b.at);
      return;
    }
    for (const e of entries) this.#append.run(conversation, e.role, this.#codec.encrypt(e.text), e.at);
  }
}
