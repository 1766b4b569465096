// A workflow as the engine runs it: steps with their templates already compiled against the variables
// each one may read (checked when the config loads), durations in ms, defaults filled in.
import type { HttpRequestSpec } from '../commands/types.ts';
import type { Role } from '../policy.ts';
import type { CompiledTemplate } from '../template.ts';

export const ON_ERROR_MODES = ['stop', 'continue', 'reply'] as const;
/** What happens when a step fails: stop the workflow, go on with the next step, or stop and say why. */
export type OnError = (typeof ON_ERROR_MODES)[number];

export const STEP_KINDS = ['llm', 'reply', 'command', 'http', 'set', 'if', 'wait'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

interface StepBase {
  /** Unique in the workflow; read as {{steps.NAME.output}} / {{steps.NAME.status}}. */
  readonly name: string;
  /** The step's own limit; undefined: whatever is left of the enclosing step's or the workflow's. */
  readonly timeoutMs: number | undefined;
  /** undefined: the enclosing `if` step's mode, else the workflow's. */
  readonly onError: OnError | undefined;
}

export interface LlmStep extends StepBase {
  readonly kind: 'llm';
  readonly prompt: CompiledTemplate;
  readonly system: CompiledTemplate | undefined;
  readonly maxTokens: number | undefined;
  readonly temperature: number | undefined;
}

export interface ReplyStep extends StepBase {
  readonly kind: 'reply';
  readonly text: CompiledTemplate;
}

export interface CommandStep extends StepBase {
  readonly kind: 'command';
  readonly command: string;
  /** By parameter name, or in parameter order (like words typed after the command). */
  readonly args: Readonly<Record<string, CompiledTemplate>> | readonly CompiledTemplate[];
}

/** How values inserted into a text body are encoded, chosen by its Content-Type. */
export type BodyEncoding = 'form' | 'json' | 'raw';

export type HttpBody =
  | { readonly type: 'text'; readonly text: CompiledTemplate; readonly encoding: BodyEncoding }
  /** A mapping sent as JSON: its string values are templates, everything else is sent as written. */
  | { readonly type: 'json'; readonly value: JsonMap };

export interface JsonMap {
  readonly type: 'map';
  readonly entries: readonly (readonly [string, JsonTemplate])[];
}

export type JsonTemplate =
  | { readonly type: 'text'; readonly text: CompiledTemplate }
  | { readonly type: 'literal'; readonly value: number | boolean | null }
  | { readonly type: 'list'; readonly items: readonly JsonTemplate[] }
  | JsonMap;

export interface HttpStep extends StepBase {
  readonly kind: 'http';
  readonly method: HttpRequestSpec['method'];
  /** Scheme and host are literal (checked at load); inserted values are URL-encoded. */
  readonly url: CompiledTemplate;
  readonly headers: readonly (readonly [string, CompiledTemplate])[];
  readonly body: HttpBody | undefined;
  readonly expectStatus: readonly number[] | undefined;
}

export interface SetStep extends StepBase {
  readonly kind: 'set';
  /** All rendered against the variables before this step, then assigned in order. */
  readonly values: readonly (readonly [string, CompiledTemplate])[];
}

export type ConditionTest =
  | { readonly op: 'equals' | 'contains'; readonly to: CompiledTemplate }
  | { readonly op: 'matches'; readonly re: RegExp }
  | { readonly op: 'empty' | 'not_empty' };

export interface IfStep extends StepBase {
  readonly kind: 'if';
  /** Compared after trimming: model answers and command output end in line breaks. */
  readonly value: CompiledTemplate;
  readonly test: ConditionTest;
  readonly then: readonly StepSpec[];
  readonly else: readonly StepSpec[];
}

export interface WaitStep extends StepBase {
  readonly kind: 'wait';
  readonly ms: number;
}

export type StepSpec = LlmStep | ReplyStep | CommandStep | HttpStep | SetStep | IfStep | WaitStep;

export interface WorkflowSpec {
  readonly name: string;
  readonly description: string | undefined;
  readonly steps: readonly StepSpec[];
  readonly onError: OnError;
  /** The whole run's limit. */
  readonly timeoutMs: number;
  /** Who may start it (any of these; Admin always may). */
  readonly role: readonly Role[];
}

/** What the engine needs from the rest of clawdbot; each call must honour `signal`. */
export interface WorkflowServices {
  /** Rejects with ModelError. */
  llm(req: { prompt: string; system: string | undefined; maxTokens: number | undefined; temperature: number | undefined }, signal: AbortSignal): Promise<string>;
  /** A catalogue command with the starting user's rights; rejects with ExecError (code DENIED when policy refuses). */
  command(name: string, args: Readonly<Record<string, string>> | readonly string[], signal: AbortSignal): Promise<string>;
  /** A finished request (no placeholders left to fill); rejects with ExecError. */
  http(req: HttpRequestSpec, opts: { timeoutMs: number }, signal: AbortSignal): Promise<{ status: number; body: string }>;
}

export type StepStatus = 'ok' | 'failed';

export interface StepRecord {
  readonly name: string;
  readonly kind: StepKind;
  readonly status: StepStatus;
  /** "" for a failed step. An `if` step's output is that of the last step of the branch it ran. */
  readonly output: string;
  readonly durationMs: number;
  /** 0 for the workflow's own steps, 1 inside an `if` branch, ... */
  readonly depth: number;
  /** The branch an `if` step took; undefined for other kinds (and for an `if` that failed before deciding). */
  readonly branch: 'then' | 'else' | undefined;
  readonly error: Error | undefined;
}

/** Reported as each step ends (so a branch's steps come before their `if` step). */
export type StepEvent = StepRecord;

export interface WorkflowResult {
  readonly status: 'ok' | 'failed';
  /** What the user gets: the reply steps' texts (and a failure text under on_error: reply). */
  readonly reply: string;
  /** Every step that ran, in the order they ended. */
  readonly steps: readonly StepRecord[];
  /** Why the workflow failed (status 'failed'). */
  readonly error?: Error;
}
