// Catalogue commands offered to the model as tools. Only commands the `llm` action lists, and only
// those the asking user may run, are offered; each call then goes through the executor's policy check
// again (same rule, same audit) and through the same argument validation as a typed command. An
// approval-gated command becomes an approval request, exactly as if the user had typed it.
import { runCommandEntry } from './actions/command.ts';
import type { ToolBox } from './actions/llm.ts';
import type { CommandSpec } from './commands/types.ts';
import type { Executor } from './executor.ts';
import type { ToolSpec } from './models/types.ts';
import { authorize } from './policy.ts';
import type { Turn } from './turn.ts';
import type { Action } from './types.ts';

export function toolBox(ex: Executor, action: Extract<Action, { kind: 'llm' }>, turn: Turn): ToolBox | undefined {
  if (action.tools !== 'all' && action.tools.length === 0) return undefined;
  const named = action.tools === 'all' ? [...ex.catalogue.commands()] : action.tools.flatMap((n) => ex.catalogue.command(n) ?? []);
  const offered = named.filter((c) => authorize(turn.identity, c.role, c.name).allowed);
  if (offered.length === 0) return undefined;
  return {
    specs: offered.map(toolSpec),
    call: async (name, args, signal) => {
      const spec = ex.catalogue.command(name);
      if (!spec) return `Error: there is no tool "${name}".`;
      const denied = await ex.authorizeFor(turn, { kind: 'command', name, role: spec.role, spec });
      if (denied) return `Refused: ${denied.text}`;
      const r = await runCommandEntry(ex, spec, args, { ...turn, signal });
      return r.status === 'ok' ? r.text : `Error: ${r.text}`;
    },
  };
}

const JSON_TYPES = { string: 'string', integer: 'integer', number: 'number', boolean: 'boolean' } as const;

export function toolSpec(c: CommandSpec): ToolSpec {
  const properties: Record<string, unknown> = {};
  for (const p of c.params) {
    properties[p.name] = {
      type: JSON_TYPES[p.type],
      ...(p.description ? { description: p.description } : {}),
      ...(p.enum ? { enum: p.enum } : {}),
      ...(p.pattern ? { pattern: p.pattern.source } : {}),
    };
  }
  return {
    name: c.name,
    description: c.description ?? `Runs the "${c.name}" command.`,
    parameters: { type: 'object', properties, required: c.params.filter((p) => p.required).map((p) => p.name) },
  };
}
