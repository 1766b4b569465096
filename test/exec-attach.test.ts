// `clawdbot exec --attach FILE "question"` through media_processors, against the fake Ollama: an image
// reaches the model as base64 with the caption; a PDF's text is answered; the bytes decide the type;
// oversize and empty files get short replies.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { runCli, scratch } from './helpers/cli.ts';
import { pdfWith, pngPixel } from './helpers/files.ts';

describe('exec --attach', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  let cfg: string;
  before(async () => {
    model = await startFakeOllama({ models: ['llama3.2:latest', 'llava:latest'] });
    cfg = s.write('clawdbot.yaml', [
      'system: { data_dir: ./data }',
      `models: { default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 } }`,
      'media_processors:',
      '  image_analysis: { enabled: true, max_size: 10MB, allowed_types: ["jpg", "png", "webp"], handler: "image_analysis_workflow", model: llava }',
      '  document_processing: { enabled: true, max_size: 1KB, allowed_types: ["pdf", "docx"], handler: "document_extraction_workflow" }',
      '',
    ].join('\n'));
  });
  after(async () => {
    await model.close();
    s.cleanup();
  });
  const exec = (file: string, question: string) => runCli(['exec', '--config', cfg, '--attach', file, question], { env: s.env, cwd: s.dir });
  const chats = () => model.requests.filter((r) => r.path === '/api/chat');

  it('an image reaches the vision model as base64 with the caption as the question', async () => {
    const file = join(s.dir, 'photo.png');
    writeFileSync(file, pngPixel());
    const before = chats().length;
    const r = await exec(file, 'what colour is this pixel?');
    assert.equal(r.code, 0, r.stderr);
    const req = chats().slice(before)[0]!.body as { model: string; messages: { content: string; images?: string[] }[] };
    assert.equal(req.model, 'llava');
    const user = req.messages.at(-1)!;
    assert.equal(user.content, 'what colour is this pixel?');
    assert.deepEqual(user.images, [pngPixel().toString('base64')]);
  });

  it('a PDF named .png is read as a PDF; its text goes to the model with the question', async () => {
    const file = join(s.dir, 'not-a-picture.png');
    writeFileSync(file, pdfWith('The invoice total is 4711 euros'));
    const before = chats().length;
    const r = await exec(file, 'what is the total?');
    assert.equal(r.code, 0, r.stderr);
    const req = chats().slice(before)[0]!.body as { model: string; messages: { content: string; images?: string[] }[] };
    assert.equal(req.model, 'llama3.2');
    assert.match(JSON.stringify(req.messages), /4711 euros/);
    assert.match(JSON.stringify(req.messages), /what is the total\?/);
  });

  it('oversize and empty files get short replies, and the model is not asked', async () => {
    const big = join(s.dir, 'big.pdf');
    writeFileSync(big, Buffer.concat([pdfWith('x'), Buffer.alloc(4096, 32)]));
    const empty = join(s.dir, 'empty.pdf');
    writeFileSync(empty, '');
    const before = chats().length;
    const tooBig = await exec(big, 'read it');
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stdout, /too large/i);
    const none = await exec(empty, 'read it');
    assert.equal(none.code, 1);
    assert.match(none.stdout, /empty/i);
    assert.equal(chats().length, before);
  });
});
