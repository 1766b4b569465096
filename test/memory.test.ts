// Context memory end to end on a real SQLite file (sqlite-vec + FTS5) with the fake model servers'
// embeddings through the real clients: recall across turns, scoping, forgetting down to the file's
// bytes, hybrid ranking with poor embeddings, a down endpoint, a model change, TTL pruning.
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileEmbedding, compileMemory, embeddingSection, memorySection } from '../src/core/config/memory.ts';
import { EmbedError, OllamaEmbedder, OpenAIEmbedder } from '../src/core/memory/embed.ts';
import { formatForPrompt, Memory, scopesFor, turnItems, type Speaker } from '../src/core/memory/retrieve.ts';
import { CLEAR_TEXT, dataCodec } from '../src/store/crypto.ts';
import { openDb } from '../src/store/db.ts';
import { MemoryStore, SHARED_SCOPE } from '../src/store/memory.ts';
import { Store } from '../src/store/store.ts';
import type { InboundMessage } from '../src/core/types.ts';
import { startFakeOllama } from './fakes/ollama.ts';
import { startFakeOpenAI } from './fakes/openai.ts';
import { closedPort } from './helpers/cli.ts';
import { tempDir } from './helpers/certs.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10);
const cfg = compileMemory({ enabled: true });
const alice: Speaker = { platform: 'telegram', userId: '1001', chatId: '1001' };
const bob: Speaker = { platform: 'telegram', userId: '2002', chatId: '2002' };

function fresh(t: { after(fn: () => void): void }, codec = CLEAR_TEXT) {
  const tmp = tempDir('memory-');
  const path = join(tmp.dir, 'clawdbot.db');
  const opened = openDb(path);
  t.after(() => {
    opened.close();
    tmp.remove();
  });
  return { path, opened, store: new MemoryStore(opened.db, codec) };
}

async function ollama(t: { after(fn: () => Promise<void>): void }, dims: number) {
  const fake = await startFakeOllama({ models: ['nomic-embed-text'], embeddingDims: dims });
  t.after(() => fake.close());
  return { fake, embedder: new OllamaEmbedder({ endpoint: fake.url, model: 'nomic-embed-text', timeoutMs: 5000 }) };
}

const ask = (m: Memory, who: Speaker, q: string, now = T0 + DAY) =>
  m.related(q, { scopes: scopesFor(cfg, who), topK: 5, budgetTokens: 500, now });

describe('config', () => {
  it('defaults and fixed names', () => {
    assert.deepEqual(compileMemory(memorySection.parse({})), { enabled: false, scope: 'user', topK: 5, ttlMs: undefined, budgetTokens: 500, store: 'both', shared: true });
    assert.deepEqual(compileMemory(memorySection.parse({ enabled: true, scope: 'chat', top_k: 3, ttl: '30d', budget_tokens: 200, store: 'user', shared: false })),
      { enabled: true, scope: 'chat', topK: 3, ttlMs: 30 * DAY, budgetTokens: 200, store: 'user', shared: false });
    assert.equal(compileEmbedding(embeddingSection.parse({ provider: 'openai', endpoint: 'http://model-service:8000/v1/', model: 'bge-m3' })).endpoint, 'http://model-service:8000/v1');
    assert.throws(() => memorySection.parse({ scope: 'everyone' }), /one of user, chat/);
    assert.throws(() => memorySection.parse({ topk: 3 }), /top_k/);
    assert.throws(() => embeddingSection.parse({ provider: 'cohere' }), /ollama, openai/);
  });
});

describe('memory', () => {
  it('a fact told in turn 1 is found for turn 5, never for another user, and forget erases it from the file', async (t) => {
    const { path, opened, store } = fresh(t);
    const { embedder } = await ollama(t, 64);
    const memory = new Memory(store, embedder);
    // The gateway's side: the turn goes through the inbox and ends in history (the forget must reach it).
    const gw = Store.open(path);
    t.after(() => gw.close());
    const turns = [
      'My locker combination is Zanzibarite-4711, please remember it',
      'What is the weather like in Berlin today?',
      'Tell me a joke about databases',
      'How do I boil an egg?',
    ];
    for (const [i, text] of turns.entries()) {
      const at = T0 + i * 60_000;
      const m: InboundMessage = { platform: 'telegram', id: `m${i}`, chat: { id: alice.chatId, type: 'dm' }, sender: { id: alice.userId }, text, sentAt: at, attachments: [] };
      const rec = gw.inbox.record(m, 'telegram:1001', at);
      assert.equal(rec.duplicate, false);
      const answer = `Noted: ${text}`;
      gw.completeTurn({ inboxId: rec.duplicate ? 0 : rec.inboxId, conversation: 'telegram:1001', reply: { platform: 'telegram', chatId: '1001', text: answer },
        remember: [{ role: 'user', text, at }, { role: 'assistant', text: answer, at }], sessionTtlMs: DAY }, at);
      const r = await memory.add(turnItems(cfg, alice, { question: text, answer, at }), at);
      assert.equal(r.embedded, 2);
    }
    await memory.add(turnItems(cfg, bob, { question: 'My favourite colour is teal', answer: 'ok', at: T0 }), T0);

    const five = await ask(memory, alice, 'what was my locker combination again?');
    assert.equal(five.mode, 'hybrid');
    assert.match(five.snippets[0]!.text, /Zanzibarite-4711/);
    assert.match(five.prompt, /Zanzibarite-4711/);
    assert.ok(five.snippets.every((s) => s.scope === 'user:telegram:1001' || s.scope === SHARED_SCOPE));

    const other = await ask(memory, bob, 'what was my locker combination again?');
    assert.doesNotMatch(other.prompt, /Zanzibarite/);
    assert.ok(other.snippets.every((s) => s.scope === 'user:telegram:2002'));

    const counts = memory.forget({ user: alice.userId, platform: 'telegram' });
    assert.deepEqual(counts, { items: 8, vectors: 8, fts: 8, messages: 8, inbox: 4, outbox: 4 });
    assert.equal((await ask(memory, alice, 'locker combination Zanzibarite')).snippets.length, 0);
    assert.match((await ask(memory, bob, 'favourite colour')).snippets[0]!.text, /teal/, 'another person is untouched');
    for (const file of [path, `${path}-wal`]) {
      if (!existsSync(file)) continue;
      assert.equal(readFileSync(file).includes('Zanzibarite'), false, `${file} still holds the fact`);
      assert.equal(readFileSync(file).includes('zanzibarite'), false, `${file} still holds the indexed term`);
    }
    assert.equal(opened.db.prepare(`SELECT count(*) FROM messages`).pluck().get(), 0);
  });

  it('ranks an exact keyword hit first even when the embeddings are poor', async (t) => {
    const { store } = fresh(t);
    // 8 dimensions: the fake's hashed word features collide everywhere, the vectors say next to nothing.
    const { embedder } = await ollama(t, 8);
    const memory = new Memory(store, embedder);
    const filler = ['where did I leave my keys', 'where did I put my glasses', 'I parked the car near the station', 'did I call my mother today',
      'where is the nearest bakery', 'I did the laundry', 'where did I stop yesterday', 'my bike is in the garage', 'I left my phone at work',
      'where did I read that article', 'the meeting is at noon', 'did I lock the door'];
    for (const [i, text] of filler.entries()) await memory.add([{ ...turnItems(cfg, alice, { question: text, answer: '', at: T0 + i })[0]! }], T0 + i);
    const fact = 'The Quokkamobile stands on level 3 of the Westfield garage';
    await memory.add(turnItems(cfg, alice, { question: fact, answer: '', at: T0 - 20 * DAY }), T0);
    const r = await ask(memory, alice, 'where did I park the Quokkamobile?');
    assert.equal(r.mode, 'hybrid');
    assert.equal(r.snippets[0]!.text, fact);
    assert.equal(r.snippets[0]!.exact, true);
    assert.ok(r.snippets.slice(1).every((s) => !s.exact));
  });

  it('works on full-text search alone when the embedding endpoint is down, without throwing', async (t) => {
    const { store } = fresh(t);
    const down = new OllamaEmbedder({ endpoint: `http://127.0.0.1:${await closedPort()}`, model: 'nomic-embed-text', timeoutMs: 2000 });
    const memory = new Memory(store, down);
    const added = await memory.add(turnItems(cfg, alice, { question: 'my passport number is XK1234567', answer: 'noted', at: T0 }), T0);
    assert.equal(added.embedded, 0);
    assert.ok(added.error instanceof EmbedError);
    assert.equal(added.error.kind, 'unreachable');
    const r = await ask(memory, alice, 'what is my passport number');
    assert.equal(r.mode, 'fts');
    assert.match(r.degraded ?? '', /full-text search only/);
    assert.match(r.snippets[0]!.text, /XK1234567/);
    const s = memory.status();
    assert.equal(s.embedding?.state, 'down');
    assert.equal(s.unembedded, 2);
  });

  it('after a model change, vector search skips the old rows (FTS still answers) until reindex', async (t) => {
    const { store } = fresh(t);
    const { embedder: old } = await ollama(t, 64);
    const before = new Memory(store, old);
    for (let i = 0; i < 40; i++) await before.add(turnItems(cfg, alice, { question: `note number ${i} about topic${i}`, answer: '', at: T0 + i }), T0 + i);
    await before.add(turnItems(cfg, alice, { question: 'the wifi password is hunter2-orchid', answer: '', at: T0 }), T0);

    const fake = await startFakeOpenAI({ models: ['bge-m3'], embeddingDims: 32 });
    t.after(() => fake.close());
    const memory = new Memory(store, new OpenAIEmbedder({ endpoint: fake.baseUrl, model: 'bge-m3', apiKey: undefined, timeoutMs: 5000 }));
    const r = await ask(memory, alice, 'what is the wifi password?');
    assert.match(r.snippets[0]!.text, /hunter2-orchid/);
    assert.ok(r.snippets.every((s) => s.vectorRank === undefined), 'no vector of the old model is compared with the new one');
    assert.equal(memory.status().otherModel, 41);
    assert.equal(memory.status().dims, 32);

    const progress: [number, number][] = [];
    const done = await memory.reindex((d, n) => progress.push([d, n]), T0);
    assert.equal(done.embedded, 41);
    assert.equal(done.droppedIndexes, 1);
    assert.deepEqual(progress.at(0), [0, 41]);
    assert.deepEqual(progress.at(-1), [41, 41]);
    assert.ok(progress.length >= 3, 'batched');
    assert.equal(memory.status().otherModel, 0);
    const again = await ask(memory, alice, 'what is the wifi password?');
    assert.equal(again.mode, 'hybrid');
    assert.ok(again.snippets[0]!.vectorRank !== undefined);
    assert.match(again.snippets[0]!.text, /hunter2-orchid/);
  });

  it('prunes items older than the TTL, with their vectors and full-text rows', async (t) => {
    const { store, opened } = fresh(t);
    const { embedder } = await ollama(t, 16);
    const memory = new Memory(store, embedder);
    await memory.add(turnItems(cfg, alice, { question: 'an old thing about marmalade', answer: 'ok', at: T0 - 100 * DAY }), T0);
    await memory.add(turnItems(cfg, alice, { question: 'a new thing about marmalade', answer: 'ok', at: T0 }), T0);
    assert.deepEqual(memory.prune(90 * DAY, T0), { items: 2, vectors: 2, fts: 2 });
    const r = await ask(memory, alice, 'marmalade', T0);
    assert.deepEqual(r.snippets.map((s) => s.text).filter((x) => x.includes('marmalade')), ['a new thing about marmalade']);
    assert.equal(opened.db.prepare('SELECT count(*) FROM memory_items').pluck().get(), 2);
  });

  it('keeps FTS off when the text is encrypted, and still answers by vector', async (t) => {
    const codec = dataCodec(Buffer.alloc(32, 7));
    const { store, path } = fresh(t, codec);
    const { embedder } = await ollama(t, 64);
    const memory = new Memory(store, embedder);
    assert.equal(store.ftsEnabled, false);
    await memory.add(turnItems(cfg, alice, { question: 'my dentist is Dr Pomegranate', answer: '', at: T0 }), T0);
    const r = await ask(memory, alice, 'my dentist is Dr Pomegranate');
    assert.equal(r.mode, 'vector');
    assert.equal(r.snippets[0]!.text, 'my dentist is Dr Pomegranate');
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    assert.equal(readFileSync(path).includes('omegranate'), false);
  });

  it('an embedding model with an unusable dimension (12) falls back to FTS and leaves forget, prune and doctor working', async (t) => {
    const { store, opened } = fresh(t);
    const { embedder: good } = await ollama(t, 16);
    await new Memory(store, good).add(turnItems(cfg, alice, { question: 'my bank PIN is 8842', answer: 'ok', at: T0 }), T0);
    const { embedder: odd } = await ollama(t, 12);
    const memory = new Memory(store, odd);
    const r = await ask(memory, alice, 'bank PIN');
    assert.equal(r.mode, 'fts');
    assert.match(r.snippets[0]!.text, /8842/);
    assert.equal((await memory.add(turnItems(cfg, bob, { question: 'teal', answer: '', at: T0 }), T0)).embedded, 0);
    assert.equal((await memory.probe()).embedding?.state, 'down');
    assert.equal(memory.status().items, 3);
    assert.deepEqual(memory.forget({ user: alice.userId }).items, 2);
    assert.equal(memory.prune(DAY, T0 + 2 * DAY).items, 1);
    assert.equal(opened.db.prepare('SELECT count(*) FROM memory_vector_indexes WHERE dims % 8 != 0').pluck().get(), 0);
  });

  it('remembers what memory.store says and formats within the token budget', () => {
    assert.deepEqual(turnItems({ scope: 'user', store: 'user' }, alice, { question: 'q', answer: 'a', at: 1 }).map((i) => i.role), ['user']);
    assert.deepEqual(turnItems({ scope: 'chat', store: 'assistant' }, alice, { question: 'q', answer: 'a', at: 1 }).map((i) => [i.role, i.scope]), [['assistant', 'chat:telegram:1001']]);
    assert.deepEqual(scopesFor({ scope: 'user', shared: false }, alice), ['user:telegram:1001']);
    const long = { id: 1, scope: 's', role: 'user', createdAt: T0, score: 1, vectorRank: 1, textRank: 1, exact: false };
    const p = formatForPrompt([{ ...long, text: 'a'.repeat(50) }, { ...long, id: 2, text: 'word '.repeat(200) }], 60);
    assert.ok(p.length <= 240, `${p.length} characters for 60 tokens`);
    assert.match(p, /a{50}/);
    assert.match(p, /…$/);
    assert.equal(formatForPrompt([], 500), '');
  });

  it('keeps a Chinese prompt block within its token budget (about one token per CJK character)', () => {
    const base = { scope: 's', role: 'user', createdAt: T0, score: 1, vectorRank: 1, textRank: 1, exact: false };
    const zh = [1, 2, 3, 4, 5].map((id) => ({ ...base, id, text: '我的储物柜密码是四七一一，请记住它。'.repeat(4) }));
    const p = formatForPrompt(zh, 100);
    const tokens = Math.ceil([...p].filter((c) => c.charCodeAt(0) < 0x80).length / 4) + [...p].filter((c) => c.charCodeAt(0) >= 0x80).length;
    assert.match(p, /储物柜/);
    assert.ok(tokens <= 100, `${tokens} estimated tokens for a budget of 100 (${p.length} characters)`);
  });
});

after(() => undefined);
