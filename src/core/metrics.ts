// Prometheus metrics of one gateway process, for `metrics.endpoint` (src/core/http/metrics-route.ts).
// Loaded only when `metrics.enabled` (serve imports this module dynamically): prom-client and the
// process collectors cost memory and start-up time that a gateway without metrics must not pay.
//
// Every label takes values from a fixed set, so a chatty user or a typo can never create series without
// bound: platforms are the ones served (anything else counts as "other"), error components and command
// outcomes are closed unions, and command names are checked against the config's catalogue.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const DIRECTIONS = ['in', 'out'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Where an error happened: the values of `clawdbot_errors_total{component}`. */
export const ERROR_COMPONENTS = ['model', 'adapter', 'delivery', 'command', 'workflow', 'store', 'scheduler', 'http'] as const;
export type ErrorComponent = (typeof ERROR_COMPONENTS)[number];

/** How a catalogue command ended: ran (ok/failed/timeout), refused by policy, or waiting for approval. */
export const COMMAND_OUTCOMES = ['ok', 'failed', 'timeout', 'denied', 'pending'] as const;
export type CommandOutcome = (typeof COMMAND_OUTCOMES)[number];

/** The label value for a platform or command outside the known set. */
export const OTHER = 'other';

export interface Collectors {
  /** Messages accepted but not yet answered (waiting for their conversation's turn, or running). */
  readonly queueDepth: () => number;
  readonly adapters: () => readonly { readonly platform: string; readonly connected: boolean }[];
}

export interface MetricsOptions {
  /** Platform ids this process serves (adapters/catalog.ts `enabledPlatforms`). */
  readonly platforms: readonly string[];
  /** Whether a name is in the command catalogue; asked at each call, so a reloaded config counts. */
  readonly isCommand: (name: string) => boolean;
}

// Local models answer in well under a second (a short reply from a small model) up to minutes (a long
// answer on a CPU-only box); the default client timeout is 120 s.
const MODEL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
// sqlite-vec KNN: ~4 ms (bit vectors) to ~150 ms (100k float vectors on 2 cores), plus the embedding call.
const SEARCH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Seconds as an observation, or undefined for a value no clock gives (NaN, negative). */
const seconds = (s: number) => (Number.isFinite(s) && s >= 0 ? s : undefined);
const count = (n: number | undefined) => (n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined);

export class Metrics {
  readonly #registry = new Registry();
  readonly #platforms: ReadonlySet<string>;
  readonly #isCommand: (name: string) => boolean;
  #collectors: Collectors = { queueDepth: () => 0, adapters: () => [] };

  readonly #messages: Counter<'platform' | 'direction'>;
  readonly #errors: Counter<'component'>;
  readonly #modelDuration: Histogram;
  readonly #tokens: Counter<'kind'>;
  readonly #commands: Counter<'command' | 'outcome'>;
  readonly #denials: Counter;
  readonly #searchDuration: Histogram;

  constructor(opts: MetricsOptions) {
    this.#platforms = new Set(opts.platforms);
    this.#isCommand = opts.isCommand;
    const registers = [this.#registry];
    // collect() runs with `this` bound to its gauge; the collectors are read through `metrics`.
    const metrics = this;

    this.#messages = new Counter({
      name: 'clawdbot_messages_total',
      help: 'Chat messages, by platform and direction (in: received into the inbox; out: accepted by the platform).',
      labelNames: ['platform', 'direction'],
      registers,
    });
    this.#errors = new Counter({
      name: 'clawdbot_errors_total',
      help: `Errors, by the component they happened in (${ERROR_COMPONENTS.join(', ')}).`,
      labelNames: ['component'],
      registers,
    });
    this.#modelDuration = new Histogram({
      name: 'clawdbot_model_request_duration_seconds',
      help: 'Duration of requests to the model (each tool round is a request of its own), failed ones included.',
      buckets: MODEL_BUCKETS,
      registers,
    });
    this.#tokens = new Counter({
      name: 'clawdbot_model_tokens_total',
      help: 'Tokens the model reported, by kind (prompt, completion).',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'clawdbot_queue_depth',
      help: 'Messages accepted and not yet answered.',
      registers,
      collect() {
        this.set(metrics.#collectors.queueDepth());
      },
    });
    new Gauge({
      name: 'clawdbot_adapter_connected',
      help: 'Whether each chat platform adapter is connected (1) or not (0).',
      labelNames: ['platform'],
      registers,
      collect() {
        // Rebuilt at every scrape: an adapter that is gone must not keep reporting its last state.
        this.reset();
        for (const a of metrics.#collectors.adapters()) this.set({ platform: metrics.#platform(a.platform) }, a.connected ? 1 : 0);
      },
    });
    this.#searchDuration = new Histogram({
      name: 'clawdbot_memory_search_duration_seconds',
      help: 'Duration of memory searches (embedding the query and the vector search).',
      buckets: SEARCH_BUCKETS,
      registers,
    });
    this.#commands = new Counter({
      name: 'clawdbot_commands_total',
      help: `Catalogue commands, by command and outcome (${COMMAND_OUTCOMES.join(', ')}).`,
      labelNames: ['command', 'outcome'],
      registers,
    });
    this.#denials = new Counter({
      name: 'clawdbot_policy_denials_total',
      help: 'Requests refused by the role policy.',
      registers,
    });

    // Series that exist from the start read 0 instead of being absent, so rate() and alerts on them work
    // before the first event (Prometheus' advice for known label values).
    for (const platform of [...this.#platforms, OTHER]) for (const direction of DIRECTIONS) this.#messages.inc({ platform, direction }, 0);
    for (const component of ERROR_COMPONENTS) this.#errors.inc({ component }, 0);
    for (const kind of ['prompt', 'completion']) this.#tokens.inc({ kind }, 0);

    // Standard names (process_*, nodejs_*), not prefixed: they are what existing dashboards and alerts
    // for any Node service query; the scrape's job label tells clawdbot apart.
    collectDefaultMetrics({ register: this.#registry });
    // prom-client also exports gauges named *_total (nodejs_active_handles_total, ...), which Prometheus
    // reserves for counters (`promtool check metrics` rejects them); the per-type gauges without the
    // suffix carry the same numbers.
    for (const m of this.#registry.getMetricsAsArray()) {
      if (m.name.endsWith('_total') && !(m instanceof Counter)) this.#registry.removeSingleMetric(m.name);
    }
  }

  setCollectors(collectors: Collectors): void {
    this.#collectors = collectors;
  }

  message(platform: string, direction: Direction): void {
    this.#messages.inc({ platform: this.#platform(platform), direction });
  }

  error(component: ErrorComponent): void {
    this.#errors.inc({ component });
  }

  /** One model request: its duration and the token counts the model reported (if it did). */
  modelRequest(durationSeconds: number, promptTokens?: number, completionTokens?: number): void {
    const s = seconds(durationSeconds);
    if (s !== undefined) this.#modelDuration.observe(s);
    const prompt = count(promptTokens);
    const completion = count(completionTokens);
    if (prompt !== undefined) this.#tokens.inc({ kind: 'prompt' }, prompt);
    if (completion !== undefined) this.#tokens.inc({ kind: 'completion' }, completion);
  }

  command(name: string, outcome: CommandOutcome): void {
    this.#commands.inc({ command: this.#isCommand(name) ? name : OTHER, outcome });
  }

  denial(): void {
    this.#denials.inc();
  }

  memorySearch(durationSeconds: number): void {
    const s = seconds(durationSeconds);
    if (s !== undefined) this.#searchDuration.observe(s);
  }

  /** The Content-Type of {@link scrape}'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** Every metric in the Prometheus text format; runs the collectors. */
  scrape(): Promise<string> {
    return this.#registry.metrics();
  }

  #platform(id: string): string {
    return this.#platforms.has(id) ? id : OTHER;
  }
}
