// Runs a workflow: steps in order, each under its own deadline (or what is left of the enclosing one),
// failures handled by on_error. A deadline belongs to whoever set it: a step's own timeout is that step's
// failure (its on_error decides), an `if` step's timeout cuts its branch and is the `if` step's failure,
// the workflow's deadline and the caller's cancel stop everything.
import { childScope, race, rootScope, type Scope } from './deadline.ts';
import { failureText, WorkflowError } from './errors.ts';
import { conditionHolds, execute, newRunState, type RunState } from './steps.ts';
import type { OnError, StepEvent, StepRecord, StepSpec, WorkflowResult, WorkflowServices, WorkflowSpec } from './types.ts';

export interface RunContext {
  /** The turn's template variables (templateVars in src/core/turn.ts). */
  readonly vars: Record<string, unknown>;
  readonly services: WorkflowServices;
  readonly signal: AbortSignal;
  readonly onStep?: (e: StepEvent) => void;
}

/**
 * Why a list of steps ended early. `handled`: a step's on_error already decided (stop, or reply with
 * the failure text added). Otherwise a deadline or cancel is travelling up to the scope that owns it.
 */
interface Halt {
  readonly error: Error;
  readonly handled: boolean;
}

interface Run {
  readonly state: RunState;
  readonly records: StepRecord[];
  readonly onStep: ((e: StepEvent) => void) | undefined;
}

export async function runWorkflow(spec: WorkflowSpec, ctx: RunContext): Promise<WorkflowResult> {
  const run: Run = { state: newRunState(ctx.vars, ctx.services), records: [], onStep: ctx.onStep };
  const root = rootScope(spec.timeoutMs, ctx.signal);
  let halt: Halt | undefined;
  try {
    halt = await runList(run, spec.steps, root.scope, 0, spec.onError);
  } finally {
    root.dispose();
  }
  const replies = run.state.replies;
  if (halt && !halt.handled && spec.onError === 'reply' && isTimeout(halt.error)) replies.push(failureText(halt.error, spec.name));
  const texts = replies.map((t) => t.trim()).filter((t) => t !== '');
  if (halt) return { status: 'failed', reply: texts.join('\n\n'), steps: run.records, error: halt.error };
  const last = run.records.findLast((r) => r.depth === 0);
  return { status: 'ok', reply: texts.length > 0 ? texts.join('\n\n') : (last?.output.trim() ?? ''), steps: run.records };
}

async function runList(run: Run, steps: readonly StepSpec[], scope: Scope, depth: number, inherited: OnError): Promise<Halt | undefined> {
  for (const step of steps) {
    const halt = await runStep(run, step, scope, depth, inherited);
    if (halt) return halt;
  }
  return undefined;
}

async function runStep(run: Run, step: StepSpec, parent: Scope, depth: number, inherited: OnError): Promise<Halt | undefined> {
  const mode = step.onError ?? inherited;
  const started = performance.now();
  const own = childScope(parent, step.name, step.timeoutMs);
  const scope = own.scope;
  let output = '';
  let branch: 'then' | 'else' | undefined;
  let failure: Halt | undefined;
  try {
    if (scope.signal.aborted) throw scope.signal.reason;
    if (step.kind === 'if') {
      const v = run.state.view;
      branch = conditionHolds(step.value.render(v), step.test, v) ? 'then' : 'else';
      const before = run.records.length;
      failure = await runList(run, step[branch], scope, depth + 1, mode);
      output = run.records.slice(before).findLast((r) => r.depth === depth + 1)?.output ?? '';
    } else {
      output = await race(execute(step, run.state, scope), scope.signal);
    }
  } catch (err) {
    // Once the scope is aborted, whatever the service threw is a consequence of that: report the cause.
    failure = { error: scope.signal.aborted ? (scope.signal.reason as Error) : asError(err), handled: false };
  } finally {
    own.dispose();
  }
  const durationMs = performance.now() - started;
  if (!failure) {
    finish(run, { name: step.name, kind: step.kind, status: 'ok', output, durationMs, depth, branch, error: undefined });
    return undefined;
  }
  finish(run, { name: step.name, kind: step.kind, status: 'failed', output: '', durationMs, depth, branch, error: failure.error });
  // Already decided further in, or not this step's to decide (a deadline around it, a cancel).
  if (failure.handled || !ownedBy(failure.error, step)) return failure;
  if (mode === 'continue') return undefined;
  if (mode === 'reply') run.state.replies.push(failureText(failure.error, step.name));
  return { error: failure.error, handled: true };
}

function finish(run: Run, r: StepRecord): void {
  run.records.push(r);
  run.state.steps[r.name] = { output: r.output, status: r.status };
  run.onStep?.(r);
}

/** Is this failure the step's own (its work failed, or its own timeout), rather than its surroundings'? */
function ownedBy(err: Error, step: StepSpec): boolean {
  if (!(err instanceof WorkflowError)) return true;
  return err.kind === 'timeout' && err.step === step.name;
}

function isTimeout(err: Error): boolean {
  return err instanceof WorkflowError && err.kind === 'timeout';
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
