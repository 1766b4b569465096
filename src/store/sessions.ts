// Conversation history. A conversation idle for longer than the TTL starts afresh (its old messages are
// no longer sent to the model, and serve's hourly prune forgets them). Message text goes through the
// codec (encrypted when the database has a data key).
//
// A conversation's entries form a chain: each row points at the entry before it (`prev`), and the
// session row at its first live entry and its last one. A turn therefore writes its entries where the
// table ends and updates its session row, and touches no per-conversation index: with one, every turn
// rewrote a leaf page of that index for its conversation (with four busy conversations, 38 % of the
// pages a group commit wrote; docs/benchmarks.md). Reading the history follows the chain back from the
// last entry: `max` lookups by rowid, however long the conversation.
import type { TextCodec } from './crypto.ts';
import { firstIdSince, type Db } from './db.ts';
import type { HistoryEntry } from '../core/types.ts';

export class Sessions {
  readonly #upsert;
  readonly #history;
  readonly #appendFirst;
  readonly #appendNext;
  readonly #recent;
  readonly #firstLiveSince;
  readonly #firstAtSince;
  readonly #pruneMessages;
  readonly #pruneSessions;
  readonly #codec: TextCodec;

  constructor(db: Db, codec: TextCodec) {
    this.#codec = codec;
    // One statement decides whether the session starts afresh at the new entries (it expired, or has no
    // live entry left) or goes on: a turn's writes are on the hot path, and a SELECT first would cost a
    // statement more.
    const restart = '(excluded.updated_at - sessions.updated_at > @ttl OR sessions.first_message IS NULL)';
    this.#upsert = db.prepare(
      `INSERT INTO sessions (conversation, started_at, updated_at, first_message, last_message, entries) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (conversation) DO UPDATE SET
         started_at    = CASE WHEN ${restart} THEN excluded.started_at    ELSE sessions.started_at END,
         first_message = CASE WHEN ${restart} THEN excluded.first_message ELSE sessions.first_message END,
         entries       = CASE WHEN ${restart} THEN excluded.entries       ELSE sessions.entries + excluded.entries END,
         last_message  = excluded.last_message,
         updated_at    = excluded.updated_at`,
    );
    // One statement, so the session's pointers and the entries come from one snapshot. Every step checks
    // the conversation too: a pointer to a row deleted since (memory forget, in another process) may name
    // a new row of another conversation that took its rowid.
    this.#history = db.prepare(
      `WITH RECURSIVE s (first, last) AS (
         SELECT first_message, last_message FROM sessions WHERE conversation = @conversation AND updated_at >= @since
       ), h (id, prev, role, text, at, n) AS (
         SELECT m.id, m.prev, m.role, m.text, m.at, 1 FROM s JOIN messages m ON m.id = s.last
           WHERE m.id >= s.first AND m.conversation = @conversation
         UNION ALL
         SELECT m.id, m.prev, m.role, m.text, m.at, h.n + 1 FROM h JOIN messages m ON m.id = h.prev JOIN s
           WHERE h.n < @max AND m.id >= s.first AND m.conversation = @conversation
       )
       SELECT role, text, at FROM h ORDER BY n DESC`,
    );
    this.#recent = db.prepare(`SELECT conversation, updated_at AS updatedAt, entries AS messages FROM sessions ORDER BY updated_at DESC LIMIT ?`);
    this.#appendFirst = db.prepare(
      `INSERT INTO messages (conversation, role, text, at, prev) VALUES (?, ?, ?, ?, (SELECT last_message FROM sessions WHERE conversation = ?))`,
    );
    this.#appendNext = db.prepare(`INSERT INTO messages (conversation, role, text, at, prev) VALUES (?, ?, ?, ?, ?)`);
    this.#firstLiveSince = db.prepare(`SELECT min(first_message) FROM sessions WHERE updated_at >= ?`).pluck();
    this.#firstAtSince = firstIdSince(db, 'messages', 'at');
    this.#pruneMessages = db.prepare(`DELETE FROM messages WHERE id < ? AND at < ?`);
    this.#pruneSessions = db.prepare(`DELETE FROM sessions WHERE updated_at < ?`);
  }

  /**
   * Forgets sessions idle since `before` and the history no session can read any more: entries older
   * than `before` that come before the first live entry of every session active since then, and in any
   * case entries older than `oldest` (a session that never pauses would otherwise keep everything it ever
   * had; it reads its last entries, not those). That is (nearly) a prefix of the table, deleted by rowid
   * range (firstIdSince). `before` must be at least the session
   * TTL ago: a session idle for longer has expired. Returns the number of entries deleted.
   */
  prune(before: number, oldest: number): number {
    const live = (this.#firstLiveSince.get(before) as number | null | undefined) ?? Number.MAX_SAFE_INTEGER;
    const young = this.#firstAtSince(oldest);
    const keepFrom = Math.max(live, young);
    const n = this.#pruneMessages.run(keepFrom, before).changes;
    this.#pruneSessions.run(before);
    return n;
  }

  /** The most recently active conversations, newest first, with the number of entries of their live session (for `/sessions`). */
  recent(limit: number): { conversation: string; updatedAt: number; messages: number }[] {
    return this.#recent.all(limit) as { conversation: string; updatedAt: number; messages: number }[];
  }

  /** The live history of a conversation, oldest first, at most `max` entries. */
  history(conversation: string, now: number, ttlMs: number, max: number): HistoryEntry[] {
    if (max <= 0) return [];
    const rows = this.#history.all({ conversation, since: now - ttlMs, max }) as { role: HistoryEntry['role']; text: string; at: number }[];
    for (const r of rows) r.text = this.#codec.decrypt(r.text);
    return rows;
  }

  /** Appends entries; must run inside the turn's transaction. Restarts the session when it expired. */
  append(conversation: string, entries: readonly HistoryEntry[], now: number, ttlMs: number): void {
    const [head, ...rest] = entries;
    if (!head) return;
    let startedAt = now; // where a new (or restarted) session begins: its first entry
    for (const e of entries) if (e.at < startedAt) startedAt = e.at;
    const c = this.#codec;
    const first = Number(this.#appendFirst.run(conversation, head.role, c.encrypt(head.text), head.at, conversation).lastInsertRowid);
    let last = first;
    for (const e of rest) last = Number(this.#appendNext.run(conversation, e.role, c.encrypt(e.text), e.at, last).lastInsertRowid);
    this.#upsert.run(conversation, startedAt, now, first, last, entries.length, { ttl: ttlMs });
  }
}

/**
 * Rebuilds the chains of `conversations` after entries were deleted from them (memory forget), and
 * their sessions' first and last entries and counts. One scan of the table (there is no index by
 * conversation), for an operation people run by hand.
 */
export function relinkHistory(db: Db, conversations: Iterable<string>): void {
  const names = [...conversations];
  const ids = new Map<string, number[]>();
  const rows = db.prepare('SELECT id, conversation FROM messages WHERE conversation IN (SELECT value FROM json_each(?)) ORDER BY id').all(JSON.stringify(names));
  for (const r of rows as { id: number; conversation: string }[]) {
    let list = ids.get(r.conversation);
    if (!list) ids.set(r.conversation, (list = []));
    list.push(r.id);
  }
  const setPrev = db.prepare('UPDATE messages SET prev = ? WHERE id = ? AND prev IS NOT ?');
  const session = db.prepare('SELECT first_message FROM sessions WHERE conversation = ?').pluck();
  const setSession = db.prepare('UPDATE sessions SET first_message = ?, last_message = ?, entries = ? WHERE conversation = ?');
  for (const conversation of names) {
    const list = ids.get(conversation) ?? [];
    let prev: number | null = null;
    for (const id of list) {
      setPrev.run(prev, id, prev);
      prev = id;
    }
    const from = session.get(conversation) as number | null | undefined;
    if (from === undefined) continue;
    const live = from === null ? [] : list.filter((id) => id >= from);
    setSession.run(live[0] ?? null, list.at(-1) ?? null, live.length, conversation);
  }
}
