// `clawdbot route explain "text"`: which rule matches, and the verdict of every rule before it.
import { explainRoute } from '../core/router.ts';
import { loadConfig } from '../core/config/load.ts';
import type { GlobalOptions } from './context.ts';

export async function runExplain(text: string, opts: GlobalOptions & { platform: string; role: string }): Promise<number> {
  const config = loadConfig({ file: opts.config });
  const { route, verdicts } = explainRoute(config.routes, { platform: opts.platform, text, role: opts.role });
  const out: string[] = [`message ${JSON.stringify(text)} from platform ${JSON.stringify(opts.platform)}, role ${opts.role}`];
  for (const v of verdicts) {
    out.push(`${v.matched ? '→' : ' '} rule ${v.route.index + 1} (${v.route.source}) → ${v.route.action}${v.matched ? '   MATCHED' : ''}`);
    for (const r of v.reasons) out.push(`      ${r}`);
  }
  if (route) {
    const action = config.actions.get(route.action);
    out.push(action ? `action ${route.action}: ${action.kind}` : `action ${route.action}: NOT DEFINED (the message would get an error reply)`);
  } else {
    out.push('no rule matched and there is no default rule: the message would not be answered');
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
