// `trigger_help_workflow` (the seed's `!help`) when the config has no workflow of that name: what this
// sender may use here, so nobody has to guess command names or argument order.
import type { Catalogue } from '../catalogue.ts';
import { usage } from '../commands/params.ts';
import { authorize } from '../policy.ts';
import type { Identity } from '../types.ts';
import type { ActionResult } from '../types.ts';
import { ADMIN_COMMANDS } from '../admin.ts';

export function runHelp(who: Identity, catalogue: Catalogue, systemName: string): ActionResult {
  const allowed = (role: Parameters<typeof authorize>[1], what: string) => authorize(who, role, what).allowed;
  const lines: string[] = [`**${systemName}** — you are ${who.role} here.`];
  const commands = [...catalogue.commands()].filter((c) => allowed(c.role, c.name));
  if (commands.length) {
    lines.push('', '**Commands**');
    for (const c of commands) lines.push(`- \`${usage(c)}\`${c.description ? ` — ${c.description}` : ''}${c.approve ? ' (needs an admin\'s approval)' : ''}`);
  }
  const workflows = [...catalogue.workflows()].filter((w) => allowed(w.role, w.name));
  if (workflows.length) {
    lines.push('', '**Workflows**');
    for (const w of workflows) lines.push(`- \`${w.name}\`${w.description ? ` — ${w.description}` : ''}`);
  }
  const admin = ADMIN_COMMANDS.filter((a) => allowed(a.role, a.name));
  if (admin.length) {
    lines.push('', '**Chat commands**');
    for (const a of admin) lines.push(`- \`${a.usage}\` — ${a.description}`);
  }
  lines.push('', 'Anything else you write goes to the assistant.');
  return { status: 'ok', text: lines.join('\n') };
}
