// API-key authentication for the gateway's HTTP and WebSocket endpoints. Keys travel in headers only
// (Authorization: Bearer, or X-API-Key); a key in the URL is refused, since URLs end up in logs and
// browser history. Comparison is constant-time over fixed-length digests.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthResult = { readonly ok: true; readonly principal: string } | { readonly ok: false; readonly error: string };

const QUERY_SECRETS = ['api_key', 'apikey', 'key', 'token', 'access_token'];

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ApiKeyAuth {
  readonly #key: Buffer | undefined;

  /** With no key configured every request is let in (serve allows that only on loopback). */
  constructor(apiKey: string | undefined) {
    this.#key = apiKey ? digest(apiKey) : undefined;
  }

  get required(): boolean {
    return this.#key !== undefined;
  }

  check(req: IncomingMessage): AuthResult {
    const url = new URL(req.url ?? '/', 'http://x');
    for (const name of QUERY_SECRETS) {
      if (url.searchParams.has(name)) return { ok: false, error: 'API keys are not accepted in the URL; send them in the Authorization or X-API-Key header' };
    }
    if (!this.#key) return { ok: true, principal: 'anonymous' };
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
    const xKey = req.headers['x-api-key'];
    const given = bearer ?? (typeof xKey === 'string' ? xKey.trim() : undefined);
    if (!given) return { ok: false, error: 'missing API key (Authorization: Bearer <key> or X-API-Key)' };
    if (!timingSafeEqual(digest(given), this.#key)) return { ok: false, error: 'invalid API key' };
    return { ok: true, principal: 'api_key' };
  }
}
