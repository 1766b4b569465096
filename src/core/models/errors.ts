// Turning transport failures into ModelError kinds, shared by both providers.
import { ModelError } from '../errors.ts';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EPIPE']);

/** Maps anything a request threw to a ModelError; `timedOut` tells our own deadline from a caller's abort. */
export function toModelError(err: unknown, endpoint: string, timedOut: boolean): ModelError {
  if (err instanceof ModelError) return err;
  if (timedOut) return new ModelError('timeout', `model request to ${endpoint} timed out`, { cause: err });
  const e = err as { name?: string; code?: string; cause?: { code?: string }; message?: string };
  if (e?.name === 'AbortError') return new ModelError('aborted', `model request to ${endpoint} was cancelled`, { cause: err });
  // fetch() refuses a list of "bad ports" (6000, 6665-6669, ...) outright, before any connection.
  if ((e?.cause as { message?: string } | undefined)?.message === 'bad port') {
    return new ModelError('unreachable', `model endpoint ${endpoint} uses a port that fetch() refuses to contact; use another port`, { cause: err });
  }
  const code = e?.cause?.code ?? e?.code;
  if (code && NETWORK_CODES.has(code)) {
    return new ModelError('unreachable', `model endpoint ${endpoint} unreachable (${code})`, { cause: err });
  }
  return new ModelError('bad_response', `model endpoint ${endpoint}: ${e?.message ?? String(err)}`, { cause: err });
}

/** An AbortSignal that fires on the caller's signal or after `timeoutMs`; tells which one fired. */
export function deadline(timeoutMs: number, outer?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean } {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
  return { signal, timedOut: () => timeout.aborted && !outer?.aborted };
}
