// `clawdbot exec --attach FILE "question"` through media_processors, against the fake Ollama: an image
// reaches the model as base64 with the caption; a PDF's text is answered; the bytes decide the type;
// oversize and empty files get short replies.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { startFakeOllama } from './fakes/ollama.ts';
import { runCli, scratch } from './helpers/cli.ts';

/** A valid 1×1 PNG (signature, IHDR, IDAT, IEND with CRCs). */
function png(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (b: Buffer) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0]))), chunk('IEND', Buffer.alloc(0))]);
}

/** A one-page PDF whose text is `text`, with a correct xref table. */
function pdf(text: string): Buffer {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 12 Tf 10 50 Td (${text}) Tj ET`;
  objs[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => { offsets.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

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
    writeFileSync(file, png());
    const before = chats().length;
    const r = await exec(file, 'what colour is this pixel?');
    assert.equal(r.code, 0, r.stderr);
    const req = chats().slice(before)[0]!.body as { model: string; messages: { content: string; images?: string[] }[] };
    assert.equal(req.model, 'llava');
    const user = req.messages.at(-1)!;
    assert.equal(user.content, 'what colour is this pixel?');
    assert.deepEqual(user.images, [png().toString('base64')]);
  });

  it('a PDF named .png is read as a PDF; its text goes to the model with the question', async () => {
    const file = join(s.dir, 'not-a-picture.png');
    writeFileSync(file, pdf('The invoice total is 4711 euros'));
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
    writeFileSync(big, Buffer.concat([pdf('x'), Buffer.alloc(4096, 32)]));
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
