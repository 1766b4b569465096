// Commands marked `approve: true`: the request is stored with its bound arguments and the admins'
// chats are told; an Admin's `/approve ID` runs it as the requester (their role looked up again, the
// policy checked again), and the result goes to the chat it was asked from.
import type { Approval } from '../../store/approvals.ts';
import { auditEvent, writeAudit } from '../audit.ts';
import { bindParams } from '../commands/params.ts';
import type { CommandSpec } from '../commands/types.ts';
import { ExecError } from '../errors.ts';
import type { Executor } from '../executor.ts';
import { authorize } from '../policy.ts';
import type { Turn } from '../turn.ts';
import type { ActionResult, Identity } from '../types.ts';
import { execute } from './command.ts';

export async function requestApproval(ex: Executor, spec: CommandSpec, args: Readonly<Record<string, string>>, turn: Turn): Promise<ActionResult> {
  const { message, identity } = turn;
  const { ttlMs, notify } = ex.config.security.approvals;
  const a = await ex.store.write(() => ex.store.approvals.create({
    command: spec.name, args,
    requester: { platform: identity.platform, id: identity.id, ...(identity.name ? { name: identity.name } : {}) },
    platform: message.platform, chatId: message.chat.id, threadId: message.threadId, inReplyTo: message.id,
  }, Date.now(), ttlMs));
  ex.metrics?.command(spec.name, 'pending');
  await writeAudit(ex.store, ex.log, auditEvent(identity, turn.conversation, {
    eventType: 'approval_request', decision: null, input: `${spec.name} ${JSON.stringify(args)}`, output: `request ${a.id}`,
  }));
  const minutes = Math.round(ttlMs / 60_000);
  const notice = `${who(identity)} asks to run ${code(describe(spec, args))}. Approve with \`/approve ${a.id}\` or refuse with \`/deny ${a.id}\` (expires in ${minutes} min).`;
  for (const n of notify) {
    await turn.announce({ platform: n.platform, chatId: n.chat, text: notice }).catch((err: unknown) => {
      ex.log.warn({ err, platform: n.platform, chat: n.chat }, 'could not tell admins about an approval request');
    });
  }
  return { status: 'ok', text: `\`${spec.name}\` needs an admin's approval. Request \`${a.id}\` is waiting; an admin answers with \`/approve ${a.id}\` (expires in ${minutes} min).` };
}

/** `/approve ID` and `/deny ID` by an Admin (the executor checked the role). */
export async function decide(ex: Executor, id: string, decision: 'approved' | 'denied', turn: Turn): Promise<ActionResult> {
  const a = ex.store.approvals.get(id);
  if (!a) return { status: 'ok', text: `There is no request \`${id}\`.` };
  const by = `${turn.identity.platform}:${turn.identity.id}`;
  const now = Date.now();
  if (a.status !== 'pending' || a.expiresAt <= now) {
    return { status: 'ok', text: `Request \`${a.id}\` was already ${a.status === 'pending' ? 'expired' : a.status}.` };
  }
  if (!(await ex.store.write(() => ex.store.approvals.decide(a.id, decision, by, now)))) {
    return { status: 'ok', text: `Request \`${a.id}\` was decided by someone else a moment ago.` };
  }
  await writeAudit(ex.store, ex.log, auditEvent(turn.identity, turn.conversation, {
    eventType: 'admin_action', decision: 'allowed', input: `${decision === 'approved' ? '/approve' : '/deny'} ${a.id}`, output: `${a.command} for ${a.requester.platform}:${a.requester.id}`,
  }));
  if (decision === 'denied') {
    await tell(ex, turn, a, `Your request to run \`${a.command}\` was refused by an admin.`);
    return { status: 'ok', text: `Refused request \`${a.id}\` (\`${a.command}\` for ${a.requester.platform}:${a.requester.id}).` };
  }
  return runApproved(ex, a, turn);
}

async function runApproved(ex: Executor, a: Approval, turn: Turn): Promise<ActionResult> {
  const spec = ex.catalogue.command(a.command);
  if (!spec) return { status: 'ok', text: `Request \`${a.id}\` names \`${a.command}\`, which is no longer in the catalogue; nothing was run.` };
  // The requester's role now, not when they asked: a role taken away in between counts.
  const requester: Identity = { ...a.requester, role: ex.config.security.roles.roleOf(a.requester.platform, a.requester.id) };
  const asRequester: Turn = {
    ...turn, identity: requester, conversation: `${a.platform}:${a.chatId}`,
    message: { ...turn.message, platform: a.platform, chat: { id: a.chatId, type: 'dm' }, sender: { id: requester.id } },
  };
  const d = authorize(requester, spec.role, `command "${spec.name}"`);
  if (!d.allowed) {
    await writeAudit(ex.store, ex.log, auditEvent(requester, asRequester.conversation, { eventType: 'policy_denial', decision: 'denied', input: a.command, output: d.reason }));
    await tell(ex, turn, a, d.userText);
    return { status: 'ok', text: `Approved, but ${a.requester.platform}:${a.requester.id} may no longer run \`${a.command}\` (${d.reason}); nothing was run.` };
  }
  // The arguments against the command as it is now: a reload may have tightened a parameter since.
  let args: Record<string, string>;
  try {
    args = bindParams(spec, a.args);
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    await tell(ex, turn, a, `Your request \`${a.id}\` was approved, but its arguments no longer fit \`${a.command}\`; nothing was run.`);
    return { status: 'ok', text: `Approved, but the arguments of \`${a.id}\` no longer fit \`${a.command}\` as it is now; nothing was run.\n${err.userText}` };
  }
  const result = await execute(ex, spec, args, asRequester);
  const sameChat = a.platform === turn.message.platform && a.chatId === turn.message.chat.id;
  if (sameChat) return result;
  await tell(ex, turn, a, `Your request \`${a.id}\` was approved.\n${result.text}`);
  return { status: 'ok', text: `Approved \`${a.id}\`: \`${a.command}\` ran for ${a.requester.platform}:${a.requester.id} (${result.status}); the result went to them.` };
}

async function tell(ex: Executor, turn: Turn, a: Approval, text: string): Promise<void> {
  await turn.announce({
    platform: a.platform, chatId: a.chatId, text,
    ...(a.threadId === undefined ? {} : { threadId: a.threadId }),
    ...(a.inReplyTo === undefined ? {} : { inReplyTo: a.inReplyTo }),
  }).catch((err: unknown) => ex.log.warn({ err, approval: a.id }, 'could not tell the requester'));
}

export function listPending(ex: Executor): ActionResult {
  const pending = ex.store.approvals.pending(Date.now());
  if (pending.length === 0) return { status: 'ok', text: 'No requests are waiting.' };
  const lines = pending.map((a) => `- \`${a.id}\` ${a.requester.platform}:${a.requester.id} wants ${code(describe(ex.catalogue.command(a.command), a.args, a.command))} (expires ${new Date(a.expiresAt).toISOString().slice(11, 16)} UTC)`);
  return { status: 'ok', text: `Waiting for approval:\n${lines.join('\n')}` };
}

function describe(spec: CommandSpec | undefined, args: Readonly<Record<string, string>>, name = spec?.name ?? '?'): string {
  const values = Object.values(args);
  return values.length ? `${name} ${values.join(' ')}` : name;
}

/** A Markdown code span that holds `text` whole: a backtick in a value cannot end it and add markup (a link). */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  if (longest === 0) return `\`${text}\``;
  const fence = '`'.repeat(longest + 1);
  return `${fence} ${text} ${fence}`;
}

/** The requester as admins see them: a display name is the person's own text, so it stays in a code span too. */
function who(i: Identity): string {
  return `${i.name ? `${code(i.name)} ` : ''}(${i.platform}:${i.id})`;
}
