// Checks across sections, after each section is valid on its own: one namespace for actions, commands
// and workflows; workflows, tools and schedules name things that exist. Each problem says where.
import type { RawConfig } from './schema.ts';
import { compileWorkflows, commandRefs } from './workflows.ts';
import { builtinActions } from './routes.ts';

type At = (path: (string | number)[], which?: 'key' | 'value') => string;

const SECTIONS = ['actions', 'commands', 'workflows'] as const;

export function referenceProblems(raw: RawConfig, at: At): string[] {
  const problems: string[] = [];
  const owner = new Map<string, string>();
  for (const section of SECTIONS) {
    for (const name of Object.keys(raw[section] ?? {})) {
      const first = owner.get(name);
      if (first) problems.push(`${at([section, name], 'key')}: ${section}.${name}: expected a name not used yet; "${name}" is already one of ${first} (actions, commands and workflows share one namespace)`);
      else owner.set(name, section);
    }
  }
  const commands = new Set(Object.keys(raw.commands ?? {}));
  const known = (name: string) => commands.has(name) ? '' : ` (commands: ${[...commands].join(', ') || 'none defined'})`;
  for (const [name, w] of compileWorkflows(raw.workflows)) {
    for (const c of commandRefs(w)) {
      if (!commands.has(c)) problems.push(`${at(['workflows', name], 'key')}: workflows.${name}: a step runs command "${c}", which is not in commands:${known(c)}`);
    }
  }
  for (const [name, a] of Object.entries(raw.actions ?? {})) {
    if (a.type !== 'llm' || !Array.isArray(a.tools)) continue;
    a.tools.forEach((t, i) => {
      if (!commands.has(t)) problems.push(`${at(['actions', name, 'tools', i])}: actions.${name}.tools[${i}]: expected a command from commands:, got "${t}"${known(t)}`);
    });
  }
  const runnable = new Set([...owner.keys(), ...builtinActions({ maxTokens: 1, temperature: 0, historyTurns: 0 }).keys()]);
  (raw.schedules ?? []).forEach((s, i) => {
    if (!runnable.has(s.workflow)) {
      problems.push(`${at(['schedules', i, 'workflow'])}: schedules[${i}].workflow: expected a workflow (or command, action) name, got "${s.workflow}" (workflows: ${Object.keys(raw.workflows ?? {}).join(', ') || 'none defined'})`);
    }
  });
  return problems;
}
