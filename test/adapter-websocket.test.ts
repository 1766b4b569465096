// The WebSocket adapter passes the shared adapter contract; the "platform" is our own /ws endpoint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestAdapter } from '../src/adapters/rest.ts';
import { WebSocketAdapter } from '../src/adapters/websocket.ts';
import type { HttpGateway } from '../src/core/http/server.ts';
import type { ModelClient } from '../src/core/models/types.ts';
import { runAdapterContract } from './contract/adapter-contract.ts';
import { TestClient } from './helpers/ws.ts';
import { echoModel, pipeline, quietLog, testHttp } from './helpers/pipeline.ts';

let http: HttpGateway;
let client: TestClient;
let n = 0;

runAdapterContract({
  name: 'websocket',
  maxMessage: 256 * 1024,
  async setup() {
    const log = await quietLog();
    http = testHttp(log);
    const adapter = new WebSocketAdapter({ http, path: '/ws', log });
    const { port } = await http.listen();
    // The client connects once the adapter has registered /ws (start runs after setup).
    setImmediate(async () => {
      client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      client.send({ type: 'hello', chat: 'contract' });
    });
    return adapter;
  },
  async say(text) {
    for (let i = 0; i < 200 && !client; i++) await new Promise((r) => setTimeout(r, 10));
    const id = `m${++n}`;
    client.send({ type: 'message', id, chat: 'contract', text });
    return id;
  },
  async redeliver(id) {
    const frame = client.frames.find((f) => f.type === 'reply' && f.id === id);
    client.send({ type: 'message', id, chat: 'contract', text: 'redelivered' });
    void frame;
  },
  sent: () => (client ? client.frames.filter((f) => f.type === 'reply').map((f) => f.text ?? '') : []),
  async teardown() {
    client?.close();
    await http.close();
    http.destroyAll();
  },
});

describe('REST: the same message id sent again while the first request waits', () => {
  it('answers the retry 409 and still delivers the first reply (not given up)', async () => {
    const log = await quietLog();
    const web = testHttp(log);
    const rest = new RestAdapter({ http: web });
    const slow: ModelClient = { ...echoModel, chat: async (req) => { await new Promise((r) => setTimeout(r, 300)); return echoModel.chat(req); } };
    const deliveries: string[] = [];
    const p = await pipeline(rest, {
      log,
      model: slow,
      wrapHost: (h) => ({ ...h, receive: (m, d) => h.receive(m, d).then((o) => { if (!o.duplicate) deliveries.push(o.delivery); return o; }) }),
    });
    const { port } = await web.listen();
    const post = () => fetch(`http://127.0.0.1:${port}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi', chat: 'c', id: 'same' }) });
    const first = post();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await post()).status, 409);
    const r = await first;
    assert.equal(r.status, 200);
    assert.deepEqual(deliveries, ['sent']);
    await p.close();
    await web.close();
    web.destroyAll();
  });
});

describe('WebSocket: a socket whose API key was revoked', () => {
  it('has no frame acted on once it is being closed (1008), not even those already on their way', async () => {
    const log = await quietLog();
    const web = testHttp(log);
    const ws = new WebSocketAdapter({ http: web, path: '/ws', log });
    const received: string[] = [];
    const p = await pipeline(ws, { log, wrapHost: (h) => ({ ...h, receive: (m, d) => { received.push(m.id); return h.receive(m, d); } }) });
    const { port } = await web.listen();
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    c.send({ type: 'message', id: 'w1', chat: 'k', text: 'hi' });
    await c.waitFor((f) => f.type === 'reply' && f.id === 'w1');
    // The key is revoked meanwhile; the next check is a second on.
    (web as unknown as { admits: () => boolean }).admits = () => false;
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 1100));
    // A client that sends on (it has not read the close frame yet, or ignores it).
    for (const id of ['w2', 'w3', 'w4']) c.send({ type: 'message', id, chat: 'k', text: 'hi' });
    assert.equal(await closed, 1008);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(received, ['k/w1'], 'frames of a revoked key were acted on');
    await p.close();
    await web.close();
    web.destroyAll();
  });
});
