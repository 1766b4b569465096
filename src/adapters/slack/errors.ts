// @slack/web-api errors → AdapterError kinds.
import { AdapterError } from '../../core/errors.ts';

const AUTH = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'not_allowed_token_type', 'missing_scope']);

export function toAdapterError(err: unknown): AdapterError {
  if (err instanceof AdapterError) return err;
  const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; message?: string; statusCode?: number };
  if (e?.code === 'slack_webapi_rate_limited_error') {
    return new AdapterError('slack', 'rate_limited', 'ratelimited', { retryAfterMs: (e.retryAfter ?? 1) * 1000, cause: err });
  }
  if (e?.code === 'slack_webapi_platform_error') {
    const code = e.data?.error ?? 'unknown_error';
    return new AdapterError('slack', AUTH.has(code) ? 'auth' : 'rejected', code, { cause: err });
  }
  if (e?.code === 'slack_webapi_http_error' && (e.statusCode ?? 0) < 500) {
    return new AdapterError('slack', 'rejected', `HTTP ${e.statusCode}`, { cause: err });
  }
  return new AdapterError('slack', 'network', e?.message ?? String(err), { cause: err });
}
