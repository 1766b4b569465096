// Runs what a route (or `/run`, a model's tool call, a schedule, the REST API) names, on behalf of the
// turn's identity. The policy check happens here, once, for every path: a denial becomes a reply and an
// audit record, never an exception. Model calls are bounded by system.max_concurrency (p-limit); the
// model client is connected once, lazily (exec with a `reply` route never touches the network).
// Commands, workflows, chat commands and tools are imported when first used: a gateway that only
// answers with the model or fixed replies never loads (or keeps resident) the runners and the engine.
import pLimit, { type LimitFunction } from 'p-limit';
import { releaseOptimizers } from '../optimizers.ts';
import type { Store } from '../store/store.ts';
import { runLlm, type ToolCallRecord } from './actions/llm.ts';
import { runReply } from './actions/reply.ts';
import type { AdminHooks } from './admin-run.ts';
import { adminCommandOf } from './admin.ts';
import { auditEvent, writeAudit } from './audit.ts';
import { Catalogue, type Entry } from './catalogue.ts';
import type { Config } from './config/types.ts';
import { ExecError } from './errors.ts';
import type { Logger } from './log.ts';
import type { Memory } from './memory/retrieve.ts';
import type { MetricsSink } from './metrics-sink.ts';
import { connectModel } from './models/connect.ts';
import type { ModelClient } from './models/types.ts';
import { authorize } from './policy.ts';
import { compileTemplate, TEMPLATE_VARIABLES } from './template.ts';
import { templateVars, type Turn } from './turn.ts';
import type { Action, ActionResult, Identity } from './types.ts';

/** Arguments for a command: words typed after its name, or named values (a tool call). */
export type EntryArgs = readonly string[] | Readonly<Record<string, unknown>>;

export interface ExecutorDeps {
  readonly config: Config;
  readonly store: Store;
  readonly log: Logger;
  /** A model client to use instead of connecting to config.models.default (tests). */
  readonly model?: ModelClient;
  /** What `/reload` does; absent where there is nothing to reload (exec). */
  readonly reload?: AdminHooks['reload'];
  /** Prometheus metrics, when `metrics.enabled` (serve). */
  readonly metrics?: MetricsSink;
  /** Context memory, when `memory.enabled`. */
  readonly memory?: Memory;
}

export class Executor {
  #config: Config;
  #catalogue: Catalogue;
  readonly store: Store;
  readonly log: Logger;
  readonly metrics: MetricsSink | undefined;
  readonly memory: Memory | undefined;
  readonly #limit: LimitFunction;
  readonly #templates = new Map<string, (vars: () => Record<string, unknown>) => string>();
  readonly #reload: AdminHooks['reload'] | undefined;
  #model: Promise<ModelClient> | undefined;

  constructor(deps: ExecutorDeps) {
    this.#config = deps.config;
    this.store = deps.store;
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.memory = deps.memory;
    this.#catalogue = new Catalogue(deps.config);
    this.#limit = pLimit(deps.config.system.maxConcurrency);
    this.#reload = deps.reload;
    if (deps.model) this.#model = Promise.resolve(deps.model);
  }

  get config(): Config {
    return this.#config;
  }

  get catalogue(): Catalogue {
    return this.#catalogue;
  }

  /**
   * Takes a reloaded configuration (`/reload`, SIGHUP): entries, roles and templates from now on; the
   * model connection is kept unless the model settings changed. The concurrency bound stays as started.
   */
  reconfigure(config: Config): void {
    if (JSON.stringify(config.models.default) !== JSON.stringify(this.#config.models.default)) this.#model = undefined;
    this.#config = config;
    this.#catalogue = new Catalogue(config);
    this.#templates.clear();
  }

  /** The model client, connected on first use; a failed connection is retried on the next call. */
  model(): Promise<ModelClient> {
    this.#model ??= connectModel(this.config.models.default).catch((err: unknown) => {
      this.#model = undefined;
      throw err;
    });
    return this.#model;
  }

  /**
   * The model client for turns and workflow steps: each request takes a slot of the concurrency bound
   * (system.max_concurrency) and is counted in the metrics.
   */
  async chatClient(): Promise<ModelClient> {
    const client = await this.model();
    const chat = async (req: Parameters<ModelClient['chat']>[0]) => {
      const started = process.hrtime.bigint();
      try {
        const r = await client.chat(req);
        this.metrics?.modelRequest(Number(process.hrtime.bigint() - started) / 1e9, r.promptTokens, r.completionTokens);
        return r;
      } catch (err) {
        this.metrics?.modelRequest(Number(process.hrtime.bigint() - started) / 1e9);
        this.metrics?.error('model');
        throw err;
      }
    };
    return { provider: client.provider, endpoint: client.endpoint, listModels: (s) => client.listModels(s), chat: (req) => this.#limit(() => chat(req)) };
  }

  get activeModelCalls(): number {
    return this.#limit.activeCount + this.#limit.pendingCount;
  }

  /**
   * Runs `name` for the turn. A chat command (`/run`, `/approve`, ...) is recognised by the gateway and
   * arrives here by its name. `args` default to the words after the first word of the message.
   */
  async run(name: string, turn: Turn, args?: EntryArgs): Promise<ActionResult> {
    releaseOptimizers(); // the process works from here on: let V8 optimize its hot paths (a boolean test after the first)
    if (name.startsWith('/')) {
      const parsed = adminCommandOf(turn.message.text);
      const command = parsed?.command.name === name ? parsed.command : undefined;
      if (!command) return unknown(name);
      const denied = await this.#check(turn, command.role, `the ${command.name} command`);
      if (denied) return denied;
      const { runAdminCommand } = await import('./admin-run.ts');
      return runAdminCommand(this, command, parsed!.rest, turn, { reload: this.#reload });
    }
    const entry = this.catalogue.get(name);
    if (!entry) return unknown(name);
    const denied = await this.#check(turn, entry.role, Catalogue.describe(entry));
    if (denied) {
      if (entry.kind === 'command') this.metrics?.command(entry.name, 'denied');
      return denied;
    }
    return this.#runEntry(entry, turn, args);
  }

  /**
   * Whether running `name` for this identity has no effect but its reply: a fixed reply (a template)
   * the identity may have. The gateway starts such a turn before its message is durably recorded (the
   * reply commits with the record, see Gateway). Everything else (the model, commands, workflows, a
   * denial, which is audited) may act on the world and waits for the record.
   */
  isInstant(name: string, identity: Pick<Identity, 'role'>): boolean {
    const entry = this.catalogue.get(name);
    return entry?.kind === 'action' && entry.action.kind === 'reply' && authorize(identity, entry.role, name).allowed;
  }

  /**
   * The one policy check: returns the denial (already logged and audited) or undefined when allowed.
   * Exported to the other entry points through `run`, and to tool calls and workflow steps through
   * `authorizeFor`.
   */
  async #check(turn: Turn, role: Parameters<typeof authorize>[1], what: string): Promise<ActionResult | undefined> {
    const d = authorize(turn.identity, role, what);
    if (d.allowed) return undefined;
    this.metrics?.denial();
    this.log.info({ platform: turn.identity.platform, user: turn.identity.id, role: turn.identity.role, reason: d.reason }, 'denied');
    await writeAudit(this.store, this.log, auditEvent(turn.identity, turn.conversation, {
      eventType: 'policy_denial', decision: 'denied', input: turn.message.text, output: d.reason,
    }));
    return { status: 'denied', text: d.userText, reason: d.reason };
  }

  /** The policy check for callers inside a turn (a tool call, a workflow step): same rule, same audit. */
  authorizeFor(turn: Turn, entry: Entry): Promise<ActionResult | undefined> {
    return this.#check(turn, entry.role, Catalogue.describe(entry));
  }

  async #runEntry(entry: Entry, turn: Turn, args: EntryArgs | undefined): Promise<ActionResult> {
    switch (entry.kind) {
      case 'command': {
        const [{ runCommandEntry }, { splitArgs }] = await Promise.all([import('./actions/command.ts'), import('./commands/params.ts')]);
        // `/disk /var` → ["/var"]: the words after the command word, quotes grouping words.
        let words: EntryArgs;
        try {
          words = args ?? splitArgs(turn.message.text).slice(1);
        } catch (err) {
          if (err instanceof ExecError) return { status: 'failed', text: err.userText, error: err };
          throw err;
        }
        return runCommandEntry(this, entry.spec, words, turn);
      }
      case 'workflow': {
        const { runWorkflowEntry } = await import('./actions/workflow.ts');
        return runWorkflowEntry(this, entry.spec, turn);
      }
      case 'action':
        return this.#runAction(entry.action, turn);
    }
  }

  async #runAction(action: Action, turn: Turn): Promise<ActionResult> {
    const vars = () => templateVars(turn, this.config.system, new Date(turn.at ?? Date.now()));
    switch (action.kind) {
      case 'reply':
        return runReply(() => this.render(action.name, action.template, vars));
      case 'media':
        return (await import('./actions/media.ts')).runMedia(this, turn);
      case 'help':
        return (await import('./actions/help.ts')).runHelp(turn.identity, this.catalogue, this.config.system.name);
      case 'llm': {
        const system = await this.#withMemory(this.render(action.name, action.system, vars), turn);
        const tools = action.tools === 'all' || action.tools.length > 0 ? (await import('./tools.ts')).toolBox(this, action, turn) : undefined;
        const params = {
          system, maxTokens: action.maxTokens, temperature: action.temperature, historyTurns: action.historyTurns,
          ...(tools ? { tools, maxToolRounds: action.maxToolRounds, onToolCall: (r: ToolCallRecord) => this.#toolRefused(turn, r) } : {}),
        };
        const started = Date.now();
        // Each model request takes a slot, not the whole turn: a tool that runs for a while between two
        // requests must not keep other conversations from the model.
        const result = await runLlm(() => this.chatClient(), params, turn);
        await writeAudit(this.store, this.log, auditEvent(turn.identity, turn.conversation, {
          eventType: 'model_invocation', decision: 'allowed', input: turn.message.text, output: result.text,
          durationMs: Date.now() - started, modelVersion: result.status === 'ok' ? (result.model ?? null) : null,
        }));
        return result;
      }
    }
  }

  /**
   * The system prompt with what memory recalls for this message (the person's or the chat's scope, never
   * another's, plus shared knowledge), under memory.budget_tokens. Memory trouble never fails the turn.
   */
  async #withMemory(system: string, turn: Turn): Promise<string> {
    const c = this.config.memory;
    if (!this.memory || !c.enabled) return system;
    const started = process.hrtime.bigint();
    try {
      const { scopesFor } = await import('./memory/retrieve.ts');
      const m = turn.message;
      const recall = await this.memory.related(m.text, {
        scopes: scopesFor(c, { platform: m.platform, userId: m.sender.id, chatId: m.chat.id }), topK: c.topK, budgetTokens: c.budgetTokens, now: Date.now(), signal: turn.signal,
      });
      if (recall.degraded) this.log.warn({ reason: recall.degraded }, 'memory: searched by text only');
      return recall.prompt ? (system ? `${system}\n\n${recall.prompt}` : recall.prompt) : system;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'memory search failed; answering without it');
      return system;
    } finally {
      this.metrics?.memorySearch(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** A call the model made for a tool it was not offered is a denial like any other, and audited as one. */
  #toolRefused(turn: Turn, r: ToolCallRecord): void {
    if (r.outcome !== 'unknown_tool') return;
    this.log.info({ platform: turn.identity.platform, user: turn.identity.id, tool: r.call.name }, 'model asked for a tool it was not offered; refused');
    void writeAudit(this.store, this.log, auditEvent(turn.identity, turn.conversation, {
      eventType: 'policy_denial', decision: 'denied', input: `tool ${r.call.name} ${JSON.stringify(r.call.arguments)}`, output: 'not offered to this user',
    }));
  }

  /**
   * Renders a template of the config (compiled once per text). `vars` is asked for only when the text
   * has placeholders: a fixed reply ("ok", a welcome text) skips building them on every turn.
   */
  render(owner: string, text: string, vars: () => Record<string, unknown>): string {
    const key = `${owner}\0${text}`;
    let render = this.#templates.get(key);
    if (!render) {
      const t = compileTemplate(text, TEMPLATE_VARIABLES);
      render = t.vars.length === 0 ? () => text : (v) => t.render(v());
      this.#templates.set(key, render);
    }
    return render(vars);
  }
}

function unknown(name: string): ActionResult {
  return { status: 'failed', text: `Sorry, "${name}" is not configured on this assistant.`, error: new Error(`unknown action "${name}"`) };
}
