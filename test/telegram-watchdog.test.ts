// Polling that stops succeeding is restarted by the adapter's watchdog, which says so in the log, and
// messages flow again once the Bot API is back.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { TelegramAdapter } from '../src/adapters/telegram/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import { createLogger } from '../src/core/log.ts';
import { startFakeTelegram } from './fakes/telegram.ts';
import { pipeline, testHttp, until, type Pipeline } from './helpers/pipeline.ts';

describe('telegram polling watchdog', () => {
  let p: Pipeline | undefined;
  let close: (() => Promise<void>) | undefined;
  after(async () => {
    await p?.close();
    await close?.();
  });

  it('restarts wedged polling, logs it, and delivers what came meanwhile', async () => {
    const fake = await startFakeTelegram();
    close = () => fake.close();
    const lines: string[] = [];
    const log = await createLogger({ level: 'warn', destination: new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } }) });
    const d = defaultConfig().adapters.telegram;
    const adapter = new TelegramAdapter({
      config: { ...d, enabled: true, token: fake.token, apiRoot: fake.apiRoot },
      http: testHttp(log),
      log,
      watchdog: { wedgedMs: 800, checkEveryMs: 100 },
    });
    p = await pipeline(adapter, { log });
    await fake.down(2500);
    await until('the watchdog to restart polling', () => lines.some((l) => l.includes('telegram polling wedged; restarting it')), 5000);
    assert.match(adapter.health().lastError ?? '', /Network request for '\w+' failed/, 'health names the failing call');
    fake.pushUpdate(fake.textMessage({ chatId: 8001, chatType: 'private', from: { id: 8001, first_name: 'Ada' }, text: 'still there?' }));
    await until('the reply after the outage', () => fake.sent.some((m) => m.chat.id === 8001), 15_000);
    assert.equal(adapter.health().connected, true);
  });
});
