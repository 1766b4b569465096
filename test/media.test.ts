// Media processors: type from the bytes, text from PDF and DOCX, images to the vision model, bounded
// map/reduce on long documents, and a short reply for every file that cannot be read. Every file is made
// here from its bytes: a 1×1 PNG, PDFs written by hand (one really encrypted, RC4 with a user password),
// DOCX files zipped by a small zip writer.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32, deflateRawSync, deflateSync } from 'node:zlib';
import { getDocumentProxy, extractText as unpdfText } from 'unpdf';
import { compileMedia, type MediaConfig } from '../src/core/config/media.ts';
import { chunkText } from '../src/core/media/chunk.ts';
import { detectType } from '../src/core/media/detect.ts';
import { MediaError } from '../src/core/media/errors.ts';
import { extractText, MAX_PDF_PAGES } from '../src/core/media/extract.ts';
import { DEFAULT_BUDGET, processAttachment, type MediaChatRequest } from '../src/core/media/process.ts';
import { REUNPACK_KEY } from '../src/reunpack.ts';
import { cjkPdfWith, pdfFile } from './helpers/files.ts';

// ---- files from their bytes ----

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid 1×1 RGB PNG of one red pixel. */
function png1x1(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, adaptive filter, no interlace
  const scanline = Buffer.from([0, 255, 0, 0]); // filter byte, then R G B
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(scanline)), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PDF with one text line per page, objects and xref table written out (offsets exact). */
function pdf(pages: readonly string[], opts: { encrypt?: { user: string; owner: string } } = {}): Buffer {
  const n = pages.length;
  const fontRef = 3 + 2 * n;
  const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const sec = opts.encrypt ? rc4Security(opts.encrypt.user, opts.encrypt.owner, id) : undefined;
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pages.map((_, i) => `${3 + 2 * i} 0 R`).join(' ')}] /Count ${n} >>`,
  ];
  pages.forEach((line, i) => {
    const contentRef = 4 + 2 * i;
    objs.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${fontRef} 0 R >> >> /Contents ${contentRef} 0 R >>`);
    const plain = Buffer.from(line === '' ? '' : `BT /F1 12 Tf 72 720 Td (${line}) Tj ET`, 'latin1');
    const stream = (sec ? sec.encrypt(contentRef, plain) : plain).toString('latin1');
    objs.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  });
  objs.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  if (sec) objs.push(sec.dict);
  return pdfFile(objs, sec ? ` /Encrypt ${objs.length} 0 R /ID [<${id.toString('hex')}><${id.toString('hex')}>]` : '');
}

/** A PDF file of these objects (numbered from 1, the first one the catalog), with its xref table; `trailer` adds entries to the trailer. */
/**
 * A Chinese PDF the way Word/WPS write one: a Type0 font with Identity-H codes and a ToUnicode map (the
 * font program itself is not needed for text). For one that relies on a predefined CMap, see cjkPdfWith.
 */
function chinesePdf(text: string): Buffer {
  const chars = [...text];
  const cid = (i: number) => (i + 1).toString(16).padStart(4, '0');
  const map = chars.map((c, i) => `<${cid(i)}> <${c.charCodeAt(0).toString(16).padStart(4, '0')}>`).join(' ');
  const cmap = `/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange <0000> <FFFF> endcodespacerange ${chars.length} beginbfchar ${map} endbfchar endcmap CMapName currentdict /CMap defineresource pop end end`;
  const content = `BT /F1 12 Tf 72 720 Td <${chars.map((_, i) => cid(i)).join('')}> Tj ET`;
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>',
    '<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>',
    `<< /Length ${cmap.length} >>\nstream\n${cmap}\nendstream`,
  ];
  return pdfFile(objs);
}

// The PDF standard security handler, revision 2 (40-bit RC4), as in ISO 32000-1 §7.6.3 algorithms 2-4.
const PAD = Buffer.from('28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A', 'hex');
const md5 = (...parts: Buffer[]) => createHash('md5').update(Buffer.concat(parts)).digest();
const padded = (pw: string) => Buffer.concat([Buffer.from(pw, 'latin1'), PAD]).subarray(0, 32);
function rc4(key: Buffer, data: Buffer): Buffer {
  const s = Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 255;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  for (let k = 0, i = 0, j = 0; k < data.length; k++) {
    i = (i + 1) & 255;
    j = (j + s[i]!) & 255;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = data[k]! ^ s[(s[i]! + s[j]!) & 255]!;
  }
  return out;
}
function rc4Security(user: string, owner: string, id: Buffer) {
  const P = -4;
  const O = rc4(md5(padded(owner)).subarray(0, 5), padded(user));
  const p = Buffer.alloc(4);
  p.writeInt32LE(P);
  const key = md5(padded(user), O, p, id).subarray(0, 5);
  const U = rc4(key, PAD);
  return {
    dict: `<< /Filter /Standard /V 1 /R 2 /O <${O.toString('hex')}> /U <${U.toString('hex')}> /P ${P} >>`,
    encrypt: (obj: number, data: Buffer) => rc4(md5(key, Buffer.from([obj & 255, (obj >> 8) & 255, (obj >> 16) & 255, 0, 0])).subarray(0, 10), data),
  };
}

/** A zip (deflated entries) with a central directory, as Word writes one. */
function zip(files: Record<string, string | Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const packed = deflateRawSync(data);
    const nameBytes = Buffer.from(name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + packed.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function docx(paragraphs: readonly string[], extra: Record<string, string | Buffer> = {}): Buffer {
  const body = paragraphs.map((p) => `<w:p><w:r><w:t xml:space="preserve">${xmlEscape(p)}</w:t></w:r></w:p>`).join('');
  return zip({
    '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    '_rels/.rels': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    'word/document.xml': `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`,
    ...extra,
  });
}

// ---- helpers ----

const CONFIG = compileMedia(undefined, { defaultModel: 'llama3.2' });
function config(patch: { image?: Partial<MediaConfig['image']>; document?: Partial<MediaConfig['document']> } = {}): MediaConfig {
  return { image: { ...CONFIG.image, model: 'llava', ...patch.image }, document: { ...CONFIG.document, ...patch.document } };
}

/** A fake model that records each request and answers from a function of it. */
function fakeChat(answer: (req: MediaChatRequest, n: number) => string = () => 'ANSWER') {
  const calls: MediaChatRequest[] = [];
  return {
    calls,
    chat: async (req: MediaChatRequest) => {
      calls.push(req);
      return answer(req, calls.length);
    },
  };
}

async function rejectsWith(p: Promise<unknown>, kind: MediaError['kind']): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof MediaError && err.kind === kind && err.userText !== '');
}

const userText = (req: MediaChatRequest) => req.messages.find((m) => m.role === 'user')!.content;

// ---- tests ----

describe('detectType: from the bytes only', () => {
  it('knows PNG, JPEG, WebP, GIF, PDF and DOCX by their magic numbers', () => {
    assert.equal(detectType(png1x1()), 'png');
    assert.equal(detectType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46])), 'jpg');
    assert.equal(detectType(Buffer.concat([Buffer.from('RIFF'), Buffer.from([26, 0, 0, 0]), Buffer.from('WEBPVP8 ')])), 'webp');
    assert.equal(detectType(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1')), 'gif');
    assert.equal(detectType(pdf(['x'])), 'pdf');
    assert.equal(detectType(docx(['hello'])), 'docx');
  });

  it('finds a PDF header behind leading junk (as PDF readers do)', () => {
    assert.equal(detectType(Buffer.concat([Buffer.from('\r\n\0junk'), pdf(['x'])])), 'pdf');
  });

  it('a zip is a DOCX only when its central directory holds word/document.xml', () => {
    assert.equal(detectType(zip({ 'xl/workbook.xml': '<workbook/>' })), 'unknown', 'an XLSX-like zip');
    assert.equal(detectType(zip({ 'notes.txt': 'word/document.xml' })), 'unknown', 'the name inside a file does not count');
    const whole = docx(['hello']);
    assert.equal(detectType(whole.subarray(0, whole.length - 30)), 'unknown', 'a truncated zip has no directory to read');
  });

  it('is not fooled by text, RIFF of another kind, or nothing', () => {
    assert.equal(detectType(Buffer.from('just some text, named photo.png')), 'unknown');
    assert.equal(detectType(Buffer.from('RIFF\0\0\0\0WAVEfmt ')), 'unknown');
    assert.equal(detectType(new Uint8Array(0)), 'unknown');
    assert.equal(detectType(Buffer.from([0xff, 0xd8])), 'unknown');
  });
});

describe('extractText', () => {
  it('reads every page of a PDF', async () => {
    const out = await extractText(pdf(['Quarterly revenue grew', 'Zebra crossing ahead']), 'pdf');
    assert.equal(out.pages, 2);
    assert.match(out.text, /Quarterly revenue grew/);
    assert.match(out.text, /Zebra crossing ahead/);
    assert.ok(out.text.indexOf('Quarterly') < out.text.indexOf('Zebra'), 'pages in order');
  });

  it('reads a Chinese PDF (Identity-H font with a ToUnicode map)', async () => {
    assert.deepEqual(await extractText(chinesePdf('会议纪要：预算批准'), 'pdf'), { text: '会议纪要：预算批准', pages: 1 });
  });

  it('reads a Chinese PDF whose font is not embedded (predefined CMap UniGB-UCS2-H, STSong-Light)', async () => {
    assert.deepEqual(await extractText(cjkPdfWith('会议纪要：预算批准'), 'pdf'), { text: '会议纪要：预算批准', pages: 1 });
  });

  it('when unpacking the CMap files again fails (a full disk), PDFs are read as usual and it is not retried at each one', async (t) => {
    const key = Symbol.for(REUNPACK_KEY);
    let calls = 0;
    (globalThis as Record<symbol, unknown>)[key] = () => {
      calls++;
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    t.after(() => delete (globalThis as Record<symbol, unknown>)[key]);
    for (let i = 0; i < 3; i++) {
      assert.match((await extractText(pdf(['Quarterly revenue grew']), 'pdf')).text, /Quarterly revenue grew/);
      assert.equal((await extractText(cjkPdfWith('预算批准'), 'pdf')).text, '预算批准', 'from node_modules here');
    }
    assert.equal(calls, 1);
  });

  it('reads a DOCX, paragraphs and non-ASCII text included', async () => {
    const out = await extractText(docx(['Meeting notes', 'Budget: 42 apples & pears', '会议纪要：预算批准']), 'docx');
    assert.equal(out.pages, undefined);
    assert.deepEqual(out.text.split(/\n+/), ['Meeting notes', 'Budget: 42 apples & pears', '会议纪要：预算批准']);
  });

  it('leaves the caller\'s bytes as they were', async () => {
    const bytes = pdf(['Keep me']);
    const copy = Buffer.from(bytes);
    await extractText(bytes, 'pdf');
    assert.ok(bytes.equals(copy));
  });

  it('a truncated PDF is corrupt', async () => {
    const whole = pdf(['Some text here', 'and more']);
    await rejectsWith(extractText(whole.subarray(0, Math.floor(whole.length / 2)), 'pdf'), 'corrupt');
  });

  it('a password-protected PDF is encrypted (and the same file opens with its password)', async () => {
    const locked = pdf(['Top secret plans'], { encrypt: { user: 'hunter2', owner: 'owner-pw' } });
    await rejectsWith(extractText(locked, 'pdf'), 'encrypted');
    // Proof the fixture is a real encrypted PDF, not merely a broken one: with the password it reads.
    const doc = await getDocumentProxy(new Uint8Array(locked), { password: 'hunter2', verbosity: 0 });
    assert.deepEqual((await unpdfText(doc, { mergePages: true })).text, 'Top secret plans');
  });

  it('zero bytes, a PDF without text and an empty DOCX are empty', async () => {
    await rejectsWith(extractText(new Uint8Array(0), 'pdf'), 'empty');
    await rejectsWith(extractText(pdf(['']), 'pdf'), 'empty');
    await rejectsWith(extractText(docx([]), 'docx'), 'empty');
  });

  it('a PDF of 10,000 pages (1.6 MB) is read only as far as an answer can use, and never past MAX_PDF_PAGES', async () => {
    const content = 'BT /F1 12 Tf 72 720 Td (Hello page) Tj ET';
    const objs = ['<< /Type /Catalog /Pages 2 0 R >>', '', `<< /Length ${content.length} >>\nstream\n${content}\nendstream`, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
    const kids: string[] = [];
    for (let i = 0; i < 10_000; i++) kids.push(`${objs.push('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 3 0 R >>')} 0 R`);
    objs[1] = `<< /Type /Pages /Kids [${kids.join(' ')}] /Count ${kids.length} >>`;
    const many = pdfFile(objs);
    const { chat, calls } = fakeChat();
    const r = await processAttachment(many, { caption: 'what is this?', config: config(), chat });
    assert.equal(r.ok, true);
    assert.ok(calls.length <= DEFAULT_BUDGET.maxCalls);
    // Counted, not timed (pdf.js finds page n in O(n): reading them all is what took minutes): pages are
    // read only up to the text wanted, and never past MAX_PDF_PAGES.
    const pagesRead = (t: string) => t.split('Hello page').length - 1;
    const few = await extractText(many, 'pdf', { maxChars: 100 });
    assert.equal(few.pages, 10_000);
    assert.ok(pagesRead(few.text) <= 11, `${pagesRead(few.text)} pages read for 100 characters`);
    assert.equal(pagesRead((await extractText(many, 'pdf')).text), MAX_PDF_PAGES);
  });

  it('a DOCX zip bomb (a few hundred KB inflating to 32 MB of XML) is refused as too large, without parsing it', async () => {
    const bomb = docx(Array<string>(450_000).fill('a'.repeat(60)));
    assert.ok(bomb.length < 1 << 20 && detectType(bomb) === 'docx', `${bomb.length} bytes`);
    // Refused as too large: mammoth (which would inflate and parse it all) never saw it.
    await rejectsWith(extractText(bomb, 'docx'), 'too_large');
    // What does not compress (a photo) is not a bomb: a DOCX with 4 MB of image still reads.
    assert.match((await extractText(docx(['With a photo'], { 'word/media/image1.jpeg': randomBytes(4 << 20) }), 'docx')).text, /With a photo/);
  });

  it('a DOCX whose document part is damaged is corrupt', async () => {
    const bytes = docx(['Hello there, this is enough text to deflate into something']);
    const at = bytes.indexOf(Buffer.from('word/document.xml')) + 'word/document.xml'.length;
    for (let i = at; i < at + 20; i++) bytes[i] = 0xff; // garble the start of the deflated data
    assert.equal(detectType(bytes), 'docx', 'still looks like a DOCX from its directory');
    await rejectsWith(extractText(bytes, 'docx'), 'corrupt');
  });
});

describe('processAttachment', () => {
  it('sends an image to the vision model as base64 with the caption as the question', async () => {
    const image = png1x1();
    const model = fakeChat(() => 'A red dot.');
    const reply = await processAttachment(image, { caption: ' What colour is this? ', config: config(), chat: model.chat });
    assert.deepEqual(reply, { ok: true, type: 'png', text: 'A red dot.', calls: 1 });
    assert.equal(model.calls.length, 1);
    const req = model.calls[0]!;
    assert.equal(req.model, 'llava');
    assert.equal(req.messages.length, 1);
    assert.equal(req.messages[0]!.content, 'What colour is this?');
    assert.deepEqual(req.messages[0]!.images, [image.toString('base64')]);
    assert.ok(Buffer.from(req.messages[0]!.images![0]!, 'base64').equals(image), 'the base64 decodes to the exact file');
  });

  it('asks for a description when an image comes without a caption', async () => {
    const model = fakeChat();
    await processAttachment(png1x1(), { caption: '', config: config(), chat: model.chat });
    assert.equal(model.calls[0]!.messages[0]!.content, 'Describe this image.');
  });

  it('answers a DOCX from its text, with the caption as the question', async () => {
    const model = fakeChat(() => 'Forty-two.');
    const reply = await processAttachment(docx(['The budget is 42 apples.']), { caption: 'How many apples?', config: config(), chat: model.chat });
    assert.deepEqual(reply, { ok: true, type: 'docx', text: 'Forty-two.', calls: 1 });
    assert.equal(model.calls[0]!.model, undefined, 'documents go to the chat model');
    assert.match(userText(model.calls[0]!), /The budget is 42 apples\./);
    assert.match(userText(model.calls[0]!), /Question: How many apples\?/);
  });

  it('treats a PDF named .png as a PDF, and refuses it when PDF is not allowed', async () => {
    const disguised = pdf(['Invoice total 99 EUR']); // whatever the file was called, only the bytes reach here
    const model = fakeChat();
    const reply = await processAttachment(disguised, { caption: 'total?', config: config(), chat: model.chat });
    assert.equal(reply.type, 'pdf');
    assert.equal(reply.ok, true);
    assert.match(userText(model.calls[0]!), /Invoice total 99 EUR/);
    assert.equal(model.calls[0]!.messages.some((m) => m.images), false, 'no image is sent');

    const strict = fakeChat();
    const refused = await processAttachment(disguised, { caption: 'total?', config: config({ document: { allowedTypes: ['docx'] } }), chat: strict.chat });
    assert.equal(refused.ok, false);
    assert.equal(refused.ok === false && refused.reason, 'unsupported');
    assert.match(refused.text, /can't read PDF files/);
    assert.match(refused.text, /DOCX/);
    assert.equal(strict.calls.length, 0);
  });

  it('refuses an oversize file with the limit in the reply, before any model call', async () => {
    const model = fakeChat();
    const big = pdf(Array.from({ length: 30 }, (_, i) => `Page ${i} of a long report`));
    assert.ok(big.length > 2048);
    const reply = await processAttachment(big, { caption: '', config: config({ document: { maxSize: 2048 } }), chat: model.chat });
    assert.deepEqual([reply.ok, reply.ok === false && reply.reason, reply.text], [false, 'too_large', 'That file is too large: I read PDF files up to 2 KB.']);
    const image = await processAttachment(png1x1(), { caption: '', config: config({ image: { maxSize: 10 } }), chat: model.chat });
    assert.equal(image.ok === false && image.reason, 'too_large');
    assert.equal(model.calls.length, 0);
  });

  it('replies (never throws) for corrupt, zero-byte, encrypted, unknown and disabled', async () => {
    const model = fakeChat();
    const run = (bytes: Uint8Array, c = config()) => processAttachment(bytes, { caption: 'hi', config: c, chat: model.chat });
    const whole = pdf(['Some text here']);
    const cases: [Uint8Array, MediaConfig, string, RegExp][] = [
      [whole.subarray(0, 120), config(), 'corrupt', /damaged or incomplete/],
      [new Uint8Array(0), config(), 'empty', /empty/],
      [pdf(['secret'], { encrypt: { user: 'pw', owner: 'o' } }), config(), 'encrypted', /password-protected/],
      [Buffer.from('MZ\x90\0 an executable'), config(), 'unsupported', /I can read: JPG, PNG, WEBP, PDF, DOCX/],
      [png1x1(), config({ image: { enabled: false } }), 'unsupported', /can't read PNG files/],
    ];
    for (const [bytes, c, reason, text] of cases) {
      const reply = await run(bytes, c);
      assert.equal(reply.ok, false, reason);
      if (reply.ok) continue;
      assert.equal(reply.reason, reason);
      assert.match(reply.text, text);
      assert.ok(reply.text.length < 120, 'short');
      assert.ok(reply.detail.length > 0, 'detail for the log');
    }
    assert.equal(model.calls.length, 0);
  });

  it('lets a model failure through (the executor reports it like any model error)', async () => {
    const boom = new Error('model down');
    await assert.rejects(processAttachment(docx(['text']), { caption: '', config: config(), chat: async () => { throw boom; } }), (e) => e === boom);
  });

  describe('long documents: map/reduce within a bounded number of calls', () => {
    // 40 paragraphs of ~60 tokens: ~2400 tokens, far over a 200-token chunk.
    const paragraphs = Array.from({ length: 40 }, (_, i) => `Section ${i}. ${'The committee reviewed the figures and agreed on the plan. '.repeat(4)}Marker-${i}.`);
    const budget = { chunkTokens: 200, maxCalls: 4, notesTokens: 50 };

    it('never exceeds maxCalls, answers from the notes, and says how much it read', async () => {
      const model = fakeChat((req, n) => (req.maxTokens ? `note ${n}` : 'FINAL'));
      const reply = await processAttachment(docx(paragraphs), { caption: 'What was agreed?', config: config(), chat: model.chat, budget });
      assert.equal(model.calls.length, 4);
      assert.equal(reply.ok && reply.calls, 4);
      const maps = model.calls.slice(0, 3);
      for (const m of maps) {
        assert.equal(m.maxTokens, 50);
        assert.match(userText(m), /Question: What was agreed\?/);
        assert.ok(userText(m).length < 200 * 4 + 200, 'a part stays within the chunk budget');
      }
      assert.match(userText(maps[0]!), /Section 0\./);
      const reduce = model.calls[3]!;
      assert.equal(reduce.maxTokens, undefined);
      assert.match(userText(reduce), /Part 1: note 1[\s\S]*Part 2: note 2[\s\S]*Part 3: note 3/);
      assert.ok(reply.ok);
      assert.match(reply.text, /^FINAL\n\n\(The document is long: I read the first 3 of its \d+ parts\.\)$/);
    });

    it('reads every part when the budget allows, in order, and the last section reaches the answer', async () => {
      const model = fakeChat((req, n) => (req.maxTokens ? `note ${n}` : 'FINAL'));
      const reply = await processAttachment(docx(paragraphs), { caption: '', config: config(), chat: model.chat, budget: { ...budget, maxCalls: 100 } });
      const parts = model.calls.length - 1;
      assert.ok(parts > 3 && parts < 99, `${parts} parts`);
      assert.deepEqual(reply, { ok: true, type: 'docx', text: 'FINAL', calls: parts + 1 });
      const mapped = model.calls.slice(0, parts).map(userText).join('\n');
      for (let i = 0; i < 40; i++) assert.ok(mapped.includes(`Marker-${i}.`), `section ${i} was read`);
      assert.match(userText(model.calls[parts]!), /Question: Summarise this document/);
    });

    it('clips long notes so the final request stays within one chunk', async () => {
      const model = fakeChat((req) => (req.maxTokens ? 'blah '.repeat(500) : 'FINAL'));
      await processAttachment(docx(paragraphs), { caption: 'q', config: config(), chat: model.chat, budget });
      const reduce = userText(model.calls.at(-1)!);
      assert.ok(reduce.length < 200 * 4 + 300, `${reduce.length} characters`);
    });
  });
});

describe('chunkText', () => {
  it('splits CJK text without spaces within the budget and loses nothing', () => {
    const text = '会议讨论了预算问题。'.repeat(100) + '最后一句';
    const chunks = chunkText(text, 120);
    assert.ok(chunks.length >= 9);
    for (const c of chunks) assert.ok([...c].length <= 120, `${[...c].length} characters`);
    assert.equal(chunks.join(''), text);
    assert.ok(chunks.slice(0, -1).every((c) => c.endsWith('。')), 'cut after a full stop');
  });

  it('never cuts an emoji in two', () => {
    const text = '😀'.repeat(50);
    for (const c of chunkText(text, 7)) assert.ok(!/[\ud800-\udbff]$|^[\udc00-\udfff]/.test(c), 'no lone surrogate');
    assert.equal(chunkText(text, 7).join(''), text);
  });

  it('prefers paragraph breaks', () => {
    const chunks = chunkText(`${'a '.repeat(150)}\n\n${'b '.repeat(150)}`, 100);
    assert.ok(chunks[0]!.endsWith('a'));
    assert.ok(chunks.at(-1)!.endsWith('b'));
    assert.ok(!chunks.some((c) => c.includes('a') && c.includes('b')));
  });
});
