// Token buckets keyed by a string (an API key's name, a user): `limit` tokens per `windowMs`, refilled
// continuously, so "100/min" allows a burst of 100 and then one every 600 ms.
import type { RateLimit } from './config/types.ts';

export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket { tokens: number; at: number }

export class RateLimiter {
  readonly #rate: RateLimit;
  readonly #perMs: number;
  readonly #buckets = new Map<string, Bucket>();
  #sweepAt = 0;

  constructor(rate: RateLimit) {
    this.#rate = rate;
    this.#perMs = rate.limit / rate.windowMs;
  }

  get text(): string {
    return this.#rate.text;
  }

  take(key: string, now = Date.now()): Take {
    if (now >= this.#sweepAt) this.#sweep(now);
    let b = this.#buckets.get(key);
    if (!b) {
      b = { tokens: this.#rate.limit, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.#rate.limit, b.tokens + (now - b.at) * this.#perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - b.tokens) / this.#perMs) };
  }

  // Buckets that have refilled completely carry no state worth keeping: drop them once per window.
  #sweep(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#perMs >= this.#rate.limit) this.#buckets.delete(key);
    }
    this.#sweepAt = now + this.#rate.windowMs;
  }
}
