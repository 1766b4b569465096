// The configuration after loading: defaults applied, `${VAR}` expanded, units normalised (durations in
// ms, rates as tokens per window), routes compiled. Everything else reads this, never raw YAML.
import type { CommandSpec } from '../commands/types.ts';
import type { RoleMap } from '../policy.ts';
import type { AuditConfig } from './audit.ts';
import type { RateLimits } from './limits.ts';
import type { MediaConfig } from './media.ts';
import type { EmbeddingConfig, MemoryConfig } from './memory.ts';
import type { MetricsConfig } from './metrics.ts';
import type { ScheduleSpec } from './schedules.ts';
import type { TlsConfig } from './tls.ts';
import type { WorkflowSpec } from '../workflows/types.ts';
import type { Action, Route } from '../types.ts';

export type ModelProvider = 'ollama' | 'openai' | 'auto';

export interface ModelConfig {
  readonly provider: ModelProvider;
  /** Base URL as written (e.g. http://127.0.0.1:11434 or http://localhost:8000/v1). */
  readonly endpoint: string;
  /**
   * Model name. Default "llama3.2" for an Ollama endpoint; empty means "the first model the endpoint
   * lists" (OpenAI-style proxies often serve exactly one).
   */
  readonly model: string;
  readonly apiKey: string | undefined;
  readonly maxTokens: number;
  readonly temperature: number;
  /** Whole-request timeout in ms. */
  readonly timeoutMs: number;
}

export interface RateLimit {
  /** Tokens per window; the bucket refills continuously at limit/windowMs. */
  readonly limit: number;
  readonly windowMs: number;
  /** As written ("100/min"), for messages. */
  readonly text: string;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface WebSocketAdapterConfig {
  readonly enabled: boolean;
  readonly listen: ListenAddress;
  /** WebSocket path (default /ws). */
  readonly path: string;
}

export interface TelegramAdapterConfig {
  readonly enabled: boolean;
  readonly token: string;
  readonly mode: 'polling' | 'webhook';
  /** Bot API server (default the public one); a self-hosted telegram-bot-api server works too. */
  readonly apiRoot: string;
  readonly webhookSecret: string | undefined;
  /** Public URL Telegram calls in webhook mode; served at /telegram/webhook on the gateway. */
  readonly webhookUrl: string | undefined;
  /** Allowed senders (user ids or @usernames); empty = everyone. */
  readonly allowUsers: readonly string[];
  /** Allowed chats (chat ids); empty = every chat. */
  readonly allowChats: readonly string[];
  /** In groups: answer only when mentioned / commanded / replied to (mention), or every message (all). */
  readonly groupMode: 'mention' | 'all';
  readonly maxFileSize: number;
  /** Show the answer while the model writes it, by editing one message (throttled). */
  readonly stream: boolean;
}

export interface SlackAdapterConfig {
  readonly enabled: boolean;
  readonly mode: 'socket' | 'events';
  readonly botToken: string;
  readonly appToken: string | undefined;
  readonly signingSecret: string | undefined;
  /** Web API base ending in /api/ (default Slack's). */
  readonly apiUrl: string;
  readonly allowUsers: readonly string[];
  readonly allowChannels: readonly string[];
  /** Events API path on the gateway (default /slack/events). */
  readonly eventsPath: string;
  readonly maxFileSize: number;
  /** Show the answer while the model writes it, by updating one message (throttled). */
  readonly stream: boolean;
}

export interface Config {
  /** The file the config came from, or null when running on built-in defaults. */
  readonly file: string | null;
  readonly system: {
    readonly name: string;
    readonly timezone: string;
    readonly maxConcurrency: number;
    /** Absolute path of the data folder (SQLite database lives here). */
    readonly dataDir: string;
    readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  };
  readonly security: {
    readonly apiKey: string | undefined;
    /** Per API key (`rate_limits.key`, else the seed's `rate_limit`), per platform user, per chat. */
    readonly rateLimits: RateLimits;
    /** The data key (security.encryption_key / encryption_key_file): text columns are stored encrypted. */
    readonly encryptionKey: Buffer | undefined;
    /** TLS on the gateway listener (security.tls); undefined: plain HTTP (loopback or behind a proxy). */
    readonly tls: TlsConfig | undefined;
    /** Who has which role (security.roles); everyone else is a User. */
    readonly roles: RoleMap;
    readonly approvals: {
      /** A request not decided within this time can no longer be approved. */
      readonly ttlMs: number;
      /** Chats told about each new request. */
      readonly notify: readonly { readonly platform: string; readonly chat: string }[];
    };
  };
  readonly models: { readonly default: ModelConfig; readonly embedding: EmbeddingConfig };
  /** Context memory (`memory:`): off unless enabled. */
  readonly memory: MemoryConfig;
  readonly adapters: {
    readonly websocket: WebSocketAdapterConfig;
    readonly telegram: TelegramAdapterConfig;
    readonly slack: SlackAdapterConfig;
  };
  readonly sessions: {
    /** A conversation idle longer than this starts afresh (seed: 3600 s). */
    readonly ttlMs: number;
    /** At most this many earlier entries are kept per conversation. */
    readonly maxHistory: number;
  };
  /** Rules in order; at most one has `match: null` (the default). */
  readonly routes: readonly Route[];
  /** Named actions: the built-ins plus those from `actions:`. */
  readonly actions: ReadonlyMap<string, Action>;
  /** The command catalogue (`commands:`): nothing else can be run. */
  readonly commands: ReadonlyMap<string, CommandSpec>;
  /** Named workflows (`workflows:`). */
  readonly workflows: ReadonlyMap<string, WorkflowSpec>;
  /** Cron triggers (`schedules:`). */
  readonly schedules: readonly ScheduleSpec[];
  /** Images and documents sent with a message (`media_processors:`, the seed's section 4.2). */
  readonly media: MediaConfig;
  /** The audit trail's JSON-lines copy (`audit:`). */
  readonly audit: AuditConfig;
  /** Prometheus endpoint and alert rules (`metrics:`). */
  readonly metrics: MetricsConfig;
  /** Non-fatal findings made while loading (typographic quotes stripped, placeholder key, ...). */
  readonly warnings: readonly string[];
  /** Names of `${VAR}` references whose variable was unset (and had no default). */
  readonly unsetEnv: readonly string[];
}
