// Memory as a turn uses it: `related` finds what is worth putting in the prompt (vector and BM25 hits
// fused by reciprocal rank, an exact keyword hit first, a little recency), `add` remembers after the
// turn, and prune / forget / reindex / status for retention, privacy, model changes and doctor.
// The embedding endpoint is optional at every step: when it is down, retrieval runs on FTS alone and
// says so; new items are stored without a vector (counted as stale until `memory reindex`).
import type { MemoryConfig } from '../config/memory.ts';
import { EMBED_BATCH, EmbedError, type Embedder } from './embed.ts';
import { estimateTokens, fitEnd } from '../media/chunk.ts';
import { VectorError } from '../../store/vectors.ts';
import { chatScope, SHARED_SCOPE, userScope, type ForgetCounts, type MemoryStore, type NewItem, type Person } from '../../store/memory.ts';

/** Rank constant of reciprocal rank fusion (the usual 60: the top few ranks of a list differ little). */
const RRF_K = 60;
/**
 * Weight of exact keyword hits (times the share of the question's keywords an item contains). RRF alone
 * lets a noisy vector list outvote the lexical one (1/61 + 1/62 beats 1/61 + 1/80), so a keyword hit is
 * a tier above anything RRF can give (at most 2/61): with poor embeddings, the item holding the very
 * word asked about still comes first.
 */
const EXACT_BONUS = 1;
/** A term in more than this share of items is a common word, not a keyword. */
const KEYWORD_MAX_SHARE = 0.2;
/** Recency: up to this share of the score fades with age, halving every RECENCY_HALF_LIFE_MS. */
const RECENCY_WEIGHT = 0.1;
const RECENCY_HALF_LIFE_MS = 30 * 86_400_000;
/** Candidates taken from each list before fusion. */
const CANDIDATES = 30;
/**
 * Vector candidates: the index's binary shortlist is 4× this (src/store/vectors.ts), and its cost grows
 * with it; 10 keeps a 100k-vector search near 7 ms (docs/benchmarks.md) and is plenty for top_k ≤ 10.
 */
const VECTOR_CANDIDATES = 10;
/** The question is embedded within this; a slow endpoint must not hold up the turn. */
const QUERY_EMBED_TIMEOUT_MS = 5_000;
const MAX_QUERY_TERMS = 32;

export interface Snippet {
  readonly id: number;
  readonly scope: string;
  readonly role: string;
  readonly text: string;
  readonly createdAt: number;
  /** Fused score (higher is better), recency included. */
  readonly score: number;
  /** 1-based rank in the vector list / the BM25 list; undefined when not in that list. */
  readonly vectorRank: number | undefined;
  readonly textRank: number | undefined;
  /** The item contains a distinctive keyword of the question (see keywordCoverage). */
  readonly exact: boolean;
}

export interface Recall {
  readonly snippets: readonly Snippet[];
  /** The block for the system prompt (empty when nothing was found), within budgetTokens. */
  readonly prompt: string;
  /** hybrid: both searches ran; fts: no vectors (endpoint down, or the database is encrypted → vector only). */
  readonly mode: 'hybrid' | 'fts' | 'vector' | 'none';
  /** Why a search was left out, for the log. */
  readonly degraded: string | undefined;
}

export interface RelatedOptions {
  /** Scope keys the caller may search (see scopesFor): never another person's. */
  readonly scopes: readonly string[];
  readonly topK: number;
  readonly budgetTokens: number;
  readonly now: number;
  readonly signal?: AbortSignal;
}

export interface MemoryStatus {
  readonly items: number;
  readonly fts: boolean;
  readonly embedding: { readonly model: string; readonly endpoint: string; readonly state: 'ok' | 'down' | 'untried'; readonly error: string | undefined } | undefined;
  /** Dimension of the current model's vectors, once known. */
  readonly dims: number | undefined;
  /** Items vector search cannot see: never embedded, or embedded by another model/dimension. */
  readonly unembedded: number;
  readonly otherModel: number;
}

/** Who is talking, for scopes and for the item columns. */
export interface Speaker {
  readonly platform: string;
  readonly userId: string;
  readonly chatId: string;
}

/** The scopes a turn may search: the person's (or the chat's) own, plus shared knowledge. */
export function scopesFor(c: Pick<MemoryConfig, 'scope' | 'shared'>, s: Speaker): string[] {
  const own = c.scope === 'user' ? userScope(s.platform, s.userId) : chatScope(s.platform, s.chatId);
  return c.shared ? [own, SHARED_SCOPE] : [own];
}

/** The items to remember of a finished turn, as memory.store says (user, assistant or both). */
export function turnItems(c: Pick<MemoryConfig, 'scope' | 'store'>, s: Speaker, turn: { question: string; answer: string; at: number }): NewItem[] {
  const scope = scopesFor({ scope: c.scope, shared: false }, s)[0]!;
  const base = { scope, platform: s.platform, userId: s.userId, chatId: s.chatId, source: 'chat', createdAt: turn.at };
  const out: NewItem[] = [];
  if (c.store !== 'assistant' && turn.question.trim()) out.push({ ...base, role: 'user', text: turn.question });
  if (c.store !== 'user' && turn.answer.trim()) out.push({ ...base, role: 'assistant', text: turn.answer });
  return out;
}

/** Lower-cased words (letters and digits), as FTS5's unicode61 tokenizer sees them, without repeats. */
export function terms(text: string): string[] {
  const words = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].slice(0, MAX_QUERY_TERMS);
}

const quoted = (t: string) => `"${t}"`;

export class Memory {
  readonly store: MemoryStore;
  readonly #embedder: Embedder | undefined;
  #state: 'ok' | 'down' | 'untried' = 'untried';
  #lastError: string | undefined;

  /** Without an embedder (none configured) memory is FTS-only. */
  constructor(store: MemoryStore, embedder: Embedder | undefined) {
    this.store = store;
    this.#embedder = embedder;
  }

  async related(text: string, o: RelatedOptions): Promise<Recall> {
    const words = terms(text);
    if (o.scopes.length === 0 || o.topK <= 0) return { snippets: [], prompt: '', mode: 'none', degraded: undefined };
    const lexical = words.length ? this.store.fullText(words.map(quoted).join(' OR '), o.scopes, CANDIDATES) : [];
    const vector = await this.#vectorHits(text, o);
    const coverage = this.#keywordCoverage(words, o.scopes);

    const fused = new Map<number, { score: number; vectorRank?: number; textRank?: number }>();
    const add = (id: number, rank: number, which: 'vectorRank' | 'textRank') => {
      const f = fused.get(id) ?? { score: 0 };
      f.score += 1 / (RRF_K + rank);
      f[which] = rank;
      fused.set(id, f);
    };
    lexical.forEach((h, i) => add(h.id, i + 1, 'textRank'));
    vector.hits.forEach((h, i) => add(h.id, i + 1, 'vectorRank'));

    const items = new Map(this.store.items([...fused.keys()]).map((it) => [it.id, it]));
    const snippets: Snippet[] = [];
    for (const [id, f] of fused) {
      const it = items.get(id);
      if (!it || !o.scopes.includes(it.scope)) continue; // the scope filter is the search's; this is the belt to its braces
      const age = Math.max(0, o.now - it.createdAt);
      const recency = 1 - RECENCY_WEIGHT + RECENCY_WEIGHT * 0.5 ** (age / RECENCY_HALF_LIFE_MS);
      const cover = coverage.get(id) ?? 0;
      snippets.push({
        id, scope: it.scope, role: it.role, text: it.text, createdAt: it.createdAt,
        score: (f.score + EXACT_BONUS * cover) * recency,
        vectorRank: f.vectorRank, textRank: f.textRank, exact: cover > 0,
      });
    }
    snippets.sort((a, b) => b.score - a.score || b.createdAt - a.createdAt);
    const top = snippets.slice(0, o.topK);
    const mode = vector.ran && this.store.ftsEnabled ? 'hybrid' : vector.ran ? 'vector' : this.store.ftsEnabled ? 'fts' : 'none';
    return { snippets: top, prompt: formatForPrompt(top, o.budgetTokens), mode, degraded: vector.degraded };
  }

  async #vectorHits(text: string, o: RelatedOptions): Promise<{ hits: { id: number }[]; ran: boolean; degraded: string | undefined }> {
    if (!this.#embedder) return { hits: [], ran: false, degraded: 'no embedding model configured' };
    let vector: Float32Array;
    try {
      const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(QUERY_EMBED_TIMEOUT_MS)]) : AbortSignal.timeout(QUERY_EMBED_TIMEOUT_MS);
      [vector] = (await this.#embed([text], signal)) as [Float32Array];
    } catch (err) {
      if (!(err instanceof EmbedError)) throw err;
      return { hits: [], ran: false, degraded: `embeddings unavailable (${err.message}): full-text search only` };
    }
    // The index of this model and dimension: rows embedded by another model live in another index and
    // are simply not seen (they are counted as stale in status()) until `memory reindex`.
    try {
      const index = this.store.vectorIndex(this.#embedder.model, vector.length, o.now);
      const hits = index.search(vector, Math.max(VECTOR_CANDIDATES, o.topK), o.scopes).map((h) => ({ id: Number(h.rowid) }));
      return { hits, ran: true, degraded: undefined };
    } catch (err) {
      // A vector the index cannot take (a dimension that is not a multiple of 8, all zeros): a model
      // problem for doctor, not a reason to fail the turn.
      if (!(err instanceof VectorError)) throw err;
      this.#state = 'down';
      this.#lastError = err.message;
      return { hits: [], ran: false, degraded: `vector search unavailable (${err.message}): full-text search only` };
    }
  }

  /**
   * How much of the question's distinctive vocabulary each item (in scope) contains: the share of the
   * keywords' IDF weight it holds, from 0 to 1. A keyword is a term of the question that is rare among
   * the stored items (common words like "my" or "where" say nothing about which item is meant).
   */
  #keywordCoverage(words: readonly string[], scopes: readonly string[]): Map<number, number> {
    const coverage = new Map<number, number>();
    const { total, df } = this.store.documentFrequency(words);
    const limit = Math.max(1, Math.floor(total * KEYWORD_MAX_SHARE));
    const keywords = words.filter((w) => (df.get(w) ?? 0) > 0 && df.get(w)! <= limit);
    const idf = (w: string) => Math.log(1 + total / df.get(w)!);
    const weight = keywords.reduce((n, w) => n + idf(w), 0);
    for (const w of keywords) {
      for (const h of this.store.fullText(quoted(w), scopes, CANDIDATES)) coverage.set(h.id, (coverage.get(h.id) ?? 0) + idf(w) / weight);
    }
    return coverage;
  }

  async #embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    try {
      const v = await this.#embedder!.embed(texts, signal);
      this.#state = 'ok';
      this.#lastError = undefined;
      return v;
    } catch (err) {
      if (err instanceof EmbedError) {
        this.#state = 'down';
        this.#lastError = err.message;
      }
      throw err;
    }
  }

  /**
   * Stores items at once, then embeds them in batches. Meant to run after the turn (do not await it on
   * the turn's path); it never rejects for the embedding endpoint: items it could not embed stay
   * searchable by FTS and are counted as unembedded until `memory reindex`.
   */
  async add(items: readonly NewItem[], now: number): Promise<{ ids: number[]; embedded: number; error: EmbedError | VectorError | undefined }> {
    const ids = this.store.insert(items);
    if (!this.#embedder) return { ids, embedded: 0, error: undefined };
    let embedded = 0;
    for (let i = 0; i < items.length; i += EMBED_BATCH) {
      const batch = items.slice(i, i + EMBED_BATCH);
      try {
        const vectors = await this.#embed(batch.map((b) => b.text));
        this.store.setVectors(this.#embedder.model, vectors.map((vector, j) => ({ id: ids[i + j]!, vector })), now);
        embedded += batch.length;
      } catch (err) {
        if (err instanceof EmbedError || err instanceof VectorError) return { ids, embedded, error: err };
        throw err;
      }
    }
    return { ids, embedded, error: undefined };
  }

  /** Deletes items older than `ttlMs`. */
  prune(ttlMs: number, now: number): { items: number; vectors: number; fts: number } {
    return this.store.prune(now - ttlMs);
  }

  forget(p: Person): ForgetCounts {
    return this.store.forget(p);
  }

  /**
   * Gives every item a vector of the configured model (after a model or dimension change, or items
   * stored while the endpoint was down), then drops the indexes nothing uses any more. Throws EmbedError
   * when the endpoint fails; what was done stays done, and a rerun continues.
   */
  async reindex(onProgress: (done: number, total: number) => void, now: number): Promise<{ embedded: number; droppedIndexes: number }> {
    if (!this.#embedder) throw new EmbedError('not_found', 'no embedding model configured (models.embedding)');
    const dims = (await this.#embed(['dimension probe']))[0]!.length;
    const { unembedded, otherModel } = this.store.staleCount(this.#embedder.model, dims);
    const total = unembedded + otherModel;
    let done = 0;
    onProgress(0, total);
    for (let after = 0; ;) {
      const batch = this.store.staleItems(this.#embedder.model, dims, after, EMBED_BATCH);
      if (batch.length === 0) break;
      const vectors = await this.#embed(batch.map((b) => b.text));
      if (vectors.some((v) => v.length !== dims)) throw new EmbedError('bad_response', `${this.#embedder.endpoint} changed the embedding dimension during the reindex`);
      this.store.setVectors(this.#embedder.model, vectors.map((vector, j) => ({ id: batch[j]!.id, vector })), now);
      done += batch.length;
      after = batch.at(-1)!.id;
      onProgress(Math.min(done, total), total);
    }
    return { embedded: done, droppedIndexes: this.store.dropUnusedIndexes() };
  }

  /** For doctor: counts, and the embedding endpoint's state as last seen (`probe()` to try it now). */
  status(): MemoryStatus {
    const model = this.#embedder?.model;
    const dims = model === undefined ? undefined : this.store.latestIndex(model)?.dims;
    const c = this.store.staleCount(model ?? '', dims);
    return {
      items: c.total,
      fts: this.store.ftsEnabled,
      embedding: this.#embedder ? { model: this.#embedder.model, endpoint: this.#embedder.endpoint, state: this.#state, error: this.#lastError } : undefined,
      dims,
      unembedded: c.unembedded,
      otherModel: model === undefined ? 0 : c.otherModel,
    };
  }

  /** Tries the embedding endpoint once (doctor), then reports status(). */
  async probe(signal?: AbortSignal): Promise<MemoryStatus> {
    if (this.#embedder) {
      try {
        const [v] = await this.#embed(['ping'], signal);
        this.store.vectorIndex(this.#embedder.model, v!.length, Date.now());
      } catch (err) {
        if (err instanceof VectorError) {
          this.#state = 'down';
          this.#lastError = err.message;
        } else if (!(err instanceof EmbedError)) throw err;
      }
    }
    return this.status();
  }
}

/**
 * The prompt block: snippets best first, each on its own line, as many as fit the budget (estimated as
 * media/chunk.ts does: ~4 ASCII characters per token, one token for any other character, so a Chinese
 * block is not four times its budget); one that does not fit whole is cut at a word when enough room is left.
 */
export function formatForPrompt(snippets: readonly Snippet[], budgetTokens: number): string {
  const head = 'Relevant notes from earlier conversations and shared knowledge (may be outdated):';
  if (snippets.length === 0 || budgetTokens <= estimateTokens(head) + 5) return '';
  let out = head;
  for (const s of snippets) {
    const date = new Date(s.createdAt).toISOString().slice(0, 10);
    const line = `\n- [${date}${s.role === 'knowledge' ? ', knowledge' : s.role === 'assistant' ? ', you said' : ''}] ${s.text.replace(/\s+/g, ' ').trim()}`;
    const room = budgetTokens - estimateTokens(out);
    if (estimateTokens(line) <= room) out += line;
    else if (room >= 20) {
      const cut = line.slice(0, fitEnd(line, room - 1));
      out += `${cut.slice(0, Math.max(cut.lastIndexOf(' '), cut.length - 20))}…`;
      break;
    } else break;
  }
  return out === head ? '' : out;
}
