// `serve` refuses to expose the gateway beyond loopback without an API key (and with the example
// placeholder key); on loopback it runs, warning about the placeholder.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkExposure, isLoopback } from '../src/cli/serve.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import type { Config } from '../src/core/config/types.ts';
import { ConfigError } from '../src/core/errors.ts';
import { runCli, scratch, startServe, type Served } from './helpers/cli.ts';
import { TestClient } from './helpers/ws.ts';

function config(host: string, apiKey?: string): Config {
  const d = defaultConfig();
  return {
    ...d,
    security: { ...d.security, apiKey },
    adapters: { ...d.adapters, websocket: { ...d.adapters.websocket, listen: { host, port: 8080 } } },
  };
}

const configError = (path: string, text: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
  assert.equal(e.path, path);
  assert.match(e.message, text);
  return true;
};

describe('isLoopback', () => {
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
    ['192.168.1.20', false],
    ['::', false],
    ['example.com', false],
  ];
  for (const [host, expected] of cases) {
    it(`${host} → ${expected}`, () => assert.equal(isLoopback(host), expected));
  }
});

describe('checkExposure', () => {
  it('refuses 0.0.0.0 without an API key', () => {
    assert.throws(() => checkExposure(config('0.0.0.0')), configError('adapters.websocket.listen', /without security\.api_key/));
  });

  it('refuses a LAN address (and ::) without an API key', () => {
    for (const host of ['192.168.1.20', '10.0.0.1', '::']) {
      assert.throws(() => checkExposure(config(host)), configError('adapters.websocket.listen', new RegExp(`listen on ${host.replace(/\./g, '\\.')} without security\\.api_key`)));
    }
  });

  it('allows loopback without a key, with no warning', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost']) assert.deepEqual(checkExposure(config(host)), []);
  });

  it('allows any address with a real key; without TLS it warns that the key travels in clear', () => {
    for (const host of ['0.0.0.0', '192.168.1.20']) {
      const plain = checkExposure(config(host, 'k-9f3a7c1e2b'));
      assert.equal(plain.length, 1);
      assert.match(plain[0]!, /over plain HTTP: .*set security\.tls/);
      const c = config(host, 'k-9f3a7c1e2b');
      const tls = { cert: '/c.pem', key: '/k.pem', ca: undefined, requireClientCert: false, minVersion: 'TLSv1.2' as const };
      assert.deepEqual(checkExposure({ ...c, security: { ...c.security, tls } }), []);
    }
  });

  it('the placeholder "your-secure-key" warns on loopback and is refused on 0.0.0.0', () => {
    const warnings = checkExposure(config('127.0.0.1', 'your-secure-key'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /placeholder "your-secure-key"/);
    assert.throws(() => checkExposure(config('0.0.0.0', 'your-secure-key')), configError('security.api_key', /placeholder "your-secure-key".*0\.0\.0\.0/));
  });
});

describe('serve exposure end to end', () => {
  it('serve on 0.0.0.0 without a key exits 2 naming security.api_key, before opening anything', async () => {
    const s = scratch();
    try {
      const cfg = s.write('clawdbot.yaml', 'adapters:\n  websocket: { listen: "0.0.0.0:0" }\n');
      const r = await runCli(['--config', cfg, 'serve'], { env: s.env, cwd: s.dir, timeoutMs: 10_000 });
      assert.equal(r.code, 2, `exit code; stderr:\n${r.stderr}`);
      assert.match(r.stderr, /security\.api_key/);
      assert.match(r.stderr, /0\.0\.0\.0/);
      assert.equal(r.stdout, '');
      assert.equal(existsSync(join(s.dir, 'data', 'clawdbot')), false, 'no database was created');
    } finally {
      s.cleanup();
    }
  });
});

describe('serve exposure after a reload', () => {
  it('SIGHUP with a file that gives a WebSocket user a role, with no API key, keeps the running config', async () => {
    const s = scratch();
    let srv: Served | undefined;
    try {
      const cfg = s.write('clawdbot.yaml', 'system: { data_dir: ./data }\nadapters:\n  websocket: { listen: "127.0.0.1:0" }\n');
      srv = await startServe(['--config', cfg], { env: s.env, cwd: s.dir });
      s.write('clawdbot.yaml', 'system: { data_dir: ./data }\nsecurity: { roles: { Admin: ["websocket:root"] } }\nadapters:\n  websocket: { listen: "127.0.0.1:0" }\n');
      srv.child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      const c = await TestClient.connect(`${srv.url.replace('http', 'ws')}/ws`);
      c.send({ type: 'message', id: 'w1', text: '/whoami', user: 'root' });
      const reply = await c.waitFor((f) => f.type === 'reply' && f.id === 'w1');
      c.close();
      assert.doesNotMatch(reply.text ?? '', /Admin/, 'anyone who can reach the port claimed Admin by naming "root"');
      assert.match(srv.stderr(), /security\.api_key/);
    } finally {
      await srv?.stop();
      s.cleanup();
    }
  });
});
