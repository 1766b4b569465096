// `security.rate_limit` (the seed's: per API key, or per client address without a key) and
// `security.rate_limits: { key, user, chat }`: per API key (overrides rate_limit), per platform user and
// per chat. Each is a rate in the seed's syntax ("100/min", "5/s", "1000/h"); an absent one does not limit.
import { nullish, type output } from 'zod/mini';
import { obj, val } from './kit.ts';
import type { RateLimit } from './types.ts';
import { EXPECTED_RATE, parseRate } from './units.ts';

const rate = val(EXPECTED_RATE, parseRate);

/** The `security.rate_limits` mapping (schema.ts adds it as `rate_limits: nullish(rateLimitsSection)`). */
export const rateLimitsSection = obj({
  key: nullish(rate),
  user: nullish(rate),
  chat: nullish(rate),
});

export type RawRateLimits = output<typeof rateLimitsSection>;

export interface RateLimits {
  /** Requests per API key on the HTTP and WebSocket endpoints (per client address when no key is set). */
  readonly key: RateLimit | undefined;
  /** Messages per platform user ("telegram:42"). */
  readonly user: RateLimit | undefined;
  /** Messages per chat ("slack:C123"), whoever writes them. */
  readonly chat: RateLimit | undefined;
}

/** From the parsed `security` section: `rate_limits.key` wins over the older `rate_limit`. */
export function compileRateLimits(sec: { readonly rate_limit?: RateLimit | null; readonly rate_limits?: RawRateLimits | null }): RateLimits {
  const r = sec.rate_limits;
  return {
    key: r?.key ?? sec.rate_limit ?? undefined,
    user: r?.user ?? undefined,
    chat: r?.chat ?? undefined,
  };
}
