// A workflow for one turn: the engine (src/core/workflows/) runs the steps; this file gives it the
// services with the starting user's rights — each `command` step passes the same policy check as if
// the user had asked for that command, and model calls share the executor's concurrency bound.
import { auditEvent, writeAudit } from '../audit.ts';
import { bindParams } from '../commands/params.ts';
import { runHttpRequest } from '../commands/run.ts';
import { runAudited } from './command.ts';
import { ExecError, ModelError } from '../errors.ts';
import type { Executor } from '../executor.ts';
import type { ChatMessage } from '../models/types.ts';
import { authorize } from '../policy.ts';
import { templateVars, type Turn } from '../turn.ts';
import type { ActionResult } from '../types.ts';
import { runWorkflow } from '../workflows/engine.ts';
import type { StepEvent, WorkflowServices, WorkflowSpec } from '../workflows/types.ts';

/** Responses of an `http` step are kept to this many bytes. */
const HTTP_STEP_CAP = 256 * 1024;

export async function runWorkflowEntry(ex: Executor, spec: WorkflowSpec, turn: Turn, onStep?: (e: StepEvent) => void): Promise<ActionResult> {
  const started = Date.now();
  const result = await runWorkflow(spec, {
    vars: templateVars(turn, ex.config.system, new Date(turn.at ?? Date.now())),
    services: workflowServices(ex, turn),
    signal: turn.signal,
    ...(onStep ? { onStep } : {}),
  });
  await writeAudit(ex.store, ex.log, auditEvent(turn.identity, turn.conversation, {
    eventType: 'workflow_run', decision: 'allowed', input: `${spec.name} ${turn.message.text}`.trim(),
    output: `${result.status}: ${result.steps.map((s) => `${s.name}=${s.status}`).join(' ')}`, durationMs: Date.now() - started,
  }));
  if (result.status === 'ok') return { status: 'ok', text: result.reply || `Workflow \`${spec.name}\` done.` };
  ex.metrics?.error('workflow');
  const error = result.error ?? new Error(`workflow ${spec.name} failed`);
  return { status: 'failed', text: result.reply || `Workflow \`${spec.name}\` failed.`, error };
}

export function workflowServices(ex: Executor, turn: Turn): WorkflowServices {
  return {
    llm: async (req, signal) => {
      const messages: ChatMessage[] = [];
      if (req.system) messages.push({ role: 'system', content: req.system });
      messages.push({ role: 'user', content: req.prompt });
      const m = ex.config.models.default;
      const started = Date.now();
      const r = await (await ex.chatClient()).chat({
        messages, maxTokens: req.maxTokens ?? m.maxTokens, temperature: req.temperature ?? m.temperature, signal,
      });
      await writeAudit(ex.store, ex.log, auditEvent(turn.identity, turn.conversation, {
        eventType: 'model_invocation', decision: 'allowed', input: req.prompt, output: r.text, durationMs: Date.now() - started, modelVersion: r.model,
      }));
      if (!r.text.trim()) throw new ModelError('bad_response', `empty answer from ${r.model}`);
      return r.text;
    },
    command: async (name, args, signal) => {
      const spec = ex.catalogue.command(name);
      if (!spec) throw new ExecError('SPAWN_FAILED', `workflow step names unknown command "${name}"`, { userText: `The command "${name}" is not in the catalogue.` });
      const entry = { kind: 'command', name, role: spec.role, spec } as const;
      const denied = await ex.authorizeFor(turn, entry);
      if (denied) throw new ExecError('DENIED', denied.status === 'denied' ? denied.reason : denied.text, { userText: denied.text });
      if (spec.approve && turn.identity.role !== 'Admin') {
        throw new ExecError('DENIED', `command "${name}" needs an admin's approval`, { userText: `\`${name}\` needs an admin's approval and cannot run inside a workflow; ask for it on its own.` });
      }
      return (await runAudited(ex, spec, bindParams(spec, args), turn, signal)).output;
    },
    http: async (req, opts, signal) => {
      const r = await runHttpRequest(req, {}, { timeoutMs: opts.timeoutMs, outputCap: HTTP_STEP_CAP, signal });
      return { status: r.exitCode ?? 0, body: r.output };
    },
  };
}

/** Whether `turn.identity` may start the workflow (for callers outside Executor.run, e.g. the CLI). */
export function mayRun(spec: WorkflowSpec, turn: Turn): ReturnType<typeof authorize> {
  return authorize(turn.identity, spec.role, `workflow "${spec.name}"`);
}
