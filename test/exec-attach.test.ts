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

  it("the seed's handlers: an image goes to image_analysis' handler, a document to document_processing's", async () => {
    const png = join(s.dir, 'seed-photo.png');
    writeFileSync(png, pngPixel());
    const pdf = join(s.dir, 'seed-bill.pdf');
    writeFileSync(pdf, pdfWith('Total 12'));
    // The seed's 4.2 block as written, plus a workflow of ours behind each handler name: what runs is
    // what the handler names.
    const seedCfg = s.write('seed-media.yaml', [
      'system: { data_dir: ./data }',
      `models: { default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 } }`,
      'media_processors:',
      '  image_analysis:',
      '    enabled: true',
      '    max_size: 10MB',
      '    allowed_types: ["jpg", "png", "webp"]',
      '    handler: "my_image_workflow"',
      '  document_processing:',
      '    enabled: true',
      '    max_size: 20MB',
      '    allowed_types: ["pdf", "docx"]',
      '    handler: "my_document_workflow"',
      'workflows:',
      '  my_image_workflow: { steps: [ { reply: "image handler ran" } ] }',
      '  my_document_workflow: { steps: [ { reply: "document handler ran" } ] }',
      '',
    ].join('\n'));
    const run = (file: string) => runCli(['exec', '--json', '--config', seedCfg, '--attach', file, 'what is it?'], { env: s.env, cwd: s.dir });
    const img = await run(png);
    assert.equal(img.code, 0, img.stderr);
    assert.deepEqual(pick(JSON.parse(img.stdout)), { reply: 'image handler ran', action: 'my_image_workflow', route: 'media_processors.image_analysis' });
    const doc = await run(pdf);
    assert.equal(doc.code, 0, doc.stderr);
    assert.deepEqual(pick(JSON.parse(doc.stdout)), { reply: 'document handler ran', action: 'my_document_workflow', route: 'media_processors.document_processing' });
    // With the built-in handlers (the seed's names), an image is reported as image_analysis_workflow.
    const builtIn = await runCli(['exec', '--json', '--config', cfg, '--attach', png, 'what is it?'], { env: s.env, cwd: s.dir });
    assert.equal(builtIn.code, 0, builtIn.stderr);
    assert.equal(JSON.parse(builtIn.stdout).action, 'image_analysis_workflow');
  });

  it('a file of a kind it cannot read is the sender\'s mistake: a short reply, exit 1, no stack trace on stderr', async () => {
    const notes = s.write('notes.txt', 'just some plain text\n');
    const r = await exec(notes, 'summarise this');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /can't read that kind of file/);
    assert.match(r.stderr, /unsupported: unrecognised file type/);
    assert.doesNotMatch(r.stderr, /"stack"|\n\s+at /);
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

const pick = (o: { reply: string; action: string; route: string }) => ({ reply: o.reply, action: o.action, route: o.route });
