// The `memory:` section and `models.embedding`: what the assistant remembers of conversations, whose
// memory a turn may search, and which model turns text into vectors.
//   memory:  { enabled: true, scope: user, top_k: 5, ttl: 90d, budget_tokens: 500, store: both, shared: true }
//   models:  { embedding: { provider: ollama, endpoint: http://127.0.0.1:11434, model: nomic-embed-text } }
import { nullish, type output } from 'zod/mini';
import { bool, duration, httpUrl, intIn, nonEmpty, obj, oneOf, val } from './kit.ts';

export const MEMORY_SCOPES = ['user', 'chat'] as const;
export const MEMORY_STORE = ['user', 'assistant', 'both'] as const;
export const EMBEDDING_PROVIDERS = ['ollama', 'openai'] as const;

export type MemoryScopeKind = (typeof MEMORY_SCOPES)[number];
export type MemoryStoreKind = (typeof MEMORY_STORE)[number];
export type EmbeddingProvider = (typeof EMBEDDING_PROVIDERS)[number];

export interface MemoryConfig {
  readonly enabled: boolean;
  /** user: a person's memory follows them across their chats on one platform; chat: each chat its own. */
  readonly scope: MemoryScopeKind;
  readonly topK: number;
  /** Items older than this are pruned (ms); undefined keeps them. */
  readonly ttlMs: number | undefined;
  /** Upper bound of what memory adds to the prompt, in tokens (≈ 4 characters each). */
  readonly budgetTokens: number;
  /** Which side of a conversation is remembered. */
  readonly store: MemoryStoreKind;
  /** Whether turns also search the shared knowledge scope (`clawdbot memory import`). */
  readonly shared: boolean;
}

export interface EmbeddingConfig {
  readonly provider: EmbeddingProvider;
  /** Ollama's base URL, or the OpenAI-compatible base that /embeddings hangs off (usually …/v1). */
  readonly endpoint: string;
  readonly model: string;
  readonly apiKey: string | undefined;
  readonly timeoutMs: number;
}

export const MEMORY_DEFAULTS = { enabled: false, scope: 'user', topK: 5, budgetTokens: 500, store: 'both', shared: true } as const;
export const EMBEDDING_DEFAULTS = {
  provider: 'ollama', endpoint: 'http://127.0.0.1:11434', model: 'nomic-embed-text', timeoutMs: 30_000,
} as const;

export const memorySection = obj({
  enabled: nullish(bool),
  scope: nullish(oneOf(MEMORY_SCOPES)),
  top_k: nullish(intIn(1, 100)),
  ttl: nullish(duration(60_000)),
  budget_tokens: nullish(intIn(1, 100_000)),
  store: nullish(oneOf(MEMORY_STORE)),
  shared: nullish(bool),
});

export const embeddingSection = obj({
  provider: nullish(oneOf(EMBEDDING_PROVIDERS)),
  endpoint: nullish(httpUrl),
  model: nullish(val('an embedding model name like nomic-embed-text', nonEmpty)),
  api_key: nullish(val('a string (sent as a bearer token to an OpenAI-compatible endpoint)', nonEmpty)),
  timeout: nullish(duration(1)),
});

export type RawMemory = output<typeof memorySection>;
export type RawEmbedding = output<typeof embeddingSection>;

export function compileMemory(raw: RawMemory | null | undefined): MemoryConfig {
  return {
    enabled: raw?.enabled ?? MEMORY_DEFAULTS.enabled,
    scope: raw?.scope ?? MEMORY_DEFAULTS.scope,
    topK: raw?.top_k ?? MEMORY_DEFAULTS.topK,
    ttlMs: raw?.ttl ?? undefined,
    budgetTokens: raw?.budget_tokens ?? MEMORY_DEFAULTS.budgetTokens,
    store: raw?.store ?? MEMORY_DEFAULTS.store,
    shared: raw?.shared ?? MEMORY_DEFAULTS.shared,
  };
}

export function compileEmbedding(raw: RawEmbedding | null | undefined): EmbeddingConfig {
  return {
    provider: raw?.provider ?? EMBEDDING_DEFAULTS.provider,
    endpoint: (raw?.endpoint ?? EMBEDDING_DEFAULTS.endpoint).replace(/\/+$/, ''),
    model: raw?.model ?? EMBEDDING_DEFAULTS.model,
    apiKey: raw?.api_key ?? undefined,
    timeoutMs: raw?.timeout ?? EMBEDDING_DEFAULTS.timeoutMs,
  };
}
