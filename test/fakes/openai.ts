// A fake OpenAI-compatible server speaking the real wire format (OpenAI API reference): GET /v1/models,
// GET /v1/models/{id}, POST /v1/chat/completions (JSON, or SSE `data: {chat.completion.chunk}` events
// ended by `data: [DONE]`, with the usage chunk of stream_options.include_usage), POST /v1/embeddings.
// Errors are {"error":{"message","type","param","code"}} with OpenAI's own texts. Tool calling as in the
// API reference: `tools` [{type:'function', function}], the answer's `tool_calls[{id, type, function:
// {name, arguments}}]` with arguments as JSON text, streamed as `delta.tool_calls[{index, ...}]` pieces
// (id and name first, then the argument text in token-like pieces), finish_reason 'tool_calls'; results
// come back as {role:'tool', tool_call_id, content} and must answer the preceding calls.
// Standalone: `node test/fakes/openai.ts [--port N] [--api-key KEY]`.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import {
  type FakeModelOptions,
  type FakeModelServer,
  type RequestContext,
  answer,
  argumentPieces,
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

export interface FakeOpenAIOptions extends FakeModelOptions {
  /** When set, every request needs `Authorization: Bearer <apiKey>` (401 otherwise). Read per request. */
  apiKey?: string;
  /**
   * Stream every tool call of an answer at index 0, told apart only by its id: what Ollama's
   * OpenAI-compatible endpoint does. Read per request.
   */
  sameToolCallIndex?: boolean;
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

/** OpenAI's 400 for `tools` it cannot take, or undefined. */
function toolsError(tools: unknown): { message: string; param: string; code: string } | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) return { message: "Invalid type for 'tools': expected an array, but got an object instead.", param: 'tools', code: 'invalid_type' };
  if (tools.length === 0) return { message: "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.", param: 'tools', code: 'empty_array' };
  for (const [i, t] of tools.entries()) {
    const name = (t as { function?: { name?: unknown } } | null)?.function?.name;
    if (typeof name !== 'string') return { message: `Missing required parameter: 'tools[${i}].function.name'.`, param: `tools[${i}].function.name`, code: 'missing_required_parameter' };
    if (!/^[a-zA-Z0-9_-]+$/.test(name)) {
      return { message: `Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, param: `tools[${i}].function.name`, code: 'invalid_value' };
    }
  }
  return undefined;
}

/**
 * OpenAI's 400 for tool messages that do not pair with calls: every `tool` message must answer a call
 * of the assistant message before it, and every such call must be answered before the next message.
 */
function pairingError(messages: unknown[]): { message: string; param: string } | undefined {
  let open: { at: number; ids: Set<string> } | undefined;
  for (const [i, raw] of messages.entries()) {
    const m = (raw && typeof raw === 'object' ? raw : {}) as { role?: unknown; tool_calls?: unknown; tool_call_id?: unknown };
    if (m.role === 'tool') {
      if (!open || typeof m.tool_call_id !== 'string' || !open.ids.delete(m.tool_call_id)) {
        return { message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", param: `messages.[${i}].role` };
      }
      continue;
    }
    if (open && open.ids.size > 0) {
      return {
        message: `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...open.ids].join(', ')}`,
        param: `messages.[${open.at}].role`,
      };
    }
    open = undefined;
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      open = { at: i, ids: new Set(m.tool_calls.map((c) => String((c as { id?: unknown } | null)?.id))) };
    }
  }
  if (open && open.ids.size > 0) {
    return {
      message: `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...open.ids].join(', ')}`,
      param: `messages.[${open.at}].role`,
    };
  }
  return undefined;
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
    const badTools = toolsError(body.tools);
    if (badTools) return invalid(ctx.res, 400, badTools.message, badTools.param, badTools.code);
    const badPairing = pairingError(body.messages);
    if (badPairing) return invalid(ctx.res, 400, badPairing.message, badPairing.param);
    if (injected(ctx, true)) return;

    const messages = normalizeMessages(body.messages);
    const a = await answer(options, { model, messages, tools: normalizeTools(body.tools) });
    const limited = limitPieces(splitIntoChunks(a.text), body.max_completion_tokens ?? body.max_tokens);
    const { pieces } = limited;
    const calls = a.toolCalls.map((c) => ({ id: randomId('call_'), name: c.name, args: argumentsText(c) }));
    const reason = calls.length > 0 ? 'tool_calls' : limited.reason;
    const completionTokens = pieces.length + calls.reduce((n, c) => n + 1 + argumentPieces(c.args).length, 0);
    const usage = {
      prompt_tokens: promptTokens(messages),
      completion_tokens: completionTokens,
      total_tokens: promptTokens(messages) + completionTokens,
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
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              // With calls and no text the content is null, not ''.
              content: calls.length > 0 && pieces.length === 0 ? null : pieces.join(''),
              ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } })) } : {}),
              refusal: null,
              annotations: [],
            },
            logprobs: null,
            finish_reason: reason,
          },
        ],
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

    // After the role chunk: the text pieces, then per call an opening piece (index, id, type, name,
    // empty arguments) and its argument text in pieces. Without text, the first call opens in the role
    // chunk itself, with content null (as the API streams it).
    const deltas: Record<string, unknown>[] = pieces.map((p) => ({ content: p }));
    for (const [i, c] of calls.entries()) {
      const index = options.sameToolCallIndex ? 0 : i;
      deltas.push({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] });
      for (const piece of argumentPieces(c.args)) deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
    }
    const opening = pieces.length === 0 && calls.length > 0 ? { role: 'assistant', content: null, ...deltas.shift(), refusal: null } : { role: 'assistant', content: '', refusal: null };

    ctx.res.writeHead(200, { 'content-type': SSE_TYPE, 'cache-control': 'no-cache' });
    ctx.res.write(chunk([choice(opening)]));
    const n = truncated ? Math.min(deltas.length, truncatedCount(deltas.length)) : deltas.length;
    for (let i = 0; i < n; i++) {
      await ctx.sleep(delay);
      if (ctx.gone()) return;
      ctx.res.write(chunk([choice(deltas[i]!)]));
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
