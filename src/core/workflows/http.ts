// The http step's request, finished here: every value a template inserts is encoded for where it lands
// (URL-encoded in the URL, JSON-escaped in JSON, percent-encoded in a form body), so text from a user or
// a model can fill a value but never add a query parameter, a JSON key or a header line.
import type { HttpRequestSpec, JsonValue } from '../commands/types.ts';
import { ExecError } from '../errors.ts';
import type { BodyEncoding, HttpStep, JsonMap, JsonTemplate } from './types.ts';

type Vars = Record<string, unknown>;

const jsonInString = (v: string) => JSON.stringify(v).slice(1, -1);
const ENCODERS: Record<BodyEncoding, ((v: string) => string) | undefined> = {
  form: encodeURIComponent,
  json: jsonInString,
  raw: undefined,
};

/** Throws ExecError BAD_ARGUMENT when a header value would hold a line break (or the URL broke). */
export function buildRequest(step: HttpStep, vars: Vars): HttpRequestSpec {
  const url = step.url.render(vars, encodeURIComponent);
  if (!URL.canParse(url)) throw bad(step, `URL ${JSON.stringify(url)} does not parse`);
  // encodeURIComponent keeps dots: a value "." or ".." would be a path segment the URL parser resolves
  // (so would %2e), moving the request to another path on the host.
  const path = url.replace(/^[a-z]+:\/\/[^/?#]*/i, '').split(/[?#]/, 1)[0]!;
  if (path.split('/').some((seg) => /^(?:\.|%2e){1,2}$/i.test(seg))) throw bad(step, `URL ${JSON.stringify(url)} would hold a "." or ".." path segment`);
  const headers: Record<string, string> = {};
  for (const [name, t] of step.headers) {
    const value = t.render(vars);
    if (/[\r\n\0]/.test(value)) throw bad(step, `header ${name} would contain a line break`);
    headers[name] = value;
  }
  let body: HttpRequestSpec['body'];
  if (step.body?.type === 'text') body = step.body.text.render(vars, ENCODERS[step.body.encoding]);
  else if (step.body?.type === 'json') body = renderMap(step.body.value, vars);
  return { method: step.method, url, headers, body, expectStatus: step.expectStatus };
}

/** Whether `status` counts as success for the step (default: any 2xx). */
export function statusExpected(step: HttpStep, status: number): boolean {
  return step.expectStatus ? step.expectStatus.includes(status) : status >= 200 && status <= 299;
}

/** Strings rendered with raw values: JSON.stringify of the whole body escapes them. */
function renderJson(t: JsonTemplate, vars: Vars): JsonValue {
  switch (t.type) {
    case 'text': return t.text.render(vars);
    case 'literal': return t.value;
    case 'list': return t.items.map((i) => renderJson(i, vars));
    case 'map': return renderMap(t, vars);
  }
}

function renderMap(t: JsonMap, vars: Vars): { [key: string]: JsonValue } {
  return Object.fromEntries(t.entries.map(([k, v]) => [k, renderJson(v, vars)]));
}

function bad(step: HttpStep, why: string): ExecError {
  return new ExecError('BAD_ARGUMENT', `workflow step ${step.name}: ${why}`, { userText: `Step ${step.name} could not build its request.` });
}
