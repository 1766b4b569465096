// The `commands:` section: one entry per catalogue command, checked as far as can be at load time so a
// typo never waits for the first person who runs the command. The runner decides which keys are valid
// (a key of another runner is an unknown key); every `{{placeholder}}` must name a declared parameter
// and every parameter must be used; the program (argv[0]) is fixed, never a placeholder; a default
// must itself be an acceptable value.
import { isAbsolute, join, resolve } from 'node:path';
import { discriminatedUnion, lazy, literal, nullish, record, superRefine, type output, type ZodMiniType } from 'zod/mini';
import { checkValue } from '../commands/params.ts';
import { PARAM_NAME, placeholdersIn } from '../commands/placeholders.ts';
import { HTTP_METHODS, type CommandSpec, type JsonValue, type ParamSpec, type RunnerSpec } from '../commands/types.ts';
import { ROLES, isRole, type Role } from '../policy.ts';
import { bool, intIn, matching, nonEmpty, obj, oneOf, regex, str, text, val } from './kit.ts';
import { didYouMean } from './problems.ts';
import { EXPECTED_DURATION, EXPECTED_SIZE, parseDuration, parseHttpUrl, parseSize } from './units.ts';

export const COMMAND_DEFAULTS = { role: 'Admin', timeoutMs: 30_000, outputCap: 64 * 1024, sshPort: 22, method: 'GET' } as const;
const PARAM_TYPES = ['string', 'integer', 'number', 'boolean'] as const;
/** A timer cannot wait longer than 2^31-1 ms (~24.8 days) and would fire at once; a day is plenty. */
const MAX_TIMEOUT_MS = 86_400_000;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/** A mapping whose keys must match `key` (the problem names the bad key). */
function named<V extends ZodMiniType>(key: RegExp, what: string, value: V) {
  return record(matching(key), value, { error: (iss) => (iss.code === 'invalid_key' ? `expected ${what}, got the name ${JSON.stringify(iss.input)}` : undefined) });
}

const scalar = (v: unknown) => (typeof v === 'boolean' ? String(v) : str(v));

function paramSchema() {
  return obj({
    type: nullish(oneOf(PARAM_TYPES)),
    pattern: nullish(regex),
    enum: nullish(val('a list of allowed values', (v) => {
      const items = Array.isArray(v) ? v.map(scalar) : undefined;
      return items?.length && items.every((x) => x !== undefined) ? (items as string[]) : undefined;
    })),
    required: nullish(bool),
    default: nullish(val('a text, a number or true/false', scalar)),
    description: nullish(text('a short description')),
  }).check(superRefine((p, ctx) => {
    if (p.required === true && p.default != null) {
      ctx.addIssue({ code: 'custom', path: ['required'], message: 'expected `required: true` or a default, not both (a parameter with a default may be left out)' });
    }
    const spec = paramSpec('', p);
    for (const [i, e] of (p.enum ?? []).entries()) {
      // As a value the parameter would accept (type, pattern), listed in the enum so the "-" rule is waived.
      const r = checkValue({ ...spec, enum: [e] }, e);
      if ('problem' in r) ctx.addIssue({ code: 'custom', path: ['enum', i], message: `expected ${r.problem}` });
    }
    if (p.default != null) {
      const r = checkValue(spec, p.default);
      if ('problem' in r) ctx.addIssue({ code: 'custom', path: ['default'], message: `expected ${r.problem} (a default must be a value the parameter accepts)` });
    }
  }));
}

type RawParam = output<ReturnType<typeof paramSchema>>;

// The schemas are built on first use (lazy below): building them costs a few milliseconds at
// every start, which a config without `commands:` should not pay.
function runnersSchema() {
  const param = paramSchema();
  const role = val(`one of ${ROLES.join(', ')} (or a list of them)`, (v) => {
    const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
    if (!items?.length) return undefined;
    for (const r of items) {
      if (typeof r === 'string' && isRole(r.trim())) continue;
      const hint = typeof r === 'string' ? didYouMean(r.trim(), ROLES) : undefined;
      throw new Error(`expected one of ${ROLES.join(', ')} (or a list of them), got ${JSON.stringify(r)}${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
    return [...new Set(items.map((r: string) => r.trim() as Role))];
  });

  const ARGV = 'a list: the program, then its arguments (each may be or hold a {{param}})';
  const argv = val(ARGV, (v) => {
    const items = Array.isArray(v) ? v.map(str) : undefined;
    if (items?.length === 0 || items?.[0] === '') throw new Error(`expected ${ARGV}, got ${items.length ? 'an empty program name' : 'an empty list'}`);
    return items?.every((x) => x !== undefined) ? (items as string[]) : undefined;
  });

  const path = (what: string) => val(what, nonEmpty);

  const common = {
    description: nullish(text('a short description')),
    params: nullish(named(PARAM_NAME, 'a parameter name (letters, digits and _, not starting with a digit)', param)),
    role: nullish(role),
    timeout: nullish(val(EXPECTED_DURATION.replace('a duration', 'a duration up to 24h'), (v) => {
      const ms = parseDuration(v);
      return ms !== undefined && ms >= 1 && ms <= MAX_TIMEOUT_MS ? ms : undefined;
    })),
    approve: nullish(bool),
    output_cap: nullish(val(EXPECTED_SIZE, (v) => {
      const n = parseSize(v);
      return n !== undefined && n > 0 ? n : undefined;
    })),
  };

  const local = obj({
    runner: literal('local'),
    ...common,
    argv,
    cwd: nullish(path('a folder (relative to the config file)')),
    env: nullish(named(ENV_NAME, 'a variable name (letters, digits and _)', val('a text', scalar))),
    env_allow: nullish(val('a list of environment variable names', (v) => {
      const items = Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined;
      return items?.every((x) => typeof x === 'string' && ENV_NAME.test(x)) ? (items as string[]) : undefined;
    })),
  });

  const ssh = obj({
    runner: literal('ssh'),
    ...common,
    argv,
    host: val('a host name or address', nonEmpty),
    port: nullish(intIn(1, 65535)),
    user: val('a user name', nonEmpty),
    private_key: nullish(path('a private key file (relative to the config file, or ~/...)')),
    passphrase: nullish(text('the private key\'s passphrase (use ${VAR})')),
    agent: nullish(path('an ssh-agent socket path (e.g. "${SSH_AUTH_SOCK}")')),
    known_hosts: nullish(path('a known_hosts file (relative to the config file, or ~/...)')),
    host_key_fingerprint: nullish(val('a fingerprint like SHA256:... as `ssh-keygen -lf` prints it', (v) => (typeof v === 'string' && FINGERPRINT.test(v.trim()) ? v.trim() : undefined))),
  });

  const http = obj({
    runner: literal('http'),
    ...common,
    method: nullish(val(`one of ${HTTP_METHODS.join(', ')}`, (v) => (typeof v === 'string' && (HTTP_METHODS as readonly string[]).includes(v.toUpperCase()) ? (v.toUpperCase() as (typeof HTTP_METHODS)[number]) : undefined))),
    url: val('an http(s) URL (may hold {{param}} placeholders)', (v) => (typeof v === 'string' && parseHttpUrl(v.replace(/\{\{[^{}]*\}\}/g, 'x')) ? v.trim() : undefined)),
    headers: nullish(named(HEADER_NAME, 'a header name', val('a header value (text without line breaks)', (v) => {
      const s = scalar(v);
      // A header often carries a token (Authorization: "Bearer ${TOKEN}"): the message never shows the value.
      if (s !== undefined && /[\r\n\0]/.test(s)) throw new Error('expected a header value (text without line breaks), got text with a line break or NUL (a stray \\r or \\n in an environment variable?)');
      return s;
    }))),
    body: nullish(val('a text template (values form-encoded) or a mapping (sent as JSON)', (v) => (typeof v === 'string' || isMapping(v) ? (v as string | { [key: string]: JsonValue }) : undefined))),
    expect_status: nullish(val('an HTTP status (100-599) or a list of them', (v) => {
      const items = Array.isArray(v) ? v : [v];
      return items.length && items.every((s) => Number.isInteger(s) && s >= 100 && s <= 599) ? (items as number[]) : undefined;
    })),
  });

  return discriminatedUnion('runner', [local, ssh, http], {
    error: 'expected `runner: local` (argv, cwd, env, env_allow), `runner: ssh` (host, user, argv, known_hosts or host_key_fingerprint, ...) or `runner: http` (url, method, headers, body, ...)',
  });
}

export type RawCommand = output<ReturnType<typeof runnersSchema>>;

function entrySchema() {
  return runnersSchema().check(superRefine((c, ctx) => crossChecks(c, (path, message) => ctx.addIssue({ code: 'custom', path, message })), {
    // Also when some other key has a problem, so that one load reports everything; crossChecks reads
    // only the parts that are well-formed.
    when: (payload) => isMapping(payload.value) && (RUNNERS as readonly unknown[]).includes((payload.value as { runner?: unknown }).runner),
  }));
}

export const commandEntry = lazy(entrySchema);

const RUNNERS = ['local', 'ssh', 'http'] as const;
type Path = (string | number)[];

/** Checks across keys: placeholders against params, a fixed program, how ssh verifies and logs in. */
function crossChecks(c: RawCommand, problem: (path: Path, message: string) => void): void {
  const loose = c as Partial<Record<string, unknown>>;
  const declared = isMapping(loose.params) ? Object.keys(loose.params as object) : [];
  // Every string that may hold placeholders, with its key path.
  const places: [Path, string][] = [];
  if (c.runner === 'http') {
    if (typeof loose.url === 'string') places.push([['url'], loose.url]);
    if (isMapping(loose.headers)) for (const [k, v] of Object.entries(loose.headers as object)) if (typeof v === 'string') places.push([['headers', k], v]);
    if (typeof loose.body === 'string' || isMapping(loose.body)) collectStrings(loose.body as JsonValue, ['body'], places);
  } else if (Array.isArray(loose.argv)) {
    loose.argv.forEach((a, i) => typeof a === 'string' && places.push([['argv', i], a]));
    if (typeof loose.argv[0] === 'string' && loose.argv[0].includes('{{')) problem(['argv', 0], 'expected a fixed program name: argv[0] cannot be a {{placeholder}}');
  }
  const used = new Set<string>();
  for (const [at, s] of places) {
    const { names, bad } = placeholdersIn(s);
    if (bad) problem(at, `expected {{name}} placeholders (letters, digits, _), got ${JSON.stringify(bad)}`);
    for (const n of names) {
      used.add(n);
      if (declared.includes(n)) continue;
      const hint = didYouMean(n, declared);
      const known = declared.length ? `one of ${declared.map((d) => `{{${d}}}`).join(', ')}` : 'a parameter declared under params: (this command has none)';
      problem(at, `unknown parameter {{${n}}}${hint ? ` (did you mean {{${hint}}}?)` : ''}: expected ${known}`);
    }
  }
  for (const n of declared) {
    if (!used.has(n)) problem(['params', n], `expected {{${n}}} to be used in ${c.runner === 'http' ? 'the url, headers or body' : 'argv'}, got a parameter that nothing uses`);
  }
  if (c.runner === 'ssh') {
    if ((loose.known_hosts == null) === (loose.host_key_fingerprint == null)) {
      const both = loose.known_hosts != null;
      problem(both ? ['host_key_fingerprint'] : [], `expected exactly one of known_hosts (a file) or host_key_fingerprint (SHA256:...) to check the server's host key, got ${both ? 'both' : 'neither'}`);
    }
    if (loose.private_key == null && loose.agent == null) problem([], 'expected private_key (a key file) or agent (an ssh-agent socket) to log in with, got neither');
  }
}

/** Catalogue entries in their final form: defaults filled in, file paths absolute. */
export function compileCommands(raw: Record<string, RawCommand> | null | undefined, ctx: { dir: string; home: string }): Map<string, CommandSpec> {
  const out = new Map<string, CommandSpec>();
  for (const [name, c] of Object.entries(raw ?? {})) {
    out.set(name, {
      name,
      description: c.description ?? undefined,
      runner: runnerSpec(c, ctx),
      params: Object.entries(c.params ?? {}).map(([n, p]) => paramSpec(n, p)),
      role: c.role ?? [COMMAND_DEFAULTS.role],
      approve: c.approve ?? false,
      timeoutMs: c.timeout ?? COMMAND_DEFAULTS.timeoutMs,
      outputCap: c.output_cap ?? COMMAND_DEFAULTS.outputCap,
    });
  }
  return out;
}

function runnerSpec(c: RawCommand, ctx: { dir: string; home: string }): RunnerSpec {
  const file = (p: string | null | undefined) => (p == null ? undefined : absolute(p, ctx));
  switch (c.runner) {
    case 'local':
      return { kind: 'local', argv: c.argv, cwd: file(c.cwd), envAllow: c.env_allow ?? [], env: c.env ?? {} };
    case 'ssh':
      return {
        kind: 'ssh',
        host: c.host,
        port: c.port ?? COMMAND_DEFAULTS.sshPort,
        user: c.user,
        privateKeyFile: file(c.private_key),
        passphrase: c.passphrase ?? undefined,
        agent: file(c.agent),
        knownHostsFile: file(c.known_hosts),
        fingerprint: c.host_key_fingerprint ?? undefined,
        argv: c.argv,
      };
    case 'http':
      return { kind: 'http', method: c.method ?? COMMAND_DEFAULTS.method, url: c.url, headers: c.headers ?? {}, body: c.body ?? undefined, expectStatus: c.expect_status ?? undefined };
  }
}

function paramSpec(name: string, p: RawParam): ParamSpec {
  return {
    name,
    type: p.type ?? 'string',
    pattern: p.pattern ?? undefined,
    enum: p.enum ?? undefined,
    required: p.required ?? p.default == null,
    default: p.default ?? undefined,
    description: p.description ?? undefined,
  };
}

/** `~` and `~/x` against the home folder; relative paths against the config file's folder. */
function absolute(p: string, ctx: { dir: string; home: string }): string {
  if (p === '~' || p.startsWith('~/')) return join(ctx.home, p.slice(1));
  return isAbsolute(p) ? p : resolve(ctx.dir, p);
}

function isMapping(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function collectStrings(v: JsonValue, at: Path, into: [Path, string][]): void {
  if (typeof v === 'string') into.push([at, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => collectStrings(x, [...at, i], into));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) collectStrings(x, [...at, k], into);
}
