// `clawdbot workflow run NAME --input "..."`: one workflow from the terminal, through the same executor
// (policy checks, audit, model bound) as in a chat, printing each step as it ends and then the reply.
import { randomUUID } from 'node:crypto';
import { runWorkflowEntry, mayRun } from '../core/actions/workflow.ts';
import { attachAudit } from '../core/audit.ts';
import { UsageError } from '../core/errors.ts';
import { Executor } from '../core/executor.ts';
import type { Turn } from '../core/turn.ts';
import { formatStep } from '../core/workflows/format.ts';
import { Store } from '../store/store.ts';
import { commandContext, databasePath, loginName, type GlobalOptions } from './context.ts';

export interface WorkflowRunOptions extends GlobalOptions {
  readonly input: string;
  readonly platform: string;
  readonly user?: string;
  /** Default: the user id. A direct chat is one person's (as a Telegram DM's chat id is the user's). */
  readonly chat?: string;
}

export async function runWorkflowCommand(name: string, opts: WorkflowRunOptions): Promise<number> {
  const { config, log, redactor } = await commandContext(opts, 'warn');
  const spec = config.workflows.get(name);
  if (!spec) {
    const known = [...config.workflows.keys()];
    throw new UsageError(`workflow: no workflow "${name}" in ${config.file ?? 'the built-in defaults'}${known.length ? ` (defined: ${known.join(', ')})` : ''}`);
  }
  const store = Store.open(databasePath(config), { key: config.security.encryptionKey, log });
  attachAudit(store, config.audit, redactor);
  try {
    const executor = new Executor({ config, store, log });
    const user = opts.user ?? loginName();
    const chat = opts.chat ?? user;
    const conversation = `${opts.platform}:${chat}`;
    const turn: Turn = {
      message: { platform: opts.platform, id: randomUUID(), chat: { id: chat, type: 'dm' }, sender: { id: user }, text: opts.input, sentAt: Date.now(), attachments: [] },
      identity: { platform: opts.platform, id: user, role: config.security.roles.roleOf(opts.platform, user) },
      history: async () => [],
      signal: AbortSignal.timeout(spec.timeoutMs + 5000),
      onDelta: undefined,
      conversation,
      // No gateway here: a message meant for another chat is printed instead.
      announce: async (m) => void process.stderr.write(`(for ${m.platform}:${m.chatId}) ${m.text}\n`),
    };
    const decision = mayRun(spec, turn);
    if (!decision.allowed) {
      process.stderr.write(`clawdbot: denied: ${decision.reason}\n`);
      return 1;
    }
    const result = await runWorkflowEntry(executor, spec, turn, (e) => process.stdout.write(`${formatStep(e)}\n`));
    process.stdout.write(`\n${result.text}\n`);
    return result.status === 'ok' ? 0 : 1;
  } finally {
    store.close();
  }
}
