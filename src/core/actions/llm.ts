// `llm`: system prompt + session history + the message, sent to the model with streaming.
// The system prompt is one short template (a few hundred bytes): local models answer faster the less
// they must read, and a trivial turn should cost a trivial prompt.
import { ModelError } from '../errors.ts';
import type { ChatMessage, ModelClient } from '../models/types.ts';
import type { Turn } from '../turn.ts';
import type { ActionResult } from '../types.ts';

export interface LlmParams {
  readonly system: string;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly historyTurns: number;
}

export function buildMessages(system: string, turn: Turn, historyTurns: number): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (system) messages.push({ role: 'system', content: system });
  const history = historyTurns > 0 ? turn.history().slice(-historyTurns) : [];
  for (const h of history) messages.push({ role: h.role, content: h.text });
  messages.push({ role: 'user', content: turn.message.text });
  return messages;
}

export async function runLlm(model: () => Promise<ModelClient>, p: LlmParams, turn: Turn): Promise<ActionResult> {
  try {
    const client = await model();
    const r = await client.chat({
      messages: buildMessages(p.system, turn, p.historyTurns),
      maxTokens: p.maxTokens,
      temperature: p.temperature,
      signal: turn.signal,
      onDelta: turn.onDelta,
    });
    if (!r.text.trim()) return { status: 'failed', text: 'The model returned an empty answer.', error: new ModelError('bad_response', `empty answer from ${r.model}`) };
    return { status: 'ok', text: r.text, model: r.model };
  } catch (err) {
    const e = err instanceof ModelError ? err : new ModelError('bad_response', String((err as Error)?.message ?? err), { cause: err });
    return { status: 'failed', text: e.userText, error: e };
  }
}
