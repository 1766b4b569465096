// `clawdbot keys add/list/revoke`: the command module against a real config file and database in a
// scratch folder; the key it prints works at once with its role, is never stored or shown again, and
// every change leaves a key_change audit record without the secret.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loginName } from '../src/cli/context.ts';
import { runKeys, type KeysCommand, type KeysOptions } from '../src/cli/keys.ts';
import { UsageError } from '../src/core/errors.ts';
import { ApiKeyAuth } from '../src/core/http/auth.ts';
import { ApiKeys } from '../src/store/api-keys.ts';
import { openDb } from '../src/store/db.ts';
import { Store } from '../src/store/store.ts';
import { runCli, scratch } from './helpers/cli.ts';

const CONFIG = `system:
  data_dir: ./data
security:
  api_key: config-key-for-tests
  roles:
    Auditor: ["cli:${loginName()}"]
`;

/** A request carrying `key` as a bearer token, as the HTTP server hands it to ApiKeyAuth. */
const request = (key: string) => ({ url: '/v1/messages', headers: { authorization: `Bearer ${key}` } }) as IncomingMessage;

describe('keys command', () => {
  const s = scratch();
  let config: string;
  const dbPath = () => join(s.dir, 'data', 'clawdbot.db');
  before(() => {
    config = s.write('clawdbot.yaml', CONFIG);
  });
  after(() => s.cleanup());

  async function keys(sub: KeysCommand, args: string[], opts: Omit<KeysOptions, 'config'> = {}) {
    let out = '';
    let err = '';
    const code = await runKeys(sub, args, { config, ...opts }, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  }

  /** What a running serve sees: its own connection to the same database. */
  function servingAuth<T>(fn: (auth: ApiKeyAuth, store: Store) => T): T {
    const store = Store.open(dbPath());
    const opened = openDb(dbPath());
    try {
      return fn(new ApiKeyAuth('config-key-for-tests', new ApiKeys(opened.db)), store);
    } finally {
      opened.close();
      store.close();
    }
  }

  it('add prints the key once (stdout alone, for scripts) with a warning; it works at once with its role', async () => {
    const r = await keys('add', ['ci'], { role: 'operator' });
    assert.equal(r.code, 0);
    const key = r.out.trim();
    assert.match(key, /^cbk_[A-Za-z0-9_-]{43}$/);
    assert.match(r.err, /Added key "ci" with role Operator\. This is the only time it is shown/);
    servingAuth((auth, store) => {
      assert.deepEqual(auth.check(request(key)), { ok: true, principal: 'ci', role: 'Operator' });
      const [rec] = store.audit.tail({ eventType: 'key_change', limit: 10 });
      assert.equal(rec!.input, 'add ci role Operator');
      assert.deepEqual([rec!.userId, rec!.platform, rec!.role, rec!.decision], [loginName(), 'cli', 'Auditor', 'allowed']);
      assert.equal(store.audit.verifyChain(), null);
    });
    const files = Buffer.concat(readdirSync(join(s.dir, 'data')).map((f) => readFileSync(join(s.dir, 'data', f))));
    assert.ok(files.includes('add ci role Operator'), 'the search below reads the data');
    assert.ok(!files.includes(key), 'the raw database never holds the key text');
    assert.ok(!files.includes(key.slice(4)), 'nor its random part');
  });

  it('list shows names, roles and use, never a key or hash; --json too', async () => {
    const { out: key } = await keys('add', ['dash'], { role: 'Auditor' });
    const opened = openDb(dbPath());
    const hashes = opened.db.prepare('SELECT hash FROM api_keys').pluck().all() as string[];
    opened.close();
    assert.equal(hashes.length, 2);
    const text = await keys('list', []);
    assert.equal(text.code, 0);
    assert.match(text.out, /^NAME\s+ROLE\s+CREATED\s+LAST USED\s+STATUS$/m);
    assert.match(text.out, /^ci\s+Operator\s+\S+\s+\d{4}-\S+\s+active$/m, 'ci was used in the test before');
    assert.match(text.out, /^dash\s+Auditor\s+\S+\s+never\s+active$/m);
    assert.match(text.out, /security\.api_key is also accepted, as the Admin key "config"/);
    const json = await keys('list', [], { json: true });
    const rows = JSON.parse(json.out) as { name: string; role: string; created_at: string; last_used_at: string | null; revoked_at: string | null }[];
    assert.deepEqual(rows.map((r) => [r.name, r.role, r.revoked_at]), [['ci', 'Operator', null], ['dash', 'Auditor', null]]);
    assert.ok(!Number.isNaN(Date.parse(rows[0]!.created_at)));
    for (const shown of [text.out, json.out]) {
      assert.ok(!shown.includes(key.trim()), 'no key');
      for (const h of hashes) assert.ok(!shown.includes(h), 'no hash');
    }
  });

  it('revoke refuses the key at once and is audited; a second revoke or an unknown name exits 1', async () => {
    const { out } = await keys('add', ['temp'], { role: 'User' });
    const key = out.trim();
    servingAuth((auth) => assert.equal(auth.check(request(key)).ok, true));
    const r = await keys('revoke', ['temp']);
    assert.equal(r.code, 0);
    assert.match(r.out, /Revoked key "temp"/);
    servingAuth((auth, store) => {
      assert.deepEqual(auth.check(request(key)), { ok: false, error: 'invalid API key' });
      assert.equal(store.audit.tail({ eventType: 'key_change', limit: 1 })[0]!.input, 'revoke temp');
    });
    const again = await keys('revoke', ['temp']);
    assert.equal(again.code, 1);
    assert.match(again.err, /no active key named "temp"/);
    assert.equal((await keys('revoke', ['nobody'])).code, 1);
    servingAuth((_auth, store) => {
      const inputs = store.audit.tail({ eventType: 'key_change', limit: 100 }).map((e) => e.input);
      assert.equal(inputs.filter((i) => i?.startsWith('revoke')).length, 1, 'only the revoke that changed something is recorded');
      assert.ok(inputs.every((i) => !i!.includes('cbk_')), 'no key in the audit trail');
    });
  });

  it('a name in use exits 1; usage mistakes are UsageErrors (exit 2)', async () => {
    const taken = await keys('add', ['ci'], { role: 'User' });
    assert.equal(taken.code, 1);
    assert.match(taken.err, /a key named "ci" exists/);
    assert.equal(taken.out, '', 'no key printed');
    const usage = (sub: KeysCommand, args: string[], opts: Omit<KeysOptions, 'config'>, text: RegExp) =>
      assert.rejects(keys(sub, args, opts), (e) => e instanceof UsageError && text.test(e.message));
    await usage('add', ['x'], {}, /--role is required/);
    await usage('add', ['x'], { role: 'root' }, /unknown role "root"/);
    await usage('add', [], { role: 'User' }, /expected exactly one key name/);
    await usage('add', ['a', 'b'], { role: 'User' }, /expected exactly one key name/);
    await usage('add', ['config'], { role: 'User' }, /"config" is reserved/);
    await usage('add', ['bad name'], { role: 'User' }, /must be 1-64 letters/);
    await usage('revoke', [], {}, /expected exactly one key name/);
    await usage('list', ['extra'], {}, /unexpected argument "extra"/);
  });
});

// Runs once src/cli/main.ts registers `keys` (the lead wires it; then this guard goes).
describe('clawdbot keys (the command line)', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('add, list --json, revoke, with exit codes 0, 1 and 2', async () => {
    const config = s.write('clawdbot.yaml', 'system:\n  data_dir: ./data\n');
    const cli = (...args: string[]) => runCli(['--config', config, 'keys', ...args], { env: s.env, cwd: s.dir });
    const added = await cli('add', 'ci', '--role', 'Admin');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout.trim(), /^cbk_\S{43}$/);
    const listed = await cli('list', '--json');
    assert.deepEqual((JSON.parse(listed.stdout) as { name: string; role: string }[]).map((k) => [k.name, k.role]), [['ci', 'Admin']]);
    assert.ok(!listed.stdout.includes(added.stdout.trim()));
    assert.equal((await cli('revoke', 'ci')).code, 0);
    assert.equal((await cli('revoke', 'ci')).code, 1);
    assert.equal((await cli('add', 'x', '--role', 'Wizard')).code, 2);
    assert.equal((await cli('add')).code, 2);
  });
});
