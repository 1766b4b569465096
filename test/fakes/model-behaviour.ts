// What the fake model servers (ollama.ts, openai.ts) share: the knobs, the "model" itself (reply,
// tool calls, streaming pieces, token counts, embeddings) and the node:http plumbing (body parsing,
// request recording, failure modes, clean shutdown, standalone process mode). Nothing here knows a wire
// format: each fake reads its dialect into these neutral shapes and writes the answer back in it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

export type FailureMode = 'none' | 'http500' | 'truncated-stream' | 'hang';

/** A tool call as the fake model asks for it, or as it finds it in a request's history. */
export interface FakeToolCall {
  name: string;
  /**
   * An object, or JSON text. Text is what the OpenAI fake sends verbatim (so it can be malformed); the
   * Ollama fake sends it as an object when it parses as one and otherwise, as the real server does with
   * a call its parser cannot read, as plain content.
   */
  arguments: Record<string, unknown> | string;
}

/** A tool offered in a request. */
export interface FakeToolSpec {
  name: string;
  description: string;
  parameters: unknown;
}

export interface ChatMessage {
  role: string;
  content: string;
  /** The calls an assistant message carries (empty for other messages). */
  toolCalls: FakeToolCall[];
  /**
   * For a `tool` message, the tool it answers: Ollama's `tool_name`, or the name of the call that
   * OpenAI's `tool_call_id` points at. Undefined for other messages.
   */
  toolName: string | undefined;
}

export interface ReplyRequest {
  model: string;
  messages: ChatMessage[];
  /** The tools the request offered; empty when it offered none. */
  tools: FakeToolSpec[];
}

/** The model's answer: text, or text (often empty) plus tool calls. */
export interface FakeAnswer {
  text: string;
  toolCalls: FakeToolCall[];
}

export interface FakeModelOptions {
  /** Models the server has. Default ['llama3.2:3b'] (Ollama) or ['local-model'] (OpenAI). Read per request. */
  models?: string[];
  /**
   * The "model". Default: 'pong' when the last user message is 'ping', else `echo: <last user text>`.
   * May be async; may answer with tool calls (see toolBehaviour).
   */
  reply?: (req: ReplyRequest) => string | FakeAnswer | Promise<string | FakeAnswer>;
  /** Delay between streamed chunks, in ms (default 0). */
  chunkDelayMs?: number;
  /**
   * Failure injected into inference requests (chat, generate, embeddings), read per request:
   * 'http500' answers 500 with the server's error body; 'truncated-stream' sends some chunks then ends the
   * response cleanly without the final chunk (a non-streaming answer is cut mid-JSON); 'hang' never
   * answers (close() ends it).
   */
  failure?: FailureMode;
  /** Which requests `failure` hits: 'inference' (default) or 'all' (also version, model lists, show). */
  failureScope?: 'inference' | 'all';
  /** Dimensions of the embedding vectors (default 768). */
  embeddingDims?: number;
  /** Port to listen on (127.0.0.1 only), read once at start. Default 0 (any free port). */
  port?: number;
}

export interface RecordedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, the raw text when it is not, undefined when empty. */
  body: any;
}

export interface FakeModelServer {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** Every request, in arrival order: tests read the tools offered and the messages (tool results too) here. */
  requests: RecordedRequest[];
  /** The live knobs: change `failure`, `models`, `reply`... at runtime. */
  options: FakeModelOptions;
  /** Stops listening, destroys keep-alive sockets, ends hanging and streaming requests. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The "model"

export function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'user') return messages[i]!.content;
  }
  return '';
}

export function defaultReply(req: ReplyRequest): string {
  const last = lastUserText(req.messages);
  return last.trim() === 'ping' ? 'pong' : `echo: ${last}`;
}

/** Runs the configured reply and gives its answer one shape. */
export async function answer(options: FakeModelOptions, req: ReplyRequest): Promise<FakeAnswer> {
  const r = await (options.reply ?? defaultReply)(req);
  return typeof r === 'object' && r !== null ? r : { text: String(r), toolCalls: [] };
}

/** One rule of toolBehaviour. */
export interface ToolRule {
  /** Tested against the last user message. */
  match: RegExp;
  /** The calls to ask for. They need not be among the tools offered: that is how a model asks for one that was not. */
  calls: FakeToolCall[];
  /** Text the model writes before its calls (e.g. "Let me check."); default none. */
  text?: string;
}

/**
 * A scriptable tool-using model:
 * - `always`: whenever tools are offered, ask for this call (a model that never stops; for round bounds);
 * - when the last message is a tool result, answer in text that quotes every result since the model's
 *   last turn: `Tool results: <name>: <content>; ...`;
 * - when tools are offered and the last user message matches a rule, ask for that rule's calls;
 * - otherwise the default reply.
 */
export function toolBehaviour(b: { rules?: ToolRule[]; always?: FakeToolCall }): (req: ReplyRequest) => string | FakeAnswer {
  return (req) => {
    const offered = req.tools.length > 0;
    if (offered && b.always) return { text: '', toolCalls: [b.always] };
    const last = req.messages.at(-1);
    if (last?.role === 'tool') {
      const results: ChatMessage[] = [];
      for (let i = req.messages.length - 1; i >= 0 && req.messages[i]!.role === 'tool'; i--) results.unshift(req.messages[i]!);
      return `Tool results: ${results.map((m) => `${m.toolName ?? '?'}: ${m.content}`).join('; ')}`;
    }
    const rule = offered && last?.role === 'user' ? b.rules?.find((r) => r.match.test(last.content)) : undefined;
    if (rule) return { text: rule.text ?? '', toolCalls: rule.calls };
    return defaultReply(req);
  };
}

/** JSON text of a call's arguments, as a model writes it. */
export function argumentsText(call: FakeToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

/** A call's arguments as an object, or undefined when its text does not parse as one. */
export function argumentsObject(call: FakeToolCall): Record<string, unknown> | undefined {
  if (typeof call.arguments !== 'string') return call.arguments;
  try {
    const v: unknown = JSON.parse(call.arguments);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Argument text in token-like pieces (words and runs of punctuation), the way models stream it: joined, the text again. */
export function argumentPieces(text: string): string[] {
  return text.match(/[A-Za-z0-9_]+|[^A-Za-z0-9_]+/g) ?? [];
}

/** Message content as text: a string, or OpenAI content parts ([{type:'text', text}]), or nothing. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : ''))
      .join('');
  }
  return '';
}

/** Tools offered in a request, in either dialect ({type:'function', function:{name, description, parameters}}). */
export function normalizeTools(raw: unknown): FakeToolSpec[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((t) => {
    const f = ((t && typeof t === 'object' ? (t as { function?: unknown }).function : undefined) ?? {}) as { name?: unknown; description?: unknown; parameters?: unknown };
    return { name: typeof f.name === 'string' ? f.name : '', description: typeof f.description === 'string' ? f.description : '', parameters: f.parameters };
  });
}

/**
 * A request's messages in the neutral shape, from either dialect: assistant `tool_calls`
 * ({function:{name, arguments}}, arguments an object or JSON text), tool results named by `tool_name`
 * (Ollama) or by `tool_call_id` (OpenAI, looked up among the earlier calls).
 */
export function normalizeMessages(raw: unknown): ChatMessage[] {
  if (!Array.isArray(raw)) return [];
  const callNames = new Map<string, string>();
  return raw.map((m) => {
    const o = (m && typeof m === 'object' ? m : {}) as { role?: unknown; content?: unknown; tool_calls?: unknown; tool_name?: unknown; tool_call_id?: unknown };
    const role = typeof o.role === 'string' ? o.role : '';
    const toolCalls: FakeToolCall[] = [];
    for (const c of Array.isArray(o.tool_calls) ? o.tool_calls : []) {
      const call = (c && typeof c === 'object' ? c : {}) as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
      const name = typeof call.function?.name === 'string' ? call.function.name : '';
      const args = call.function?.arguments;
      toolCalls.push({ name, arguments: typeof args === 'string' ? args : ((args ?? {}) as Record<string, unknown>) });
      if (typeof call.id === 'string') callNames.set(call.id, name);
    }
    let toolName: string | undefined;
    if (role === 'tool') toolName = typeof o.tool_name === 'string' ? o.tool_name : typeof o.tool_call_id === 'string' ? callNames.get(o.tool_call_id) : undefined;
    return { role, content: contentText(o.content), toolCalls, toolName };
  });
}

/**
 * The streamed pieces of a text, word by word with the leading whitespace kept on each word (as
 * tokenizers do): joining them gives the text back exactly.
 */
export function splitIntoChunks(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/**
 * Applies a max-token limit (num_predict, max_tokens...) to the pieces: the answer stops at the limit
 * with finish reason 'length', as a real model does. Limits that are absent or not positive are ignored.
 */
export function limitPieces(pieces: string[], limit: unknown): { pieces: string[]; reason: 'stop' | 'length' } {
  if (typeof limit === 'number' && limit > 0 && pieces.length > limit) return { pieces: pieces.slice(0, Math.floor(limit)), reason: 'length' };
  return { pieces, reason: 'stop' };
}

/** The fakes' token count: one token per streamed piece. */
export function countTokens(text: string): number {
  return splitIntoChunks(text).length;
}

/** Prompt tokens for a conversation: the words plus a few template tokens per message. */
export function promptTokens(messages: ChatMessage[]): number {
  return messages.reduce((n, m) => n + countTokens(m.content) + 4, 1);
}

export function resolveOptions(opts: FakeModelOptions | undefined, defaultModels: string[]): FakeModelOptions {
  return {
    models: [...defaultModels],
    reply: defaultReply,
    chunkDelayMs: 0,
    failure: 'none',
    failureScope: 'inference',
    embeddingDims: 768,
    ...opts,
  };
}

export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A deterministic unit vector for a text. Mostly hashed word features (texts sharing words have a
 * higher cosine similarity, so retrieval tests mean something) plus a small dense part seeded by the
 * whole text (identical texts, and only they, give identical vectors). Values are rounded like float32.
 */
export function embedText(text: string, dims = 768): number[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const sparse = new Float64Array(dims);
  for (const w of words) {
    const h1 = fnv1a(w);
    const h2 = fnv1a(w, 0x9e3779b9);
    sparse[h1 % dims]! += h2 & 1 ? 1 : -1;
    sparse[h2 % dims]! += h1 & 1 ? 0.5 : -0.5;
  }
  const dense = new Float64Array(dims);
  let state = fnv1a(text, 0x2545f491) || 1;
  for (let i = 0; i < dims; i++) {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    dense[i] = state / 0xffffffff - 0.5;
  }
  const norm = (v: Float64Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  const ns = norm(sparse);
  const nd = norm(dense);
  const denseWeight = words.length > 0 ? 0.25 : 1;
  const out = new Float64Array(dims);
  for (let i = 0; i < dims; i++) out[i] = sparse[i]! / ns + (denseWeight * dense[i]!) / nd;
  const n = norm(out);
  return Array.from(out, (x) => Number((x / n).toPrecision(8)));
}

/** Truncate to `dimensions` and renormalise (what Ollama does with the `dimensions` parameter). */
export function truncateEmbedding(vec: number[], dimensions: number): number[] {
  if (!(dimensions > 0) || dimensions >= vec.length) return vec;
  const cut = vec.slice(0, dimensions);
  const n = Math.sqrt(cut.reduce((s, x) => s + x * x, 0)) || 1;
  return cut.map((x) => Number((x / n).toPrecision(8)));
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  rawBody: string;
  /** Parsed JSON body, or undefined when empty or not JSON (see jsonError). */
  body: unknown;
  /** The JSON.parse error when the body is not empty and not JSON. */
  jsonError: SyntaxError | undefined;
  /** process.hrtime.bigint() when the request arrived. */
  startedAt: bigint;
  options: FakeModelOptions;
  /** Waits ms (resolves at once when the server is closing). */
  sleep(ms: number): Promise<void>;
  /** Never answer this request (close() ends it). */
  hang(): void;
  /** True once the client went away or the server is closing: stop streaming. */
  gone(): boolean;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

export interface BaseFakeServer extends FakeModelServer {
  server: http.Server;
}

export async function startHttpFake(options: FakeModelOptions, handler: Handler): Promise<BaseFakeServer> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const hanging = new Set<http.ServerResponse>();
  let closing = false;

  const sleep = (ms: number): Promise<void> => {
    if (closing || !(ms > 0)) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      timers.add(entry);
    });
  };

  const server = http.createServer((req, res) => {
    const startedAt = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      let jsonError: SyntaxError | undefined;
      if (rawBody.trim() !== '') {
        try {
          body = JSON.parse(rawBody);
        } catch (err) {
          jsonError = err as SyntaxError;
        }
      }
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push({
        method: req.method ?? 'GET',
        path: u.pathname,
        headers: { ...req.headers },
        body: jsonError ? rawBody : body,
      });
      const ctx: RequestContext = {
        req,
        res,
        method: req.method ?? 'GET',
        path: u.pathname,
        query: u.searchParams,
        rawBody,
        body,
        jsonError,
        startedAt,
        options,
        sleep,
        hang() {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
        },
        gone: () => closing || res.destroyed || res.writableEnded,
      };
      Promise.resolve()
        .then(() => handler(ctx))
        .catch((err: unknown) => {
          if (!res.headersSent) {
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(`fake server error: ${err instanceof Error ? err.message : String(err)}`);
          } else {
            res.destroy();
          }
        });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      closing = true;
      for (const t of timers) {
        clearTimeout(t.timer);
        t.resolve();
      }
      timers.clear();
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };

  return { url: `http://127.0.0.1:${port}`, requests, options, close, server };
}

/** Whether the configured failure applies to this request. */
export function failureFor(options: FakeModelOptions, inference: boolean): FailureMode {
  const f = options.failure ?? 'none';
  if (f === 'none') return f;
  return inference || options.failureScope === 'all' ? f : 'none';
}

export function writeJson(res: http.ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A response body cut in the middle, sent as chunked and ended cleanly (what 'truncated-stream' does to non-streaming answers). */
export function writeTruncated(res: http.ServerResponse, body: string, contentType: string): void {
  res.writeHead(200, { 'content-type': contentType });
  res.end(body.slice(0, Math.max(1, Math.floor(body.length / 2))));
}

/** How many of n streamed pieces a truncated stream sends: about half, at least one. */
export function truncatedCount(n: number): number {
  return Math.max(1, Math.ceil(n / 2));
}

// ---------------------------------------------------------------------------------------------
// Standalone process mode

/**
 * `node test/fakes/<fake>.ts [--port N] [--models a,b] [--chunk-delay-ms N] [--failure MODE]
 * [--embedding-dims N] [--api-key KEY]`: starts the fake, prints exactly one line {"url":"..."} and
 * runs until SIGTERM/SIGINT.
 */
export async function runStandalone(
  start: (opts: FakeModelOptions & { apiKey?: string }) => Promise<FakeModelServer>,
  args: string[] = process.argv.slice(2),
): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string' },
      models: { type: 'string' },
      'chunk-delay-ms': { type: 'string' },
      failure: { type: 'string' },
      'embedding-dims': { type: 'string' },
      'api-key': { type: 'string' },
    },
  });
  const opts: FakeModelOptions & { apiKey?: string } = {};
  const int = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
    return n;
  };
  if (values.port !== undefined) opts.port = int('port', values.port);
  if (values.models !== undefined) opts.models = values.models.split(',').map((s) => s.trim()).filter(Boolean);
  if (values['chunk-delay-ms'] !== undefined) opts.chunkDelayMs = int('chunk-delay-ms', values['chunk-delay-ms']);
  if (values['embedding-dims'] !== undefined) opts.embeddingDims = int('embedding-dims', values['embedding-dims']);
  if (values['api-key'] !== undefined) opts.apiKey = values['api-key'];
  if (values.failure !== undefined) {
    const modes: FailureMode[] = ['none', 'http500', 'truncated-stream', 'hang'];
    if (!modes.includes(values.failure as FailureMode)) throw new Error(`--failure must be one of ${modes.join(', ')}`);
    opts.failure = values.failure as FailureMode;
  }
  const fake = await start(opts);
  process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
  const stop = (): void => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    void fake.close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
