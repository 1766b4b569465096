// The WebSocket adapter passes the shared adapter contract; the "platform" is our own /ws endpoint.
import { WebSocketAdapter } from '../src/adapters/websocket.ts';
import type { HttpGateway } from '../src/core/http/server.ts';
import { runAdapterContract } from './contract/adapter-contract.ts';
import { TestClient } from './helpers/ws.ts';
import { quietLog, testHttp } from './helpers/pipeline.ts';

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
