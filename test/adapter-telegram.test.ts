// The Telegram adapter (long polling, real grammY) passes the shared contract against the fake Bot API.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TelegramAdapter } from '../src/adapters/telegram/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import { openDb } from '../src/store/db.ts';
import { Store } from '../src/store/store.ts';
import { runAdapterContract } from './contract/adapter-contract.ts';
import { startFakeTelegram, type FakeTelegram } from './fakes/telegram.ts';
import { pipeline, quietLog, testHttp, until } from './helpers/pipeline.ts';

let fake: FakeTelegram;
const updates = new Map<string, object>();
let n = 0;
const CHAT = 5001;

runAdapterContract({
  name: 'telegram (long polling)',
  maxMessage: 4096,
  async setup() {
    fake = await startFakeTelegram();
    const log = await quietLog();
    const http = testHttp(log);
    const d = defaultConfig().adapters.telegram;
    return new TelegramAdapter({ config: { ...d, enabled: true, token: fake.token, apiRoot: fake.apiRoot }, http, log });
  },
  async say(text) {
    const update = fake.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT, first_name: 'Ada' }, text });
    const handle = `h${++n}`;
    updates.set(handle, update);
    fake.pushUpdate(update);
    return handle;
  },
  async redeliver(handle) {
    // The same message again under a new update_id: what a restart that re-reads updates looks like.
    const { update_id: _old, ...rest } = updates.get(handle) as { update_id?: number };
    fake.pushUpdate(rest);
  },
  sent: () => fake.sent.filter((m) => m.chat.id === CHAT).map((m) => ('text' in m ? (m.text ?? '') : '')),
  rateLimitNextSend: (s) => fake.failNext('sendMessage', { error_code: 429, description: `Too Many Requests: retry after ${s}`, retry_after: s }),
  outage: (ms) => fake.down(ms),
  async teardown() {
    await fake.close();
  },
});

describe('telegram: a message that arrives while the gateway shuts down', () => {
  it('is not confirmed to Telegram (read again after the restart)', async () => {
    const tg = await startFakeTelegram();
    const log = await quietLog();
    const d = defaultConfig().adapters.telegram;
    const adapter = new TelegramAdapter({ config: { ...d, enabled: true, token: tg.token, apiRoot: tg.apiRoot }, http: testHttp(log), log });
    const p = await pipeline(adapter, { log });
    // serve: the gateway stops accepting (turns in flight get up to 10 s) before the adapters stop.
    await p.gateway.close(1000);
    const id = tg.pushUpdate(tg.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT, first_name: 'Ada' }, text: 'late' }));
    await until('the update read', () => tg.requests.some((r) => r.method === 'getUpdates' && JSON.stringify(r.response).includes('"late"')));
    await new Promise((r) => setTimeout(r, 100));
    p.stop.abort();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(tg.confirmedUpTo < id, `update ${id} confirmed (${tg.confirmedUpTo}): lost`);
    assert.ok(tg.pendingUpdates().some((u) => u.update_id === id));
    await p.close();
    await tg.close();
  });
});

describe('telegram: a message that cannot be recorded (a full disk)', () => {
  // A database that may not grow: recording a long message needs a new page and fails with SQLITE_FULL.
  const fullStore = () => {
    const dir = mkdtempSync(join(tmpdir(), 'clawdbot-tgfull-'));
    const opened = openDb(join(dir, 'x.db'));
    const grow = (pages: number) => opened.db.pragma(`max_page_count = ${Number(opened.db.pragma('page_count', { simple: true })) + pages}`);
    // The migrations leave free pages behind: used up first, so the limit is really reached.
    opened.db.exec('CREATE TABLE test_filler (b BLOB)');
    opened.db.prepare('INSERT INTO test_filler VALUES (zeroblob(?))').run((Number(opened.db.pragma('freelist_count', { simple: true })) + 1) * 4096);
    grow(0);
    return { store: new Store(opened), grow, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  };
  const start = async (store: Store) => {
    const tg = await startFakeTelegram();
    const log = await quietLog();
    const d = defaultConfig().adapters.telegram;
    const adapter = new TelegramAdapter({ config: { ...d, enabled: true, token: tg.token, apiRoot: tg.apiRoot }, http: testHttp(log), log, recordRetryMs: 40 });
    return { tg, p: await pipeline(adapter, { log, store }) };
  };
  const long = 'x'.repeat(4000);

  it('is not confirmed while it fails, then recorded and answered once the disk has room', async () => {
    const f = fullStore();
    const { tg, p } = await start(f.store);
    const id = tg.pushUpdate(tg.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT, first_name: 'Ada' }, text: long }));
    await until('the update read', () => tg.requests.some((r) => r.method === 'getUpdates' && JSON.stringify(r.response).includes(long)));
    await new Promise((r) => setTimeout(r, 300)); // several failed attempts
    assert.ok(tg.confirmedUpTo < id, `update ${id} confirmed (${tg.confirmedUpTo}) though it was never recorded`);
    assert.equal(tg.sent.length, 0);
    f.grow(100);
    await until('the answer', () => tg.sent.some((m) => 'text' in m && m.text === `echo: ${long}`));
    await until('the update confirmed', () => tg.confirmedUpTo >= id);
    await p.close();
    await tg.close();
    f.cleanup();
  });

  it('shutting down while it waits leaves it unconfirmed (read again after the restart)', async () => {
    const f = fullStore();
    const { tg, p } = await start(f.store);
    const id = tg.pushUpdate(tg.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT, first_name: 'Ada' }, text: long }));
    await until('the update read', () => tg.requests.some((r) => r.method === 'getUpdates' && JSON.stringify(r.response).includes(long)));
    await new Promise((r) => setTimeout(r, 150));
    await p.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(tg.confirmedUpTo < id, `update ${id} confirmed (${tg.confirmedUpTo}) at shutdown: lost`);
    assert.ok(tg.pendingUpdates().some((u) => u.update_id === id));
    await tg.close();
    f.cleanup();
  });
});

describe('telegram: a poll that fails', () => {
  it('is reported to the gateway as an adapter error (clawdbot_errors_total{component="adapter"})', async () => {
    const tg = await startFakeTelegram();
    const log = await quietLog();
    const d = defaultConfig().adapters.telegram;
    const adapter = new TelegramAdapter({ config: { ...d, enabled: true, token: tg.token, apiRoot: tg.apiRoot }, http: testHttp(log), log });
    let failures = 0;
    const p = await pipeline(adapter, { log, wrapHost: (h) => ({ ...h, failed: () => { failures++; h.failed(); } }) });
    assert.equal(failures, 0);
    await tg.down(); // long polls cut, connections refused
    await until('a failed poll reported', () => failures > 0);
    await tg.up();
    await p.close();
    await tg.close();
  });
});
