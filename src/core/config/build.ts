// From validated YAML (snake_case, units already parsed) to the Config everything else reads: defaults
// filled in, paths made absolute, environment overrides applied, actions and routes merged.
import { readFileSync, readlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { RoleMap, ROLES, type Role } from '../policy.ts';
import type { Route } from '../types.ts';
import { compileActions, DEFAULT_ROUTES, unknownActionWarnings } from './routes.ts';
import { compileCommands } from './commands.ts';
import { compileAudit } from './audit.ts';
import { compileEncryption } from './encryption.ts';
import { compileRateLimits } from './limits.ts';
import { compileMedia } from './media.ts';
import { compileEmbedding, compileMemory, type EmbeddingConfig } from './memory.ts';
import { compileMetrics } from './metrics.ts';
import { compileSchedules } from './schedules.ts';
import { compileTls } from './tls.ts';
import type { RawConfig } from './schema.ts';
import { compileWorkflows } from './workflows.ts';
import type { Config, ModelProvider } from './types.ts';

export const DEFAULTS = {
  name: 'clawdbot',
  maxConcurrency: 4,
  logLevel: 'info',
  provider: 'auto',
  endpoint: 'http://127.0.0.1:11434',
  /** Used only when the endpoint is Ollama; an OpenAI-style endpoint gets "" (its first listed model). */
  ollamaModel: 'llama3.2',
  maxTokens: 1024,
  temperature: 0.7,
  timeoutMs: 120_000,
  listen: { host: '127.0.0.1', port: 8080 },
  wsPath: '/ws',
  ttlMs: 3_600_000,
  maxHistory: 20,
  approvalTtlMs: 30 * 60_000,
} as const;

/** Settings that come from the environment rather than the file (the seed's compose file). */
export interface Overrides {
  /** MODEL_ENDPOINT */
  readonly endpoint?: string;
  /** ADAPTER_TYPE: these adapters are enabled, every other one disabled. */
  readonly adapters?: readonly string[];
}

export interface BuildContext {
  readonly file: string | null;
  /** Folder that relative paths in the file are resolved against. */
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly routes: readonly Route[] | null;
  readonly overrides?: Overrides;
  readonly warnings?: readonly string[];
  readonly unsetEnv?: readonly string[];
}

export function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

/** $XDG_DATA_HOME/clawdbot, else ~/.local/share/clawdbot. */
export function defaultDataDir(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env.XDG_DATA_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.local', 'share'), 'clawdbot');
}

export function systemTimezone(env: NodeJS.ProcessEnv = process.env): string {
  // Read the way the C library does ($TZ, then /etc/localtime), not through Intl: asking ICU costs
  // ~8 MB of resident memory, which a gateway that never formats a date should not pay.
  const tz = env.TZ?.replace(/^:/, '');
  if (tz && /^[A-Za-z_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(tz)) return tz;
  try {
    const link = readlinkSync('/etc/localtime');
    const i = link.indexOf('zoneinfo/');
    if (i >= 0) return link.slice(i + 'zoneinfo/'.length);
  } catch { /* not a link: try /etc/timezone */ }
  try {
    const name = readFileSync('/etc/timezone', 'utf8').trim();
    if (name) return name;
  } catch { /* none */ }
  return 'UTC';
}

/**
 * The model to ask for when the config names none: "llama3.2" for Ollama (explicit `provider: ollama`,
 * or `auto` with Ollama's port 11434 and no /v1 path), "" otherwise, which the OpenAI-style client turns
 * into the first model the endpoint lists (proxies like the seed's usually serve exactly one).
 */
export function defaultModelName(provider: ModelProvider, endpoint: string): string {
  if (provider === 'ollama') return DEFAULTS.ollamaModel;
  if (provider === 'openai') return '';
  const u = new URL(endpoint);
  return u.port === '11434' && !/\/v\d+\/?$/.test(u.pathname) ? DEFAULTS.ollamaModel : '';
}

/**
 * Unless models.embedding says otherwise, embeddings come from the chat model's endpoint (the same Ollama,
 * or the same OpenAI-compatible server): one model server to run, not two.
 */
function embeddingFor(e: EmbeddingConfig, raw: { endpoint?: string | null; provider?: string | null } | null | undefined, provider: ModelProvider, endpoint: string): EmbeddingConfig {
  return {
    ...e,
    ...(raw?.endpoint ? {} : { endpoint }),
    ...(raw?.provider || provider !== 'openai' ? {} : { provider: 'openai' as const }),
  };
}

function roleMap(raw: Partial<Record<Role, readonly string[] | null | undefined>> | null | undefined): RoleMap {
  const byId = new Map<string, Role>();
  for (const role of ROLES) for (const p of raw?.[role] ?? []) byId.set(p, role);
  return new RoleMap(byId);
}

const or = <T extends object>(v: T | null | undefined): Partial<T> => v ?? {};

function dataDir(written: string | null | undefined, ctx: BuildContext): string {
  if (!written) return defaultDataDir(ctx.env, ctx.home);
  if (written === '~' || written.startsWith('~/')) return join(ctx.home, written.slice(1));
  return resolve(ctx.dir, written);
}

export function buildConfig(raw: RawConfig, ctx: BuildContext): Config {
  const sys = or(raw.system);
  const sec = or(raw.security);
  const md = or(raw.models?.default);
  const ws = or(raw.adapters?.websocket);
  const tg = or(raw.adapters?.telegram);
  const sl = or(raw.adapters?.slack);
  const enabled = (id: string, written: boolean | null | undefined, byDefault: boolean) =>
    ctx.overrides?.adapters ? ctx.overrides.adapters.includes(id) : (written ?? byDefault);
  const sess = or(raw.sessions);
  const provider = md.provider ?? DEFAULTS.provider;
  const endpoint = ctx.overrides?.endpoint ?? md.endpoint ?? DEFAULTS.endpoint;
  const maxTokens = md.max_tokens ?? DEFAULTS.maxTokens;
  const temperature = md.temperature ?? DEFAULTS.temperature;
  const maxHistory = sess.max_history ?? DEFAULTS.maxHistory;
  const actions = compileActions(raw.actions, { maxTokens, temperature, historyTurns: maxHistory });
  const commands = compileCommands(raw.commands, { dir: ctx.dir, home: ctx.home });
  const workflows = compileWorkflows(raw.workflows);
  const timezone = sys.timezone ?? systemTimezone(ctx.env);
  const model = md.model ?? defaultModelName(provider, endpoint);
  const routes = ctx.routes ?? DEFAULT_ROUTES;
  return {
    file: ctx.file,
    system: {
      name: sys.name ?? DEFAULTS.name,
      timezone,
      maxConcurrency: sys.max_concurrency ?? DEFAULTS.maxConcurrency,
      dataDir: dataDir(sys.data_dir, ctx),
      logLevel: sys.log_level ?? DEFAULTS.logLevel,
    },
    security: {
      apiKey: sec.api_key || undefined,
      rateLimits: compileRateLimits(sec),
      encryptionKey: compileEncryption(sec, ctx),
      tls: compileTls(sec.tls, { dir: ctx.dir, home: ctx.home }),
      roles: roleMap(sec.roles),
      approvals: { ttlMs: sec.approvals?.ttl ?? DEFAULTS.approvalTtlMs, notify: sec.approvals?.notify ?? [] },
    },
    models: {
      default: {
        provider,
        endpoint,
        model,
        apiKey: md.api_key || undefined,
        maxTokens,
        temperature,
        timeoutMs: md.timeout ?? DEFAULTS.timeoutMs,
      },
      embedding: embeddingFor(compileEmbedding(raw.models?.embedding), raw.models?.embedding, provider, endpoint),
    },
    adapters: {
      websocket: {
        enabled: enabled('websocket', ws.enabled, true),
        listen: ws.listen ?? DEFAULTS.listen,
        path: ws.path ?? DEFAULTS.wsPath,
      },
      telegram: {
        enabled: enabled('telegram', tg.enabled, false),
        token: tg.token ?? '',
        mode: tg.mode ?? 'polling',
        apiRoot: (tg.api_root ?? 'https://api.telegram.org').replace(/\/+$/, ''),
        webhookSecret: tg.webhook_secret || undefined,
        webhookUrl: tg.webhook_url || undefined,
        allowUsers: tg.allow_users ?? [],
        allowChats: tg.allow_chats ?? [],
        groupMode: tg.group_mode ?? 'mention',
        maxFileSize: tg.max_file_size ?? 20 * 1024 * 1024,
        stream: tg.stream ?? false,
      },
      slack: {
        enabled: enabled('slack', sl.enabled, false),
        mode: sl.mode ?? 'socket',
        botToken: sl.bot_token ?? '',
        appToken: sl.app_token || undefined,
        signingSecret: sl.signing_secret || undefined,
        apiUrl: (sl.api_url ?? 'https://slack.com/api/').replace(/\/*$/, '/'),
        allowUsers: sl.allow_users ?? [],
        allowChannels: sl.allow_channels ?? [],
        eventsPath: sl.events_path ?? '/slack/events',
        maxFileSize: sl.max_file_size ?? 20 * 1024 * 1024,
        stream: sl.stream ?? false,
      },
    },
    sessions: { ttlMs: sess.ttl ?? DEFAULTS.ttlMs, maxHistory },
    routes,
    actions,
    commands,
    workflows,
    schedules: compileSchedules(raw.schedules ?? [], { timezone }),
    metrics: compileMetrics(raw.metrics),
    audit: compileAudit(raw.audit, { dir: ctx.dir, home: ctx.home }),
    media: compileMedia(raw.media_processors, { defaultModel: model }),
    memory: compileMemory(raw.memory),
    warnings: [...(ctx.warnings ?? []), ...unknownActionWarnings(routes, new Set([...actions.keys(), ...commands.keys(), ...workflows.keys()]))],
    unsetEnv: [...(ctx.unsetEnv ?? [])],
  };
}

/** The configuration when there is no file at all (no environment overrides applied). */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env, home: string = homeOf(env)): Config {
  return buildConfig({}, { file: null, dir: process.cwd(), env, home, routes: null });
}
