// `clawdbot doctor`: one line per check (✓ ok, ! warning, ✗ failure, - skipped) and a summary.
// Exit code 1 when any check fails, 2 when the config itself cannot be loaded.
import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { CATALOG } from '../adapters/catalog.ts';
import { loadConfig } from '../core/config/load.ts';
import { unknownActionWarnings } from '../core/config/routes.ts';
import type { Config } from '../core/config/types.ts';
import { ConfigError } from '../core/errors.ts';
import { ApiKeyAuth } from '../core/http/auth.ts';
import { HttpGateway } from '../core/http/server.ts';
import { createLogger } from '../core/log.ts';
import { configSecrets } from '../core/redact.ts';
import { connectModel } from '../core/models/connect.ts';
import { Store } from '../store/store.ts';
import { databasePath, type GlobalOptions } from './context.ts';
import { checkCatalogue } from './doctor-catalogue.ts';
import { checkMemory, checkVision } from './doctor-memory.ts';
import { checkTls } from './doctor-tls.ts';
import { checkExposure } from './serve.ts';

type Status = 'ok' | 'warn' | 'fail' | 'skip';
interface Check { readonly name: string; readonly status: Status; readonly detail: string }

const MARK: Record<Status, string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

export async function runDoctor(opts: GlobalOptions & { json?: boolean; offline?: boolean }): Promise<number> {
  const checks: Check[] = [];
  const add = (name: string, status: Status, detail: string) => checks.push({ name, status, detail });
  let config: Config | undefined;
  try {
    config = loadConfig({ file: opts.config });
    add('config', 'ok', config.file ? `${config.file} is valid` : 'no config file found: built-in defaults');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    add('config', 'fail', err.message);
  }
  if (config) await checkAll(config, opts.offline === true, add);
  return print(checks, opts.json === true, config ? undefined : 2);
}

async function checkAll(config: Config, offline: boolean, add: (n: string, s: Status, d: string) => void): Promise<void> {
  // Rules naming an undefined action are a warning when loading but a failure here; report them once, as routes.
  const badRoutes = unknownActionWarnings(config.routes, new Set([...config.actions.keys(), ...config.commands.keys(), ...config.workflows.keys()]));
  for (const w of config.warnings) if (!badRoutes.includes(w)) add('config', 'warn', w);
  for (const v of config.unsetEnv) add('environment', 'warn', `\${${v}} is referenced by the config but not set`);
  if (config.file) checkSecretsInFile(config, add);

  try {
    mkdirSync(config.system.dataDir, { recursive: true, mode: 0o700 });
    accessSync(config.system.dataDir, constants.W_OK);
    add('data folder', 'ok', `${config.system.dataDir} is writable`);
  } catch (err) {
    add('data folder', 'fail', `${config.system.dataDir}: ${(err as Error).message}`);
  }
  let managedKeys = false;
  try {
    const store = Store.open(databasePath(config), { key: config.security.encryptionKey });
    const { sqliteVersion, vecVersion, keyId } = store.info;
    const pending = store.pendingTurns();
    managedKeys = store.apiKeys.any();
    const encrypted = keyId ? `, text encrypted (key ${keyId})` : '';
    add('database', 'ok', `SQLite ${sqliteVersion}, sqlite-vec ${vecVersion} loaded${encrypted}${pending ? `, ${pending} unfinished turn(s) will resume` : ''}`);
    try {
      await checkMemory(config, store, add, offline);
    } finally {
      store.close();
    }
  } catch (err) {
    add('database', 'fail', `${databasePath(config)}: ${(err as Error).message}`);
  }

  for (const w of badRoutes) add('routes', 'fail', w);
  if (badRoutes.length === 0) add('routes', 'ok', `${config.routes.length} rule(s), every action exists`);
  checkCatalogue(config, add);
  checkTls(config.security.tls, add);

  const ws = config.adapters.websocket;
  try {
    const warnings = checkExposure(config, managedKeys);
    for (const w of warnings) add('security', 'warn', w);
    if (warnings.length === 0) add('security', 'ok', config.security.apiKey || managedKeys ? `API key required (${[config.security.apiKey ? 'security.api_key' : '', managedKeys ? 'keys made with clawdbot keys add' : ''].filter(Boolean).join(', ')})` : `no API key; listening on loopback only (${ws.listen.host})`);
  } catch (err) {
    add('security', 'fail', (err as Error).message);
  }
  if (ws.enabled) {
    const free = await portFree(ws.listen.host, ws.listen.port);
    add('listen', free === true ? 'ok' : 'fail', free === true ? `${ws.listen.host}:${ws.listen.port} is free` : `${ws.listen.host}:${ws.listen.port}: ${free}`);
  }

  if (offline) {
    add('model', 'skip', `network checks skipped (--offline): ${config.models.default.endpoint}`);
    await checkAdapters(config, add, true);
    return;
  }
  await checkModel(config, add);
  await checkVision(config, add, false);
  await checkAdapters(config, add, false);
}

/** Each enabled platform's credentials, checked against the platform (getMe, auth.test ...). */
async function checkAdapters(config: Config, add: (n: string, s: Status, d: string) => void, offline: boolean): Promise<void> {
  const log = await createLogger({ level: 'silent' });
  // Adapters register routes on an HTTP server; this one never listens.
  const http = new HttpGateway({ listen: config.adapters.websocket.listen, auth: new ApiKeyAuth(undefined), limiter: undefined, log });
  for (const entry of CATALOG) {
    if (!entry.enabled(config)) continue;
    for (const a of await entry.create({ config, http, log })) {
      if (!a.verify) continue;
      if (offline) {
        add(`adapter ${a.platform}`, 'skip', 'credentials not checked (--offline)');
        continue;
      }
      try {
        add(`adapter ${a.platform}`, 'ok', `credentials accepted: ${await a.verify(AbortSignal.timeout(10_000))}`);
      } catch (err) {
        add(`adapter ${a.platform}`, 'fail', (err as Error).message);
      }
    }
  }
}

async function checkModel(config: Config, add: (n: string, s: Status, d: string) => void): Promise<void> {
  const m = config.models.default;
  try {
    const client = await connectModel(m);
    const names = await client.listModels();
    add('model endpoint', 'ok', `${client.provider} at ${client.endpoint} answers, ${names.length} model(s)`);
    if (!m.model) {
      if (names[0]) add('model', 'ok', `no model configured: "${names[0]}" (the first listed) will be used`);
      else add('model', 'fail', 'no model configured and the endpoint lists none');
    } else if (names.some((n) => n === m.model || n === `${m.model}:latest`)) {
      add('model', 'ok', `"${m.model}" is available`);
    } else {
      const hint = client.provider === 'ollama' ? ` (run: ollama pull ${m.model})` : '';
      add('model', 'fail', `"${m.model}" is not offered by ${client.endpoint}${hint}; available: ${names.slice(0, 8).join(', ') || 'none'}`);
    }
  } catch (err) {
    add('model endpoint', 'fail', (err as Error).message);
  }
}

function checkSecretsInFile(config: Config, add: (n: string, s: Status, d: string) => void): void {
  const file = config.file!;
  const mode = statSync(file).mode;
  const raw = readFileSync(file, 'utf8');
  // Every secret the config holds (API keys, bot tokens, signing secrets, the data key ...), as redaction knows them.
  const secrets = configSecrets(config).filter((s) => s.length >= 4);
  const literal = secrets.some((s) => raw.includes(s));
  if (literal && (mode & 0o044) !== 0) {
    add('secrets', 'fail', `${file} holds a secret and is readable by ${mode & 0o004 ? 'everyone' : 'its group'}: chmod 600 ${file}, or use \${ENV} references`);
  } else if (literal) {
    add('secrets', 'ok', `${file} holds secrets but only its owner can read it`);
  } else {
    add('secrets', 'ok', secrets.length ? 'secrets come from the environment' : 'no secrets configured');
  }
}

function portFree(host: string, port: number): Promise<true | string> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? 'already in use (is clawdbot serve running?)' : err.message));
    // reusePort: two doctors checking at the same moment must not see each other's probe as "in use";
    // a running serve (which does not set it) still makes the bind fail.
    srv.listen({ port, host, reusePort: true }, () => srv.close(() => resolve(true)));
  });
}

function print(checks: Check[], json: boolean, forcedCode: number | undefined): number {
  const count = (s: Status) => checks.filter((c) => c.status === s).length;
  const summary = { ok: count('ok'), warnings: count('warn'), failed: count('fail'), skipped: count('skip') };
  if (json) {
    process.stdout.write(`${JSON.stringify({ checks, summary })}\n`);
  } else {
    const lines = checks.map((c) => `${MARK[c.status]} ${c.name}: ${c.detail}`);
    lines.push(`${summary.ok} ok, ${summary.warnings} warning(s), ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return forcedCode ?? (summary.failed > 0 ? 1 : 0);
}
