// The Telegram adapter (long polling, real grammY) passes the shared contract against the fake Bot API.
import { TelegramAdapter } from '../src/adapters/telegram/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import { runAdapterContract } from './contract/adapter-contract.ts';
import { startFakeTelegram, type FakeTelegram } from './fakes/telegram.ts';
import { quietLog, testHttp } from './helpers/pipeline.ts';

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
