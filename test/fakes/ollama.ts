// A fake Ollama server speaking the real REST wire format (ollama/ollama docs/api.md and
// server/routes.go): /api/version, /api/tags, /api/show, /api/chat, /api/generate, /api/embed,
// /api/embeddings, /api/ps, /api/pull. JSON is written the way Go's encoding/json does
// (<, >, & escaped), errors are {"error": "..."} with the server's own texts, unknown paths get gin's
// plain-text "404 page not found". Tool calling as the server does it since 0.8: `tools` offered as
// {type:'function', function}, the model's calls in `message.tool_calls[{function:{name, arguments}}]`
// (arguments an object, no id), streamed whole inside one chunk before the done chunk; results come
// back as {role:'tool', content, tool_name}. Standalone: `node test/fakes/ollama.ts [--port N]`.
import { createHash } from 'node:crypto';
import type http from 'node:http';
import {
  type ChatMessage,
  type FakeAnswer,
  type FakeModelOptions,
  type FakeModelServer,
  type RequestContext,
  answer,
  argumentsObject,
  argumentsText,
  embedText,
  failureFor,
  limitPieces,
  normalizeMessages,
  normalizeTools,
  promptTokens,
  resolveOptions,
  runStandalone,
  splitIntoChunks,
  startHttpFake,
  truncateEmbedding,
  truncatedCount,
  writeJson,
  writeTruncated,
} from './model-behaviour.ts';

export type { FakeModelOptions, FakeModelServer, RecordedRequest, FailureMode, ChatMessage, ReplyRequest, FakeAnswer, FakeToolCall, ToolRule } from './model-behaviour.ts';
export { toolBehaviour } from './model-behaviour.ts';

export const OLLAMA_VERSION = '0.12.0';
const JSON_TYPE = 'application/json; charset=utf-8';
const NDJSON_TYPE = 'application/x-ndjson';
const RUNNER_CRASH = 'llama runner process has terminated: exit status 2';

/** JSON as Go's encoding/json writes it: HTML-sensitive characters and U+2028/2029 escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** time.Now().UTC() marshalled by Go: RFC 3339 with up to nanoseconds, trailing zeros trimmed. */
export function goTime(date = new Date()): string {
  const iso = date.toISOString(); // 2025-01-02T03:04:05.678Z
  const micro = String(process.hrtime.bigint() % 1_000_000n).padStart(6, '0');
  const frac = `${iso.slice(20, 23)}${micro}`.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

/** Go's encoding/json text for a body JSON.parse rejected (the common cases). */
export function goSyntaxError(raw: string, err: Error): string {
  const msg = err.message;
  if (/end of JSON input|Unterminated/i.test(msg)) return 'unexpected EOF';
  const pos = /at position (\d+)/.exec(msg);
  const at = pos ? raw[Number(pos[1])] : undefined;
  if (at !== undefined && /Expected (double-quoted )?property name/.test(msg)) return `invalid character '${at}' looking for beginning of object key string`;
  if (at !== undefined && /Expected ':'/.test(msg)) return `invalid character '${at}' after object key`;
  const token = /Unexpected token '(.)'/.exec(msg)?.[1] ?? at ?? raw.trim()[0] ?? '';
  return `invalid character '${token}' looking for beginning of value`;
}

/** The name as Ollama displays it: host and library namespace dropped, ':latest' when no tag. */
export function canonicalModelName(name: string): string {
  let n = name.trim();
  n = n.replace(/^registry\.ollama\.ai\//i, '').replace(/^library\//i, '');
  const lastSegment = n.slice(n.lastIndexOf('/') + 1);
  if (n !== '' && !lastSegment.includes(':')) n += ':latest';
  return n;
}

function findModel(models: string[], requested: string): string | undefined {
  const want = canonicalModelName(requested).toLowerCase();
  return models.map(canonicalModelName).find((m) => m.toLowerCase() === want);
}

interface ModelMeta {
  name: string;
  family: string;
  parameterSize: string;
  parameterCount: number;
  quantization: string;
  size: number;
  digest: string;
  modifiedAt: string;
  embedding: boolean;
  contextLength: number;
}

function modelMeta(name: string, index: number): ModelMeta {
  const base = name.slice(name.lastIndexOf('/') + 1).toLowerCase();
  const tag = base.slice(base.indexOf(':') + 1);
  const embedding = /embed|minilm|bge-|e5-/.test(base);
  const family = embedding
    ? base.startsWith('nomic') ? 'nomic-bert' : 'bert'
    : (/^(qwen3|qwen2|gemma3|gemma2|gemma|phi3|phi4|llama)/.exec(base)?.[1] ?? (base.startsWith('qwen') ? 'qwen2' : 'llama'));
  const sizeMatch = /(\d+(?:\.\d+)?)([bm])\b/.exec(tag);
  const parameterSize = sizeMatch ? `${sizeMatch[1]}${sizeMatch[2]!.toUpperCase()}` : embedding ? '137M' : '7B';
  const parameterCount = Math.round(Number.parseFloat(parameterSize) * (parameterSize.endsWith('M') ? 1e6 : 1e9));
  const quantization = embedding ? 'F16' : 'Q4_K_M';
  const size = Math.round(parameterCount * (embedding ? 2 : 0.6));
  const digest = createHash('sha256').update(name).digest('hex');
  const modifiedAt = new Date(Date.UTC(2025, 8, 20, 12, 0, 0) - index * 3_600_000).toISOString().replace('.000Z', '.123456789Z');
  return { name, family, parameterSize, parameterCount, quantization, size, digest, modifiedAt, embedding, contextLength: embedding ? 2048 : 131072 };
}

function details(m: ModelMeta) {
  return {
    parent_model: '',
    format: 'gguf',
    family: m.family,
    families: [m.family],
    parameter_size: m.parameterSize,
    quantization_level: m.quantization,
  };
}

function metrics(startedAt: bigint, promptCount: number, evalCount: number): Record<string, number> {
  const total = Number(process.hrtime.bigint() - startedAt) + 1000;
  const out: Record<string, number> = {
    total_duration: total,
    load_duration: Math.floor(total * 0.05) + 1,
    prompt_eval_count: promptCount,
    prompt_eval_duration: Math.floor(total * 0.15) + 1,
    eval_count: evalCount,
    eval_duration: Math.floor(total * 0.7) + 1,
  };
  // Go's `omitempty`: zero counts are left out.
  for (const k of Object.keys(out)) if (out[k] === 0) delete out[k];
  return out;
}

function numPredict(body: Record<string, unknown>): unknown {
  const o = body.options;
  return o && typeof o === 'object' ? (o as { num_predict?: unknown }).num_predict : undefined;
}

/**
 * The fake model's calls on Ollama's wire ({function:{name, arguments}}, arguments an object). A call
 * whose arguments do not parse as an object cannot be a tool call for the real server's parser, so
 * its raw text ends up in the content, as it would there.
 */
function ollamaAnswer(a: FakeAnswer): { text: string; calls: { function: { name: string; arguments: Record<string, unknown> } }[] } {
  let text = a.text;
  const calls = [];
  for (const c of a.toolCalls) {
    const args = argumentsObject(c);
    if (args) calls.push({ function: { name: c.name, arguments: args } });
    else text += `{"name": ${JSON.stringify(c.name)}, "arguments": ${argumentsText(c)}}`;
  }
  return { text, calls };
}

/** Go's decoding error for tool-call arguments that are not an object (e.g. OpenAI-style JSON text), or undefined. */
function wireArgumentsError(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (const m of messages) {
    const calls = m && typeof m === 'object' ? (m as { tool_calls?: unknown }).tool_calls : undefined;
    for (const c of Array.isArray(calls) ? calls : []) {
      const args = (c as { function?: { arguments?: unknown } } | null)?.function?.arguments;
      if (args === undefined || args === null || (typeof args === 'object' && !Array.isArray(args))) continue;
      const kind = Array.isArray(args) ? 'array' : typeof args === 'boolean' ? 'bool' : typeof args;
      return `json: cannot unmarshal ${kind} into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments`;
    }
  }
  return undefined;
}

const ROUTES: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/api/version': ['GET', 'HEAD'],
  '/api/tags': ['GET', 'HEAD'],
  '/api/ps': ['GET'],
  '/api/show': ['POST'],
  '/api/chat': ['POST'],
  '/api/generate': ['POST'],
  '/api/embed': ['POST'],
  '/api/embeddings': ['POST'],
  '/api/pull': ['POST'],
};
const INFERENCE = new Set(['/api/chat', '/api/generate', '/api/embed', '/api/embeddings']);

export async function startFakeOllama(opts?: FakeModelOptions): Promise<FakeModelServer> {
  const options = resolveOptions(opts, ['llama3.2:3b']);
  const loaded = new Map<string, number>(); // model -> last use (for /api/ps)

  const json = (res: http.ServerResponse, status: number, body: unknown): void => writeJson(res, status, goJson(body), JSON_TYPE);
  const error = (res: http.ServerResponse, status: number, message: string): void => json(res, status, { error: message });
  const metas = (): ModelMeta[] => (options.models ?? []).map((m, i) => modelMeta(canonicalModelName(m), i));
  const metaOf = (name: string): ModelMeta | undefined => metas().find((m) => m.name === name);

  /** The JSON body as an object, or answers 400 the way gin's ShouldBindJSON fails. */
  const bind = (ctx: RequestContext, type: string): Record<string, unknown> | undefined => {
    if (ctx.rawBody.trim() === '') {
      error(ctx.res, 400, 'missing request body');
      return undefined;
    }
    if (ctx.jsonError) {
      error(ctx.res, 400, goSyntaxError(ctx.rawBody, ctx.jsonError));
      return undefined;
    }
    if (ctx.body === null) return {}; // Go decodes `null` into an empty request
    if (typeof ctx.body !== 'object' || Array.isArray(ctx.body)) {
      const kind = Array.isArray(ctx.body) ? 'array' : typeof ctx.body === 'boolean' ? 'bool' : typeof ctx.body;
      error(ctx.res, 400, `json: cannot unmarshal ${kind} into Go value of type api.${type}`);
      return undefined;
    }
    return ctx.body as Record<string, unknown>;
  };

  /** Applies the configured failure; true when the request has been dealt with. */
  const injected = (ctx: RequestContext, inference: boolean): boolean => {
    const f = failureFor(options, inference);
    if (f === 'http500') {
      error(ctx.res, 500, RUNNER_CRASH);
      return true;
    }
    if (f === 'hang') {
      ctx.hang();
      return true;
    }
    return false;
  };

  /** Streams NDJSON chunks (each made as it is sent) then the final object (or stops early for 'truncated-stream'). */
  const stream = async (ctx: RequestContext, chunks: (() => unknown)[], final: () => unknown): Promise<void> => {
    const truncated = failureFor(options, true) === 'truncated-stream';
    ctx.res.writeHead(200, { 'content-type': NDJSON_TYPE });
    const n = truncated ? Math.min(chunks.length, truncatedCount(chunks.length)) : chunks.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) await ctx.sleep(options.chunkDelayMs ?? 0);
      if (ctx.gone()) return;
      ctx.res.write(`${goJson(chunks[i]!())}\n`);
    }
    if (truncated) {
      ctx.res.end();
      return;
    }
    await ctx.sleep(options.chunkDelayMs ?? 0);
    if (ctx.gone()) return;
    ctx.res.end(`${goJson(final())}\n`);
  };

  /** A whole (non-streamed) answer: takes as long as streaming would, may be cut by 'truncated-stream'. */
  const whole = async (ctx: RequestContext, pieces: number, body: unknown): Promise<void> => {
    await ctx.sleep((options.chunkDelayMs ?? 0) * pieces);
    if (ctx.gone()) return;
    if (failureFor(options, true) === 'truncated-stream') writeTruncated(ctx.res, goJson(body), JSON_TYPE);
    else json(ctx.res, 200, body);
  };

  /** Resolves the requested model for inference, or answers the error. */
  const inferenceModel = (ctx: RequestContext, requested: unknown, capability: 'chat' | 'generate' | 'embed'): ModelMeta | undefined => {
    const name = typeof requested === 'string' ? requested : '';
    if (name.trim() === '') {
      error(ctx.res, 400, 'model is required');
      return undefined;
    }
    const found = findModel(options.models ?? [], name);
    const meta = found ? metaOf(found) : undefined;
    if (!meta) {
      error(ctx.res, 404, `model ${JSON.stringify(name)} not found, try pulling it first`);
      return undefined;
    }
    if (capability !== 'embed' && meta.embedding) {
      error(ctx.res, 400, `${JSON.stringify(name)} does not support ${capability}`);
      return undefined;
    }
    loaded.set(meta.name, Date.now());
    return meta;
  };

  const handlers: Record<string, (ctx: RequestContext) => Promise<void> | void> = {
    '/': (ctx) => {
      ctx.res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      ctx.res.end(ctx.method === 'HEAD' ? undefined : 'Ollama is running');
    },

    '/api/version': (ctx) => json(ctx.res, 200, { version: OLLAMA_VERSION }),

    '/api/tags': (ctx) =>
      json(ctx.res, 200, {
        models: metas().map((m) => ({
          name: m.name,
          model: m.name,
          modified_at: m.modifiedAt,
          size: m.size,
          digest: m.digest,
          details: details(m),
        })),
      }),

    '/api/ps': (ctx) =>
      json(ctx.res, 200, {
        models: metas()
          .filter((m) => loaded.has(m.name))
          .map((m) => ({
            name: m.name,
            model: m.name,
            size: m.size,
            digest: m.digest,
            details: details(m),
            expires_at: new Date((loaded.get(m.name) ?? 0) + 300_000).toISOString(),
            size_vram: m.size,
            context_length: 4096,
          })),
      }),

    '/api/show': (ctx) => {
      const body = bind(ctx, 'ShowRequest');
      if (!body) return;
      const name = typeof body.model === 'string' && body.model !== '' ? body.model : typeof body.name === 'string' ? body.name : '';
      if (name === '') return error(ctx.res, 400, 'model is required');
      const found = findModel(options.models ?? [], name);
      const m = found ? metaOf(found) : undefined;
      if (!m) return error(ctx.res, 404, `model '${name}' not found`);
      const template = m.embedding ? '{{ .Prompt }}' : '{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>';
      const stops = m.embedding ? [] : ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];
      const parameters = stops.map((s) => `${'stop'.padEnd(30)} ${JSON.stringify(s)}`).join('\n');
      const modelfile = [
        '# Modelfile generated by "ollama show"',
        '# To build a new Modelfile based on this, replace FROM with:',
        `# FROM ${m.name}`,
        '',
        `FROM /root/.ollama/models/blobs/sha256-${m.digest}`,
        `TEMPLATE """${template}"""`,
        ...stops.map((s) => `PARAMETER stop ${s}`),
        '',
      ].join('\n');
      json(ctx.res, 200, {
        license: '',
        modelfile,
        parameters,
        template,
        details: details(m),
        model_info: {
          'general.architecture': m.family,
          'general.file_type': m.embedding ? 1 : 15,
          'general.parameter_count': m.parameterCount,
          'general.quantization_version': 2,
          [`${m.family}.context_length`]: m.contextLength,
          [`${m.family}.embedding_length`]: options.embeddingDims ?? 768,
          [`${m.family}.block_count`]: 28,
          'tokenizer.ggml.model': m.embedding ? 'bert' : 'gpt2',
        },
        // Ollama lists 'vision' for multimodal models (llava, gemma3, qwen2.5vl, ...).
        capabilities: m.embedding ? ['embedding'] : /llava|vision|vl\b|moondream|gemma3/.test(m.name) ? ['completion', 'vision'] : ['completion'],
        modified_at: m.modifiedAt,
      });
    },

    '/api/chat': async (ctx) => {
      const body = bind(ctx, 'ChatRequest');
      if (!body) return;
      // Decoding errors, like bind's: before the model is even looked up.
      if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) {
        return error(ctx.res, 400, `json: cannot unmarshal ${typeof body.tools} into Go struct field ChatRequest.tools of type api.Tools`);
      }
      const badArguments = wireArgumentsError(body.messages);
      if (badArguments) return error(ctx.res, 400, badArguments);
      const model = String(body.model ?? '');
      if (!inferenceModel(ctx, body.model, 'chat')) return;
      if (injected(ctx, true)) return;
      const messages = normalizeMessages(body.messages);
      if (messages.length === 0) {
        // "Load a model": an empty conversation loads the model and answers one object.
        return json(ctx.res, 200, { model, created_at: goTime(), message: { role: 'assistant', content: '' }, done_reason: 'load', done: true });
      }
      const { text, calls } = ollamaAnswer(await answer(options, { model, messages, tools: normalizeTools(body.tools) }));
      const { pieces, reason } = limitPieces(splitIntoChunks(text), numPredict(body));
      const callTokens = calls.reduce((n, c) => n + splitIntoChunks(JSON.stringify(c)).length, 0);
      const final = (content: string, toolCalls: unknown[]) => ({
        model,
        created_at: goTime(),
        message: { role: 'assistant', content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        done_reason: reason,
        done: true,
        ...metrics(ctx.startedAt, promptTokens(messages), pieces.length + callTokens),
      });
      if (body.stream === false) return whole(ctx, pieces.length, final(pieces.join(''), calls));
      const chunk = (content: string, toolCalls: unknown[]) => () => ({
        model,
        created_at: goTime(),
        message: { role: 'assistant', content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        done: false,
      });
      // Text first, then every call in one chunk, then the done chunk (what the server's tool parser emits).
      const chunks = pieces.map((piece) => chunk(piece, []));
      if (calls.length > 0) chunks.push(chunk('', calls));
      await stream(ctx, chunks, () => final('', []));
    },

    '/api/generate': async (ctx) => {
      const body = bind(ctx, 'GenerateRequest');
      if (!body) return;
      const model = String(body.model ?? '');
      if (typeof body.model !== 'string' || body.model.trim() === '') return error(ctx.res, 404, `model '${model}' not found`);
      if (!inferenceModel(ctx, body.model, 'generate')) return;
      if (injected(ctx, true)) return;
      const prompt = typeof body.prompt === 'string' ? body.prompt : '';
      if (prompt === '') {
        return json(ctx.res, 200, { model, created_at: goTime(), response: '', done: true, done_reason: 'load' });
      }
      const messages: ChatMessage[] = [
        ...(typeof body.system === 'string' && body.system !== '' ? [{ role: 'system', content: body.system, toolCalls: [], toolName: undefined }] : []),
        { role: 'user', content: prompt, toolCalls: [], toolName: undefined },
      ];
      // /api/generate offers no tools: only the text of the answer counts.
      const { text } = await answer(options, { model, messages, tools: [] });
      const { pieces, reason } = limitPieces(splitIntoChunks(text), numPredict(body));
      const promptCount = promptTokens(messages);
      const final = (response: string) => ({
        model,
        created_at: goTime(),
        response,
        done: true,
        done_reason: reason,
        ...(body.raw === true ? {} : { context: Array.from({ length: promptCount + pieces.length }, (_, i) => 128000 + i) }),
        ...metrics(ctx.startedAt, promptCount, pieces.length),
      });
      if (body.stream === false) return whole(ctx, pieces.length, final(pieces.join('')));
      await stream(ctx, pieces.map((piece) => () => ({ model, created_at: goTime(), response: piece, done: false })), () => final(''));
    },

    '/api/embed': async (ctx) => {
      const body = bind(ctx, 'EmbedRequest');
      if (!body) return;
      let inputs: string[];
      if (typeof body.input === 'string') inputs = body.input === '' ? [] : [body.input];
      else if (Array.isArray(body.input)) {
        if (!body.input.every((s) => typeof s === 'string')) return error(ctx.res, 400, 'invalid input type');
        inputs = body.input as string[];
      } else if (body.input === undefined || body.input === null) inputs = [];
      else return error(ctx.res, 400, 'invalid input type');
      const model = String(body.model ?? '');
      if (!inferenceModel(ctx, body.model, 'embed')) return;
      if (injected(ctx, true)) return;
      if (inputs.length === 0) return json(ctx.res, 200, { model, embeddings: [] });
      const dims = options.embeddingDims ?? 768;
      const wanted = typeof body.dimensions === 'number' ? body.dimensions : 0;
      const embeddings = inputs.map((t) => truncateEmbedding(embedText(t, dims), wanted));
      const m = metrics(ctx.startedAt, inputs.reduce((n, t) => n + splitIntoChunks(t).length + 2, 0), 0);
      await whole(ctx, 0, {
        model,
        embeddings,
        total_duration: m.total_duration,
        load_duration: m.load_duration,
        prompt_eval_count: m.prompt_eval_count,
      });
    },

    // The deprecated single-text endpoint.
    '/api/embeddings': async (ctx) => {
      const body = bind(ctx, 'EmbeddingRequest');
      if (!body) return;
      if (!inferenceModel(ctx, body.model, 'embed')) return;
      if (injected(ctx, true)) return;
      const prompt = typeof body.prompt === 'string' ? body.prompt : '';
      await whole(ctx, 0, { embedding: prompt === '' ? [] : embedText(prompt, options.embeddingDims ?? 768) });
    },

    // Pulling "downloads" instantly: the model is added to options.models.
    '/api/pull': async (ctx) => {
      const body = bind(ctx, 'PullRequest');
      if (!body) return;
      const name = typeof body.model === 'string' && body.model !== '' ? body.model : typeof body.name === 'string' ? body.name : '';
      if (name.trim() === '') return error(ctx.res, 400, 'invalid model name');
      if (!findModel(options.models ?? [], name)) options.models = [...(options.models ?? []), canonicalModelName(name)];
      const digest = createHash('sha256').update(canonicalModelName(name)).digest('hex');
      const statuses: unknown[] = [
        { status: 'pulling manifest' },
        { status: `pulling ${digest.slice(0, 12)}`, digest: `sha256:${digest}`, total: 1000, completed: 1000 },
        { status: 'verifying sha256 digest' },
        { status: 'writing manifest' },
        { status: 'success' },
      ];
      if (body.stream === false) return json(ctx.res, 200, { status: 'success' });
      ctx.res.writeHead(200, { 'content-type': NDJSON_TYPE });
      for (const s of statuses) {
        if (ctx.gone()) return;
        ctx.res.write(`${goJson(s)}\n`);
        await ctx.sleep(options.chunkDelayMs ?? 0);
      }
      ctx.res.end();
    },
  };

  return startHttpFake(options, async (ctx) => {
    const allowed = ROUTES[ctx.path];
    if (!allowed) {
      ctx.res.writeHead(404, { 'content-type': 'text/plain' });
      ctx.res.end('404 page not found');
      return;
    }
    if (!allowed.includes(ctx.method)) {
      ctx.res.writeHead(405, { 'content-type': 'text/plain' });
      ctx.res.end('405 method not allowed');
      return;
    }
    if (!INFERENCE.has(ctx.path) && injected(ctx, false)) return;
    await handlers[ctx.path]!(ctx);
  }).then(({ url, requests, options: o, close }) => ({ url, requests, options: o, close }));
}

if (import.meta.main) {
  runStandalone(startFakeOllama).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
