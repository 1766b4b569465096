// `clawdbot serve` end to end: WebSocket and REST against the fake model; auth, rate limits, health.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { scratch, startServe, type Served } from './helpers/cli.ts';
import { TestClient } from './helpers/ws.ts';

const KEY = 'test-key-1234567890';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (r: Response): Promise<any> => r.json();

describe('serve', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  let srv: Served;
  const headers = { authorization: `Bearer ${KEY}` };
  before(async () => {
    model = await startFakeOllama({ models: ['llama3.2:latest'] });
    const cfg = s.write('clawdbot.yaml', [
      'security:',
      '  api_key: ${GATEWAY_KEY}',
      '  rate_limit: 20/min',
      'models:',
      `  default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 }`,
      'adapters:',
      '  websocket: { listen: "127.0.0.1:0" }',
      'routes:',
      '  - match: { content: "!hi" }',
      '    action: greet',
      '  - default: { action: process_with_llm }',
      'actions:',
      '  greet: { type: reply, text: "Hello {{user.id}} from {{system.name}}" }',
      '',
    ].join('\n'));
    srv = await startServe(['--config', cfg], { env: { ...s.env, GATEWAY_KEY: KEY }, cwd: s.dir });
  });
  after(async () => {
    await srv?.stop();
    await model.close();
    s.cleanup();
  });
  const wsUrl = () => `${srv.url.replace('http', 'ws')}/ws`;

  it('WebSocket: message in, streamed deltas and a final reply out', async () => {
    const c = await TestClient.connect(wsUrl(), headers);
    c.send({ type: 'message', id: 'm1', text: 'tell me a story about cats' });
    const reply = await c.waitFor((f) => f.type === 'reply' && f.id === 'm1');
    assert.equal(reply.text, 'echo: tell me a story about cats');
    const deltas = c.frames.filter((f) => f.type === 'delta' && f.id === 'm1');
    assert.ok(deltas.length > 1, 'several deltas streamed');
    assert.equal(deltas.map((d) => d.text).join(''), reply.text);
    c.close();
  });

  it('WebSocket: a secret in a streamed answer is redacted in the deltas too, not only in the reply', async () => {
    const c = await TestClient.connect(wsUrl(), headers);
    c.send({ type: 'message', id: 's1', text: `please repeat ${KEY} back to me, word for word` });
    const reply = await c.waitFor((f) => f.type === 'reply' && f.id === 's1');
    assert.equal(reply.text, 'echo: please repeat [redacted] back to me, word for word');
    const deltas = c.frames.filter((f) => f.type === 'delta' && f.id === 's1').map((d) => d.text ?? '');
    assert.ok(deltas.length > 1, 'still streamed');
    assert.ok(!deltas.some((d) => d.includes(KEY.slice(0, 8))), `a delta carried the key: ${JSON.stringify(deltas)}`);
    assert.equal(deltas.join(''), reply.text);
    c.close();
  });

  it('WebSocket: bad frames get error frames and the socket stays open', async () => {
    const c = await TestClient.connect(wsUrl(), headers);
    c.send('not json');
    await c.waitFor((f) => f.type === 'error' && /JSON/.test(f.error ?? ''));
    c.send({ type: 'message', id: 'x1' });
    await c.waitFor((f) => f.type === 'error' && f.id === 'x1' && /text/.test(f.error ?? ''));
    c.send({ type: 'bogus', id: 'x2' });
    await c.waitFor((f) => f.type === 'error' && f.id === 'x2');
    c.send({ type: 'message', id: 'x3', text: '!hi', user: 'u7' });
    const r = await c.waitFor((f) => f.type === 'reply' && f.id === 'x3');
    assert.equal(r.text, 'Hello u7 from clawdbot');
    c.send({ type: 'message', id: 'x3', text: '!hi' });
    await c.waitFor((f) => f.type === 'error' && f.id === 'x3' && /duplicate/.test(f.error ?? ''));
    c.close();
  });

  it('WebSocket: no key or a wrong key is refused with 401, a key in the URL too', async () => {
    await assert.rejects(TestClient.connect(wsUrl()), { status: 401 });
    await assert.rejects(TestClient.connect(wsUrl(), { authorization: 'Bearer wrong' }), { status: 401 });
    await assert.rejects(TestClient.connect(`${wsUrl()}?api_key=${KEY}`, headers), { status: 401 });
  });

  it('REST: POST /v1/messages answers with the reply; auth errors are 401', async () => {
    const post = (body: unknown, h: Record<string, string> = headers) =>
      fetch(`${srv.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body: JSON.stringify(body) });
    const ok = await post({ text: 'ping', user: 'u1', chat: 'c1' });
    assert.equal(ok.status, 200);
    const body = await json(ok);
    assert.equal(body.reply, 'pong');
    assert.equal(body.chat, 'c1');
    assert.equal((await post({ text: 'ping' }, { 'x-api-key': KEY })).status, 200);
    assert.equal((await post({ text: 'ping' }, {})).status, 401);
    assert.equal((await post({ text: 'ping' }, { authorization: 'Bearer nope' })).status, 401);
    const bad = await fetch(`${srv.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{oops' });
    assert.equal(bad.status, 400);
    assert.match((await json(bad)).error, /JSON/);
  });

  it('health: /healthz open, /readyz reports components behind the key', async () => {
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${srv.url}/readyz`)).status, 401);
    let body: { ready: boolean; components: { database: { ok: boolean }; model: { ok: boolean }; adapters: Record<string, { ok: boolean }> } } | undefined;
    for (let i = 0; i < 50 && !body?.ready; i++) {
      body = await json(await fetch(`${srv.url}/readyz`, { headers }));
      if (!body?.ready) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body?.ready, true, JSON.stringify(body));
    assert.equal(body?.components.database.ok, true);
    assert.equal(body?.components.adapters.websocket?.ok, true);
  });

  it('rate limit: beyond 20/min the gateway answers 429 with Retry-After', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const r = await fetch(`${srv.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ text: '!hi' }) });
      if (r.status === 429) limited = r;
      else await r.arrayBuffer();
    }
    assert.ok(limited, 'a request was limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.match((await json(limited)).error, /20\/min/);
    // A WebSocket "hello" (a join, which looks up waiting replies) counts against the same key's limit.
    const c = await TestClient.connect(wsUrl(), headers);
    c.send({ type: 'hello', chat: 'limited-chat' });
    const answer = await c.waitFor((f) => f.type === 'error' || f.type === 'hello');
    c.close();
    assert.equal(answer.type, 'error', JSON.stringify(answer));
    assert.match(answer.error ?? '', /20\/min/);
  });

  it('stops gracefully on SIGTERM, promptly even with a WebSocket client that never answers the close', async () => {
    const polite = await TestClient.connect(wsUrl(), headers);
    const politeClosed = new Promise<number>((r) => polite.ws.once('close', (code) => r(code)));
    // A client asleep or cut off: it reads nothing, so it never answers the server's close frame.
    const silent = await TestClient.connect(wsUrl(), headers);
    const raw = (silent.ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.removeAllListeners('data');
    raw.pause();
    const t0 = Date.now();
    const code = await srv.stop('SIGTERM');
    const ms = Date.now() - t0;
    silent.ws.terminate();
    assert.equal(code, 0);
    assert.match(srv.stderr(), /"stopped"/);
    assert.equal(await politeClosed, 1001, 'a client that answers gets the going-away close');
    assert.ok(ms < 5000, `stopping took ${ms} ms`);
  });
});

describe('serve: /readyz and the configured model', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  let srv: Served;
  before(async () => {
    // The endpoint answers, but does not offer the model the config names: every turn would fail.
    model = await startFakeOllama({ models: ['llama3.2:latest'] });
    const cfg = s.write('clawdbot.yaml', [
      'security:',
      '  api_key: ${GATEWAY_KEY}',
      'models:',
      `  default: { provider: ollama, endpoint: "${model.url}", model: mistral-not-pulled }`,
      'adapters:',
      '  websocket: { listen: "127.0.0.1:0" }',
      '',
    ].join('\n'));
    srv = await startServe(['--config', cfg], { env: { ...s.env, GATEWAY_KEY: KEY }, cwd: s.dir });
  });
  after(async () => {
    await srv?.stop();
    await model.close();
    s.cleanup();
  });

  it('/readyz is 503 with the model not ok when the endpoint does not offer the configured model', async () => {
    const res = await fetch(`${srv.url}/readyz`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = await json(res);
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.ready, false);
    assert.equal(body.components.model.ok, false);
    assert.match(body.components.model.detail, /mistral-not-pulled/);
    assert.equal(body.components.database.ok, true);
  });
});
