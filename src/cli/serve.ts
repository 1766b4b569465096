// `clawdbot serve`: the gateway. HTTP server (WebSocket chat, REST, health), the pipeline, recovery of
// unfinished work, graceful shutdown on SIGTERM/SIGINT.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { CATALOG, enabledPlatforms } from '../adapters/catalog.ts';
import type { Adapter } from '../adapters/contract.ts';
import { AdapterRegistry } from '../adapters/registry.ts';
import type { Config } from '../core/config/types.ts';
import { AdapterError, ConfigError } from '../core/errors.ts';
import type { Gateway as GatewayType } from '../core/gateway.ts';
import type { Logger } from '../core/log.ts';
import { Executor } from '../core/executor.ts';
import { Gateway } from '../core/gateway.ts';
import { ApiKeyAuth } from '../core/http/auth.ts';
import { registerHealth } from '../core/http/health.ts';
import { HttpGateway } from '../core/http/server.ts';
import { attachAudit, auditEvent, writeAudit } from '../core/audit.ts';
import { registerAuditRoute } from '../core/http/audit-route.ts';
import { RateLimiter } from '../core/ratelimit.ts';
import { Store } from '../store/store.ts';
import { commandContext, databasePath, openMemory, startupMemoryTimer, type GlobalOptions } from './context.ts';
import { reloadConfig } from './reload.ts';
import { busyWatch } from '../optimizers.ts';

/** How long in-flight turns may take to finish after SIGTERM before they are cut off (and redone on restart). */
const SHUTDOWN_GRACE_MS = 10_000;
const DAY = 24 * 3600_000;
/** Schedule runs older than this are deleted (each schedule's newest run is always kept). */
const SCHEDULE_RUNS_KEPT_MS = 90 * DAY;
/** A reply waits this long for a recipient who is offline (a WebSocket client that never comes back), then goes with its turn. */
const REPLY_WAITED_MAX_MS = 30 * DAY;
/** The seed's example key: refused as a real secret would be, but only warned about on loopback. */
const PLACEHOLDER_KEYS = new Set(['your-secure-key', 'changeme', 'change-me']);
/** Platforms whose clients say who they are (the `user` field), rather than the platform vouching for it. */
const SELF_NAMED = ['websocket', 'api'];

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** `managedKeys`: keys made with `clawdbot keys add` exist (they lock the gateway like api_key does). */
export function checkExposure(config: Config, managedKeys = false): string[] {
  const { host } = config.adapters.websocket.listen;
  const key = config.security.apiKey;
  if (!isLoopback(host) && !key && !managedKeys) {
    throw new ConfigError(`refusing to listen on ${host} without security.api_key: anyone on the network could use the assistant. Set an API key or listen on 127.0.0.1`, { path: 'adapters.websocket.listen' });
  }
  // WebSocket and REST clients name their own user. A role given to such a name is only as safe as the
  // key that lets the client in: without one, anyone who can reach the port could claim it.
  const claimable = (['Admin', 'Operator', 'Auditor'] as const).flatMap((r) => config.security.roles.members(r).filter((p) => SELF_NAMED.some((s) => p.startsWith(`${s}:`))));
  if (!key && !managedKeys && claimable.length > 0) {
    throw new ConfigError(`security.roles gives ${claimable.join(', ')} a role, but WebSocket and REST clients name their own user: set security.api_key so only key holders can connect`, { path: 'security.roles' });
  }
  const warnings: string[] = [];
  if (key && PLACEHOLDER_KEYS.has(key)) {
    if (!isLoopback(host)) throw new ConfigError(`security.api_key is the example placeholder "${key}"; choose a real secret before listening on ${host}`, { path: 'security.api_key' });
    warnings.push(`security.api_key is the example placeholder "${key}"; replace it before exposing the gateway`);
  }
  if (!isLoopback(host) && !config.security.tls) {
    warnings.push(`listening on ${host} over plain HTTP: API keys and messages cross the network unencrypted; set security.tls (or put a TLS proxy in front)`);
  }
  return warnings;
}

export async function runServe(opts: GlobalOptions): Promise<number> {
  // process.hrtime, not performance.now(): the `performance` global loads perf_hooks (~0.5 MB resident).
  const t0 = process.hrtime.bigint();
  const { config, log, redactor: firstRedactor, redacting } = await commandContext(opts);
  // Exposure first, before anything is created; keys made with `clawdbot keys add` (in an existing
  // database) count as a key too.
  const exposure = (() => {
    try {
      return checkExposure(config);
    } catch (err) {
      if (!existsSync(databasePath(config))) throw err;
      return undefined;
    }
  })();
  const store = Store.open(databasePath(config), { key: config.security.encryptionKey, log });
  try {
    for (const w of exposure ?? checkExposure(config, store.apiKeys.any())) log.warn(w);
  } catch (err) {
    store.close();
    throw err;
  }
  let redactor = firstRedactor;
  attachAudit(store, config.audit, redactor);
  const ws = config.adapters.websocket;
  const http = new HttpGateway({
    listen: ws.listen,
    auth: new ApiKeyAuth(config.security.apiKey, store.apiKeys),
    limiter: config.security.rateLimits.key && new RateLimiter(config.security.rateLimits.key),
    log,
    ...(config.security.tls ? { tls: config.security.tls } : {}),
  });
  // `/reload` (an Operator in chat) and SIGHUP: the next turns use the new file; a broken file changes nothing.
  let current = config;
  const reload = async (): Promise<string> => {
    try {
      const r = reloadConfig(current);
      // The start-up refusal holds for a reloaded file too: the listener and the API key stay as they were
      // started, so roles it now gives self-named clients must be safe with those.
      checkExposure({ ...r.config, adapters: config.adapters, security: { ...r.config.security, apiKey: config.security.apiKey } }, store.apiKeys.any());
      current = r.config;
      for (const w of r.config.warnings) log.warn(w);
      redactor = redactor.withConfig(r.config);
      redacting?.use(redactor);
      attachAudit(store, r.config.audit, redactor);
      gateway.reconfigure(r.config, redactor);
      log.info({ file: r.config.file }, r.summary);
      return r.summary;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'config reload failed; keeping the running config');
      return `The config was not reloaded: ${(err as Error).message}`;
    }
  };
  // Loaded only when enabled: prom-client and its registry cost memory a gateway without metrics keeps.
  const metrics = config.metrics.enabled ? new (await import('../core/metrics.ts')).Metrics({
    platforms: enabledPlatforms(config), isCommand: (n) => current.commands.has(n),
  }) : undefined;
  const memory = await openMemory(config, store);
  const executor = new Executor({ config, store, log, reload, ...(metrics ? { metrics } : {}), ...(memory ? { memory } : {}) });
  const adapters = new AdapterRegistry();
  for (const entry of CATALOG) {
    if (entry.enabled(config)) for (const a of await entry.create({ config, http, log })) adapters.add(a);
  }
  const gateway = new Gateway({ config, store, executor, adapters, log, redactor, ...(metrics ? { metrics } : {}) });
  registerHealth(http, { store, executor, adapters, gateway });
  // Auditors and Admins read the trail over REST with their key (a caller without one counts as a User).
  registerAuditRoute(http, { store, log, roleOf: (ctx) => ctx.authority?.role ?? 'User' });
  if (metrics) {
    http.reportErrorsTo(metrics);
    metrics.setCollectors({ queueDepth: () => gateway.queued, adapters: () => adapters.all().map((a) => ({ platform: a.platform, connected: a.health().connected })) });
    (await import('../core/http/metrics-route.ts')).registerMetrics(http, metrics, config.metrics);
  }

  const stop = new AbortController();
  try {
    await Promise.all(adapters.all().map((a) => startAdapter(a, gateway, stop.signal, log)));
  } catch (err) {
    stop.abort();
    store.close();
    throw err;
  }
  let addr: { host: string; port: number };
  try {
    addr = await http.listen();
  } catch (err) {
    store.close();
    if (err instanceof ConfigError) throw err; // a TLS file that cannot be read names itself
    const code = (err as { code?: string }).code;
    throw new ConfigError(`cannot listen on ${ws.listen.host}:${ws.listen.port}: ${code === 'EADDRINUSE' ? 'address already in use' : (err as Error).message}`, { path: 'adapters.websocket.listen', cause: err });
  }
  gateway.recover();
  // After recovery: a slot's result joins the outbox behind the replies a previous run left queued.
  // Loaded only when there are schedules: a gateway without them never pays for the cron code.
  const scheduler = config.schedules.length > 0 ? await startScheduler(config, store, executor, gateway, log) : undefined;
  const busy = busyWatch();
  const timers = [
    setInterval(() => {
      gateway.flushDue();
      busy(); // sustained work that never reaches Executor.run (probes, unrouted messages) gets optimized code too
    }, 1000),
    setInterval(() => {
      const now = Date.now();
      // Each on its own: one that fails (another process holding the database longer than the busy
      // timeout) is logged and tried again an hour later, and the others still run.
      const prune = (what: string, fn: () => unknown) => {
        try {
          fn();
        } catch (err) {
          log.warn({ what, err: (err as Error).message }, 'prune failed; tried again in an hour');
        }
      };
      prune('inbox', () => store.inbox.prune(now - 2 * DAY, now - REPLY_WAITED_MAX_MS));
      prune('outbox', () => store.outbox.prune(now - 2 * DAY, now - REPLY_WAITED_MAX_MS));
      // History of sessions that expired (the seed's sessions vanish with their TTL): kept two days like the
      // inbox; a session that never pauses keeps its last month.
      const expired = now - Math.max(2 * DAY, current.sessions.ttlMs);
      prune('sessions', () => store.sessions.prune(expired, expired - 30 * DAY));
      prune('schedule runs', () => store.schedules.prune(now - SCHEDULE_RUNS_KEPT_MS));
      if (memory && current.memory.ttlMs !== undefined) prune('memory', () => memory.prune(current.memory.ttlMs!, now));
    }, 3600_000),
    // Once, when start-up is over: its garbage back to the OS (idle RSS; see releaseStartupMemory).
    startupMemoryTimer(() => gateway.busy > 0),
  ];
  for (const t of timers) t.unref();
  const url = `${http.scheme}://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
  const ready = () => log.info({ url, ws: `${url.replace(/^http/, 'ws')}${ws.path}`, adapters: adapters.all().map((a) => a.platform), ms: Number((process.hrtime.bigint() - t0) / 1_000_000n) }, 'ready');

  return new Promise((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, inFlight: gateway.busy }, 'shutting down');
      process.off('SIGHUP', onHup);
      for (const t of timers) clearInterval(t);
      const closed = http.close();
      await Promise.all([scheduler?.stop(), gateway.close(SHUTDOWN_GRACE_MS)]);
      stop.abort();
      http.destroyAll();
      await closed;
      store.close();
      log.info('stopped');
      resolve(0);
    };
    // SIGHUP: the config file, and the TLS certificate files (new connections get the new certificate;
    // open ones are kept).
    const onHup = () => {
      // Recorded like the chat command's reload: who (the process owner, by signal) and what came of it.
      void reload().then((summary) => writeAudit(store, log, auditEvent(
        { platform: 'system', id: 'SIGHUP', role: 'Admin' }, null, { eventType: 'config_reload', decision: 'allowed', input: 'SIGHUP', output: summary },
      )));
      http.reloadTls().then((c) => {
        if (c) log.info({ subject: c.subject, fingerprint: c.fingerprint256, validTo: c.validTo }, 'TLS certificate reloaded');
      }, (err: unknown) => log.error({ err: (err as Error).message }, 'TLS certificate reload failed; keeping the current certificate'));
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
    // Announced once the handlers are in place: a supervisor that signals as soon as it reads "ready"
    // must not meet a signal's default action (SIGHUP would end the process).
    ready();
  });
}

async function startScheduler(config: Config, store: Store, executor: Executor, gateway: GatewayType, log: Logger) {
  const [{ Scheduler }, { scheduledRun }] = await Promise.all([import('../core/scheduler.ts'), import('../core/scheduled-run.ts')]);
  const scheduler = new Scheduler({ schedules: config.schedules, runs: store.schedules, fire: scheduledRun(executor, gateway), log, stopTimeoutMs: SHUTDOWN_GRACE_MS });
  scheduler.start();
  return scheduler;
}

/**
 * Starts one adapter. Wrong credentials stop serve (a config error, exit 2); anything else (the platform
 * unreachable) is logged and retried in the background with backoff while the other adapters serve.
 */
async function startAdapter(a: Adapter, gateway: GatewayType, signal: AbortSignal, log: Logger): Promise<void> {
  const attempt = async (n: number): Promise<boolean> => {
    try {
      await a.start(gateway.host(a.platform), signal);
      if (n > 0) log.info({ adapter: a.platform, attempt: n }, 'adapter started');
      return true;
    } catch (err) {
      if (signal.aborted) return true; // serve is stopping (another adapter failed): not a start failure
      if (err instanceof AdapterError && (err.kind === 'auth' || err.kind === 'rejected')) {
        throw new ConfigError(`adapter ${a.platform} cannot start: ${err.message}`, { path: `adapters.${a.platform}`, cause: err });
      }
      log.error({ adapter: a.platform, err: (err as Error).message }, 'adapter could not start; retrying in the background');
      return false;
    }
  };
  if (await attempt(0)) return;
  void (async () => {
    for (let n = 1; !signal.aborted; n++) {
      await new Promise((r) => setTimeout(r, Math.min(60_000, 1000 * 2 ** n)).unref());
      if (signal.aborted || (await attempt(n).catch((err: unknown) => (log.error({ err }, 'adapter gave up'), true)))) return;
    }
  })();
}
