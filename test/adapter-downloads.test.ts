// Attachments are fetched the platform's way and never past the size cap.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SlackAdapter } from '../src/adapters/slack/adapter.ts';
import { TelegramAdapter } from '../src/adapters/telegram/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import { AdapterError } from '../src/core/errors.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack.ts';
import { startFakeTelegram, type FakeTelegram } from './fakes/telegram.ts';
import { quietLog, testHttp } from './helpers/pipeline.ts';

const host = {
  receive: async () => ({ duplicate: true }) as const,
  submit: async () => ({ duplicate: true }) as const,
  online: () => undefined,
  failed: () => undefined,
};

describe('attachment downloads', () => {
  let tg: FakeTelegram;
  let sl: FakeSlack;
  let telegram: TelegramAdapter;
  let slack: SlackAdapter;
  const stop = new AbortController();
  before(async () => {
    [tg, sl] = await Promise.all([startFakeTelegram(), startFakeSlack()]);
    const log = await quietLog();
    const http = testHttp(log);
    const d = defaultConfig().adapters;
    telegram = new TelegramAdapter({ config: { ...d.telegram, enabled: true, token: tg.token, apiRoot: tg.apiRoot }, http, log });
    slack = new SlackAdapter({ config: { ...d.slack, enabled: true, botToken: sl.botToken, appToken: sl.appToken, apiUrl: `${sl.url}/api/` }, http, log });
    await telegram.start(host, stop.signal);
    await slack.start(host, stop.signal);
  });
  after(async () => {
    stop.abort();
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([tg.close(), sl.close()]);
  });

  const bytes = Buffer.from('%PDF-1.4 '.repeat(1000));

  it('telegram: getFile then the file path, with the bytes intact; over the cap is refused', async () => {
    const f = tg.addFile(bytes, { kind: 'document', fileName: 'a.pdf' });
    assert.deepEqual(await telegram.download(f.file_id, 1024 * 1024), bytes);
    await assert.rejects(telegram.download(f.file_id, 100), (e: unknown) => e instanceof AdapterError && e.kind === 'rejected' && /100/.test(e.message));
    await assert.rejects(telegram.download('nope', 1024), (e: unknown) => e instanceof AdapterError && e.kind === 'rejected');
  });

  it('slack: url_private with the bot token; over the cap is refused', async () => {
    const f = sl.addFile(bytes, { name: 'a.pdf', mimetype: 'application/pdf' });
    assert.deepEqual(await slack.download(f.url_private, 1024 * 1024), bytes);
    await assert.rejects(slack.download(f.url_private, 100), (e: unknown) => e instanceof AdapterError && e.kind === 'rejected');
    assert.ok(sl.downloads.every((d) => d.authorized), 'every download carried the bot token');
  });
});
