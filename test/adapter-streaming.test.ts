// Streaming into a chat: a preview message edited while the model writes, then replaced by the final
// formatted reply — one message in the chat, not two.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SlackAdapter } from '../src/adapters/slack/adapter.ts';
import { TelegramAdapter } from '../src/adapters/telegram/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import type { ModelClient } from '../src/core/models/types.ts';
import { startFakeSlack } from './fakes/slack.ts';
import { startFakeTelegram } from './fakes/telegram.ts';
import { pipeline, quietLog, testHttp, until, type Pipeline } from './helpers/pipeline.ts';

const FINAL = 'The **answer** is: one, two, three, four, five.';
/** Writes FINAL in pieces over ~3 s, so the preview is updated a few times. */
const slowModel: ModelClient = {
  provider: 'ollama',
  endpoint: 'scripted',
  chat: async (req) => {
    const pieces = FINAL.match(/.{1,8}/g)!;
    for (const p of pieces) {
      req.onDelta?.(p);
      await new Promise((r) => setTimeout(r, 450));
    }
    return { text: FINAL, toolCalls: [], model: 'scripted', promptTokens: 1, completionTokens: pieces.length };
  },
  listModels: async () => ['scripted'],
};

describe('streaming a reply by editing one message', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('telegram: a preview posted, edited while written, then replaced by the formatted answer', async () => {
    const fake = await startFakeTelegram();
    const log = await quietLog();
    const d = defaultConfig().adapters.telegram;
    const adapter = new TelegramAdapter({ config: { ...d, enabled: true, stream: true, token: fake.token, apiRoot: fake.apiRoot }, http: testHttp(log), log });
    const p: Pipeline = await pipeline(adapter, { log, model: slowModel });
    cleanups.push(async () => { await p.close(); await fake.close(); });
    fake.pushUpdate(fake.textMessage({ chatId: 7001, chatType: 'private', from: { id: 7001, first_name: 'Ada' }, text: 'count' }));
    await until('the final edit', () => fake.sent.some((m) => m.chat.id === 7001 && 'text' in m && m.text === 'The answer is: one, two, three, four, five.'), 10_000);
    const calls = fake.requests.filter((r) => r.status === 200);
    assert.equal(calls.filter((r) => r.method === 'sendMessage').length, 1, 'one message in the chat');
    const edits = calls.filter((r) => r.method === 'editMessageText');
    assert.ok(edits.length >= 2, `the preview was edited while written (${edits.length} edits)`);
    assert.equal(edits.at(-1)!.params.parse_mode, 'HTML', 'the last edit is the formatted reply');
    const gaps = edits.slice(1).map((e, i) => e.at - edits[i]!.at);
    // Throttled to one edit a second; the fake stamps each request when it arrives, so a request that
    // left on time but was sent a few ms faster than the one before shows a gap just under 1000 ms.
    assert.ok(gaps.every((g) => g >= 950), `edits throttled: ${gaps.join(', ')} ms`);
  });

  it('slack: the same with chat.postMessage then chat.update', async () => {
    const fake = await startFakeSlack();
    const log = await quietLog();
    const d = defaultConfig().adapters.slack;
    const adapter = new SlackAdapter({ config: { ...d, enabled: true, stream: true, botToken: fake.botToken, appToken: fake.appToken, apiUrl: `${fake.url}/api/` }, http: testHttp(log), log });
    const p = await pipeline(adapter, { log, model: slowModel });
    cleanups.push(async () => { await p.close(); await fake.close(); });
    fake.pushEvent(fake.directMessage({ channel: 'D0STREAM01', user: 'U0PERSON1', text: 'count' }));
    await until('the final update', () => fake.posted.some((m) => m.method === 'chat.update' && m.text === 'The *answer* is: one, two, three, four, five.'), 10_000);
    assert.equal(fake.posted.filter((m) => m.method === 'chat.postMessage').length, 1, 'one message in the channel');
    assert.ok(fake.posted.filter((m) => m.method === 'chat.update').length >= 2);
  });

  it('slack: a preview deleted meanwhile: the answer is posted anew, not lost', async () => {
    const fake = await startFakeSlack();
    const log = await quietLog();
    const d = defaultConfig().adapters.slack;
    const adapter = new SlackAdapter({ config: { ...d, enabled: true, stream: true, botToken: fake.botToken, appToken: fake.appToken, apiUrl: `${fake.url}/api/` }, http: testHttp(log), log });
    const p = await pipeline(adapter, { log, model: slowModel });
    cleanups.push(async () => { await p.close(); await fake.close(); });
    fake.pushEvent(fake.directMessage({ channel: 'D0STREAM02', user: 'U0PERSON1', text: 'count' }));
    await until('the preview', () => fake.posted.some((m) => m.method === 'chat.postMessage' && m.channel === 'D0STREAM02'));
    const preview = fake.posted.find((m) => m.method === 'chat.postMessage' && m.channel === 'D0STREAM02')!;
    const del = await fetch(`${fake.url}/api/chat.delete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.botToken}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ channel: 'D0STREAM02', ts: preview.ts }),
    });
    assert.equal(((await del.json()) as { ok: boolean }).ok, true);
    await until('the answer posted', () => fake.posted.some((m) => m.method === 'chat.postMessage' && m.text === 'The *answer* is: one, two, three, four, five.'), 10_000);
  });
});
