// `clawdbot keys add NAME --role ROLE`, `keys list [--json]`, `keys revoke NAME`: managed API keys.
// Each change is written together with its audit record (key_change), in one transaction; the record
// names the key and its role, never the secret. A running serve sees a change at its next request.
import type { Config } from '../core/config/types.ts';
import { UsageError } from '../core/errors.ts';
import { ROLES, type Role } from '../core/policy.ts';
import { ApiKeyError, ApiKeys, type ApiKeyInfo } from '../store/api-keys.ts';
import { AuditLog, type AuditEvent } from '../store/audit.ts';
import { attachAudit } from '../core/audit.ts';
import { Redactor } from '../core/redact.ts';
import { Store } from '../store/store.ts';
import { commandContext, databasePath, loginName, type GlobalOptions } from './context.ts';

export type KeysCommand = 'add' | 'list' | 'revoke';

export interface KeysOptions extends GlobalOptions {
  /** add: the key's role (case-insensitive). */
  readonly role?: string;
  /** list: one JSON array instead of a table. */
  readonly json?: boolean;
}

/** Where the command writes: stdout carries results (the new key alone, the list), stderr the prose. */
export interface KeysOutput {
  out(text: string): void;
  err(text: string): void;
}

const stdio: KeysOutput = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Exit codes: 0 done, 1 no such key (or the name is taken), 2 usage. */
export async function runKeys(sub: KeysCommand, args: readonly string[], opts: KeysOptions, io: KeysOutput = stdio): Promise<number> {
  switch (sub) {
    case 'add': {
      const name = onlyName(sub, args);
      const role = roleOf(opts.role);
      return withKeyStore(opts, (store) => add(store, name, role, io));
    }
    case 'revoke': {
      const name = onlyName(sub, args);
      return withKeyStore(opts, (store) => revoke(store, name, io));
    }
    case 'list':
      if (args.length > 0) throw new UsageError(`keys list: unexpected argument "${args[0]}"`);
      return withKeyStore(opts, (store, config) => list(store.keys.list(), config, opts.json === true, io));
  }
}

async function withKeyStore(opts: GlobalOptions, body: (store: KeyStore, config: Config) => number | Promise<number>): Promise<number> {
  const { config } = await commandContext(opts, 'warn');
  const store = openKeyStore(config);
  try {
    return await body(store, config);
  } finally {
    store.close();
  }
}

function onlyName(sub: KeysCommand, args: readonly string[]): string {
  if (args.length !== 1 || !args[0]) throw new UsageError(`keys ${sub}: expected exactly one key name`);
  return args[0];
}

function roleOf(written: string | undefined): Role {
  if (written === undefined) throw new UsageError(`keys add: --role is required (one of ${ROLES.join(', ')})`);
  const role = ROLES.find((r) => r.toLowerCase() === written.trim().toLowerCase());
  if (!role) throw new UsageError(`keys add: unknown role "${written}" (expected one of ${ROLES.join(', ')})`);
  return role;
}

interface KeyStore {
  readonly keys: ApiKeys;
  /** Runs a key change and its audit record in one write transaction (the shape of Store.write). */
  change<T>(fn: (keys: ApiKeys, audit: AuditLog) => T): Promise<T>;
  /** The audit record of a change made by whoever runs this command. */
  event(input: string): AuditEvent;
  close(): void;
}

// The store does not hand out its database, so the keys and the audit log are opened on a database of
// their own here; IMMEDIATE takes the write lock before the audit chain's last hash is read (as
// Store.write does), so a serve writing at the same time still builds one chain. openDb refuses an
// encrypted database without its key, so nothing is written in clear next to encrypted rows.
function openKeyStore(config: Config): KeyStore {
  // Through the Store: its data key, its audit file sink and its group commit, like every other writer.
  const store = Store.open(databasePath(config), { key: config.security.encryptionKey });
  attachAudit(store, config.audit, Redactor.fromConfig(config));
  const user = loginName();
  return {
    keys: store.apiKeys,
    change: async (fn) => {
      const r = await store.write(() => fn(store.apiKeys, store.audit));
      await store.write(() => store.audit.mirror(store.audit.lastId())); // the audit file too, now
      return r;
    },
    event: (input) => ({
      eventType: 'key_change', userId: user, platform: 'cli', role: config.security.roles.roleOf('cli', user), conversation: null,
      decision: 'allowed', input, output: null, durationMs: null, modelVersion: null,
    }),
    close: () => store.close(),
  };
}

async function add(store: KeyStore, name: string, role: Role, io: KeysOutput): Promise<number> {
  let key: string;
  try {
    key = await store.change((keys, audit) => {
      const now = Date.now();
      const made = keys.add(name, role, now);
      audit.append(store.event(`add ${name} role ${role}`), now);
      return made.key;
    });
  } catch (err) {
    if (!(err instanceof ApiKeyError)) throw err;
    if (err.code === 'bad_name') throw new UsageError(`keys add: ${err.message}`);
    io.err(`clawdbot: ${err.message}\n`);
    return 1;
  }
  io.err(`Added key "${name}" with role ${role}. This is the only time it is shown: store it now. Clients send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".\n`);
  io.out(`${key}\n`);
  return 0;
}

async function revoke(store: KeyStore, name: string, io: KeysOutput): Promise<number> {
  const done = await store.change((keys, audit) => {
    const now = Date.now();
    if (!keys.revoke(name, now)) return false;
    audit.append(store.event(`revoke ${name}`), now);
    return true;
  });
  if (!done) {
    io.err(`clawdbot: no active key named "${name}" (see clawdbot keys list)\n`);
    return 1;
  }
  io.out(`Revoked key "${name}": it is refused from the next request on.\n`);
  return 0;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function list(rows: readonly ApiKeyInfo[], config: Config, json: boolean, io: KeysOutput): number {
  if (json) {
    io.out(`${JSON.stringify(rows.map((r) => ({
      name: r.name, role: r.role, created_at: iso(r.createdAt), last_used_at: iso(r.lastUsedAt), revoked_at: iso(r.revokedAt),
    })))}\n`);
    return 0;
  }
  const table = [
    ['NAME', 'ROLE', 'CREATED', 'LAST USED', 'STATUS'],
    ...rows.map((r) => [r.name, r.role, iso(r.createdAt)!, iso(r.lastUsedAt) ?? 'never', r.revokedAt === null ? 'active' : `revoked ${iso(r.revokedAt)}`]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  if (rows.length === 0) io.out('No managed keys (add one with: clawdbot keys add NAME --role ROLE).\n');
  else io.out(table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
  if (config.security.apiKey) io.out('The config file\'s security.api_key is also accepted, as the Admin key "config".\n');
  return 0;
}
