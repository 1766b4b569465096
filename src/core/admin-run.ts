// What the chat commands of admin.ts do. The executor has checked the role each one needs.
import { decide, listPending } from './actions/approval.ts';
import type { AdminCommand } from './admin.ts';
import { auditEvent, writeAudit } from './audit.ts';
import { splitArgs } from './commands/params.ts';
import { ExecError } from './errors.ts';
import type { Executor } from './executor.ts';
import type { Turn } from './turn.ts';
import type { ActionResult } from './types.ts';

export interface AdminHooks {
  /** Reloads the config file; resolves to a one-line summary of what changed (or why nothing did). */
  readonly reload: (() => Promise<string>) | undefined;
}

const ok = (text: string): ActionResult => ({ status: 'ok', text });

export async function runAdminCommand(ex: Executor, command: AdminCommand, rest: string, turn: Turn, hooks: AdminHooks): Promise<ActionResult> {
  switch (command.name) {
    case '/run': {
      let words: string[];
      try {
        words = splitArgs(rest);
      } catch (err) {
        if (err instanceof ExecError) return { status: 'failed', text: err.userText, error: err };
        throw err;
      }
      const name = words[0];
      if (!name || name.startsWith('/')) return ok(`Usage: ${command.usage}`);
      await writeAudit(ex.store, ex.log, auditEvent(turn.identity, turn.conversation, { eventType: 'admin_action', decision: 'allowed', input: `/run ${rest}` }));
      // The workflow's {{input}} is what follows the name; a command gets the words as its arguments.
      const input = rest.trimStart().slice(rest.trimStart().indexOf(name) + name.length).trim();
      return ex.run(name, { ...turn, message: { ...turn.message, text: input } }, words.slice(1));
    }
    case '/approve':
    case '/deny': {
      const id = rest.trim().split(/\s+/)[0];
      if (!id) return ok(`Usage: ${command.usage}`);
      return decide(ex, id, command.name === '/approve' ? 'approved' : 'denied', turn);
    }
    case '/pending':
      return listPending(ex);
    case '/sessions': {
      const rows = ex.store.sessions.recent(20);
      if (rows.length === 0) return ok('No conversations yet.');
      const lines = rows.map((s) => `- ${s.conversation}: ${s.messages} messages, last ${new Date(s.updatedAt).toISOString().replace('T', ' ').slice(0, 16)} UTC`);
      return ok(`Recent conversations:\n${lines.join('\n')}`);
    }
    case '/reload': {
      if (!hooks.reload) return ok('There is nothing to reload here: this is not a running server.');
      const summary = await hooks.reload();
      await writeAudit(ex.store, ex.log, auditEvent(turn.identity, turn.conversation, { eventType: 'config_reload', decision: 'allowed', input: '/reload', output: summary }));
      return ok(summary);
    }
    case '/audit': {
      const n = Math.min(50, Math.max(1, Number.parseInt(rest.trim() || '10', 10) || 10));
      const records = ex.store.audit.tail({ limit: n });
      if (records.length === 0) return ok('The audit log is empty.');
      const lines = records.map((r) => `- #${r.id} ${new Date(r.timestamp).toISOString().slice(0, 19)}Z ${r.eventType}${r.decision ? ` (${r.decision})` : ''} ${r.platform ?? '-'}:${r.userId ?? '-'} ${r.role ?? ''}`.trimEnd());
      return ok(`Latest audit records:\n${lines.join('\n')}`);
    }
    case '/report': {
      const hours = Math.min(24 * 90, Math.max(1, Number.parseInt(rest.trim() || '24', 10) || 24));
      const rows = ex.store.audit.summary(Date.now() - hours * 3600_000);
      if (rows.length === 0) return ok(`Nothing was recorded in the last ${hours} h.`);
      const lines = rows.map((r) => `- ${r.eventType}${r.decision ? ` (${r.decision})` : ''}: ${r.count} by ${r.users} user(s)`);
      return ok(`Last ${hours} h:\n${lines.join('\n')}`);
    }
    case '/whoami': {
      const i = turn.identity;
      return ok(`You are ${i.platform}:${i.id}${i.name ? ` (${i.name})` : ''}, role ${i.role}.`);
    }
    default:
      return ok(`Usage: ${command.usage}`);
  }
}
