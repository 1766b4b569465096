// grammY's errors → AdapterError kinds (the gateway decides retries by kind).
import { AdapterError } from '../../core/errors.ts';

interface GrammyLike { name?: string; error_code?: number; description?: string; parameters?: { retry_after?: number }; message?: string }

export function toAdapterError(err: unknown): AdapterError {
  if (err instanceof AdapterError) return err;
  const e = err as GrammyLike;
  if (e?.name === 'GrammyError' && typeof e.error_code === 'number') {
    const text = `${e.error_code} ${e.description ?? ''}`.trim();
    if (e.error_code === 429) {
      return new AdapterError('telegram', 'rate_limited', text, { retryAfterMs: (e.parameters?.retry_after ?? 1) * 1000, cause: err });
    }
    if (e.error_code === 401) return new AdapterError('telegram', 'auth', `${text} (check adapters.telegram.token)`, { cause: err });
    if (e.error_code >= 500) return new AdapterError('telegram', 'network', text, { cause: err });
    // 400 (bad request, chat not found), 403 (blocked by the user, kicked from the group): permanent.
    return new AdapterError('telegram', 'rejected', text, { cause: err });
  }
  if (e?.name === 'AbortError') return new AdapterError('telegram', 'unavailable', 'cancelled (shutting down)', { cause: err });
  // grammY's HttpError and anything else on the way: the network.
  return new AdapterError('telegram', 'network', e?.message ?? String(err), { cause: err });
}

/** True for the 400 Telegram answers when our HTML is not what it accepts. */
export function isEntityError(err: unknown): boolean {
  const e = err as GrammyLike;
  return e?.name === 'GrammyError' && e.error_code === 400 && /can't parse entities/i.test(e.description ?? '');
}
