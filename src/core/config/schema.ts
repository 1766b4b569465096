// The shape of clawdbot.yaml (snake_case, as written) and the checks on every value. Strict objects: an
// unknown key is an error. Each value check says what it expected; problems.ts adds what it got and
// where. Built once, at import.
// zod's mini API (see kit.ts). Named imports, not the `z` namespace: a bundler then drops the parts of
// zod not used here (its locales and most checks), about 570 KB less to compile at every start.
import { array, discriminatedUnion, literal, nullish, record, superRefine, type output } from 'zod/mini';
import { bool, duration, httpUrl, idList, intIn, matching, needs, nonEmpty, numIn, obj, oneOf, regex, size, str, stringList, template, text, timezone, urlPathOf, val } from './kit.ts';
import { EXPECTED_LISTEN, EXPECTED_RATE, parseListen, parseRate } from './units.ts';
import { isRole, ROLES, type Role } from '../policy.ts';
import { commandEntry } from './commands.ts';
import { auditSection } from './audit.ts';
import { encryptionSettings } from './encryption.ts';
import { rateLimitsSection } from './limits.ts';
import { mediaSection } from './media.ts';
import { embeddingSection, memorySection } from './memory.ts';
import { metricsSection } from './metrics.ts';
import { schedulesList } from './schedules.ts';
import { tlsSection } from './tls.ts';
import { workflowEntry } from './workflows.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const PROVIDERS = ['ollama', 'openai', 'auto'] as const;
/** Adapters the config knows; ADAPTER_TYPE names some of these. */
export const ADAPTER_IDS = ['websocket', 'telegram', 'slack'] as const;
export const ROUTE_CONDITIONS = ['platform', 'content', 'content_prefix', 'content_regex', 'role'] as const;

const ACTION_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Names of actions, commands and workflows (one namespace). */
const entryName = matching(ACTION_NAME, { error: 'expected a name of letters, digits, _ . - (starting with a letter or _)' });
const actionRef = val('an action name (letters, digits, _ . -)', (v) => (typeof v === 'string' && ACTION_NAME.test(v.trim()) ? v.trim() : undefined));

const match = obj({
  platform: nullish(stringList('a platform id like telegram', true)),
  content: nullish(val('the exact message text', nonEmpty)),
  // Kept as written: a trailing space in a prefix ("!w ") is meaningful.
  content_prefix: nullish(val('the start of the message text', (v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined))),
  content_regex: nullish(regex),
  role: nullish(stringList('a role name', false)),
});

const routeEntry = obj({
  match: nullish(match),
  action: nullish(actionRef),
  default: nullish(obj({ action: actionRef })),
}).check(superRefine((r, ctx) => {
  if (r.default != null) {
    if (r.match != null || r.action != null) {
      ctx.addIssue({ code: 'custom', path: [r.match != null ? 'match' : 'action'], message: 'expected a default rule to hold only `default: { action: NAME }`' });
    }
    return;
  }
  if (r.match == null) {
    ctx.addIssue({ code: 'custom', path: ['match'], message: 'expected `match: { conditions }` with `action: NAME`, or `default: { action: NAME }`' });
  } else if (ROUTE_CONDITIONS.every((k) => r.match![k] == null)) {
    ctx.addIssue({ code: 'custom', path: ['match'], message: `expected at least one condition (${ROUTE_CONDITIONS.join(', ')}); for a catch-all rule write \`default: { action: NAME }\`` });
  }
  if (r.action == null) ctx.addIssue({ code: 'custom', path: ['action'], message: 'expected `action: NAME` next to `match:`' });
}));

export type RawRoute = output<typeof routeEntry>;

// "At most one default" is checked on the raw list (routes.ts), so it is reported even when some
// other rule has a problem too.
const routes = array(routeEntry, { error: 'expected a list of rules (- match: ... / - default: ...)' });

/** "platform:user-id", as in security.roles. */
const principal = val('"platform:user-id" (e.g. "telegram:1001", "cli:alice")', (v) => {
  const t = str(v)?.trim();
  return t && /^[a-z][a-z0-9_-]*:\S+$/.test(t) ? t : undefined;
});
const principals = array(principal, { error: 'expected a list of "platform:user-id"' });
/** Who has which role; a key other than the four roles is an unknown key (with did-you-mean). */
const roles = obj({ Admin: nullish(principals), Operator: nullish(principals), Auditor: nullish(principals), User: nullish(principals) })
  .check(superRefine((r, ctx) => {
    // One person, one role: listing someone twice would make their rights depend on reading order.
    const seen = new Map<string, string>();
    for (const role of ROLES) {
      (r[role] ?? []).forEach((p, i) => {
        const other = seen.get(p);
        if (other) ctx.addIssue({ code: 'custom', path: [role, i], message: `expected each person in one role only; "${p}" is already listed under ${other}` });
        else seen.set(p, role);
      });
    }
  }));

/** The role(s) an entry needs: one name or a list of them. */
export const requiredRole = val(`one of ${ROLES.join(', ')} or a list of them`, (v) => {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!items || items.length === 0 || !items.every((r) => typeof r === 'string' && isRole(r))) return undefined;
  return [...new Set(items as Role[])];
});

const action = discriminatedUnion(
  'type',
  [
    obj({ type: literal('reply'), text: template, role: nullish(requiredRole) }),
    obj({
      type: literal('llm'),
      system: nullish(template),
      max_tokens: nullish(intIn(1, 1_000_000)),
      temperature: nullish(numIn(0, 2)),
      history: nullish(intIn(0, 1000)),
      role: nullish(requiredRole),
      // Catalogue commands the model may ask for; none unless listed (every offered tool costs prompt).
      tools: nullish(val('a list of command names, or "all"', (v) => {
        if (v === 'all') return 'all' as const;
        if (!Array.isArray(v) || !v.every((n) => typeof n === 'string' && ACTION_NAME.test(n))) return undefined;
        return [...new Set(v as string[])];
      })),
      max_tool_rounds: nullish(intIn(1, 20)),
    }),
  ],
  { error: 'expected `type: reply` (with text) or `type: llm` (with system, max_tokens, temperature, history, tools)' },
);

export type RawAction = output<typeof action>;

const telegram = obj({
  enabled: nullish(bool),
  token: nullish(text('the bot token from @BotFather (use ${TELEGRAM_BOT_TOKEN})')),
  mode: nullish(oneOf(['polling', 'webhook'] as const)),
  api_root: nullish(httpUrl),
  webhook_secret: nullish(text('a secret token (1-256 characters A-Z a-z 0-9 _ -)')),
  webhook_url: nullish(httpUrl),
  allow_users: nullish(idList),
  allow_chats: nullish(idList),
  group_mode: nullish(oneOf(['mention', 'all'] as const)),
  max_file_size: nullish(size),
  stream: nullish(bool),
}).check(superRefine((r, ctx) => {
  needs(r, 'token', 'a bot token (token: ${TELEGRAM_BOT_TOKEN})', ctx);
  if (r.mode === 'webhook') {
    needs(r, 'webhook_secret', 'webhook_secret in webhook mode (Telegram sends it in X-Telegram-Bot-Api-Secret-Token)', ctx);
    needs(r, 'webhook_url', 'webhook_url in webhook mode (the public https URL Telegram calls, ending in /telegram/webhook)', ctx);
  }
  if (r.webhook_secret && !/^[A-Za-z0-9_-]{1,256}$/.test(r.webhook_secret)) {
    // The secret itself is never shown.
    ctx.addIssue({ code: 'custom', path: ['webhook_secret'], message: `expected 1-256 characters A-Z a-z 0-9 _ - (what Telegram accepts), got ${r.webhook_secret.length} characters${r.webhook_secret.length > 256 ? '' : ', not all of them allowed'}` });
  }
}));

const slack = obj({
  enabled: nullish(bool),
  mode: nullish(oneOf(['socket', 'events'] as const)),
  bot_token: nullish(text('the bot token xoxb-… (use ${SLACK_BOT_TOKEN})')),
  app_token: nullish(text('the app-level token xapp-… (use ${SLACK_APP_TOKEN})')),
  signing_secret: nullish(text('the signing secret (use ${SLACK_SIGNING_SECRET})')),
  api_url: nullish(httpUrl),
  allow_users: nullish(idList),
  allow_channels: nullish(idList),
  events_path: nullish(urlPathOf('a URL path starting with /')),
  max_file_size: nullish(size),
  stream: nullish(bool),
}).check(superRefine((r, ctx) => {
  needs(r, 'bot_token', 'a bot token (bot_token: ${SLACK_BOT_TOKEN})', ctx);
  if ((r.mode ?? 'socket') === 'socket') needs(r, 'app_token', 'an app-level token in socket mode (app_token: ${SLACK_APP_TOKEN})', ctx);
  else needs(r, 'signing_secret', 'the signing secret in events mode (signing_secret: ${SLACK_SIGNING_SECRET})', ctx);
}));

export const configSchema = obj({
  system: nullish(obj({
    name: nullish(val('a non-empty name', nonEmpty)),
    timezone: nullish(timezone),
    max_concurrency: nullish(intIn(1, 256)),
    data_dir: nullish(val('a folder path', nonEmpty)),
    log_level: nullish(oneOf(LOG_LEVELS)),
  })),
  security: nullish(obj({
    api_key: nullish(text('a string (the key clients must send)')),
    rate_limit: nullish(val(EXPECTED_RATE, parseRate)),
    rate_limits: nullish(rateLimitsSection),
    ...encryptionSettings,
    roles: nullish(roles),
    tls: nullish(tlsSection),
    approvals: nullish(obj({
      ttl: nullish(duration(1000)),
      notify: nullish(array(obj({ platform: val('a platform id like telegram', nonEmpty), chat: val('a chat id', nonEmpty) }), { error: 'expected a list of { platform, chat } to tell about new requests' })),
    })),
  })),
  models: nullish(obj({
    default: nullish(obj({
      provider: nullish(oneOf(PROVIDERS)),
      endpoint: nullish(httpUrl),
      model: nullish(text('a model name')),
      api_key: nullish(text('a string')),
      max_tokens: nullish(intIn(1, 1_000_000)),
      temperature: nullish(numIn(0, 2)),
      timeout: nullish(duration(1)),
    })),
    embedding: nullish(embeddingSection),
  })),
  adapters: nullish(obj({
    websocket: nullish(obj({
      enabled: nullish(bool),
      listen: nullish(val(EXPECTED_LISTEN, parseListen)),
      path: nullish(urlPathOf('a URL path starting with /')),
    })),
    telegram: nullish(telegram),
    slack: nullish(slack),
  })),
  sessions: nullish(obj({
    ttl: nullish(duration(1)),
    max_history: nullish(intIn(0, 1000)),
  })),
  routes: nullish(routes),
  routes_file: nullish(val('a file path (relative to this config file)', nonEmpty)),
  actions: nullish(record(entryName, action)),
  commands: nullish(record(entryName, commandEntry)),
  workflows: nullish(record(entryName, workflowEntry)),
  schedules: nullish(schedulesList),
  metrics: nullish(metricsSection),
  audit: nullish(auditSection),
  media_processors: nullish(mediaSection),
  memory: nullish(memorySection),
});

export type RawConfig = output<typeof configSchema>;

/** A separate routing file (the seed's routing.yaml): a top-level `routes:` list. */
export const routesFileSchema = obj({ routes: nullish(routes) });
