// API-key authentication for the gateway's HTTP and WebSocket endpoints. Keys travel in headers only
// (Authorization: Bearer, or X-API-Key); a key in the URL is refused, since URLs end up in logs and
// browser history. Each key has a name (the principal: rate limits and audit records use it) and a role.
// The config file's `security.api_key` is an Admin key named "config"; managed keys (src/store/api-keys.ts)
// are looked up per request, so a key added or revoked while serve runs counts from the next request.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Role } from '../policy.ts';
import { CONFIG_KEY_NAME } from '../../store/api-keys.ts';

export type AuthResult =
  | { readonly ok: true; readonly principal: string; readonly role: Role }
  | { readonly ok: false; readonly error: string };

/** Where managed keys come from (ApiKeys over the store's database). */
export interface KeySource {
  /** The active key with this secret; compared in constant time. */
  find(key: string): { readonly name: string; readonly role: Role } | undefined;
  /** Whether managed keys are in use (revoked ones count): then a key is required. */
  any(): boolean;
  /** Records a successful use (last used); may skip writes. */
  touch(name: string, now: number): void;
}

/** Callers let in because no key exists at all (serve allows that only on loopback): least privilege. */
const ANONYMOUS: AuthResult = { ok: true, principal: 'anonymous', role: 'User' };

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

/** The key a request carries in its headers, if any. */
function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const bearer = typeof header === 'string' && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
  const xKey = req.headers['x-api-key'];
  return bearer || (typeof xKey === 'string' ? xKey.trim() : undefined) || undefined;
}

export class ApiKeyAuth {
  readonly #key: Secret | undefined;
  readonly #keys: KeySource | undefined;

  /** With no key at all (config or managed) every request is let in as "anonymous", a User. */
  constructor(apiKey: string | undefined, keys?: KeySource) {
    this.#key = apiKey ? new Secret(apiKey) : undefined;
    this.#keys = keys;
  }

  get required(): boolean {
    return this.#key !== undefined || (this.#keys?.any() ?? false);
  }

  check(req: IncomingMessage): AuthResult {
    const url = new URL(req.url ?? '/', 'http://x');
    for (const name of QUERY_SECRETS) {
      if (url.searchParams.has(name)) return { ok: false, error: 'API keys are not accepted in the URL; send them in the Authorization or X-API-Key header' };
    }
    const given = presentedKey(req);
    if (given === undefined) {
      return this.required ? { ok: false, error: 'missing API key (Authorization: Bearer <key> or X-API-Key)' } : ANONYMOUS;
    }
    // Both comparisons work on digests: which one matched shows only to someone who holds a key.
    if (this.#key?.matches(given)) return { ok: true, principal: CONFIG_KEY_NAME, role: 'Admin' };
    const holder = this.#keys?.find(given);
    if (holder) {
      this.#touch(holder.name);
      return { ok: true, principal: holder.name, role: holder.role };
    }
    return this.required ? { ok: false, error: 'invalid API key' } : ANONYMOUS;
  }

  #touch(name: string): void {
    try {
      this.#keys?.touch(name, Date.now());
    } catch {
      // "last used" is informational: a database busy with another writer must not refuse a valid key.
    }
  }
}
