// `memory import` and the `memory` command: chunking, the shared scope, skipping unchanged files by
// content hash, replacing a changed file's chunks, the pdf/docx hook, and search/forget output.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runMemory } from '../src/cli/memory.ts';
import { chunkText, importKnowledge } from '../src/core/memory/knowledge.ts';
import { OllamaEmbedder } from '../src/core/memory/embed.ts';
import { Memory } from '../src/core/memory/retrieve.ts';
import { CLEAR_TEXT } from '../src/store/crypto.ts';
import { openDb } from '../src/store/db.ts';
import { MemoryStore } from '../src/store/memory.ts';
import { startFakeOllama } from './fakes/ollama.ts';
import { tempDir } from './helpers/certs.ts';
import { runCli, scratch } from './helpers/cli.ts';

const quiet = { onProgress: () => undefined };

describe('knowledge import', () => {
  it('chunks on paragraph boundaries, about 800 characters, with overlap', () => {
    const paras = Array.from({ length: 12 }, (_, i) => `Paragraph ${i} ${'lorem ipsum dolor sit amet '.repeat(8).trim()}.`);
    const chunks = chunkText(paras.join('\n\n'));
    assert.ok(chunks.length >= 3);
    for (const c of chunks) assert.ok(c.length <= 800 + 150, `${c.length}`);
    for (let i = 1; i < chunks.length; i++) {
      const prevEnd = chunks[i - 1]!.slice(-40);
      assert.ok(chunks[i]!.includes(prevEnd.slice(prevEnd.indexOf(' ') + 1)), 'the next chunk repeats the end of the one before');
    }
    assert.ok(paras.every((p) => chunks.some((c) => c.includes(p))), 'no paragraph is lost or cut');
    assert.deepEqual(chunkText(''), []);
  });

  it('imports md and txt recursively into the shared scope, skips unchanged files, replaces changed ones', async (t) => {
    const tmp = tempDir('memory-import-');
    const opened = openDb(join(tmp.dir, 'db', 'clawdbot.db'));
    const fake = await startFakeOllama({ models: ['nomic-embed-text'], embeddingDims: 64 });
    t.after(async () => {
      opened.close();
      await fake.close();
      tmp.remove();
    });
    const memory = new Memory(new MemoryStore(opened.db, CLEAR_TEXT), new OllamaEmbedder({ endpoint: fake.url, model: 'nomic-embed-text', timeoutMs: 5000 }));
    const docs = join(tmp.dir, 'docs');
    mkdirSync(join(docs, 'sub'), { recursive: true });
    writeFileSync(join(docs, 'vpn.md'), '# VPN\n\nThe office VPN gateway is vpn.example.internal on port 1194.\n\nAsk IT for a certificate.');
    writeFileSync(join(docs, 'sub', 'lunch.txt'), 'Lunch is served in the canteen from 12:00 to 14:00.');
    writeFileSync(join(docs, 'sub', 'manual.pdf'), '%PDF-1.4 not really');
    writeFileSync(join(docs, 'image.png'), 'png');
    const now = Date.UTC(2026, 0, 1);

    const first = await importKnowledge(memory, [docs], { extract: undefined, now, ...quiet });
    assert.deepEqual(first.imported.map((f) => [f.path.slice(docs.length), f.chunks]), [['/sub/lunch.txt', 1], ['/vpn.md', 1]]);
    assert.deepEqual(first.skipped.map((f) => [f.path.slice(docs.length), f.reason]),
      [['/image.png', 'not a text file (md, txt)'], ['/sub/manual.pdf', 'pdf extraction is not available in this build']]);
    assert.equal(first.unembedded, 0);
    const r = await memory.related('which port does the VPN gateway use?', { scopes: ['shared'], topK: 3, budgetTokens: 200, now });
    assert.match(r.snippets[0]!.text, /port 1194/);
    assert.equal(r.snippets[0]!.role, 'knowledge');
    const embedCalls = () => fake.requests.filter((q) => q.path === '/api/embed').length;

    const calls = embedCalls();
    const again = await importKnowledge(memory, [docs], { extract: async () => 'Manual: press the green button to restart the printer.', now, ...quiet });
    assert.equal(again.unchanged.length, 2);
    assert.deepEqual(again.imported.map((f) => f.path.slice(docs.length)), ['/sub/manual.pdf']);
    assert.equal(embedCalls(), calls + 1, 'only the newly extracted file was embedded');

    writeFileSync(join(docs, 'vpn.md'), '# VPN\n\nThe office VPN gateway moved to port 443.');
    const changed = await importKnowledge(memory, [join(docs, 'vpn.md')], { extract: undefined, now, ...quiet });
    assert.equal(changed.imported.length, 1);
    const after = await memory.related('which port does the VPN gateway use?', { scopes: ['shared'], topK: 5, budgetTokens: 200, now });
    assert.ok(after.snippets.some((s) => s.text.includes('port 443')));
    assert.ok(!after.snippets.some((s) => s.text.includes('1194')), 'the old chunks were replaced');
    assert.equal(opened.db.prepare(`SELECT count(*) FROM memory_items WHERE source = ?`).pluck().get(join(docs, 'vpn.md')), 1);
  });
});

describe('memory command', () => {
  it('a path that does not exist is a usage error (exit 2) naming it, and nothing is imported', async (t) => {
    const s = scratch();
    t.after(() => s.cleanup());
    const config = s.write('clawdbot.yaml', 'system:\n  data_dir: ./data\n  log_level: silent\nmodels: { default: { endpoint: "http://127.0.0.1:9" } }\n');
    const kb = s.write('kb.md', 'The office opens at nine.');
    const r = await runCli(['memory', 'import', '--config', config, kb, 'no-such-notes.md'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^memory import: no-such-notes\.md: no such file or folder\n/);
    assert.doesNotMatch(r.stderr, /ENOENT|error:/);
    assert.doesNotMatch(r.stdout, /imported/);
  });

  it('import, search with scores, forget with counts (embedding endpoint down: FTS only)', async (t) => {
    const s = scratch();
    t.after(() => s.cleanup());
    // No models.embedding: the default endpoint (127.0.0.1:11434) is not running in tests.
    const config = s.write('clawdbot.yaml', 'system:\n  data_dir: ./data\n');
    const kb = s.write('holidays.md', 'The company holidays this year are on 24 and 31 December.');
    const io = () => {
      const r = { out: '', err: '' };
      return { r, io: { out: (x: string) => void (r.out += x), err: { write: (x: string) => void (r.err += x) } } };
    };
    const a = io();
    assert.equal(await runMemory('import', [kb], { config }, a.io), 0);
    assert.match(a.r.out, /1 files imported \(1 chunks\), 0 unchanged, 0 skipped/);
    assert.match(a.r.out, /1 chunks have no vector yet/);
    const b = io();
    assert.equal(await runMemory('search', ['when are the company holidays?'], { config, user: '42', platform: 'telegram' }, b.io), 0);
    assert.match(b.r.out, /scopes: user:telegram:42, shared {2}\(search: fts\)/);
    assert.match(b.r.out, /^\d\.\d{4} {2}\[shared\] .*bm25 #1.*24 and 31 December/m);
    assert.match(b.r.err, /full-text search only/);
    const c = io();
    assert.equal(await runMemory('forget', [], { config, user: '42', platform: 'telegram' }, c.io), 0);
    assert.match(c.r.out, /forgot 42 on telegram: 0 memory items, 0 vectors, 0 full-text rows, 0 session history messages/);
    await assert.rejects(runMemory('forget', [], { config }, c.io), /--user ID is required/);
  });
});
