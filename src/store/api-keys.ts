// Managed API keys (`clawdbot keys add/list/revoke`): each has a name and a role. The secret is made
// here, shown once, and only its SHA-256 is stored. A slow password hash (scrypt, argon2) protects
// guessable secrets; these are 256 random bits, which no offline search can find from the digest, and a
// fast hash keeps the per-request lookup to one digest and one index hit.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isRole, type Role } from '../core/policy.ts';
import type { Db } from './db.ts';

/** Every managed key starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const KEY_PREFIX = 'cbk_';
/** The principal of the config file's `security.api_key`. */
export const CONFIG_KEY_NAME = 'config';
/**
 * Principal names the gateway gives otherwise (the config key; a caller let in without a key; a public
 * route): a managed key named so would be mistaken for them in rate limits, logs and audit records.
 */
const RESERVED_NAMES = new Set([CONFIG_KEY_NAME, 'anonymous', 'public']);
/** last_used_at is written at most this often per key: a busy client must not cost a write per request. */
export const TOUCH_INTERVAL_MS = 60_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type ApiKeyErrorCode = 'bad_name' | 'exists';

export class ApiKeyError extends Error {
  override name = 'ApiKeyError';
  readonly code: ApiKeyErrorCode;
  constructor(code: ApiKeyErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** A key as `add` returns it: the only time the secret is seen. */
export interface NewApiKey {
  readonly name: string;
  readonly role: Role;
  readonly key: string;
}

/** A key as `list` shows it: never the secret, never its hash. */
export interface ApiKeyInfo {
  readonly name: string;
  readonly role: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

export interface KeyHolder {
  readonly name: string;
  readonly role: Role;
}

interface InfoRow { name: string; role: string; created_at: number; last_used_at: number | null; revoked_at: number | null }

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class ApiKeys {
  readonly #insert;
  readonly #dropRevoked;
  readonly #active;
  readonly #list;
  readonly #revoke;
  readonly #byHash;
  readonly #any;
  readonly #touch;
  /** When each key's last_used_at was last written by this process. Bounded by the number of keys. */
  readonly #touched = new Map<string, number>();

  constructor(db: Db) {
    this.#insert = db.prepare('INSERT INTO api_keys (name, role, hash, created_at) VALUES (?, ?, ?, ?)');
    this.#dropRevoked = db.prepare('DELETE FROM api_keys WHERE name = ? AND revoked_at IS NOT NULL');
    this.#active = db.prepare('SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL');
    this.#list = db.prepare('SELECT name, role, created_at, last_used_at, revoked_at FROM api_keys ORDER BY name');
    this.#revoke = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL');
    this.#byHash = db.prepare('SELECT name, role, hash FROM api_keys WHERE hash = ? AND revoked_at IS NULL');
    this.#any = db.prepare('SELECT EXISTS (SELECT 1 FROM api_keys) AS n').pluck();
    this.#touch = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE name = ?');
  }

  /**
   * Makes a key for `name` with `role`. A revoked key's name may be used again (its row is replaced; the
   * audit trail keeps the history); an active one's may not. Run it in the transaction that writes the
   * audit record of the change.
   */
  add(name: string, role: Role, now: number): NewApiKey {
    if (!NAME.test(name)) throw new ApiKeyError('bad_name', `key name "${name}" must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    if (RESERVED_NAMES.has(name)) throw new ApiKeyError('bad_name', `"${name}" is reserved (the config file's key is "${CONFIG_KEY_NAME}"; callers without a key are "anonymous"); choose another name`);
    if (this.#active.get(name)) throw new ApiKeyError('exists', `a key named "${name}" exists; revoke it first to replace it`);
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    this.#dropRevoked.run(name);
    this.#insert.run(name, role, sha256(key).toString('hex'), now);
    return { name, role, key };
  }

  list(): ApiKeyInfo[] {
    return (this.#list.all() as InfoRow[]).map((r) => ({
      name: r.name, role: r.role, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at,
    }));
  }

  /** False when there is no active key of that name. Takes effect at the next request. */
  revoke(name: string, now: number): boolean {
    return this.#revoke.run(now, name).changes > 0;
  }

  /**
   * The active key whose secret is `key`. The lookup is by its digest, so timing reveals nothing about
   * stored secrets; the fetched digest is compared again in constant time rather than trusting the
   * index match alone. A row whose role is not a known role grants nothing.
   */
  find(key: string): KeyHolder | undefined {
    const given = sha256(key);
    const row = this.#byHash.get(given.toString('hex')) as { name: string; role: string; hash: string } | undefined;
    if (!row || !isRole(row.role)) return undefined;
    const stored = Buffer.from(row.hash, 'hex');
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined;
    return { name: row.name, role: row.role };
  }

  /**
   * Whether any key was ever added, revoked ones included: then every authenticated endpoint requires a
   * key. Revoking the last key must close the gateway, not open it to everyone.
   */
  any(): boolean {
    return this.#any.get() === 1;
  }

  /** Records a use of `name`; writes at most once per TOUCH_INTERVAL_MS per key. */
  touch(name: string, now: number): void {
    const last = this.#touched.get(name);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.#touched.set(name, now);
    this.#touch.run(now, name);
  }
}
