// Files from our own clients reach the media processors: a PNG as base64 over the WebSocket, a PDF as
// a multipart part over REST; the bytes are never stored.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { scratch, startServe, type Served } from './helpers/cli.ts';
import { TestClient } from './helpers/ws.ts';
import { pdfWith, pngPixel } from './helpers/files.ts';
import { quietLog, testHttp } from './helpers/pipeline.ts';
import { RestAdapter } from '../src/adapters/rest.ts';
import { MAX_UPLOAD } from '../src/adapters/uploads.ts';
import type { AdapterHost } from '../src/adapters/contract.ts';

describe('uploads over WebSocket and REST', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  let srv: Served;
  before(async () => {
    model = await startFakeOllama({ models: ['llama3.2:latest', 'llava:latest'] });
    const cfg = s.write('clawdbot.yaml', [
      'system: { data_dir: ./data }',
      `models: { default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 } }`,
      'adapters: { websocket: { listen: "127.0.0.1:0" } }',
      'media_processors: { image_analysis: { model: llava } }',
      '',
    ].join('\n'));
    srv = await startServe(['--config', cfg], { env: s.env, cwd: s.dir });
  });
  after(async () => {
    await srv?.stop();
    await model.close();
    s.cleanup();
  });
  const chats = () => model.requests.filter((r) => r.path === '/api/chat');

  it('a PNG sent as base64 in a WebSocket message reaches the vision model', async () => {
    const c = await TestClient.connect(`${srv.url.replace('http', 'ws')}/ws`);
    const png = pngPixel();
    c.send({ type: 'message', id: 'img1', text: 'what is in this picture?', attachments: [{ data: png.toString('base64'), name: 'p.png' }] });
    const r = await c.waitFor((f) => f.type === 'reply' && f.id === 'img1');
    c.close();
    assert.ok(r.text);
    const req = chats().at(-1)!.body as { model: string; messages: { content: string; images?: string[] }[] };
    assert.equal(req.model, 'llava');
    assert.deepEqual(req.messages.at(-1)!.images, [png.toString('base64')]);
  });

  it("an image upload goes to the seed's image_analysis handler (REST reports image_analysis_workflow)", async () => {
    const form = new FormData();
    form.set('text', 'what is in this picture?');
    form.set('file', new Blob([pngPixel()]), 'p.png');
    const res = await fetch(`${srv.url}/v1/messages`, { method: 'POST', body: form });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { action: string }).action, 'image_analysis_workflow');
  });

  it('a PDF sent as a multipart part over REST is read; a bad base64 attachment is a 400', async () => {
    const form = new FormData();
    form.set('text', 'what does it cost?');
    form.set('file', new Blob([pdfWith('Total due 1234 crowns')]), 'bill.pdf');
    const res = await fetch(`${srv.url}/v1/messages`, { method: 'POST', body: form });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(JSON.stringify(chats().at(-1)!.body), /1234 crowns/);
    const bad = await fetch(`${srv.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'x', attachments: [{ data: '***' }] }) });
    assert.equal(bad.status, 400);
    const stored = Buffer.concat(readdirSync(join(s.dir, 'data')).map((f) => readFileSync(join(s.dir, 'data', f))));
    // The answer may quote the document (the fake model echoes its prompt); the file itself is not kept.
    assert.equal(stored.includes('BT /F1 12 Tf'), false, 'the PDF bytes are not kept in the database');
    assert.equal(stored.includes(pngPixel().toString('base64')), false, 'nor the image');
  });
});

describe('REST uploads beyond what the gateway holds', () => {
  it('answers 429 with Retry-After while files wait to be read', async () => {
    const log = await quietLog();
    const http = testHttp(log);
    const rest = new RestAdapter({ http });
    // A gateway whose turns never read their files (no media processor for them): they wait in memory.
    await rest.start({
      receive: async () => ({ duplicate: false, route: null, result: null, delivery: 'none' }),
      submit: async () => { throw new Error('unused'); },
      online: () => {},
    } as unknown as AdapterHost);
    const { port } = await http.listen();
    try {
      const post = () => {
        const form = new FormData();
        form.set('text', 'keep this');
        form.set('file', new Blob([Buffer.alloc(MAX_UPLOAD)]), 'big.bin');
        return fetch(`http://127.0.0.1:${port}/v1/messages`, { method: 'POST', body: form });
      };
      for (let i = 0; i < 4; i++) assert.equal((await post()).status, 200);
      const full = await post();
      assert.equal(full.status, 429);
      assert.ok(Number(full.headers.get('retry-after')) >= 1, `Retry-After: ${full.headers.get('retry-after')}`);
    } finally {
      await http.close();
      http.destroyAll();
    }
  });
});
