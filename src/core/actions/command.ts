// A catalogue command for one turn: arguments bound and validated, an approval asked for when the
// command needs one, then run; the outcome is audited and shown as a short reply with the output.
import { ExecError } from '../errors.ts';
import { auditEvent, writeAudit } from '../audit.ts';
import { bindParams } from '../commands/params.ts';
import { runCommand } from '../commands/run.ts';
import type { CommandResult, CommandSpec } from '../commands/types.ts';
import type { EntryArgs, Executor } from '../executor.ts';
import type { Turn } from '../turn.ts';
import type { ActionResult } from '../types.ts';
import { requestApproval } from './approval.ts';

export async function runCommandEntry(ex: Executor, spec: CommandSpec, input: EntryArgs, turn: Turn): Promise<ActionResult> {
  let args: Record<string, string>;
  try {
    args = bindParams(spec, input);
  } catch (err) {
    if (err instanceof ExecError) return { status: 'failed', text: err.userText, error: err };
    throw err;
  }
  // An Admin may do everything, so an Admin's own request runs at once; anyone else's waits.
  if (spec.approve && turn.identity.role !== 'Admin') return requestApproval(ex, spec, args, turn);
  return execute(ex, spec, args, turn);
}

/**
 * Runs a bound, authorised (and, where needed, approved) command for `turn.identity`: audited and
 * counted whatever the outcome. Rejects with ExecError. Shared by a command turn and a workflow step.
 */
export async function runAudited(ex: Executor, spec: CommandSpec, args: Readonly<Record<string, string>>, turn: Turn, signal: AbortSignal): Promise<CommandResult> {
  const started = Date.now();
  const input = `${spec.name} ${JSON.stringify(args)}`;
  try {
    const r = await runCommand(spec, args, signal);
    await writeAudit(ex.store, ex.log, auditEvent(turn.identity, turn.conversation, {
      eventType: 'command_execution', decision: 'allowed', input, output: `exit ${r.exitCode ?? '-'}\n${r.output}`, durationMs: r.durationMs,
    }));
    ex.metrics?.command(spec.name, 'ok');
    return r;
  } catch (err) {
    const e = err instanceof ExecError ? err : new ExecError('SPAWN_FAILED', String((err as Error)?.message ?? err), { cause: err });
    ex.metrics?.command(spec.name, e.code === 'TIMEOUT' ? 'timeout' : 'failed');
    ex.metrics?.error('command');
    ex.log.warn({ command: spec.name, code: e.code, err: e.message }, 'command failed');
    await writeAudit(ex.store, ex.log, auditEvent(turn.identity, turn.conversation, {
      eventType: 'command_execution', decision: 'allowed', input, output: `${e.code}: ${e.message}`, durationMs: Date.now() - started,
    }));
    throw e;
  }
}

/** Runs a bound command for the turn and answers with its output (or why it failed). */
export async function execute(ex: Executor, spec: CommandSpec, args: Readonly<Record<string, string>>, turn: Turn): Promise<ActionResult> {
  try {
    return { status: 'ok', text: formatOutput(spec, await runAudited(ex, spec, args, turn, turn.signal)) };
  } catch (err) {
    const e = err as ExecError;
    // The person may run this command, so what it printed before failing is theirs to see.
    const text = e.output?.trim() ? `${e.userText}\n${block(e.output)}` : e.userText;
    return { status: 'failed', text, error: e };
  }
}

/** Output in a code block (adapters render it in the platform's markup), with a note when cut. */
export function formatOutput(spec: CommandSpec, r: CommandResult): string {
  if (!r.output.trim()) return `\`${spec.name}\` done (no output).`;
  return `${block(r.output)}${r.truncated ? `\n_(output cut at ${Math.round(spec.outputCap / 1024)} KB)_` : ''}`;
}

function block(text: string): string {
  // A fence longer than any run of backticks inside, so the output cannot end the block early.
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}\n${text.replace(/\s+$/, '')}\n${fence}`;
}
