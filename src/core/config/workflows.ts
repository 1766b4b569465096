// The `workflows:` section: named chains of steps (llm, reply, command, http, set, if, wait). The shape
// of each step is checked here; which variables each template may read (earlier steps only, variables
// set earlier) is checked by the workflow compiler, run from this schema so its problems carry
// file:line:col like every other one.
import { array, lazy, minLength, optional, superRefine, type ZodMiniType } from 'zod/mini';
import { HTTP_METHODS, type HttpRequestSpec } from '../commands/types.ts';
import { ConfigError } from '../errors.ts';
import { isRole, ROLES, type Role } from '../policy.ts';
import { compileWorkflow } from '../workflows/compile.ts';
import { ON_ERROR_MODES, STEP_KINDS, type OnError, type StepSpec, type WorkflowSpec } from '../workflows/types.ts';
import { intIn, numIn, obj, oneOf, regex, str, text, val } from './kit.ts';
import { describeValue, formatPath } from './problems.ts';
import { EXPECTED_DURATION, parseDuration } from './units.ts';

/** Step and variable names: what a {{steps.NAME.output}} / {{vars.NAME}} placeholder can spell. */
const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const COMMAND_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** The longest delay a Node timer keeps (~24.8 days); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timeout or wait: at least `min` ms, and short enough for a timer (else it would end at once). */
const duration = (min: number) => val(EXPECTED_DURATION, (v) => {
  const ms = parseDuration(v);
  if (ms !== undefined && ms > MAX_TIMER_MS) throw new Error(`expected a duration of at most 24d, got ${describeValue(v)}`);
  return ms !== undefined && ms >= min ? ms : undefined;
});

// Templates are only texts here; compile.ts compiles them against what each step may read.
const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface RawHttp {
  method?: Method;
  url: string;
  headers?: Record<string, string>;
  body?: string | Record<string, unknown>;
  expect_status?: number[];
}

export interface RawCondition {
  value: string;
  equals?: string;
  contains?: string;
  matches?: RegExp;
  empty?: true;
  not_empty?: true;
}

export interface RawStep {
  name?: string;
  timeout?: number;
  on_error?: OnError;
  llm?: string;
  system?: string;
  max_tokens?: number;
  temperature?: number;
  reply?: string;
  command?: string;
  args?: Record<string, string> | string[];
  http?: RawHttp;
  set?: Record<string, string>;
  if?: RawCondition;
  then?: RawStep[];
  else?: RawStep[];
  wait?: number;
}

type Method = HttpRequestSpec['method'];

export interface RawWorkflow {
  description?: string;
  steps: RawStep[];
  on_error?: OnError;
  timeout?: number;
  role?: Role[];
}

// The schemas are built on first use (lazy below): building them costs milliseconds at every
// start, which a config without `workflows:` should not pay.
function entrySchema(): ZodMiniType<RawWorkflow, unknown> {
  const templateText = val('a text (a template with {{variables}})', str);

  const stepName = val('a step name (letters, digits and _, not starting with a digit; read as {{steps.NAME.output}})', (v) => (typeof v === 'string' && STEP_NAME.test(v) ? v : undefined));
  const commandName = val('a command name from `commands:`', (v) => (typeof v === 'string' && COMMAND_NAME.test(v) ? v : undefined));

  const args = val('a mapping of parameter: text, or a list of texts (filling the parameters in order)', (v) => {
    if (Array.isArray(v)) return v.every((x) => str(x) !== undefined) ? v.map((x) => str(x)!) : undefined;
    if (!isMapping(v)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      const s = str(x);
      if (s === undefined) throw new Error(`expected a text for parameter ${k}, got ${describeValue(x)}`);
      out[k] = s;
    }
    return out;
  });

  const setValues = val('a mapping of variable names to texts (read later as {{vars.NAME}})', (v) => {
    if (!isMapping(v) || Object.keys(v).length === 0) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (!STEP_NAME.test(k)) throw new Error(`expected variable names of letters, digits and _ (not starting with a digit), got "${k}"`);
      const s = str(x);
      if (s === undefined) throw new Error(`expected a text for variable ${k}, got ${describeValue(x)}`);
      out[k] = s;
    }
    return out;
  });

  const method = val(`one of ${HTTP_METHODS.join(', ')}`, (v) => {
    const m = typeof v === 'string' ? v.trim().toUpperCase() : undefined;
    return HTTP_METHODS.find((x) => x === m);
  });

  /** Scheme and host written out: a value can then fill a path segment or a query value, never pick the server. */
  const urlTemplate = val('an http(s) URL with the scheme and host written out ({{variables}} only in the path or query)', (v) => {
    if (typeof v !== 'string') return undefined;
    const u = v.trim();
    const open = u.indexOf('{{');
    const fixed = open < 0 ? u : u.slice(0, open);
    const literalHost = open < 0 ? URL.canParse(u) : /^https?:\/\/[^/?#{}\s]+[/?#]/i.test(fixed);
    return literalHost && /^https?:\/\//i.test(u) ? u : undefined;
  });

  const headers = val('a mapping of header names to texts', (v) => {
    if (!isMapping(v)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (!HEADER_NAME.test(k)) throw new Error(`expected header names without spaces or separators, got "${k}"`);
      const s = str(x);
      if (s === undefined) throw new Error(`expected a text for header ${k}, got ${describeValue(x)}`);
      out[k] = s;
    }
    return out;
  });

  const body = val('a text, or a mapping (sent as JSON)', (v) => (typeof v === 'string' || isMapping(v) ? v : undefined));
  const statuses = val('an HTTP status like 200, or a list of them', (v) => {
    const items = Array.isArray(v) ? v : [v];
    return items.length > 0 && items.every((s) => Number.isInteger(s) && s >= 100 && s <= 599) ? (items as number[]) : undefined;
  });
  const yes = val('true (or leave the key out)', (v) => (v === true ? (true as const) : undefined));
  const role = val(`one of ${ROLES.join(', ')} or a list of them`, (v) => {
    const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
    if (!items || items.length === 0 || !items.every((r) => typeof r === 'string' && isRole(r))) return undefined;
    return [...new Set(items as Role[])];
  });


  const http = obj({
    method: optional(method),
    url: urlTemplate,
    headers: optional(headers),
    body: optional(body),
    expect_status: optional(statuses),
  }).check(superRefine((h, ctx) => {
    const m = h.method ?? 'GET';
    if (h.body !== undefined && (m === 'GET' || m === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['method'], message: `expected POST, PUT, PATCH or DELETE with a body, got ${m}${h.method ? '' : ' (the default)'}` });
    }
  }));

  const TESTS = ['equals', 'contains', 'matches', 'empty', 'not_empty'] as const;


  const condition = obj({
    value: templateText,
    equals: optional(templateText),
    contains: optional(templateText),
    matches: optional(regex),
    empty: optional(yes),
    not_empty: optional(yes),
  }).check(superRefine((c, ctx) => {
    const given = TESTS.filter((t) => c[t] !== undefined);
    if (given.length !== 1) {
      const got = given.length === 0 ? 'none' : given.join(' and ');
      ctx.addIssue({ code: 'custom', path: given.length > 1 ? [given[1]!] : [], message: `expected exactly one test next to value: (${TESTS.join(', ')}), got ${got}` });
    }
  }));


  /** Keys that belong to one kind of step. */
  const COMPANIONS: Readonly<Record<string, (typeof STEP_KINDS)[number]>> = {
    system: 'llm', max_tokens: 'llm', temperature: 'llm', args: 'command', then: 'if', else: 'if',
  };

  const stepList = array(lazy(() => step), { error: 'expected a list of steps (- reply: ..., - llm: ..., - command: ..., ...)' })
    .check(minLength(1, { error: 'expected at least one step, got an empty list' }));

  const step: ZodMiniType<RawStep, unknown> = obj({
    name: optional(stepName),
    timeout: optional(duration(1)),
    on_error: optional(oneOf(ON_ERROR_MODES)),
    llm: optional(templateText),
    system: optional(templateText),
    max_tokens: optional(intIn(1, 1_000_000)),
    temperature: optional(numIn(0, 2)),
    reply: optional(templateText),
    command: optional(commandName),
    args: optional(args),
    http: optional(http),
    set: optional(setValues),
    if: optional(condition),
    then: optional(stepList),
    else: optional(stepList),
    wait: optional(duration(0)),
  }).check(superRefine((s, ctx) => {
    const kinds = STEP_KINDS.filter((k) => s[k] !== undefined);
    if (kinds.length === 0) {
      ctx.addIssue({ code: 'custom', path: [], message: `expected a step: exactly one of ${STEP_KINDS.join(', ')}` });
    } else if (kinds.length > 1) {
      ctx.addIssue({ code: 'custom', path: [kinds[1]!], message: `expected exactly one kind of step, got both ${kinds[0]} and ${kinds[1]} (split them into two steps)` });
    }
    for (const [key, kind] of Object.entries(COMPANIONS)) {
      if (s[key as keyof RawStep] !== undefined && !kinds.includes(kind)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `expected ${key} only in a ${kind} step` });
      }
    }
    if (s.if !== undefined && s.then === undefined) {
      ctx.addIssue({ code: 'custom', path: ['if'], message: 'expected `then:` (a list of steps) next to `if:`' });
    }
  }));

  return obj({
    description: optional(text('a short description')),
    steps: stepList,
    on_error: optional(oneOf(ON_ERROR_MODES)),
    timeout: optional(duration(1)),
    role: optional(role),
  }).check(superRefine((w, ctx) => {
    // Only for its problems: the compiled workflow is built again by compileWorkflows.
    compileWorkflow('(check)', w, (path, message) => ctx.addIssue({ code: 'custom', path: [...path], message }));
  }));
}

/** One entry of `workflows:`. */
export const workflowEntry = lazy(entrySchema);

/** Entries already checked by `workflowEntry`; a problem here is a bug, reported as a ConfigError. */
export function compileWorkflows(raw: Readonly<Record<string, RawWorkflow>> | null | undefined): Map<string, WorkflowSpec> {
  const out = new Map<string, WorkflowSpec>();
  for (const [name, w] of Object.entries(raw ?? {})) {
    out.set(name, compileWorkflow(name, w, (path, message) => {
      throw new ConfigError(`${formatPath(['workflows', name, ...path])}: ${message}`, { path: formatPath(['workflows', name, ...path]) });
    }));
  }
  return out;
}

/** The catalogue commands a workflow runs (in its branches too), each once: the lead checks them against `commands:`. */
export function commandRefs(spec: WorkflowSpec): string[] {
  const names = new Set<string>();
  const walk = (steps: readonly StepSpec[]) => {
    for (const s of steps) {
      if (s.kind === 'command') names.add(s.command);
      else if (s.kind === 'if') {
        walk(s.then);
        walk(s.else);
      }
    }
  };
  walk(spec.steps);
  return [...names];
}
