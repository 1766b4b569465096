// What each kind of step does, once its turn has come. Branching (`if`) is the engine's; here a step
// renders its templates, calls a service (or waits, or sets variables) and returns its output.
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecError } from '../errors.ts';
import type { CompiledTemplate } from '../template.ts';
import { remainingMs, type Scope } from './deadline.ts';
import { buildRequest, statusExpected } from './http.ts';
import type { CommandStep, ConditionTest, IfStep, StepSpec, WorkflowServices } from './types.ts';

/** The state a run's steps read and write. */
export interface RunState {
  /** What templates read: the turn's variables plus `steps` and `vars` below. */
  readonly view: Record<string, unknown>;
  readonly steps: Record<string, { output: string; status: 'ok' | 'failed' }>;
  readonly vars: Record<string, string>;
  /** Texts of the reply steps so far (and failure texts under on_error: reply). */
  readonly replies: string[];
  readonly services: WorkflowServices;
}

export function newRunState(turnVars: Record<string, unknown>, services: WorkflowServices): RunState {
  // Null prototypes: a step or variable named like an Object.prototype member stays a plain entry.
  const steps = Object.create(null) as RunState['steps'];
  const vars = Object.create(null) as RunState['vars'];
  // The turn's variables by prototype, not copied: copying would call their lazy getters (date, time).
  const view = Object.create(turnVars, {
    steps: { value: steps, enumerable: true },
    vars: { value: vars, enumerable: true },
  }) as Record<string, unknown>;
  return { view, steps, vars, replies: [], services };
}

/** Runs one step that is not an `if`; resolves with its output. */
export async function execute(step: Exclude<StepSpec, IfStep>, run: RunState, scope: Scope): Promise<string> {
  const v = run.view;
  const signal = scope.signal;
  switch (step.kind) {
    case 'llm':
      return run.services.llm({
        prompt: step.prompt.render(v),
        system: step.system?.render(v),
        maxTokens: step.maxTokens,
        temperature: step.temperature,
      }, signal);
    case 'reply': {
      const text = step.text.render(v);
      run.replies.push(text);
      return text;
    }
    case 'command':
      return run.services.command(step.command, renderArgs(step.args, v), signal);
    case 'http': {
      const req = buildRequest(step, v);
      const res = await run.services.http(req, { timeoutMs: remainingMs(scope) }, signal);
      if (!statusExpected(step, res.status)) {
        throw new ExecError('UNEXPECTED_STATUS', `workflow step ${step.name}: ${req.method} answered ${res.status}`, { output: res.body });
      }
      return res.body;
    }
    case 'set': {
      // All values first, from the variables as they were before this step; then assigned in order.
      const rendered = step.values.map(([name, t]) => [name, t.render(v)] as const);
      for (const [name, value] of rendered) run.vars[name] = value;
      return rendered.at(-1)?.[1] ?? '';
    }
    case 'wait':
      await sleep(step.ms, undefined, { signal });
      return '';
  }
}

function renderArgs(args: CommandStep['args'], v: Record<string, unknown>): Record<string, string> | string[] {
  if (isList(args)) return args.map((t) => t.render(v));
  return Object.fromEntries(Object.entries(args).map(([k, t]) => [k, t.render(v)]));
}

function isList(args: CommandStep['args']): args is readonly CompiledTemplate[] {
  return Array.isArray(args);
}

/** The `if` step's decision. The texts are trimmed: answers and command output end in line breaks. */
export function conditionHolds(value: string, test: ConditionTest, v: Record<string, unknown>): boolean {
  const s = value.trim();
  switch (test.op) {
    case 'equals': return s === test.to.render(v).trim();
    case 'contains': {
      // Trimmed like the value (a step's output ends in a line break); a text of only spaces is kept as written.
      const to = test.to.render(v);
      return s.includes(to.trim() || to);
    }
    case 'matches': return test.re.test(s);
    case 'empty': return s === '';
    case 'not_empty': return s !== '';
  }
}
