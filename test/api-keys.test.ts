// Managed API keys: stored as SHA-256 only, looked up per request (a key added or revoked by another
// connection counts at once), each with a name and a role; the config file's key is the Admin "config".
// Authentication is exercised over real HTTP: a server on 127.0.0.1 answers with ApiKeyAuth's verdict.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiKeyAuth, type AuthResult } from '../src/core/http/auth.ts';
import { HttpGateway } from '../src/core/http/server.ts';
import { ApiKeyError, ApiKeys, KEY_PREFIX, TOUCH_INTERVAL_MS } from '../src/store/api-keys.ts';
import { openDb, type OpenedDb } from '../src/store/db.ts';
import { quietLog } from './helpers/pipeline.ts';

const CONFIG_KEY = 'config-file-key-0123456789';

/** A real HTTP server whose every answer is `auth.check(req)` as JSON. */
async function authServer(auth: ApiKeyAuth): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => res.end(JSON.stringify(auth.check(req))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function check(url: string, headers: Record<string, string> = {}, path = '/v1/messages'): Promise<AuthResult> {
  const res = await fetch(url + path, { headers });
  return (await res.json()) as AuthResult;
}

function scratchDb(): { path: string; dir: string; open(): OpenedDb; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'clawdbot-keys-'));
  const path = join(dir, 'clawdbot.db');
  return { path, dir, open: () => openDb(path), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('ApiKeys (the table)', () => {
  it('makes a prefixed high-entropy key, finds it by its secret, and lists it without secret or hash', () => {
    const { db, close } = openDb(':memory:');
    const keys = new ApiKeys(db);
    const made = keys.add('ci', 'Operator', 1000);
    assert.equal(made.name, 'ci');
    assert.equal(made.role, 'Operator');
    assert.match(made.key, new RegExp(`^${KEY_PREFIX}[A-Za-z0-9_-]{43}$`));
    assert.notEqual(keys.add('other', 'User', 1000).key, made.key);
    assert.deepEqual(keys.find(made.key), { name: 'ci', role: 'Operator' });
    assert.equal(keys.find(`${made.key}x`), undefined);
    assert.equal(keys.find(''), undefined);

    const listed = keys.list();
    assert.deepEqual(listed[0], { name: 'ci', role: 'Operator', createdAt: 1000, lastUsedAt: null, revokedAt: null });
    const stored = db.prepare('SELECT hash FROM api_keys WHERE name = ?').pluck().get('ci') as string;
    const text = JSON.stringify(listed);
    assert.ok(!text.includes(made.key) && !text.includes(stored), 'list shows neither the key nor its hash');
    close();
  });

  it('revoke refuses the key at once; a revoked name may be reused, an active one not', () => {
    const { db, close } = openDb(':memory:');
    const keys = new ApiKeys(db);
    const first = keys.add('ci', 'Admin', 1);
    assert.throws(() => keys.add('ci', 'User', 2), (e) => e instanceof ApiKeyError && e.code === 'exists');
    assert.equal(keys.revoke('ci', 3), true);
    assert.equal(keys.find(first.key), undefined);
    assert.equal(keys.revoke('ci', 4), false, 'already revoked');
    assert.equal(keys.revoke('nobody', 4), false);
    assert.equal(keys.list()[0]!.revokedAt, 3);

    const second = keys.add('ci', 'User', 5);
    assert.deepEqual(keys.find(second.key), { name: 'ci', role: 'User' });
    assert.equal(keys.find(first.key), undefined, 'the old secret stays dead');
    close();
  });

  it('refuses reserved names ("config", "anonymous", "public") and malformed names', () => {
    const { db, close } = openDb(':memory:');
    const keys = new ApiKeys(db);
    for (const name of ['config', 'anonymous', 'public', '', '-x', 'a b', 'x'.repeat(65), 'naïve']) {
      assert.throws(() => keys.add(name, 'User', 1), (e) => e instanceof ApiKeyError && e.code === 'bad_name', name);
    }
    assert.deepEqual(keys.list(), []);
    close();
  });

  it('a stored row with an unknown role grants nothing', () => {
    const { db, close } = openDb(':memory:');
    const keys = new ApiKeys(db);
    const made = keys.add('odd', 'User', 1);
    db.prepare("UPDATE api_keys SET role = 'Root' WHERE name = 'odd'").run();
    assert.equal(keys.find(made.key), undefined);
    close();
  });

  it('records the last use at most once a minute per key', () => {
    const { db, close } = openDb(':memory:');
    const keys = new ApiKeys(db);
    keys.add('a', 'User', 0);
    keys.add('b', 'User', 0);
    const lastUsed = (n: string) => keys.list().find((k) => k.name === n)!.lastUsedAt;
    keys.touch('a', 10_000);
    keys.touch('a', 10_000 + TOUCH_INTERVAL_MS - 1);
    assert.equal(lastUsed('a'), 10_000);
    keys.touch('b', 20_000);
    assert.equal(lastUsed('b'), 20_000, 'per key');
    keys.touch('a', 10_000 + TOUCH_INTERVAL_MS);
    assert.equal(lastUsed('a'), 10_000 + TOUCH_INTERVAL_MS);
    close();
  });

  it('the raw database file never contains the key, only its hash', () => {
    const s = scratchDb();
    const opened = s.open();
    const keys = new ApiKeys(opened.db);
    const made = keys.add('ci', 'Admin', 1);
    keys.touch('ci', 2);
    const hash = opened.db.prepare('SELECT hash FROM api_keys').pluck().get() as string;
    const raw = () => Buffer.concat(readdirSync(s.dir).map((f) => readFileSync(join(s.dir, f))));
    // While open (WAL and all) and after close (checkpointed into the main file).
    for (const bytes of [raw(), (opened.close(), raw())]) {
      assert.ok(bytes.includes(hash), 'the stored hash is in the bytes read (so the search below looks at the data)');
      assert.ok(!bytes.includes(made.key), 'the key text is not');
      assert.ok(!bytes.includes(made.key.slice(KEY_PREFIX.length)), 'nor its random part');
    }
    s.cleanup();
  });
});

describe('ApiKeyAuth over HTTP', () => {
  const s = scratchDb();
  let serving: OpenedDb; // serve's connection
  let cli: OpenedDb; // a second connection, as `clawdbot keys` in another process
  let cliKeys: ApiKeys;
  let server: { url: string; close(): Promise<void> };
  before(async () => {
    serving = s.open();
    cli = s.open();
    cliKeys = new ApiKeys(cli.db);
    server = await authServer(new ApiKeyAuth(CONFIG_KEY, new ApiKeys(serving.db)));
  });
  after(async () => {
    await server.close();
    serving.close();
    cli.close();
    s.cleanup();
  });

  it('the config file key is an Admin key named "config"', async () => {
    assert.deepEqual(await check(server.url, bearer(CONFIG_KEY)), { ok: true, principal: 'config', role: 'Admin' });
    assert.deepEqual(await check(server.url, { 'x-api-key': CONFIG_KEY }), { ok: true, principal: 'config', role: 'Admin' });
  });

  it('a key added while serving works at once, with its name and role; revoked, it is refused at once', async () => {
    const made = cliKeys.add('auditor-bot', 'Auditor', Date.now());
    assert.deepEqual(await check(server.url, bearer(made.key)), { ok: true, principal: 'auditor-bot', role: 'Auditor' });
    assert.deepEqual(await check(server.url, { 'x-api-key': made.key }), { ok: true, principal: 'auditor-bot', role: 'Auditor' });
    assert.notEqual(cliKeys.list().find((k) => k.name === 'auditor-bot')!.lastUsedAt, null, 'the use is recorded');
    assert.equal(cliKeys.revoke('auditor-bot', Date.now()), true);
    assert.deepEqual(await check(server.url, bearer(made.key)), { ok: false, error: 'invalid API key' });
  });

  it('a wrong key, a missing key and a key in the query string are refused', async () => {
    const made = cliKeys.add('user-bot', 'User', Date.now());
    const wrong = `${made.key.slice(0, -1)}${made.key.endsWith('A') ? 'B' : 'A'}`; // one character off, never the key itself
    assert.deepEqual(await check(server.url, bearer(wrong)), { ok: false, error: 'invalid API key' });
    assert.deepEqual(await check(server.url, bearer('')), { ok: false, error: 'missing API key (Authorization: Bearer <key> or X-API-Key)' });
    assert.deepEqual(await check(server.url), { ok: false, error: 'missing API key (Authorization: Bearer <key> or X-API-Key)' });
    for (const param of ['api_key', 'key', 'token', 'access_token']) {
      const r = await check(server.url, bearer(made.key), `/v1/messages?${param}=${encodeURIComponent(made.key)}`);
      assert.equal(r.ok, false, param);
      assert.match((r as { error: string }).error, /not accepted in the URL/);
    }
  });
});

describe('ApiKeyAuth without a config key', () => {
  it('lets everyone in as an anonymous User until the first managed key is added, then requires one, even once it is revoked', async () => {
    const opened = openDb(':memory:');
    const keys = new ApiKeys(opened.db);
    const auth = new ApiKeyAuth(undefined, keys);
    const server = await authServer(auth);
    try {
      assert.equal(auth.required, false);
      assert.deepEqual(await check(server.url), { ok: true, principal: 'anonymous', role: 'User' });
      const made = keys.add('first', 'Operator', 1);
      assert.equal(auth.required, true);
      assert.equal((await check(server.url)).ok, false);
      assert.deepEqual(await check(server.url, bearer(made.key)), { ok: true, principal: 'first', role: 'Operator' });
      keys.revoke('first', 2);
      assert.equal(auth.required, true, 'revoking the last key closes the gateway, it does not open it');
      assert.deepEqual(await check(server.url, bearer(made.key)), { ok: false, error: 'invalid API key' });
      assert.equal((await check(server.url)).ok, false);
    } finally {
      await server.close();
      opened.close();
    }
  });

  it('keeps working for existing callers: new ApiKeyAuth(key) alone', async () => {
    const auth = new ApiKeyAuth(CONFIG_KEY);
    const server = await authServer(auth);
    try {
      assert.equal(auth.required, true);
      assert.deepEqual(await check(server.url, bearer(CONFIG_KEY)), { ok: true, principal: 'config', role: 'Admin' });
      assert.deepEqual(await check(server.url, bearer('cbk_guess')), { ok: false, error: 'invalid API key' });
    } finally {
      await server.close();
    }
  });
});

describe('the gateway HTTP server with managed keys', () => {
  it('answers 200 with the key name as principal, and 401 once the key is revoked', async () => {
    const opened = openDb(':memory:');
    const keys = new ApiKeys(opened.db);
    const made = keys.add('web', 'User', 1);
    const http = new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth: new ApiKeyAuth(undefined, keys), limiter: undefined, log: await quietLog() });
    http.route('GET', '/who', ({ res, principal }) => void res.end(principal), { auth: true });
    const { port } = await http.listen();
    try {
      const get = () => fetch(`http://127.0.0.1:${port}/who`, { headers: bearer(made.key) });
      const ok = await get();
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'web');
      keys.revoke('web', 2);
      const refused = await get();
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
    } finally {
      await http.close();
      opened.close();
    }
  });
});
