// Rate limits: token buckets keyed by a string (an API key's name, a platform user, a chat). "100/min"
// allows a burst of 100, then refills continuously: one more every 600 ms.
//
// Each bucket is kept in its "virtual scheduling" form (GCRA), which is the same token bucket stored as one
// number: `tat`, the time at which the bucket would be full again. Tokens left = (now + window - tat) /
// interval. Compared with counting fractional tokens, the arithmetic is exact for whole-ms intervals, so
// the wait it reports is the wait the next request sees.
import type { RateLimit } from './config/types.ts';

export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export interface LimiterOptions {
  /**
   * Most buckets kept. Full buckets are dropped once per window (they carry no state); beyond this many
   * in one window the least recently used is dropped, which hands that key a fresh bucket: memory stays
   * bounded however many distinct users write, at the price of leniency under such a flood.
   */
  readonly maxEntries?: number;
  /** The clock (tests); default Date.now. */
  readonly now?: () => number;
}

export const DEFAULT_MAX_ENTRIES = 10_000;

interface Bucket {
  /** When the bucket is full again (≤ now: it is full). */
  tat: number;
  /** When the last refusal notice for this key was given (see `notice`). */
  noticeAt: number;
}

export class RateLimiter {
  readonly #rate: RateLimit;
  /** ms per token. */
  readonly #interval: number;
  /** How far ahead of now `tat` may run: the burst, minus the token being taken. */
  readonly #tolerance: number;
  readonly #max: number;
  readonly #clock: () => number;
  /** In least-recently-used order (a used bucket is moved to the end). */
  readonly #buckets = new Map<string, Bucket>();
  #sweepAt = 0;

  constructor(rate: RateLimit, opts: LimiterOptions = {}) {
    this.#rate = rate;
    this.#interval = rate.windowMs / rate.limit;
    this.#tolerance = rate.windowMs - this.#interval;
    this.#max = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#clock = opts.now ?? Date.now;
  }

  get text(): string {
    return this.#rate.text;
  }

  get windowMs(): number {
    return this.#rate.windowMs;
  }

  /** Buckets held now (a key absent here has a full bucket). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `key`, or says how long until one is there. */
  take(key: string, now = this.#clock()): Take {
    const b = this.#bucket(key, now);
    const wait = this.#wait(b, now);
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    b.tat = Math.max(b.tat, now) + this.#interval;
    return { ok: true };
  }

  /** ms until `key` has a token (0: it has one now). Takes nothing. */
  wait(key: string, now = this.#clock()): number {
    const b = this.#buckets.get(key);
    return b ? this.#wait(b, now) : 0;
  }

  #wait(b: Bucket, now: number): number {
    return Math.max(0, Math.ceil(b.tat - now - this.#tolerance));
  }

  /**
   * Call on a refusal: true when `key` has not been told about it within the last window, and marks it
   * told. So a person hears one notice per window, then silence, however often they retry.
   */
  notice(key: string, now = this.#clock()): boolean {
    const b = this.#bucket(key, now);
    if (now - b.noticeAt < this.#rate.windowMs) return false;
    b.noticeAt = now;
    return true;
  }

  #bucket(key: string, now: number): Bucket {
    if (now >= this.#sweepAt) this.#sweep(now);
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key); // re-inserted below: the Map's order is the recency order
    } else {
      b = { tat: now, noticeAt: -Infinity };
      if (this.#buckets.size >= this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    this.#buckets.set(key, b);
    return b;
  }

  // A full bucket whose notice has expired is the same as no bucket: drop those once per window.
  #sweep(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tat <= now && now - b.noticeAt >= this.#rate.windowMs) this.#buckets.delete(key);
    }
    this.#sweepAt = now + this.#rate.windowMs;
  }
}

export type ChatTake =
  | { readonly ok: true }
  /** `notify`: tell the person (once per window); otherwise drop the message silently. */
  | { readonly ok: false; readonly retryAfterMs: number; readonly notify: boolean };

/**
 * Limits for chat platforms, per platform user and per chat (security.rate_limits.user / .chat). A
 * message must fit both; a refused message takes no token from either, so it does not eat into the budget
 * it was refused by.
 */
export class ChatLimits {
  readonly #user: RateLimiter | undefined;
  readonly #chat: RateLimiter | undefined;

  constructor(limits: { readonly user: RateLimit | undefined; readonly chat: RateLimit | undefined }, opts: LimiterOptions = {}) {
    this.#user = limits.user && new RateLimiter(limits.user, opts);
    this.#chat = limits.chat && new RateLimiter(limits.chat, opts);
  }

  /** Whether any per-user or per-chat limit is configured. */
  get any(): boolean {
    return this.#user !== undefined || this.#chat !== undefined;
  }

  take(platform: string, userId: string, chatId: string, now = Date.now()): ChatTake {
    const scopes: [RateLimiter, string][] = [];
    if (this.#user) scopes.push([this.#user, `${platform}:${userId}`]);
    if (this.#chat) scopes.push([this.#chat, `${platform}:${chatId}`]);
    const blocked = scopes.map(([l, key]) => ({ l, key, wait: l.wait(key, now) })).filter((s) => s.wait > 0);
    if (blocked.length === 0) {
      for (const [l, key] of scopes) l.take(key, now);
      return { ok: true };
    }
    // Every blocking scope records its notice (no short-circuit): a chat told once stays quiet for the
    // window even when the next refusal there is also a user's.
    const notices = blocked.map((s) => s.l.notice(s.key, now));
    return { ok: false, retryAfterMs: Math.max(...blocked.map((s) => s.wait)), notify: notices.some(Boolean) };
  }
}
