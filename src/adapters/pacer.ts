// Outbound pacing for a platform's own limits (Telegram: ~30 messages/s overall, 1/s per chat, 20/min
// per group). A send waits here until every bucket it draws from has a token, so the platform rarely
// needs to answer 429 at all; when it still does, the adapter throws rate_limited and the gateway
// retries after retry_after.
import { RateLimiter } from '../core/ratelimit.ts';
import type { ChatType } from '../core/types.ts';

export interface PacerLimits {
  readonly global?: { readonly limit: number; readonly windowMs: number };
  readonly perChat?: { readonly limit: number; readonly windowMs: number };
  readonly perGroup?: { readonly limit: number; readonly windowMs: number };
}

const bucket = (l: { limit: number; windowMs: number } | undefined) => (l ? new RateLimiter({ ...l, text: `${l.limit}/${l.windowMs}ms` }) : undefined);

export class Pacer {
  readonly #global: RateLimiter | undefined;
  readonly #chat: RateLimiter | undefined;
  readonly #group: RateLimiter | undefined;

  constructor(limits: PacerLimits) {
    this.#global = bucket(limits.global);
    this.#chat = bucket(limits.perChat);
    this.#group = bucket(limits.perGroup);
  }

  /** Resolves when one message to `chatId` may go out; rejects when `signal` aborts first. */
  async acquire(chatId: string, chatType: ChatType, signal?: AbortSignal): Promise<void> {
    const limiters: [RateLimiter, string][] = [];
    if (this.#chat) limiters.push([this.#chat, chatId]);
    if (this.#group && chatType !== 'dm') limiters.push([this.#group, chatId]);
    if (this.#global) limiters.push([this.#global, '*']);
    // Take from each bucket in turn, waiting where one is empty; a token already taken is kept, so a
    // wait never costs a second token from the same bucket.
    for (const [limiter, key] of limiters) {
      for (;;) {
        const t = limiter.take(key);
        if (t.ok) break;
        await sleep(t.retryAfterMs, signal);
      }
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
