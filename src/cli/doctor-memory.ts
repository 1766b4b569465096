// doctor's checks of memory and media: whether the embedding model answers (memory falls back to
// full-text search without it), rows a reindex must add, and whether the vision model exists and can
// see (Ollama's /api/show capabilities).
import type { Config } from '../core/config/types.ts';
import type { Store } from '../store/store.ts';
import type { Add } from './doctor-catalogue.ts';

export async function checkMemory(config: Config, store: Store, add: Add, offline: boolean): Promise<void> {
  if (!config.memory.enabled) return;
  const [{ Memory }, { createEmbedder }] = await Promise.all([import('../core/memory/retrieve.ts'), import('../core/memory/embed.ts')]);
  const memory = new Memory(store.memory, createEmbedder(config.models.embedding));
  const s = offline ? memory.status() : await memory.probe(AbortSignal.timeout(10_000));
  const e = s.embedding;
  if (!s.fts) add('memory', 'warn', 'the database is encrypted: full-text search is off, memory searches by vectors only');
  if (e && e.state === 'down') {
    add('memory', 'warn', `embedding model ${e.model} at ${e.endpoint} is not answering (${e.error ?? 'unreachable'}): memory works on full-text search alone`);
  } else if (s.unembedded + s.otherModel > 0) {
    add('memory', 'warn', `${s.unembedded + s.otherModel} of ${s.items} memory item(s) have no vector for ${e?.model ?? 'the embedding model'}: run \`clawdbot memory reindex\``);
  } else {
    add('memory', offline ? 'skip' : 'ok', `${s.items} item(s); embeddings ${e ? `${e.model}${s.dims ? ` (${s.dims} dimensions)` : ''}` : 'none'}${offline ? ' (not checked: --offline)' : ''}`);
  }
}

export async function checkVision(config: Config, add: Add, offline: boolean): Promise<void> {
  const image = config.media.image;
  if (!image.enabled) return;
  if (offline) return add('vision model', 'skip', `${image.model || 'the chat model'} not checked (--offline)`);
  if (!image.model) return add('vision model', 'skip', 'no model named (media_processors.image_analysis.model, or models.default.model): images go to the chat model the endpoint lists first');
  const m = config.models.default;
  const { connectModel } = await import('../core/models/connect.ts');
  let provider: string;
  try {
    provider = (await connectModel(m)).provider;
  } catch {
    return; // the model check already says the endpoint is down
  }
  if (provider !== 'ollama') return add('vision model', 'skip', `${image.model}: an OpenAI-compatible endpoint does not say which models can see images`);
  const { Ollama } = await import('ollama');
  try {
    const info = await new Ollama({ host: m.endpoint }).show({ model: image.model }) as { capabilities?: string[] };
    if (info.capabilities?.includes('vision')) add('vision model', 'ok', `${image.model} can read images`);
    else add('vision model', 'warn', `${image.model} has no vision capability: images will not be understood (try llava, or gemma3)`);
  } catch (err) {
    // Only an answer from the endpoint (a status: 404 for a model it does not have) says the model is
    // missing; a connection error is the model endpoint check's failure, reported there once.
    if ((err as { status_code?: unknown }).status_code === undefined) return add('vision model', 'skip', `${image.model} not checked: ${m.endpoint} does not answer`);
    add('vision model', 'fail', `${image.model} is not available at ${m.endpoint}: ${(err as Error).message} (run: ollama pull ${image.model})`);
  }
}
