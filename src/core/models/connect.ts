// Picks the client for a model config. `auto` decides by the endpoint: a path ending in /v1 is
// OpenAI-style (the seed's http://localhost:8000/v1); otherwise one cheap probe tells Ollama
// (GET /api/version) from an OpenAI-style server at <endpoint>/v1 (the compose file's
// MODEL_ENDPOINT=http://model-service:8000 has no /v1).
import type { ModelConfig } from '../config/types.ts';
import { ModelError } from '../errors.ts';
import type { ModelClient } from './types.ts';

export async function connectModel(cfg: ModelConfig, signal?: AbortSignal): Promise<ModelClient> {
  const base = cfg.endpoint.replace(/\/+$/, '');
  const provider = cfg.provider === 'auto' ? await detectProvider(base, signal) : cfg.provider;
  // Each provider's module (and its library) is loaded only when that provider is used.
  if (provider === 'ollama') {
    const { OllamaClient } = await import('./ollama.ts');
    return new OllamaClient({ endpoint: base, model: cfg.model, timeoutMs: cfg.timeoutMs });
  }
  const endpoint = cfg.provider === 'auto' && !/\/v\d+$/.test(new URL(base).pathname) ? `${base}/v1` : base;
  const { OpenAIClient } = await import('./openai.ts');
  return new OpenAIClient({ endpoint, model: cfg.model, apiKey: cfg.apiKey, timeoutMs: cfg.timeoutMs });
}

export async function detectProvider(base: string, signal?: AbortSignal): Promise<'ollama' | 'openai'> {
  const url = new URL(base);
  if (/\/v\d+$/.test(url.pathname)) return 'openai';
  if (url.port === '11434') return 'ollama';
  const probe = AbortSignal.timeout(3000);
  try {
    const res = await fetch(`${base}/api/version`, { signal: signal ? AbortSignal.any([signal, probe]) : probe });
    const body = res.ok ? ((await res.json()) as { version?: unknown }) : undefined;
    return typeof body?.version === 'string' ? 'ollama' : 'openai';
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    throw new ModelError(probe.aborted ? 'timeout' : 'unreachable', `model endpoint ${base} unreachable${code ? ` (${code})` : ''}`, { cause: err });
  }
}
