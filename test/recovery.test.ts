// kill -9 at the two moments that matter: with a reply queued but unsent, and with a turn in progress.
// After a restart the reply arrives exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { scratch, startServe } from './helpers/cli.ts';
import { TestClient } from './helpers/ws.ts';

const until = async (what: string, pred: () => boolean, timeoutMs = 5000) => {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('crash recovery', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  let cfg: string;
  before(async () => {
    model = await startFakeOllama({ models: ['llama3.2:latest'], chunkDelayMs: 30 });
    cfg = s.write('clawdbot.yaml', `models:\n  default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 }\nadapters:\n  websocket: { listen: "127.0.0.1:0" }\n`);
  });
  after(async () => {
    await model.close();
    s.cleanup();
  });
  const chats = () => model.requests.filter((r) => r.path === '/api/chat').length;

  it('a reply queued when the process dies is sent once after restart', async () => {
    const srv = await startServe(['--config', cfg], { env: s.env, cwd: s.dir });
    const c = await TestClient.connect(`${srv.url.replace('http', 'ws')}/ws`);
    c.send({ type: 'message', id: 'q1', chat: 'crash-1', text: 'queued reply please' });
    c.close();
    await until('the reply to be queued', () => srv.stderr().includes('reply not delivered yet'));
    const calls = chats();
    await srv.stop('SIGKILL');

    const again = await startServe(['--config', cfg], { env: s.env, cwd: s.dir });
    const c2 = await TestClient.connect(`${again.url.replace('http', 'ws')}/ws`);
    c2.send({ type: 'hello', chat: 'crash-1' });
    const reply = await c2.waitFor((f) => f.type === 'reply' && f.id === 'q1');
    assert.equal(reply.text, 'echo: queued reply please');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c2.frames.filter((f) => f.type === 'reply').length, 1, 'sent exactly once');
    assert.equal(chats(), calls, 'the model was not asked again');
    c2.close();
    await again.stop();
  });

  it('a turn cut off mid-answer is redone after restart and answered once', async () => {
    model.options.failure = 'hang';
    const srv = await startServe(['--config', cfg], { env: s.env, cwd: s.dir });
    const c = await TestClient.connect(`${srv.url.replace('http', 'ws')}/ws`);
    const before = chats();
    c.send({ type: 'message', id: 'p1', chat: 'crash-2', text: 'pending turn' });
    await until('the model call to start', () => chats() > before);
    await srv.stop('SIGKILL');
    c.close();
    model.options.failure = 'none';

    const again = await startServe(['--config', cfg], { env: s.env, cwd: s.dir });
    const c2 = await TestClient.connect(`${again.url.replace('http', 'ws')}/ws`);
    c2.send({ type: 'hello', chat: 'crash-2' });
    const reply = await c2.waitFor((f) => f.type === 'reply' && f.id === 'p1', 8000);
    assert.equal(reply.text, 'echo: pending turn');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c2.frames.filter((f) => f.type === 'reply').length, 1);
    c2.close();
    await again.stop();
  });
});
