// Finding, reading and checking the config file. Search order: --config, $CLAWDBOT_CONFIG,
// ./clawdbot.yaml, ~/.config/clawdbot/config.yaml ($XDG_CONFIG_HOME honoured), /etc/clawdbot/config.yaml;
// none found means built-in defaults. Every problem (YAML syntax, unknown keys, wrong values, both
// files) is collected and thrown together as one ConfigError with "file:line:col: key: expected ...".
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { Route } from '../types.ts';
import { buildConfig, homeOf, type Overrides } from './build.ts';
import { parseYaml, type ParsedFile } from './document.ts';
import { ConfigProblemsError, describeValue, issuesToProblems, sortByPosition } from './problems.ts';
import { referenceProblems } from './references.ts';
import { compileRoutes, extraDefaultProblems } from './routes.ts';
import { ADAPTER_IDS, configSchema, routesFileSchema, type RawConfig } from './schema.ts';
import type { Config } from './types.ts';
import { EXPECTED_URL, parseHttpUrl } from './units.ts';

export { defaultConfig } from './build.ts';
export { ConfigProblemsError } from './problems.ts';

export interface LoadOptions {
  /** --config: must exist. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** The system-wide file (default /etc/clawdbot/config.yaml); tests point it elsewhere. */
  systemFile?: string;
}

export const SYSTEM_CONFIG_FILE = '/etc/clawdbot/config.yaml';

/** The file to load, or null when there is none. A file named by --config or $CLAWDBOT_CONFIG must exist. */
export function findConfigFile(opts: LoadOptions = {}): string | null {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit: [string | undefined, string][] = [[opts.file, '--config'], [env.CLAWDBOT_CONFIG, '$CLAWDBOT_CONFIG']];
  for (const [name, from] of explicit) {
    if (!name) continue;
    const path = resolve(cwd, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) throw new ConfigError(`config file ${path} (from ${from}) does not exist`, { path: from });
    if (!st.isFile()) throw new ConfigError(`config file ${path} (from ${from}) is not a file`, { path: from });
    return path;
  }
  const home = opts.home ?? homeOf(env);
  const xdg = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config');
  const candidates = [resolve(cwd, 'clawdbot.yaml'), join(xdg, 'clawdbot', 'config.yaml'), opts.systemFile ?? SYSTEM_CONFIG_FILE];
  return candidates.find(isReadableFile) ?? null;
}

/** A search location we may not even look into (EACCES on someone else's HOME) counts as absent. */
function isReadableFile(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
  } catch {
    return false;
  }
}

/** Loads, validates and normalises the configuration. Throws ConfigError (a ConfigProblemsError for file problems). */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = opts.home ?? homeOf(env);
  const problems: string[] = [];
  const overrides = envOverrides(env, problems);
  const file = findConfigFile({ ...opts, env, cwd, home });
  if (!file) {
    if (problems.length) throw new ConfigProblemsError(problems);
    return checkOverrides(buildConfig({}, { file: null, dir: cwd, env, home, routes: null, overrides }), overrides);
  }

  const main = readYaml(file, cwd, env);
  problems.push(...main.problems);
  const warnings = [...main.warnings];
  const unsetEnv = [...main.unsetEnv];
  let raw: RawConfig | undefined;
  let routes: Route[] | null = null;
  if (main.problems.length === 0) {
    raw = validate(configSchema, main, problems, 'settings (system:, models:, routes:, ...)');
    if (raw) problems.push(...referenceProblems(raw, (path, which) => main.source.at(path, which)));
  }
  if (raw?.routes_file) {
    const at = main.source.at(['routes_file']);
    if (raw.routes) {
      problems.push(`${at}: routes_file: expected either routes: (inline) or routes_file:, not both`);
    } else {
      const path = resolve(dirname(file), raw.routes_file);
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st?.isFile()) {
        problems.push(`${at}: routes_file: expected a routing file, got ${describeValue(raw.routes_file)} (${path} ${st ? 'is not a file' : 'does not exist'})`);
      } else {
        const rf = readYaml(path, cwd, env);
        problems.push(...rf.problems);
        warnings.push(...rf.warnings);
        for (const v of rf.unsetEnv) if (!unsetEnv.includes(v)) unsetEnv.push(v);
        const parsed = rf.problems.length ? undefined : validate(routesFileSchema, rf, problems, 'a top-level `routes:` list');
        if (parsed?.routes) routes = compileRoutes(parsed.routes, (i) => rf.source.at(['routes', i]));
      }
    }
  } else if (raw?.routes) {
    routes = compileRoutes(raw.routes, (i) => main.source.at(['routes', i]));
  } else if (raw) {
    // The seed keeps its rules in routing.yaml next to config.yaml; read only when routes_file names it.
    for (const name of ['routing.yaml', 'routing.yml']) {
      if (!statSync(join(dirname(file), name), { throwIfNoEntry: false })?.isFile()) continue;
      warnings.push(`${main.source.display}: ${name} next to this file is not used (every message goes to the default rule): add \`routes_file: ${name}\` to use its rules`);
      break;
    }
  }
  if (problems.length || !raw) throw new ConfigProblemsError(problems);
  return checkOverrides(buildConfig(raw, {
    file,
    dir: dirname(file),
    env,
    home,
    routes: routes?.length ? routes : null,
    overrides,
    warnings,
    unsetEnv,
  }), overrides);
}

/**
 * An adapter that ADAPTER_TYPE turns on needs its credentials as much as one the file enables (which
 * the schema checks): without them the config would pass `doctor` and `serve` would refuse to start.
 */
function checkOverrides(config: Config, overrides: Overrides): Config {
  if (!overrides.adapters) return config;
  const { telegram: tg, slack: sl } = config.adapters;
  const missing: string[] = [];
  if (tg.enabled) {
    if (!tg.token) missing.push('telegram, but adapters.telegram.token is empty (token: ${TELEGRAM_BOT_TOKEN})');
    if (tg.mode === 'webhook' && !tg.webhookSecret) missing.push('telegram in webhook mode, but adapters.telegram.webhook_secret is empty');
    if (tg.mode === 'webhook' && !tg.webhookUrl) missing.push('telegram in webhook mode, but adapters.telegram.webhook_url is empty');
  }
  if (sl.enabled) {
    if (!sl.botToken) missing.push('slack, but adapters.slack.bot_token is empty (bot_token: ${SLACK_BOT_TOKEN})');
    if (sl.mode === 'socket' && !sl.appToken) missing.push('slack in socket mode, but adapters.slack.app_token is empty (app_token: ${SLACK_APP_TOKEN})');
    if (sl.mode === 'events' && !sl.signingSecret) missing.push('slack in events mode, but adapters.slack.signing_secret is empty (signing_secret: ${SLACK_SIGNING_SECRET})');
  }
  if (missing.length) throw new ConfigProblemsError(missing.map((m) => `environment ADAPTER_TYPE: enables ${m}`));
  return config;
}

function readYaml(file: string, cwd: string, env: NodeJS.ProcessEnv): ParsedFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const rel = relative(cwd, file);
  const display = rel && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : file;
  return parseYaml(text.replace(/^\uFEFF/, ''), file, display, env);
}

interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { code: string; path: PropertyKey[]; message: string }[] } };
}

function validate<T>(schema: Schema<T>, f: ParsedFile, problems: string[], expected: string): T | undefined {
  const data = f.source.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push(`${f.source.display}:1:1: (top level): expected a mapping of ${expected}, got ${describeValue(data)}`);
    return undefined;
  }
  const r = schema.safeParse(data);
  const found = [
    ...(r.success ? [] : issuesToProblems(r.error.issues, f.source)),
    ...extraDefaultProblems((data as { routes?: unknown }).routes, (i) => f.source.at(['routes', i, 'default'], 'key'), 'routes'),
  ];
  problems.push(...sortByPosition(found));
  return r.success && found.length === 0 ? r.data : undefined;
}

/** MODEL_ENDPOINT and ADAPTER_TYPE, as the seed's compose file sets them. Empty values are ignored. */
function envOverrides(env: NodeJS.ProcessEnv, problems: string[]): Overrides {
  const out: { endpoint?: string; adapters?: string[] } = {};
  const endpoint = env.MODEL_ENDPOINT?.trim();
  if (endpoint) {
    const url = parseHttpUrl(endpoint);
    if (url) out.endpoint = url;
    else problems.push(`environment MODEL_ENDPOINT: expected ${EXPECTED_URL}, got ${describeValue(endpoint)}`);
  }
  const types = env.ADAPTER_TYPE?.trim();
  if (types) {
    const ids = types.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    const bad = ids.filter((id) => !(ADAPTER_IDS as readonly string[]).includes(id));
    if (bad.length) {
      problems.push(`environment ADAPTER_TYPE: expected a comma-separated list of adapter ids (${ADAPTER_IDS.join(', ')}), got unknown ${bad.map((b) => `"${b}"`).join(', ')}`);
    } else {
      out.adapters = ids;
    }
  }
  return out;
}
