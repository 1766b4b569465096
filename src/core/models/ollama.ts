// Ollama through the official `ollama` client (/api/chat with NDJSON streaming, /api/tags).
// Tool calling in Ollama's own dialect: `tools` as {type:'function', function}, calls arrive whole
// (arguments as an object) inside a streamed chunk, results go back as {role:'tool', tool_name}.
import { type Message, Ollama, type Tool } from 'ollama';
import { ModelError } from '../errors.ts';
import { deadline, toModelError } from './errors.ts';
import { localCallId, objectArguments } from './tools.ts';
import type { ChatMessage, ChatRequest, ChatResult, ModelClient, ToolCall, ToolSpec } from './types.ts';

function wireMessage(m: ChatMessage): Message {
  if (m.role === 'tool') return { role: 'tool', content: m.content, tool_name: m.name };
  if ('toolCalls' in m) {
    return { role: 'assistant', content: m.content, tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: { ...c.arguments } } })) };
  }
  return m.images?.length ? { role: m.role, content: m.content, images: [...m.images] } : { role: m.role, content: m.content };
}

function wireTool(t: ToolSpec): Tool {
  // The library types `parameters` narrowly; any JSON Schema object is valid on the wire.
  return { type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters as Tool['function']['parameters'] } };
}

function toolCall(raw: { function?: { name?: unknown; arguments?: unknown } }): ToolCall {
  const name = typeof raw.function?.name === 'string' ? raw.function.name : '';
  return { id: localCallId(), name, ...objectArguments(raw.function?.arguments) };
}

export class OllamaClient implements ModelClient {
  readonly provider = 'ollama';
  readonly endpoint: string;
  readonly #model: string;
  readonly #timeoutMs: number;

  constructor(opts: { endpoint: string; model: string; timeoutMs: number }) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.#model = opts.model;
    this.#timeoutMs = opts.timeoutMs;
  }

  // One client per request: the library aborts through client.abort() only, so a per-request fetch
  // carrying our deadline signal is the way to bound one call without touching the others.
  #client(signal: AbortSignal): Ollama {
    return new Ollama({ host: this.endpoint, fetch: (url, init) => fetch(url, { ...init, signal }) });
  }

  async chat(req: ChatRequest): Promise<ChatResult> {
    const { signal, timedOut } = deadline(this.#timeoutMs, req.signal);
    const model = req.model || this.#model || (await this.#firstModel(signal));
    try {
      const stream = await this.#client(signal).chat({
        model,
        messages: req.messages.map(wireMessage),
        // No tools: no field at all, so a plain turn costs what it did before tools existed.
        ...(req.tools?.length ? { tools: req.tools.map(wireTool) } : {}),
        stream: true,
        options: { num_predict: req.maxTokens, temperature: req.temperature },
      });
      let text = '';
      const toolCalls: ToolCall[] = [];
      for await (const part of stream) {
        const piece = part.message?.content ?? '';
        if (piece) {
          text += piece;
          req.onDelta?.(piece);
        }
        for (const c of part.message?.tool_calls ?? []) toolCalls.push(toolCall(c));
        if (part.done) {
          return { text, toolCalls, model: part.model || model, promptTokens: part.prompt_eval_count, completionTokens: part.eval_count };
        }
      }
      throw new ModelError('bad_response', `model stream from ${this.endpoint} ended without completion`);
    } catch (err) {
      throw this.#map(err, model, timedOut());
    }
  }

  async listModels(outer?: AbortSignal): Promise<string[]> {
    const { signal, timedOut } = deadline(Math.min(this.#timeoutMs, 10_000), outer);
    try {
      const r = await this.#client(signal).list();
      return r.models.map((m) => m.name);
    } catch (err) {
      throw this.#map(err, '', timedOut());
    }
  }

  async #firstModel(signal: AbortSignal): Promise<string> {
    const names = await this.listModels(signal);
    if (names[0] === undefined) throw new ModelError('not_found', `no model configured and ${this.endpoint} lists none (ollama pull one)`);
    return names[0];
  }

  #map(err: unknown, model: string, timedOut: boolean): ModelError {
    // The library's ResponseError is not exported: recognise it by name and status_code.
    const e = err as { name?: string; status_code?: number; error?: string; message?: string };
    if (e?.name === 'ResponseError') {
      if (e.status_code === 404) {
        return new ModelError('not_found', `model "${model}" not found at ${this.endpoint} (ollama pull ${model})`, { status: 404, cause: err });
      }
      return new ModelError('http', `${this.endpoint} answered ${e.status_code}: ${e.error ?? e.message}`, { status: e.status_code, cause: err });
    }
    return toModelError(err, this.endpoint, timedOut);
  }
}
