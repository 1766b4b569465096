// Text → vectors for memory: Ollama's /api/embed (one request for a whole batch) through the `ollama`
// client, or an OpenAI-compatible /embeddings over undici. Failures are EmbedError kinds; the caller
// (Memory) turns them into "FTS only" instead of a failed turn.
import type { Ollama as OllamaClient } from 'ollama';
import type { EmbeddingConfig } from '../config/memory.ts';
import type { ModelErrorKind } from '../errors.ts';
import { deadline, toModelError } from '../models/errors.ts';

export type EmbedErrorKind = ModelErrorKind;

/** The embedding endpoint failed; `kind` says how (the same kinds as ModelError). */
export class EmbedError extends Error {
  override name = 'EmbedError';
  readonly kind: EmbedErrorKind;
  constructor(kind: EmbedErrorKind, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts);
    this.kind = kind;
  }
}

export interface Embedder {
  /** Names the vectors this embedder makes (stored per row: a change of model makes rows stale). */
  readonly model: string;
  readonly endpoint: string;
  /** One vector per text, in order, all of the same length. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Texts per request: large enough to amortise the round trip, small enough for a 2-core CPU server. */
export const EMBED_BATCH = 32;

export function createEmbedder(c: EmbeddingConfig): Embedder {
  return c.provider === 'ollama' ? new OllamaEmbedder(c) : new OpenAIEmbedder(c);
}

function checked(vectors: unknown, count: number, endpoint: string): Float32Array[] {
  if (!Array.isArray(vectors) || vectors.length !== count) {
    throw new EmbedError('bad_response', `${endpoint} returned ${Array.isArray(vectors) ? vectors.length : 'no'} embeddings for ${count} texts`);
  }
  const out = vectors.map((v) => {
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new EmbedError('bad_response', `${endpoint} returned an embedding that is not a list of numbers`);
    }
    return Float32Array.from(v as number[]);
  });
  if (out.some((v) => v.length !== out[0]!.length)) throw new EmbedError('bad_response', `${endpoint} returned embeddings of different lengths`);
  return out;
}

function fromModelError(err: unknown, endpoint: string, timedOut: boolean): EmbedError {
  if (err instanceof EmbedError) return err;
  const m = toModelError(err, endpoint, timedOut);
  return new EmbedError(m.kind, m.message.replace('model ', 'embedding '), { cause: err });
}

export class OllamaEmbedder implements Embedder {
  readonly model: string;
  readonly endpoint: string;
  readonly #timeoutMs: number;

  constructor(c: Pick<EmbeddingConfig, 'endpoint' | 'model' | 'timeoutMs'>) {
    this.endpoint = c.endpoint.replace(/\/+$/, '');
    this.model = c.model;
    this.#timeoutMs = c.timeoutMs;
  }

  async embed(texts: readonly string[], outer?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const { signal, timedOut } = deadline(this.#timeoutMs, outer);
    // A client per request: the library aborts only through client.abort(), see models/ollama.ts.
    const { Ollama } = await import('ollama');
    const client: OllamaClient = new Ollama({ host: this.endpoint, fetch: (url, init) => fetch(url, { ...init, signal }) });
    try {
      const r = await client.embed({ model: this.model, input: [...texts] });
      return checked(r.embeddings, texts.length, this.endpoint);
    } catch (err) {
      const e = err as { name?: string; status_code?: number; error?: string; message?: string };
      if (e?.name === 'ResponseError') {
        if (e.status_code === 404) throw new EmbedError('not_found', `embedding model "${this.model}" not found at ${this.endpoint} (ollama pull ${this.model})`, { cause: err });
        throw new EmbedError('http', `${this.endpoint} answered ${e.status_code}: ${e.error ?? e.message}`, { cause: err });
      }
      throw fromModelError(err, this.endpoint, timedOut());
    }
  }
}

export class OpenAIEmbedder implements Embedder {
  readonly model: string;
  readonly endpoint: string;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;

  constructor(c: Pick<EmbeddingConfig, 'endpoint' | 'model' | 'apiKey' | 'timeoutMs'>) {
    this.endpoint = c.endpoint.replace(/\/+$/, '');
    this.model = c.model;
    this.#apiKey = c.apiKey;
    this.#timeoutMs = c.timeoutMs;
  }

  async embed(texts: readonly string[], outer?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return []; // OpenAI rejects an empty input list
    const { signal, timedOut } = deadline(this.#timeoutMs, outer);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    try {
      // Loaded on first use: the HTTP client and the ollama library stay out of every command's start-up.
      const { request } = await import('undici');
      const res = await request(`${this.endpoint}/embeddings`, {
        method: 'POST', headers, signal, body: JSON.stringify({ model: this.model, input: texts, encoding_format: 'float' }),
      });
      if (res.statusCode !== 200) {
        const body = await res.body.text().catch(() => '');
        let detail = body.slice(0, 300);
        try {
          detail = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? detail;
        } catch { /* not JSON: the raw text is the detail */ }
        throw new EmbedError(res.statusCode === 404 ? 'not_found' : 'http', `${this.endpoint}/embeddings answered ${res.statusCode}: ${detail}`);
      }
      let body: { data?: { index?: number; embedding?: unknown }[] };
      try {
        body = (await res.body.json()) as typeof body;
      } catch (err) {
        throw new EmbedError('bad_response', `invalid JSON from ${this.endpoint}/embeddings`, { cause: err });
      }
      if (!Array.isArray(body.data)) throw new EmbedError('bad_response', `${this.endpoint}/embeddings returned no data list`);
      // `index` says which input a vector belongs to; servers may answer out of order.
      const ordered = [...body.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding);
      return checked(ordered, texts.length, this.endpoint);
    } catch (err) {
      throw fromModelError(err, this.endpoint, timedOut());
    }
  }
}
