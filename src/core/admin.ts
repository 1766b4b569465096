// Chat commands for running the assistant from inside a chat: `/run`, approvals, sessions, reload,
// audit, whoami. Each declares the role it needs; the executor checks it like any other entry. They
// are recognised before routing (a route for the same word never sees it), with Telegram's
// `/cmd@botname` form accepted.
import type { Role } from './policy.ts';

export interface AdminCommand {
  readonly name: string;
  readonly usage: string;
  readonly description: string;
  readonly role: readonly Role[];
}

export const ADMIN_COMMANDS: readonly AdminCommand[] = [
  { name: '/run', usage: '/run NAME [args]', description: 'run a command or workflow by name', role: ['Admin'] },
  { name: '/approve', usage: '/approve ID', description: 'approve a waiting command; it runs as the requester', role: ['Admin'] },
  { name: '/deny', usage: '/deny ID', description: 'refuse a waiting command', role: ['Admin'] },
  { name: '/pending', usage: '/pending', description: 'list commands waiting for approval', role: ['Admin'] },
  { name: '/sessions', usage: '/sessions', description: 'list recent conversations', role: ['Operator'] },
  { name: '/reload', usage: '/reload', description: 'reload the configuration file', role: ['Operator'] },
  { name: '/audit', usage: '/audit [N]', description: 'show the latest audit records', role: ['Auditor'] },
  { name: '/report', usage: '/report [hours]', description: 'what happened in the last hours (default 24): turns, commands, denials by kind', role: ['Auditor'] },
  { name: '/whoami', usage: '/whoami', description: 'show your id and role', role: ['User'] },
];

const BY_NAME = new Map(ADMIN_COMMANDS.map((c) => [c.name, c]));

/** The chat command a message starts with, and the text after it; null for anything else. */
export function adminCommandOf(text: string): { command: AdminCommand; rest: string } | null {
  const t = text.trimStart();
  if (t[0] !== '/') return null;
  const m = /^(\/[a-z]+)(?:@[A-Za-z0-9_]+)?(?:\s+([\s\S]*))?$/.exec(t.trimEnd());
  const command = m && BY_NAME.get(m[1]!);
  return command ? { command, rest: m[2] ?? '' } : null;
}
