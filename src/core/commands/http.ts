// The `http` runner (undici), also used by workflows' `http` step. Every value lands encoded for where
// it goes, so it can never change the request's shape:
//   URL          encodeURIComponent: a value cannot add a path segment, a query parameter or a host;
//   headers      as is, but a value holding CR, LF or NUL is refused (no header or request splitting);
//   JSON body    (a mapping) the value is put into the string and the whole document goes through
//                JSON.stringify: quotes and backslashes are escaped, no key or value can be added;
//   text body    (a string) percent-encoded like a form field: the one encoding that keeps a value inside
//                its field whatever it holds; the content type is application/x-www-form-urlencoded
//                unless the command sets one. For a JSON API, write the body as a mapping.
// Redirects are not followed: the request goes to the configured host and nowhere else.
import { ExecError } from '../errors.ts';
import { CappedOutput } from './output.ts';
import { fill } from './placeholders.ts';
import type { CommandResult, HttpRequestSpec, JsonValue, RunLimits } from './types.ts';

/** At most this much of an error response is kept for the log (and never more than the output cap). */
const EXCERPT_BYTES = 2048;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** The request with `values` filled in (see the top of this file); ExecError BAD_ARGUMENT if a value does not fit. */
export function renderRequest(req: HttpRequestSpec, values: Readonly<Record<string, string>>): { url: string; headers: Record<string, string>; body: string | undefined } {
  const url = fill(req.url, values, encodeURIComponent);
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new ExecError('BAD_ARGUMENT', `not an http(s) URL: ${url}`);
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(req.headers)) {
    const v = fill(template, values);
    if (/[\r\n\0]/.test(v)) throw new ExecError('BAD_ARGUMENT', `header ${name}: the value holds a line break or NUL`);
    headers[name.toLowerCase()] = v;
  }
  let body: string | undefined;
  if (typeof req.body === 'string') {
    body = fill(req.body, values, encodeURIComponent);
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (req.body !== undefined) {
    body = JSON.stringify(fillJson(req.body, values));
    headers['content-type'] ??= 'application/json';
  }
  return { url, headers, body };
}

function fillJson(v: JsonValue, values: Readonly<Record<string, string>>): JsonValue {
  if (typeof v === 'string') return fill(v, values);
  if (Array.isArray(v)) return v.map((x) => fillJson(x, values));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillJson(x, values)]));
  return v;
}

export async function runHttpRequest(req: HttpRequestSpec, values: Readonly<Record<string, string>>, opts: RunLimits): Promise<CommandResult> {
  const started = performance.now();
  const { url, headers, body } = renderRequest(req, values);
  // For messages: without the query, which may carry a key.
  const { origin, pathname } = new URL(url);
  const target = `${req.method} ${origin}${pathname}`;
  if (opts.signal.aborted) throw new ExecError('ABORTED', `${target}: cancelled before it started`);
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, timeout]);
  const out = new CappedOutput(opts.outputCap);
  let status: number | undefined;
  try {
    // Loaded on first use: a gateway that never runs an http command does not keep undici's code resident.
    const { request } = await import('undici');
    const res = await request(url, { method: req.method, headers, body, signal, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
    status = res.statusCode;
    const ok = req.expectStatus ? req.expectStatus.includes(status) : status >= 200 && status < 300;
    const kept = ok ? out : new CappedOutput(Math.min(EXCERPT_BYTES, opts.outputCap));
    // Leaving the loop destroys the body: nothing past the cap is downloaded.
    for await (const chunk of res.body) {
      kept.push(chunk as Buffer);
      if (kept.truncated) break;
    }
    if (!ok) {
      const expected = req.expectStatus ? req.expectStatus.join(' or ') : '2xx';
      throw new ExecError('UNEXPECTED_STATUS', `${target} answered ${status}, expected ${expected}`, { output: kept.text(), exitCode: status });
    }
    return { output: out.text(), truncated: out.truncated, exitCode: status, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    throw toExecError(err, target, { aborted: opts.signal.aborted, timedOut: timeout.aborted && !opts.signal.aborted, timeoutMs: opts.timeoutMs, output: out.text(), status });
  }
}

function toExecError(err: unknown, target: string, at: { aborted: boolean; timedOut: boolean; timeoutMs: number; output: string; status: number | undefined }): ExecError {
  if (err instanceof ExecError) return err;
  const e = err as { name?: string; code?: string; cause?: { code?: string }; message?: string };
  const extra = { cause: err, output: at.output, ...(at.status !== undefined && { exitCode: at.status }) };
  const timedOut = at.timedOut || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT';
  if (timedOut) return new ExecError('TIMEOUT', `${target}: no complete answer within ${at.timeoutMs} ms`, extra);
  if (at.aborted) return new ExecError('ABORTED', `${target}: cancelled`, extra);
  const code = e.code ?? e.cause?.code;
  const why = code && NETWORK_CODES.has(code) ? code : (e.message ?? String(err));
  return new ExecError('CONNECT_FAILED', `${target}: ${why}`, extra);
}
