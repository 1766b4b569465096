// A fake OpenAI-compatible server speaking the real wire format (OpenAI API reference): GET /v1/models,
// GET /v1/models/{id}, POST /v1/chat/completions (JSON, or SSE `data: {chat.completion.chunk}` events
// ended by `data: [DONE]`, with the usage chunk of stream_options.include_usage), POST /v1/embeddings.
// Errors are {"error":{"message","type","param","code"}} with OpenAI's own texts.
// Standalone: `node test/fakes/openai.ts [--port N] [--api-key KEY]`.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import {
  type FakeModelOptions,
  type FakeModelServer,
  type RequestContext,
  defaultReply,
  embedText,
  failureFor,
  limitPieces,
  normalizeMessages,
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

export type { FakeModelOptions, FakeModelServer, RecordedRequest, FailureMode, ChatMessage, ReplyRequest } from './model-behaviour.ts';

export interface FakeOpenAIOptions extends FakeModelOptions {
  /** When set, every request needs `Authorization: Bearer <apiKey>` (401 otherwise). Read per request. */
  apiKey?: string;
}

export interface FakeOpenAIServer extends FakeModelServer {
  /** url + '/v1': what OpenAI clients take as their base URL. */
  baseUrl: string;
  options: FakeOpenAIOptions;
}

const JSON_TYPE = 'application/json';
const SSE_TYPE = 'text/event-stream; charset=utf-8';
const MODELS_CREATED = 1_700_000_000;
const FINGERPRINT = 'fp_fake0000';

function randomId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + Array.from(randomBytes(29), (b) => alphabet[b % alphabet.length]).join('');
}

function maskKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}`;
}

export async function startFakeOpenAI(opts?: FakeOpenAIOptions): Promise<FakeOpenAIServer> {
  const options: FakeOpenAIOptions = resolveOptions(opts, ['local-model']);

  const json = (res: http.ServerResponse, status: number, body: unknown): void => writeJson(res, status, JSON.stringify(body), JSON_TYPE);
  const error = (
    res: http.ServerResponse,
    status: number,
    message: string,
    type: string,
    param: string | null = null,
    code: string | null = null,
  ): void => json(res, status, { error: { message, type, param, code } });
  const invalid = (res: http.ServerResponse, status: number, message: string, param: string | null = null, code: string | null = null): void =>
    error(res, status, message, 'invalid_request_error', param, code);

  const modelObject = (id: string, i: number) => ({ id, object: 'model', created: MODELS_CREATED + i, owned_by: 'system' });

  /** Answers 401 unless the request carries the configured key; true when allowed. */
  const authorised = (ctx: RequestContext): boolean => {
    if (!options.apiKey) return true;
    const header = ctx.req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!m) {
      invalid(
        ctx.res,
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
      );
      return false;
    }
    if (m[1] !== options.apiKey) {
      invalid(
        ctx.res,
        401,
        `Incorrect API key provided: ${maskKey(m[1]!)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        null,
        'invalid_api_key',
      );
      return false;
    }
    return true;
  };

  /** The JSON body as an object (an empty body counts as {}), or answers 400. */
  const bind = (ctx: RequestContext): Record<string, unknown> | undefined => {
    if (ctx.rawBody.trim() === '') return {};
    if (ctx.jsonError || ctx.body === null || typeof ctx.body !== 'object' || Array.isArray(ctx.body)) {
      invalid(
        ctx.res,
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
      );
      return undefined;
    }
    return ctx.body as Record<string, unknown>;
  };

  /** Checks `model`; answers the error and returns undefined when it is missing or unknown. */
  const knownModel = (ctx: RequestContext, body: Record<string, unknown>): string | undefined => {
    if (typeof body.model !== 'string' || body.model === '') {
      invalid(ctx.res, 400, 'you must provide a model parameter');
      return undefined;
    }
    if (!(options.models ?? []).includes(body.model)) {
      invalid(ctx.res, 404, `The model \`${body.model}\` does not exist or you do not have access to it.`, null, 'model_not_found');
      return undefined;
    }
    return body.model;
  };

  /** Applies the configured failure; true when the request has been dealt with. */
  const injected = (ctx: RequestContext, inference: boolean): boolean => {
    const f = failureFor(options, inference);
    if (f === 'http500') {
      error(ctx.res, 500, 'The server had an error while processing your request. Sorry about that!', 'server_error');
      return true;
    }
    if (f === 'hang') {
      ctx.hang();
      return true;
    }
    return false;
  };

  const chatCompletions = async (ctx: RequestContext): Promise<void> => {
    const body = bind(ctx);
    if (!body) return;
    const model = knownModel(ctx, body);
    if (!model) return;
    if (!Array.isArray(body.messages)) return invalid(ctx.res, 400, "Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
    if (body.messages.length === 0) {
      return invalid(ctx.res, 400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
    }
    if (injected(ctx, true)) return;

    const messages = normalizeMessages(body.messages);
    const text = String(await (options.reply ?? defaultReply)({ model, messages }));
    const { pieces, reason } = limitPieces(splitIntoChunks(text), body.max_completion_tokens ?? body.max_tokens);
    const usage = {
      prompt_tokens: promptTokens(messages),
      completion_tokens: pieces.length,
      total_tokens: promptTokens(messages) + pieces.length,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const id = randomId('chatcmpl-');
    const created = Math.floor(Date.now() / 1000);
    const delay = options.chunkDelayMs ?? 0;
    const truncated = failureFor(options, true) === 'truncated-stream';

    if (body.stream !== true) {
      await ctx.sleep(delay * pieces.length);
      if (ctx.gone()) return;
      const completion = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: pieces.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: reason }],
        usage,
        service_tier: 'default',
        system_fingerprint: FINGERPRINT,
      });
      if (truncated) writeTruncated(ctx.res, completion, JSON_TYPE);
      else writeJson(ctx.res, 200, completion, JSON_TYPE);
      return;
    }

    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    const includeUsage = streamOptions?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = includeUsage ? { usage: null } : {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: FINGERPRINT, choices, ...extra })}\n\n`;
    const choice = (delta: Record<string, unknown>, finish: string | null = null) => ({ index: 0, delta, logprobs: null, finish_reason: finish });

    ctx.res.writeHead(200, { 'content-type': SSE_TYPE, 'cache-control': 'no-cache' });
    ctx.res.write(chunk([choice({ role: 'assistant', content: '', refusal: null })]));
    const n = truncated ? Math.min(pieces.length, truncatedCount(pieces.length)) : pieces.length;
    for (let i = 0; i < n; i++) {
      await ctx.sleep(delay);
      if (ctx.gone()) return;
      ctx.res.write(chunk([choice({ content: pieces[i] })]));
    }
    if (truncated) {
      ctx.res.end();
      return;
    }
    await ctx.sleep(delay);
    if (ctx.gone()) return;
    ctx.res.write(chunk([choice({}, reason)]));
    if (includeUsage) ctx.res.write(chunk([], { usage }));
    ctx.res.end('data: [DONE]\n\n');
  };

  const embeddings = async (ctx: RequestContext): Promise<void> => {
    const body = bind(ctx);
    if (!body) return;
    const model = knownModel(ctx, body);
    if (!model) return;
    const input = body.input;
    const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((s) => typeof s === 'string') ? (input as string[]) : undefined;
    if (input === undefined) return invalid(ctx.res, 400, "Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
    if (!texts) return invalid(ctx.res, 400, "Invalid type for 'input': expected a string or an array of strings.", 'input', 'invalid_type');
    if (texts.length === 0) return invalid(ctx.res, 400, "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'input', 'empty_array');
    if (injected(ctx, true)) return;
    const dims = options.embeddingDims ?? 768;
    const wanted = typeof body.dimensions === 'number' ? body.dimensions : 0;
    const base64 = body.encoding_format === 'base64';
    const tokens = texts.reduce((n, t) => n + splitIntoChunks(t).length, 0);
    const out = JSON.stringify({
      object: 'list',
      data: texts.map((t, index) => {
        const vec = truncateEmbedding(embedText(t, dims), wanted);
        return { object: 'embedding', index, embedding: base64 ? Buffer.from(Float32Array.from(vec).buffer).toString('base64') : vec };
      }),
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
    if (failureFor(options, true) === 'truncated-stream') writeTruncated(ctx.res, out, JSON_TYPE);
    else writeJson(ctx.res, 200, out, JSON_TYPE);
  };

  const base = await startHttpFake(options, async (ctx) => {
    const { method, path } = ctx;
    let route: (() => Promise<void> | void) | undefined;
    let inference = false;
    if (method === 'GET' && path === '/v1/models') {
      route = () => json(ctx.res, 200, { object: 'list', data: (options.models ?? []).map(modelObject) });
    } else if (method === 'GET' && path.startsWith('/v1/models/') && path.length > '/v1/models/'.length) {
      route = () => {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        const i = (options.models ?? []).indexOf(id);
        if (i < 0) return invalid(ctx.res, 404, `The model '${id}' does not exist`, 'model', 'model_not_found');
        json(ctx.res, 200, modelObject(id, i));
      };
    } else if (method === 'POST' && path === '/v1/chat/completions') {
      route = () => chatCompletions(ctx);
      inference = true;
    } else if (method === 'POST' && path === '/v1/embeddings') {
      route = () => embeddings(ctx);
      inference = true;
    }
    if (!route) return invalid(ctx.res, 404, `Invalid URL (${method} ${path})`);
    if (!authorised(ctx)) return;
    if (!inference && injected(ctx, false)) return;
    await route();
  });

  return { url: base.url, baseUrl: `${base.url}/v1`, requests: base.requests, options, close: base.close };
}

if (import.meta.main) {
  runStandalone(startFakeOpenAI).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
