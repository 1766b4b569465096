// Runs the action a route chose. Model calls are bounded by system.max_concurrency (p-limit); the model
// client is connected once, lazily (exec with a `reply` route never touches the network).
import pLimit, { type LimitFunction } from 'p-limit';
import type { Config } from './config/types.ts';
import { compileTemplate, TEMPLATE_VARIABLES } from './template.ts';
import { connectModel } from './models/connect.ts';
import type { ModelClient } from './models/types.ts';
import { runLlm } from './actions/llm.ts';
import { runReply } from './actions/reply.ts';
import { templateVars, type Turn } from './turn.ts';
import type { Action, ActionResult } from './types.ts';

export class Executor {
  readonly #config: Config;
  readonly #limit: LimitFunction;
  readonly #templates = new Map<string, (vars: Record<string, unknown>) => string>();
  #model: Promise<ModelClient> | undefined;

  constructor(config: Config, model?: ModelClient) {
    this.#config = config;
    this.#limit = pLimit(config.system.maxConcurrency);
    if (model) this.#model = Promise.resolve(model);
  }

  /** The model client, connected on first use; a failed connection is retried on the next call. */
  model(): Promise<ModelClient> {
    this.#model ??= connectModel(this.#config.models.default).catch((err: unknown) => {
      this.#model = undefined;
      throw err;
    });
    return this.#model;
  }

  async run(actionName: string, turn: Turn): Promise<ActionResult> {
    const action = this.#config.actions.get(actionName);
    if (!action) {
      // E.g. the seed's trigger_help_workflow before workflows exist: say so instead of guessing.
      return { status: 'failed', text: `Sorry, "${actionName}" is not configured on this assistant yet.`, error: new Error(`route points at unknown action "${actionName}"`) };
    }
    const vars = () => templateVars(turn, this.#config.system, new Date());
    switch (action.kind) {
      case 'reply':
        return runReply(() => this.#render(action, action.template, vars()));
      case 'llm': {
        const system = this.#render(action, action.system, vars());
        const params = { system, maxTokens: action.maxTokens, temperature: action.temperature, historyTurns: action.historyTurns };
        return this.#limit(() => runLlm(() => this.model(), params, turn));
      }
    }
  }

  get activeModelCalls(): number {
    return this.#limit.activeCount + this.#limit.pendingCount;
  }

  #render(action: Action, text: string, vars: Record<string, unknown>): string {
    const key = `${action.name}\0${text}`;
    let render = this.#templates.get(key);
    if (!render) {
      const t = compileTemplate(text, TEMPLATE_VARIABLES);
      render = (v) => t.render(v);
      this.#templates.set(key, render);
    }
    return render(vars);
  }
}
