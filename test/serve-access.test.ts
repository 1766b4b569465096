// Access to every endpoint of serve: no credentials → 401, a wrong key → 401, a key in the URL → 401;
// a User key cannot read the audit log, an Auditor key can; /healthz alone is open. Keys are made with
// `clawdbot keys add` before serve starts, and a revoked one is refused at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { runCli, scratch, startServe, type Served } from './helpers/cli.ts';
import { TestClient } from './helpers/ws.ts';

const CONFIG_KEY = 'config-key-0123456789';

function wsStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => { ws.close(); resolve(101); });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });
}

describe('serve: access to every endpoint', () => {
  const s = scratch();
  let srv: Served;
  const keys: Record<string, string> = {};
  let cfg: string;
  before(async () => {
    cfg = s.write('clawdbot.yaml', [
      'system: { data_dir: ./data }',
      'security:',
      '  api_key: ${GATEWAY_KEY}',
      'adapters: { websocket: { listen: "127.0.0.1:0" } }',
      'metrics: { enabled: true }',
      'routes:',
      '  - default: { action: send_welcome_message }',
      '',
    ].join('\n'));
    const env = { ...s.env, GATEWAY_KEY: CONFIG_KEY };
    for (const [name, role] of [['reader', 'Auditor'], ['someone', 'User'], ['walker', 'User']] as const) {
      const r = await runCli(['keys', 'add', name, '--role', role, '--config', cfg], { env, cwd: s.dir });
      assert.equal(r.code, 0, r.stderr);
      keys[name] = r.stdout.trim();
      assert.match(keys[name]!, /^cbk_/);
    }
    srv = await startServe(['--config', cfg], { env, cwd: s.dir });
  });
  after(async () => {
    await srv?.stop();
    s.cleanup();
  });

  const endpoints: [string, string, string?][] = [
    ['GET', '/readyz'],
    ['POST', '/v1/messages', JSON.stringify({ text: 'hi' })],
    ['GET', '/v1/audit'],
    ['GET', '/metrics'],
  ];
  const call = (method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) =>
    fetch(`${srv.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body ? { body } : {}) });

  it('without credentials, with a wrong key, or with a key in the URL: 401 everywhere but /healthz', async () => {
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    for (const [method, path, body] of endpoints) {
      assert.equal((await call(method, path, body)).status, 401, `${method} ${path} without a key`);
      assert.equal((await call(method, path, body, { authorization: 'Bearer wrong-key-000' })).status, 401, `${method} ${path} wrong key`);
      assert.equal((await call(method, `${path}?api_key=${CONFIG_KEY}`, body)).status, 401, `${method} ${path} key in the URL`);
    }
    const ws = `${srv.url.replace('http', 'ws')}/ws`;
    assert.equal(await wsStatus(ws, {}), 401);
    assert.equal(await wsStatus(ws, { authorization: 'Bearer wrong-key-000' }), 401);
    assert.equal(await wsStatus(`${ws}?api_key=${CONFIG_KEY}`, {}), 401);
    assert.equal(await wsStatus(ws, { 'x-api-key': keys.someone! }), 101, 'a valid key opens the socket');
  });

  it('the audit log: a User key gets 403 (and a denial record), an Auditor key and the config (Admin) key read it', async () => {
    assert.equal((await call('GET', '/v1/audit', undefined, { authorization: `Bearer ${keys.someone}` })).status, 403);
    const auditor = await call('GET', '/v1/audit?event=policy_denial', undefined, { authorization: `Bearer ${keys.reader}` });
    assert.equal(auditor.status, 200);
    const lines = (await auditor.text()).trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; user_id: string; decision: string; hash: string });
    assert.ok(lines.some((l) => l.event_type === 'policy_denial' && l.user_id === 'someone' && l.decision === 'denied'), JSON.stringify(lines));
    assert.ok(lines.every((l) => /^[0-9a-f]{64}$/.test(l.hash)));
    assert.equal((await call('GET', '/v1/audit', undefined, { authorization: `Bearer ${CONFIG_KEY}` })).status, 200);
  });

  it('a key revoked while serve runs is refused from the next request', async () => {
    assert.equal((await call('POST', '/v1/messages', JSON.stringify({ text: 'hi' }), { authorization: `Bearer ${keys.someone}` })).status, 200);
    const r = await runCli(['keys', 'revoke', 'someone', '--config', cfg], { env: { ...s.env, GATEWAY_KEY: CONFIG_KEY }, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await call('POST', '/v1/messages', JSON.stringify({ text: 'hi' }), { authorization: `Bearer ${keys.someone}` })).status, 401);
  });

  it('a WebSocket opened with a key that is then revoked is closed at its next frame a second on, unanswered', async () => {
    const c = await TestClient.connect(`${srv.url.replace('http', 'ws')}/ws`, { authorization: `Bearer ${keys.walker}` });
    c.send({ type: 'message', id: 'w1', text: 'hi', chat: 'walk' });
    await c.waitFor((f) => f.type === 'reply' && f.id === 'w1');
    const r = await runCli(['keys', 'revoke', 'walker', '--config', cfg], { env: { ...s.env, GATEWAY_KEY: CONFIG_KEY }, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    const closed = new Promise<number>((resolve) => {
      const t = setTimeout(() => resolve(0), 3000);
      c.ws.once('close', (code) => { clearTimeout(t); resolve(code); });
    });
    // The key is checked again at most once a second (not at each frame: that would cost every turn).
    await new Promise((r) => setTimeout(r, 1100));
    c.send({ type: 'message', id: 'w2', text: 'hi', chat: 'walk' });
    assert.equal(await closed, 1008, 'closed as a policy violation');
    const answered = c.frames.some((f) => f.id === 'w2' && f.type === 'reply');
    c.ws.terminate();
    assert.ok(!answered, 'the revoked key got no answer');
  });
});
