// From a checked `workflows:` entry to the WorkflowSpec the engine runs. Every template is compiled
// against what its step may read at that point: the turn's variables, the steps before it (in its own
// branch, or before the `if` steps around it) and the variables set before it. A step inside a branch
// is not readable after its `if` (it may not have run): the `if` step's own output carries the branch's
// result, and `set` carries values out of a branch ({{vars.NAME}}, "" when the branch that sets it did
// not run).
import type { RawStep, RawWorkflow } from '../config/workflows.ts';
import { formatPath, type Path } from '../config/problems.ts';
import { compileTemplate, TEMPLATE_VARIABLES, TemplateError, type CompiledTemplate } from '../template.ts';
import type { BodyEncoding, HttpBody, JsonMap, JsonTemplate, StepSpec, WorkflowSpec } from './types.ts';

export const DEFAULT_WORKFLOW_TIMEOUT_MS = 5 * 60_000;

/** Receives each problem: the key path inside the workflow entry and what was expected. */
export type Report = (path: Path, message: string) => void;

/** A raw step with its final name (written, or step1, step2, ...; check_then1 inside the `if` step check). */
interface Named {
  readonly raw: RawStep;
  readonly name: string;
  readonly path: Path;
  readonly then: readonly Named[];
  readonly else: readonly Named[];
}

interface Ctx {
  readonly report: Report;
  /** Every step name → where it is, for "runs later" hints. */
  readonly where: Map<string, Path>;
  /** Every variable a `set` step assigns → the first place, for "set only later" hints. */
  readonly setAt: Map<string, Path>;
  /** Variables set so far, in the order of the file (branches included). */
  readonly varsSoFar: Set<string>;
}

export function compileWorkflow(name: string, raw: RawWorkflow, report: Report): WorkflowSpec {
  const ctx: Ctx = { report, where: new Map(), setAt: new Map(), varsSoFar: new Set() };
  const named = nameSteps(raw.steps, ['steps'], 'step', ctx);
  return {
    name,
    description: raw.description,
    steps: compileList(named, [], ctx),
    onError: raw.on_error ?? 'stop',
    timeoutMs: raw.timeout ?? DEFAULT_WORKFLOW_TIMEOUT_MS,
    role: raw.role ?? ['User'],
  };
}

function nameSteps(steps: readonly RawStep[], at: Path, prefix: string, ctx: Ctx): Named[] {
  return steps.map((raw, i) => {
    const path = [...at, i];
    const name = raw.name ?? `${prefix}${i + 1}`;
    const first = ctx.where.get(name);
    if (first) {
      const how = raw.name ? '' : ` (the default name of this step; give it a name: key)`;
      ctx.report(raw.name ? [...path, 'name'] : path, `expected step names used once in a workflow, got "${name}" again${how}: ${formatPath(first)} has it already`);
    } else {
      ctx.where.set(name, path);
    }
    for (const v of Object.keys(raw.set ?? {})) if (!ctx.setAt.has(v)) ctx.setAt.set(v, [...path, 'set', v]);
    return {
      raw,
      name,
      path,
      then: nameSteps(raw.then ?? [], [...path, 'then'], `${name}_then`, ctx),
      else: nameSteps(raw.else ?? [], [...path, 'else'], `${name}_else`, ctx),
    };
  });
}

/** `visible`: the steps readable by the first step of this list. */
function compileList(steps: readonly Named[], visible: readonly string[], ctx: Ctx): StepSpec[] {
  const seen = [...visible];
  return steps.map((n) => {
    const spec = compileStep(n, seen, ctx);
    seen.push(n.name);
    return spec;
  });
}

function compileStep(n: Named, visible: readonly string[], ctx: Ctx): StepSpec {
  const allowed = [
    ...TEMPLATE_VARIABLES,
    ...visible.flatMap((s) => [`steps.${s}.output`, `steps.${s}.status`]),
    ...[...ctx.varsSoFar].map((v) => `vars.${v}`),
  ];
  const t = (text: string, path: Path) => compileChecked(text, allowed, visible, [...n.path, ...path], ctx);
  const r = n.raw;
  const base = { name: n.name, timeoutMs: r.timeout, onError: r.on_error };
  if (r.llm !== undefined) {
    return {
      ...base, kind: 'llm', prompt: t(r.llm, ['llm']), system: r.system === undefined ? undefined : t(r.system, ['system']),
      maxTokens: r.max_tokens, temperature: r.temperature,
    };
  }
  if (r.reply !== undefined) return { ...base, kind: 'reply', text: t(r.reply, ['reply']) };
  if (r.command !== undefined) {
    const a = r.args ?? [];
    const args = Array.isArray(a)
      ? a.map((x, i) => t(x, ['args', i]))
      : Object.fromEntries(Object.entries(a).map(([k, x]) => [k, t(x, ['args', k])]));
    return { ...base, kind: 'command', command: r.command, args };
  }
  if (r.http !== undefined) {
    const h = r.http;
    const headers = Object.entries(h.headers ?? {}).map(([k, x]) => [k, t(x, ['http', 'headers', k])] as const);
    let body: HttpBody | undefined;
    if (typeof h.body === 'string') body = { type: 'text', text: t(h.body, ['http', 'body']), encoding: bodyEncoding(h.headers ?? {}) };
    else if (h.body !== undefined) body = { type: 'json', value: jsonMap(h.body, ['http', 'body'], t, ctx, n.path) };
    return {
      ...base, kind: 'http', method: h.method ?? 'GET', url: t(h.url, ['http', 'url']), headers, body,
      expectStatus: h.expect_status,
    };
  }
  if (r.set !== undefined) {
    const values = Object.entries(r.set).map(([k, x]) => [k, t(x, ['set', k])] as const);
    for (const [k] of values) ctx.varsSoFar.add(k);
    return { ...base, kind: 'set', values };
  }
  if (r.if !== undefined) {
    const c = r.if;
    const value = t(c.value, ['if', 'value']);
    const test = c.equals !== undefined ? { op: 'equals' as const, to: t(c.equals, ['if', 'equals']) }
      : c.contains !== undefined ? { op: 'contains' as const, to: t(c.contains, ['if', 'contains']) }
        : c.matches !== undefined ? { op: 'matches' as const, re: c.matches }
          : { op: c.empty ? ('empty' as const) : ('not_empty' as const) };
    // Both branches see what the `if` step sees; neither sees the other (only one of them runs).
    return { ...base, kind: 'if', value, test, then: compileList(n.then, visible, ctx), else: compileList(n.else, visible, ctx) };
  }
  return { ...base, kind: 'wait', ms: r.wait ?? 0 };
}

/** The template, or (after reporting why) an empty one so the rest can still be checked. */
function compileChecked(text: string, allowed: readonly string[], visible: readonly string[], path: Path, ctx: Ctx): CompiledTemplate {
  try {
    return compileTemplate(text, allowed);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    ctx.report(path, explain(err, visible, path, ctx));
    return compileTemplate('', []);
  }
}

/** A reference to a step or variable that exists, but not yet at this point, says so and where it is. */
function explain(err: TemplateError, visible: readonly string[], path: Path, ctx: Ctx): string {
  const v = err.variable ?? '';
  const step = /^steps\.([^.]+)(?:\.(.*))?$/.exec(v);
  if (step) {
    const name = step[1]!;
    const field = step[2];
    if (visible.includes(name)) return `unknown template variable "{{${v}}}": expected {{steps.${name}.output}} or {{steps.${name}.status}}`;
    const at = ctx.where.get(name);
    if (at && field !== undefined) {
      return `{{${v}}} reads step "${name}" (${formatPath(at)}), which has not run at this point: expected a step before this one, in its own branch or before the if steps around it`;
    }
  }
  const set = /^vars\.([^.]+)$/.exec(v);
  const setAt = set ? ctx.setAt.get(set[1]!) : undefined;
  if (setAt) {
    // Both paths end in `set.NAME`: the same step when what comes before is the same.
    const here = path.at(-2) === 'set' && formatPath(setAt.slice(0, -2)) === formatPath(path.slice(0, -2));
    return here
      ? `{{${v}}} is first set by this step: expected a variable set before it (a set step reads the variables as they were before it)`
      : `{{${v}}} is set only later (${formatPath(setAt)}): expected a variable set before this step`;
  }
  return err.message;
}

/** Values inserted into a text body are encoded for its Content-Type (a form body unless a header says otherwise). */
function bodyEncoding(headers: Record<string, string>): BodyEncoding {
  const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1].toLowerCase();
  if (type === undefined || type.includes('application/x-www-form-urlencoded')) return 'form';
  return /[/+]json\b/.test(type) ? 'json' : 'raw';
}

type T = (text: string, path: Path) => CompiledTemplate;

function jsonMap(value: Record<string, unknown>, path: Path, t: T, ctx: Ctx, stepPath: Path): JsonMap {
  return { type: 'map', entries: Object.entries(value).map(([k, v]) => [k, json(v, [...path, k], t, ctx, stepPath)] as const) };
}

function json(value: unknown, path: Path, t: T, ctx: Ctx, stepPath: Path): JsonTemplate {
  if (typeof value === 'string') return { type: 'text', text: t(value, path) };
  if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return { type: 'literal', value };
  if (Array.isArray(value)) return { type: 'list', items: value.map((v, i) => json(v, [...path, i], t, ctx, stepPath)) };
  if (typeof value === 'object') return jsonMap(value as Record<string, unknown>, path, t, ctx, stepPath);
  ctx.report([...stepPath, ...path], 'expected texts, numbers, true/false, lists or mappings in a JSON body');
  return { type: 'literal', value: null };
}
