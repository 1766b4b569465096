// Any OpenAI-compatible endpoint (/v1/chat/completions with SSE streaming, /v1/models) over undici.
// Tool calls stream as pieces (`delta.tool_calls[{index, id, function: {name, arguments}}]`) that are
// put together by index; arguments are JSON text, read only once the stream is complete.
import { request } from 'undici';
import { ModelError } from '../errors.ts';
import { deadline, toModelError } from './errors.ts';
import { sseData } from './sse.ts';
import { localCallId, readArguments } from './tools.ts';
import type { ChatMessage, ChatRequest, ChatResult, ModelClient, ToolCall } from './types.ts';
import { detectType } from '../media/detect.ts';

interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface Chunk {
  model?: string;
  choices?: { delta?: { content?: string | null; tool_calls?: ToolCallDelta[] | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

function wireMessage(m: ChatMessage): Record<string, unknown> {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  if ('toolCalls' in m) {
    return {
      role: 'assistant',
      content: m.content || null,
      // Unreadable arguments go back as {}: some servers parse this field and would reject the raw text.
      tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } })),
    };
  }
  // Images become content parts with data: URLs (the chat-completions vision format).
  if (m.images?.length) {
    return { role: m.role, content: [{ type: 'text', text: m.content }, ...m.images.map((b64) => ({ type: 'image_url', image_url: { url: `data:${imageMime(b64)};base64,${b64}` } }))] };
  }
  // Exactly {role, content}: a plain turn's body stays as small as before tools existed.
  return { role: m.role, content: m.content };
}

/** The MIME type of a base64 image, from its first bytes. */
function imageMime(b64: string): string {
  const t = detectType(Buffer.from(b64.slice(0, 24), 'base64'));
  return t === 'jpg' ? 'image/jpeg' : t === 'png' || t === 'webp' || t === 'gif' ? `image/${t}` : 'application/octet-stream';
}

/** Puts streamed tool-call pieces together. */
class ToolCallAssembler {
  readonly #slots: { id: string; name: string; args: string[] }[] = [];
  /** Stream index → its call: an index names one call, unless a new id arrives on it (below). */
  readonly #byIndex = new Map<number, { id: string; name: string; args: string[] }>();

  add(d: ToolCallDelta): void {
    const index = d.index ?? 0;
    let slot = this.#byIndex.get(index);
    // Some OpenAI-compatible servers (Ollama's /v1) send every call of a batch at index 0, told apart
    // only by a fresh id: a different id on a known index opens a new call.
    if (!slot || (d.id && slot.id && d.id !== slot.id)) {
      slot = { id: '', name: '', args: [] };
      this.#slots.push(slot);
      this.#byIndex.set(index, slot);
    }
    if (d.id) slot.id = d.id;
    // Servers that repeat the name on every piece exist; the name is never split, so keep the last.
    if (d.function?.name) slot.name = d.function.name;
    if (typeof d.function?.arguments === 'string') slot.args.push(d.function.arguments);
  }

  calls(): ToolCall[] {
    return this.#slots.map((s) => ({ id: s.id || localCallId(), name: s.name, ...readArguments(s.args.join('')) }));
  }
}

export class OpenAIClient implements ModelClient {
  readonly provider = 'openai';
  readonly endpoint: string;
  readonly #model: string;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;

  /** `endpoint` is the base that /chat/completions hangs off, usually ending in /v1. */
  constructor(opts: { endpoint: string; model: string; apiKey: string | undefined; timeoutMs: number }) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.#model = opts.model;
    this.#apiKey = opts.apiKey;
    this.#timeoutMs = opts.timeoutMs;
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (this.#apiKey) h.authorization = `Bearer ${this.#apiKey}`;
    return h;
  }

  async chat(req: ChatRequest): Promise<ChatResult> {
    const { signal, timedOut } = deadline(this.#timeoutMs, req.signal);
    const model = req.model || this.#model || (await this.#firstModel(signal));
    try {
      const res = await request(`${this.endpoint}/chat/completions`, {
        method: 'POST',
        headers: this.#headers(),
        body: JSON.stringify({
          model,
          messages: req.messages.map(wireMessage),
          // No tools: no field at all (OpenAI also rejects an empty list).
          ...(req.tools?.length ? { tools: req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })) } : {}),
          max_tokens: req.maxTokens,
          temperature: req.temperature,
          stream: true,
          stream_options: { include_usage: true },
        }),
        signal,
      });
      if (res.statusCode !== 200) throw await this.#httpError(res, model);
      let text = '';
      const calls = new ToolCallAssembler();
      let answered = model;
      let usage: Chunk['usage'] = null;
      let finished = false;
      for await (const data of sseData(res.body)) {
        if (data === '[DONE]') { finished = true; break; }
        const chunk = JSON.parse(data) as Chunk;
        if (chunk.model) answered = chunk.model;
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        const piece = choice?.delta?.content;
        if (piece) {
          text += piece;
          req.onDelta?.(piece);
        }
        for (const d of choice?.delta?.tool_calls ?? []) calls.add(d);
        if (choice?.finish_reason) finished = true;
      }
      if (!finished) throw new ModelError('bad_response', `model stream from ${this.endpoint} ended without completion`);
      // The calls are taken from what arrived, whatever the finish reason: several compatible servers
      // say 'stop' where OpenAI says 'tool_calls'.
      return { text, toolCalls: calls.calls(), model: answered, promptTokens: usage?.prompt_tokens, completionTokens: usage?.completion_tokens };
    } catch (err) {
      if (err instanceof SyntaxError) throw new ModelError('bad_response', `invalid JSON in stream from ${this.endpoint}`, { cause: err });
      throw toModelError(err, this.endpoint, timedOut());
    }
  }

  async listModels(outer?: AbortSignal): Promise<string[]> {
    const { signal, timedOut } = deadline(Math.min(this.#timeoutMs, 10_000), outer);
    try {
      const res = await request(`${this.endpoint}/models`, { headers: this.#headers(), signal });
      if (res.statusCode !== 200) throw await this.#httpError(res, '');
      const body = (await res.body.json()) as { data?: { id: string }[] };
      if (!Array.isArray(body.data)) throw new ModelError('bad_response', `${this.endpoint}/models did not return a model list`);
      return body.data.map((m) => m.id);
    } catch (err) {
      throw toModelError(err, this.endpoint, timedOut());
    }
  }

  async #firstModel(signal: AbortSignal): Promise<string> {
    const names = await this.listModels(signal);
    if (names[0] === undefined) throw new ModelError('not_found', `no model configured and ${this.endpoint}/models lists none`);
    return names[0];
  }

  async #httpError(res: { statusCode: number; body: { text(): Promise<string> } }, model: string): Promise<ModelError> {
    const raw = await res.body.text().catch(() => '');
    let detail = raw.slice(0, 300);
    try {
      const parsed = JSON.parse(raw) as { error?: { message?: string; code?: string } | string };
      detail = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? detail);
    } catch { /* not JSON: keep the text */ }
    if (res.statusCode === 404 && model) {
      return new ModelError('not_found', `model "${model}" not found at ${this.endpoint}: ${detail}`, { status: 404 });
    }
    return new ModelError('http', `${this.endpoint} answered ${res.statusCode}: ${detail}`, { status: res.statusCode });
  }
}
