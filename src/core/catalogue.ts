// Everything a route, `/run`, a model's tool call or a schedule can name: actions, catalogue commands
// and workflows, in one namespace (the config loader refuses a name used twice). Each entry carries the
// role it needs, so the executor checks them all the same way.
import type { CommandSpec } from './commands/types.ts';
import type { Config } from './config/types.ts';
import type { Role } from './policy.ts';
import type { Action } from './types.ts';
import type { WorkflowSpec } from './workflows/types.ts';

export type Entry =
  | { readonly kind: 'action'; readonly name: string; readonly role: readonly Role[]; readonly action: Action }
  | { readonly kind: 'command'; readonly name: string; readonly role: readonly Role[]; readonly spec: CommandSpec }
  | { readonly kind: 'workflow'; readonly name: string; readonly role: readonly Role[]; readonly spec: WorkflowSpec };

export class Catalogue {
  readonly #config: Pick<Config, 'actions' | 'commands' | 'workflows'>;

  constructor(config: Pick<Config, 'actions' | 'commands' | 'workflows'>) {
    this.#config = config;
  }

  get(name: string): Entry | undefined {
    // Commands and workflows first: one of them may replace a built-in action of the same name
    // (e.g. a trigger_help_workflow of your own).
    const c = this.#config.commands.get(name);
    if (c) return { kind: 'command', name, role: c.role, spec: c };
    const w = this.#config.workflows.get(name);
    if (w) return { kind: 'workflow', name, role: w.role, spec: w };
    const a = this.#config.actions.get(name);
    return a && { kind: 'action', name, role: a.role, action: a };
  }

  command(name: string): CommandSpec | undefined {
    return this.#config.commands.get(name);
  }

  commands(): Iterable<CommandSpec> {
    return this.#config.commands.values();
  }

  workflows(): Iterable<WorkflowSpec> {
    return this.#config.workflows.values();
  }

  /** For messages: "command disk_usage", "workflow daily_report", "action process_with_llm". */
  static describe(e: Entry): string {
    return `${e.kind} "${e.name}"`;
  }
}
