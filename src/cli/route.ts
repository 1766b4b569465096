// `clawdbot route explain "text"`: which rule matches, the verdict of every rule before it, and what
// the matched entry is and whether the sender's role may use it (the same lookups a turn makes).
import { adminCommandOf } from '../core/admin.ts';
import { Catalogue } from '../core/catalogue.ts';
import { loadConfig } from '../core/config/load.ts';
import { authorize, type Role } from '../core/policy.ts';
import { explainRoute } from '../core/router.ts';
import { loginName, type GlobalOptions } from './context.ts';

export async function runExplain(text: string, opts: GlobalOptions & { platform: string; user?: string; role?: Role }): Promise<number> {
  const config = loadConfig({ file: opts.config });
  const user = opts.user ?? loginName();
  // As in a turn: the role security.roles gives platform:user, unless --role plays another.
  const role = opts.role ?? config.security.roles.roleOf(opts.platform, user);
  const out: string[] = [`message ${JSON.stringify(text)} from ${opts.platform}:${user}, role ${role}${opts.role ? ' (--role)' : ''}`];
  const chat = text.trimStart().startsWith('/') ? adminCommandOf(text) : null;
  if (chat) {
    // Chat commands are answered before the routes are looked at (src/core/gateway.ts).
    out.push(`chat command ${chat.command.name}, handled before the routes (not consulted); ${verdict(role, chat.command.role, chat.command.name)}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  }
  const { route, verdicts } = explainRoute(config.routes, { platform: opts.platform, text, role });
  for (const v of verdicts) {
    out.push(`${v.matched ? '→' : ' '} rule ${v.route.index + 1} (${v.route.source}) → ${v.route.action}${v.matched ? '   MATCHED' : ''}`);
    for (const r of v.reasons) out.push(`      ${r}`);
  }
  if (route) {
    const entry = new Catalogue(config).get(route.action);
    if (!entry) {
      out.push(`${route.action}: NOT DEFINED (the message would get an error reply)`);
    } else {
      const what = entry.kind === 'action' ? `action ${entry.name}: ${entry.action.kind}` : `${entry.kind} ${entry.name}`;
      out.push(`${what}; ${verdict(role, entry.role, Catalogue.describe(entry))}`);
    }
  } else {
    out.push('no rule matched and there is no default rule: the message would not be answered');
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

function verdict(role: Role, needs: readonly Role[], what: string): string {
  return `needs ${needs.join(' or ')}: ${authorize({ role }, needs, what).allowed ? `role ${role} may use it` : `role ${role} is refused`}`;
}
