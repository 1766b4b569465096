// API-key authentication for the gateway's HTTP and WebSocket endpoints. Keys travel in headers only
// (Authorization: Bearer, or X-API-Key); a key in the URL is refused, since URLs end up in logs and
// browser history. Comparison is constant-time over fixed-length digests.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthResult = { readonly ok: true; readonly principal: string } | { readonly ok: false; readonly error: string };

const QUERY_SECRETS = ['api_key', 'apikey', 'key', 'token', 'access_token'];

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * A shared secret (API key, webhook secret) compared in constant time: both sides are hashed to a fixed
 * length first, so neither the content nor the length leaks through timing. The digest is made at the
 * first check, not at start-up: node:crypto costs ~0.8 MB resident once loaded, and the bundle loads it
 * on first use (scripts/build.ts, LAZY_BUILTINS).
 */
export class Secret {
  readonly #value: string;
  #digest: Buffer | undefined;

  constructor(value: string) {
    this.#value = value;
  }

  matches(given: unknown): boolean {
    if (typeof given !== 'string') return false;
    this.#digest ??= digest(this.#value);
    return timingSafeEqual(digest(given), this.#digest);
  }
}

export class ApiKeyAuth {
  readonly #key: Secret | undefined;

  /** With no key configured every request is let in (serve allows that only on loopback). */
  constructor(apiKey: string | undefined) {
    this.#key = apiKey ? new Secret(apiKey) : undefined;
  }

  get required(): boolean {
    return this.#key !== undefined;
  }

  check(req: IncomingMessage): AuthResult {
    const url = new URL(req.url ?? '/', 'http://x');
    for (const name of QUERY_SECRETS) {
      if (url.searchParams.has(name)) return { ok: false, error: 'API keys are not accepted in the URL; send them in the Authorization or X-API-Key header' };
    }
    if (this.#key === undefined) return { ok: true, principal: 'anonymous' };
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
    const xKey = req.headers['x-api-key'];
    const given = bearer ?? (typeof xKey === 'string' ? xKey.trim() : undefined);
    if (!given) return { ok: false, error: 'missing API key (Authorization: Bearer <key> or X-API-Key)' };
    if (!this.#key.matches(given)) return { ok: false, error: 'invalid API key' };
    return { ok: true, principal: 'api_key' };
  }
}
