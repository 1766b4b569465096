// The Telegram adapter (long polling, real grammY) passes the shared contract against the fake Bot API.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TelegramAdapter } from '../src/adapters/telegram/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
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
