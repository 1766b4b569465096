// API-key authentication for the gateway's HTTP and WebSocket endpoints. Keys travel in headers only
// (Authorization: Bearer, or X-API-Key); a key in the URL is refused, since URLs end up in logs and
// browser history. Comparison is constant-time over fixed-length digests.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthResult = { readonly ok: true; readonly principal: string } | { readonly ok: false; readonly error: string };

const QUERY_SECRETS = ['api_key', 'apikey', 'key', 'token', 'access_token'];

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ApiKeyAuth {
  readonly #apiKey: string | undefined;
  /**
   * Digest of the key, made at the first check, not at start-up: node:crypto costs ~0.8 MB resident once
   * loaded, and the bundle loads it on first use (scripts/build.ts, LAZY_BUILTINS). The key itself is in
   * the config in memory anyway.
   */
  #key: Buffer | undefined;

  /** With no key configured every request is let in (serve allows that only on loopback). */
  constructor(apiKey: string | undefined) {
    this.#apiKey = apiKey || undefined;
  }

  get required(): boolean {
    return this.#apiKey !== undefined;
  }

  check(req: IncomingMessage): AuthResult {
    const url = new URL(req.url ?? '/', 'http://x');
    for (const name of QUERY_SECRETS) {
      if (url.searchParams.has(name)) return { ok: false, error: 'API keys are not accepted in the URL; send them in the Authorization or X-API-Key header' };
    }
    if (this.#apiKey === undefined) return { ok: true, principal: 'anonymous' };
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
    const xKey = req.headers['x-api-key'];
    const given = bearer ?? (typeof xKey === 'string' ? xKey.trim() : undefined);
    if (!given) return { ok: false, error: 'missing API key (Authorization: Bearer <key> or X-API-Key)' };
    this.#key ??= digest(this.#apiKey);
    if (!timingSafeEqual(digest(given), this.#key)) return { ok: false, error: 'invalid API key' };
    return { ok: true, principal: 'api_key' };
  }
}
