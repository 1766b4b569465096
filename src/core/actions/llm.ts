// `llm`: system prompt + session history + the message, sent to the model with streaming.
// The system prompt is one short template (a few hundred bytes): local models answer faster the less
// they must read, and a trivial turn should cost a trivial prompt.
//
// With a ToolBox the model may ask for tools: each round offers the specs, runs the calls the model
// asked for (one after another) and sends the results back, until the model answers in text. After
// `maxToolRounds` rounds that asked for tools, one last request goes out without tools, so the model has
// to answer with what it has.
//
// Streaming with tools: text from a round that ends in tool calls is not the answer ("Let me check
// that…"), and an append-only preview cannot take it back once shown. So while tools are offered, a
// round's text reaches `turn.onDelta` only after the round ended without calls, in one piece; the
// preview then shows the answer complete instead of word by word. The last, tool-less round and turns
// without a ToolBox stream as they arrive. The held-back text still goes back to the model with its
// calls.
import { ModelError } from '../errors.ts';
import type { ChatMessage, ChatResult, ModelClient, ToolCall, ToolSpec } from '../models/types.ts';
import type { Turn } from '../turn.ts';
import type { ActionResult } from '../types.ts';

export interface ToolBox {
  /** Only catalogue entries the caller may offer. */
  readonly specs: readonly ToolSpec[];
  /** Runs one call; resolves to the text the model sees (output, or a refusal/denial/error text). Never rejects for a denial. */
  call(name: string, args: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<string>;
}

/**
 * What became of one call the model asked for (for the audit trail): `ran` went to ToolBox.call (which
 * decides about policy and reports that itself); `unknown_tool` and `bad_arguments` were answered here
 * and never reached the ToolBox.
 */
export interface ToolCallRecord {
  /** 1 for the first round that asked for tools. */
  readonly round: number;
  readonly call: ToolCall;
  readonly outcome: 'ran' | 'unknown_tool' | 'bad_arguments';
  /** The text the model was given as the call's result. */
  readonly result: string;
}

export interface LlmParams {
  readonly system: string;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly historyTurns: number;
  /** Tools the model may call this turn; without it (or with no specs) the request carries no tools. */
  readonly tools?: ToolBox;
  /** Rounds of tool calls before the model must answer in text. Default 4. */
  readonly maxToolRounds?: number;
  /** Called once per call the model asked for, after its result is known, in the order of the calls. */
  readonly onToolCall?: (record: ToolCallRecord) => void;
}

export const DEFAULT_MAX_TOOL_ROUNDS = 4;

/** ToolBox.call rejected. Its contract is to resolve with a text for every refusal or failure, so this is a fault. */
export class ToolBoxError extends Error {
  override name = 'ToolBoxError';
  readonly tool: string;
  constructor(tool: string, cause: unknown) {
    super(`tool "${tool}" failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.tool = tool;
  }
}

export async function buildMessages(system: string, turn: Turn, historyTurns: number): Promise<ChatMessage[]> {
  const messages: ChatMessage[] = [];
  if (system) messages.push({ role: 'system', content: system });
  const history = historyTurns > 0 ? (await turn.history()).slice(-historyTurns) : [];
  for (const h of history) messages.push({ role: h.role, content: h.text });
  messages.push({ role: 'user', content: turn.message.text });
  return messages;
}

/** The model's answer to a call: the ToolBox's text, or why the call was not run. */
async function answerCall(call: ToolCall, tools: ToolBox, signal: AbortSignal): Promise<{ outcome: ToolCallRecord['outcome']; result: string }> {
  if (!tools.specs.some((s) => s.name === call.name)) {
    const offered = tools.specs.map((s) => s.name).join(', ');
    return { outcome: 'unknown_tool', result: `Error: unknown tool "${call.name}". The tools offered are: ${offered}.` };
  }
  if (call.argumentsError !== undefined) {
    return { outcome: 'bad_arguments', result: `Error: ${call.name} was not run: ${call.argumentsError}. Call it again with a JSON object of arguments.` };
  }
  try {
    return { outcome: 'ran', result: await tools.call(call.name, call.arguments, signal) };
  } catch (err) {
    throw new ToolBoxError(call.name, err);
  }
}

async function converse(client: ModelClient, p: LlmParams, turn: Turn): Promise<ChatResult> {
  const messages = await buildMessages(p.system, turn, p.historyTurns);
  const base = { maxTokens: p.maxTokens, temperature: p.temperature, signal: turn.signal };
  const tools = p.tools && p.tools.specs.length > 0 ? p.tools : undefined;
  const maxRounds = p.maxToolRounds ?? DEFAULT_MAX_TOOL_ROUNDS;
  for (let round = 1; tools && round <= maxRounds; round++) {
    const r = await client.chat({ ...base, messages, tools: tools.specs });
    if (r.toolCalls.length === 0) {
      if (r.text) turn.onDelta?.(r.text);
      return r;
    }
    messages.push({ role: 'assistant', content: r.text, toolCalls: r.toolCalls });
    for (const call of r.toolCalls) {
      const { outcome, result } = await answerCall(call, tools, turn.signal);
      messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: result });
      p.onToolCall?.({ round, call, outcome, result });
    }
  }
  // No tools offered (none given, or the rounds are used up): the answer must be text.
  return client.chat({ ...base, messages, onDelta: turn.onDelta });
}

export async function runLlm(model: () => Promise<ModelClient>, p: LlmParams, turn: Turn): Promise<ActionResult> {
  try {
    const client = await model();
    const r = await converse(client, p, turn);
    if (!r.text.trim()) return { status: 'failed', text: 'The model returned an empty answer.', error: new ModelError('bad_response', `empty answer from ${r.model}`) };
    return { status: 'ok', text: r.text, model: r.model };
  } catch (err) {
    if (err instanceof ToolBoxError) {
      // A tool interrupted by the turn's cancellation rejects with whatever its runner throws.
      if (turn.signal.aborted) {
        const e = new ModelError('aborted', `the turn was cancelled during tool "${err.tool}"`, { cause: err });
        return { status: 'failed', text: e.userText, error: e };
      }
      return { status: 'failed', text: 'A tool failed unexpectedly. Please try again later.', error: err };
    }
    const e = err instanceof ModelError ? err : new ModelError('bad_response', String((err as Error)?.message ?? err), { cause: err });
    return { status: 'failed', text: e.userText, error: e };
  }
}
