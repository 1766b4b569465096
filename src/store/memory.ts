// Context memory on disk: items (one remembered message or imported chunk each), a contentless FTS5
// index over their text, and one sqlite-vec index per embedding model and dimension. Scope keys:
// "user:PLATFORM:USERID", "chat:PLATFORM:CHATID", "shared".
//
// Item text goes through the codec like every other text column. Full-text search over encrypted text
// cannot work (the index would need the clear words, i.e. leak them), so with an encrypting codec the
// FTS index is kept empty and retrieval is vector-only; whatever an earlier clear-text life left in the
// index is dropped when the store opens.
import { createHash } from 'node:crypto';
import type { TextCodec } from './crypto.ts';
import { scrubbing, type Db } from './db.ts';
import { relinkHistory } from './sessions.ts';
import { checkDims, VectorIndex } from './vectors.ts';
import type { InboundMessage } from '../core/types.ts';

export type MemoryRole = 'user' | 'assistant' | 'knowledge';

export interface NewItem {
  readonly scope: string;
  readonly platform: string | undefined;
  readonly userId: string | undefined;
  readonly chatId: string | undefined;
  readonly role: MemoryRole;
  readonly text: string;
  /** "chat" for conversation messages, the file's path for imported knowledge. */
  readonly source: string;
  readonly createdAt: number;
}

export interface StoredItem {
  readonly id: number;
  readonly scope: string;
  readonly role: MemoryRole;
  readonly text: string;
  readonly source: string;
  readonly createdAt: number;
}

/** Whose memory `forget` erases: a person on one platform, or on every platform. */
export interface Person {
  readonly user: string;
  readonly platform?: string | undefined;
}

/** Rows `forget` removed (or, for inbox/outbox, emptied), by kind. */
export interface ForgetCounts {
  readonly items: number;
  readonly vectors: number;
  readonly fts: number;
  /** Session history rows (`messages`). */
  readonly messages: number;
  /** Inbox rows whose message text was erased (the row stays: it is the redelivery dedupe key). */
  readonly inbox: number;
  /** Replies to those messages whose text was erased. */
  readonly outbox: number;
}

export const userScope = (platform: string, userId: string) => `user:${platform}:${userId}`;
export const chatScope = (platform: string, chatId: string) => `chat:${platform}:${chatId}`;
export const SHARED_SCOPE = 'shared';

interface IndexRow { id: number; model: string; dims: number }
/** Registered indexes with a dimension no table exists for (registered by older versions) are left out. */
const VALID_DIMS = 'dims > 0 AND dims % 8 = 0';

export class MemoryStore {
  readonly db: Db;
  /** False when the codec encrypts: see the head of this file. */
  readonly ftsEnabled: boolean;
  readonly #codec: TextCodec;
  readonly #encrypting: boolean;
  readonly #indexes = new Map<number, VectorIndex>();
  readonly #insert;
  readonly #insertFts;
  readonly #deleteFts;
  readonly #deleteItem;
  readonly #item;

  constructor(db: Db, codec: TextCodec) {
    this.db = db;
    this.#codec = codec;
    // An encrypting codec changes every value (fresh nonce); the clear-text codec returns it as it is.
    this.#encrypting = codec.encrypt('probe') !== 'probe';
    this.ftsEnabled = !this.#encrypting;
    if (this.#encrypting && db.prepare('SELECT 1 FROM memory_fts LIMIT 1').get()) {
      scrubbing(db, () => db.prepare(`INSERT INTO memory_fts (memory_fts) VALUES ('delete-all')`).run());
    }
    this.#insert = db.prepare(
      `INSERT INTO memory_items (scope, platform, user_id, chat_id, role, text, source, content_hash, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertFts = db.prepare('INSERT INTO memory_fts (rowid, text) VALUES (?, ?)');
    this.#deleteFts = db.prepare('DELETE FROM memory_fts WHERE rowid = ?');
    this.#deleteItem = db.prepare('DELETE FROM memory_items WHERE id = ?');
    this.#item = db.prepare('SELECT id, scope, role, text, source, created_at AS createdAt FROM memory_items WHERE id = ?');
  }

  /** Stores items (text encrypted when there is a key, indexed for FTS when not); returns their ids. */
  insert(items: readonly NewItem[]): number[] {
    return this.db.transaction(() => items.map((it) => {
      const stored = this.#codec.encrypt(it.text);
      // The hash of a short clear text is as good as the text to anyone with a dictionary: an encrypted
      // database hashes the stored (encrypted) value instead.
      const hash = sha256(this.#encrypting ? stored : it.text);
      const id = Number(this.#insert.run(it.scope, it.platform ?? null, it.userId ?? null, it.chatId ?? null, it.role, stored, it.source, hash, it.createdAt).lastInsertRowid);
      if (this.ftsEnabled) this.#insertFts.run(id, it.text);
      return id;
    }))();
  }

  /** The items with these ids (decrypted), in the order asked; ids that are gone are left out. */
  items(ids: readonly number[]): StoredItem[] {
    const out: StoredItem[] = [];
    for (const id of ids) {
      const r = this.#item.get(id) as StoredItem | undefined;
      if (r) out.push({ ...r, text: this.#codec.decrypt(r.text) });
    }
    return out;
  }

  /** BM25 hits of an FTS5 query inside `scopes`, best first (bm25() is lower-is-better, so negated). */
  fullText(match: string, scopes: readonly string[], limit: number): { id: number; score: number }[] {
    if (!this.ftsEnabled || scopes.length === 0) return [];
    const rows = this.db.prepare(
      `SELECT f.rowid AS id, -bm25(memory_fts) AS score FROM memory_fts f JOIN memory_items i ON i.id = f.rowid
       WHERE memory_fts MATCH ? AND i.scope IN (${scopes.map(() => '?').join(', ')}) ORDER BY bm25(memory_fts) LIMIT ?`,
    ).all(match, ...scopes, limit) as { id: bigint | number; score: number }[];
    return rows.map((r) => ({ id: Number(r.id), score: r.score }));
  }

  /** How many indexed items contain each term (over all scopes: only a count, never a text). */
  documentFrequency(terms: readonly string[]): { total: number; df: Map<string, number> } {
    const df = new Map<string, number>();
    if (!this.ftsEnabled || terms.length === 0) return { total: 0, df };
    const rows = this.db.prepare(`SELECT term, doc FROM memory_fts_vocab WHERE term IN (${terms.map(() => '?').join(', ')})`).all(...terms) as { term: string; doc: number }[];
    for (const r of rows) df.set(r.term, r.doc);
    const total = (this.db.prepare('SELECT count(*) AS n FROM memory_items').get() as { n: number }).n;
    return { total, df };
  }

  // --- vector indexes -------------------------------------------------------------------------------

  /** The index for a model and dimension, created (and registered) on first use. */
  vectorIndex(model: string, dims: number, now: number): VectorIndex {
    let row = this.db.prepare('SELECT id, model, dims FROM memory_vector_indexes WHERE model = ? AND dims = ?').get(model, dims) as IndexRow | undefined;
    if (!row) {
      checkDims(dims); // before registering: a row no table can be made for would break every later open
      const id = Number(this.db.prepare('INSERT INTO memory_vector_indexes (model, dims, created_at) VALUES (?, ?, ?)').run(model, dims, now).lastInsertRowid);
      row = { id, model, dims };
    }
    return this.#open(row);
  }

  /** The index most recently made for `model` (its dimension is learned from the first vectors). */
  latestIndex(model: string): VectorIndex | undefined {
    const row = this.db.prepare(`SELECT id, model, dims FROM memory_vector_indexes WHERE model = ? AND ${VALID_DIMS} ORDER BY id DESC LIMIT 1`).get(model) as IndexRow | undefined;
    return row ? this.#open(row) : undefined;
  }

  #open(row: IndexRow): VectorIndex {
    let index = this.#indexes.get(row.id);
    if (!index) {
      index = new VectorIndex(this.db, { table: `memory_vec_${row.id}`, dims: row.dims });
      this.#indexes.set(row.id, index);
    }
    return index;
  }

  #allIndexes(): VectorIndex[] {
    return (this.db.prepare(`SELECT id, model, dims FROM memory_vector_indexes WHERE ${VALID_DIMS}`).all() as IndexRow[]).map((r) => this.#open(r));
  }

  /** Records vectors made by `model` for items (moving them out of any other model's index). */
  setVectors(model: string, vectors: readonly { id: number; vector: Float32Array }[], now: number): void {
    if (vectors.length === 0) return;
    const dims = vectors[0]!.vector.length;
    const index = this.vectorIndex(model, dims, now);
    const scopeOf = this.db.prepare('SELECT scope, embed_model AS m, embed_dims AS d FROM memory_items WHERE id = ?');
    const mark = this.db.prepare('UPDATE memory_items SET embed_model = ?, embed_dims = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const { id, vector } of vectors) {
        const r = scopeOf.get(id) as { scope: string; m: string | null; d: number | null } | undefined;
        if (!r) continue; // forgotten or pruned while it was being embedded
        if (r.m !== null && (r.m !== model || r.d !== dims)) this.vectorIndex(r.m, r.d!, now).delete(BigInt(id));
        index.upsert(BigInt(id), r.scope, vector);
        mark.run(model, dims, id);
      }
    })();
  }

  /** Items without a vector of this model and dimension ("stale"), in id order after `afterId`. */
  staleItems(model: string, dims: number | undefined, afterId: number, limit: number): { id: number; text: string }[] {
    const rows = this.db.prepare(
      `SELECT id, text FROM memory_items WHERE id > ? AND (embed_model IS NULL OR embed_model != ? OR embed_dims IS NOT ?) ORDER BY id LIMIT ?`,
    ).all(afterId, model, dims ?? null, limit) as { id: number; text: string }[];
    return rows.map((r) => ({ id: r.id, text: this.#codec.decrypt(r.text) }));
  }

  /** How many items vector search cannot see with this model: never embedded, or embedded by another. */
  staleCount(model: string, dims: number | undefined): { unembedded: number; otherModel: number; total: number } {
    const r = this.db.prepare(
      `SELECT count(*) AS total, coalesce(sum(embed_model IS NULL), 0) AS unembedded,
              coalesce(sum(embed_model IS NOT NULL AND (embed_model != ? OR embed_dims IS NOT ?)), 0) AS otherModel
       FROM memory_items`,
    ).get(model, dims ?? null) as { total: number; unembedded: number; otherModel: number };
    return r;
  }

  /** Drops the indexes of other models once nothing refers to them (after a reindex). */
  dropUnusedIndexes(): number {
    const unused = this.db.prepare(
      `SELECT v.id, v.model, v.dims FROM memory_vector_indexes v
       WHERE NOT EXISTS (SELECT 1 FROM memory_items i WHERE i.embed_model = v.model AND i.embed_dims = v.dims)`,
    ).all() as IndexRow[];
    for (const r of unused) {
      this.db.exec(`DROP TABLE IF EXISTS memory_vec_${r.id}`);
      this.db.prepare('DELETE FROM memory_vector_indexes WHERE id = ?').run(r.id);
      this.#indexes.delete(r.id);
    }
    return unused.length;
  }

  // --- deleting ------------------------------------------------------------------------------------

  /** Deletes items with their vectors (in every index) and FTS rows; must run in a transaction. */
  #deleteItems(ids: readonly { id: number; embedded: boolean }[]): { items: number; vectors: number; fts: number } {
    const indexes = ids.some((i) => i.embedded) ? this.#allIndexes() : [];
    let vectors = 0;
    let fts = 0;
    for (const { id, embedded } of ids) {
      if (embedded) for (const index of indexes) if (index.delete(BigInt(id))) vectors++;
      if (this.ftsEnabled) fts += this.#deleteFts.run(id).changes;
      this.#deleteItem.run(id);
    }
    return { items: ids.length, vectors, fts };
  }

  /** Deletes items created before `before` (ms epoch). */
  prune(before: number): { items: number; vectors: number; fts: number } {
    const ids = this.db.prepare('SELECT id, embed_model IS NOT NULL AS embedded FROM memory_items WHERE created_at < ?').all(before) as { id: number; embedded: number }[];
    return this.db.transaction(() => this.#deleteItems(ids.map((r) => ({ id: r.id, embedded: r.embedded === 1 }))))();
  }

  /** Deletes the items imported from a file (before it is imported again). */
  deleteSource(path: string): number {
    const ids = this.db.prepare('SELECT id, embed_model IS NOT NULL AS embedded FROM memory_items WHERE source = ?').all(path) as { id: number; embedded: number }[];
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM memory_sources WHERE path = ?').run(path);
      return this.#deleteItems(ids.map((r) => ({ id: r.id, embedded: r.embedded === 1 }))).items;
    })();
  }

  sourceHash(path: string): string | undefined {
    return this.db.prepare('SELECT content_hash FROM memory_sources WHERE path = ?').pluck().get(path) as string | undefined;
  }

  recordSource(path: string, hash: string, chunks: number, now: number): void {
    this.db.prepare(
      `INSERT INTO memory_sources (path, content_hash, chunks, imported_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET content_hash = excluded.content_hash, chunks = excluded.chunks, imported_at = excluded.imported_at`,
    ).run(path, hash, chunks, now);
  }

  /**
   * Erases a person: their memory items (with vectors and FTS rows), their messages in session history,
   * and the text of their inbox messages and of the replies to them. History rows carry no sender, so
   * they are found through the person's inbox rows (same conversation, same text); a direct chat is
   * erased whole, including the one whose chat id is the user id (Telegram) when the inbox rows that
   * would name it were already pruned. Inbox rows are kept, emptied: they are the redelivery dedupe key.
   * Runs with secure_delete and checkpoints the WAL, so the erased text is gone from the file.
   */
  forget(p: Person): ForgetCounts {
    const db = this.db;
    return scrubbing(db, () => db.transaction((): ForgetCounts => {
      const items = db.prepare(
        `SELECT id, embed_model IS NOT NULL AS embedded FROM memory_items WHERE user_id = ? AND (? IS NULL OR platform = ?)`,
      ).all(p.user, p.platform ?? null, p.platform ?? null) as { id: number; embedded: number }[];
      const removed = this.#deleteItems(items.map((r) => ({ id: r.id, embedded: r.embedded === 1 })));
      const history = new HistoryEraser(db, this.#codec);
      let inbox = 0;
      let outbox = 0;
      const inboxRows = db.prepare(`SELECT id, platform, conversation, payload FROM inbox WHERE (? IS NULL OR platform = ?)`).all(p.platform ?? null, p.platform ?? null) as
        { id: number; platform: string; conversation: string; payload: string }[];
      const replies = db.prepare('SELECT id, text FROM outbox WHERE inbox_id = ?');
      const emptyReply = db.prepare(`UPDATE outbox SET text = ?, status = CASE status WHEN 'pending' THEN 'dead' ELSE status END,
                                       last_error = coalesce(last_error, 'erased by memory forget') WHERE id = ?`);
      const emptyInbox = db.prepare(`UPDATE inbox SET payload = ?, status = 'done', done_at = coalesce(done_at, ?) WHERE id = ?`);
      for (const row of inboxRows) {
        const m = JSON.parse(this.#codec.decrypt(row.payload)) as InboundMessage;
        if (m.sender.id !== p.user) continue;
        if (m.chat.type === 'dm') history.conversation(row.conversation);
        else history.text(row.conversation, 'user', m.text);
        for (const r of replies.all(row.id) as { id: number; text: string }[]) {
          history.text(row.conversation, 'assistant', this.#codec.decrypt(r.text));
          emptyReply.run(this.#codec.encrypt(''), r.id);
          outbox++;
        }
        emptyInbox.run(this.#codec.encrypt(JSON.stringify({ ...m, text: '', attachments: [] })), Date.now(), row.id);
        inbox++;
      }
      const platforms = p.platform !== undefined ? [p.platform]
        : (db.prepare('SELECT DISTINCT platform FROM inbox UNION SELECT DISTINCT platform FROM memory_items WHERE platform IS NOT NULL').pluck().all() as string[]);
      for (const platform of platforms) history.conversation(`${platform}:${p.user}`);
      history.finish();
      // Rewrites the full-text index into one segment: no page of it keeps a deleted term around.
      if (removed.fts > 0) db.prepare(`INSERT INTO memory_fts (memory_fts) VALUES ('optimize')`).run();
      return { ...removed, messages: history.erased, inbox, outbox };
    }).immediate());
  }
}

/**
 * Deletes history rows: whole conversations, or entries of a conversation by exact (decrypted) text.
 * Collects first and deletes in finish(): history has no index by conversation, so the work is a
 * fixed number of scans of the table (whole conversations one, entries by text two, the relink one),
 * whatever the number of conversations.
 */
class HistoryEraser {
  erased = 0;
  readonly #db: Db;
  readonly #codec: TextCodec;
  readonly #whole = new Set<string>();
  /** conversation → `${role}\0${text}` of the entries to delete */
  readonly #texts = new Map<string, Set<string>>();

  constructor(db: Db, codec: TextCodec) {
    this.#db = db;
    this.#codec = codec;
  }

  conversation(conversation: string): void {
    this.#whole.add(conversation);
  }

  text(conversation: string, role: 'user' | 'assistant', text: string): void {
    let set = this.#texts.get(conversation);
    if (!set) this.#texts.set(conversation, (set = new Set()));
    set.add(`${role}\0${text}`);
  }

  finish(): void {
    const db = this.#db;
    for (const c of this.#whole) this.#texts.delete(c);
    if (this.#whole.size > 0) {
      const whole = JSON.stringify([...this.#whole]);
      this.erased += db.prepare('DELETE FROM messages WHERE conversation IN (SELECT value FROM json_each(?))').run(whole).changes;
      db.prepare('DELETE FROM sessions WHERE conversation IN (SELECT value FROM json_each(?))').run(whole);
    }
    if (this.#texts.size === 0) return;
    const rows = db.prepare('SELECT id, conversation, role, text FROM messages WHERE conversation IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify([...this.#texts.keys()])) as { id: number; conversation: string; role: string; text: string }[];
    const del = db.prepare('DELETE FROM messages WHERE id = ?');
    for (const r of rows) {
      if (this.#texts.get(r.conversation)?.has(`${r.role}\0${this.#codec.decrypt(r.text)}`)) this.erased += del.run(r.id).changes;
    }
    relinkHistory(db, this.#texts.keys());
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
