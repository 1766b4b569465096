// The Telegram adapter in webhook mode, in-process: the gateway's HTTP server listens first, the adapter
// registers /telegram/webhook on it and calls setWebhook at the fake Bot API, which then POSTs updates
// to that endpoint with X-Telegram-Bot-Api-Secret-Token. Real grammY, real Gateway/Store/Executor, a
// scripted model.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdapterHost } from '../src/adapters/contract.ts';
import { TelegramAdapter, WEBHOOK_PATH } from '../src/adapters/telegram/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import type { Gateway } from '../src/core/gateway.ts';
import type { HttpGateway } from '../src/core/http/server.ts';
import type { InboundMessage } from '../src/core/types.ts';
import type { Store } from '../src/store/store.ts';
import { startFakeTelegram, type FakeTelegram, type Message } from './fakes/telegram.ts';
import { pipeline, quietLog, testHttp, until, type Pipeline } from './helpers/pipeline.ts';

const SECRET = 'webhook_Secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const textOf = (m: Message) => ('text' in m ? (m.text ?? '') : '');

describe('telegram adapter: webhook mode', () => {
  let fake: FakeTelegram;
  let http: HttpGateway;
  let store: Store;
  let gateway: Gateway;
  let adapter: TelegramAdapter;
  let endpoint: string;
  let p: Pipeline;
  /** Every message the adapter handed to the gateway. */
  const submitted: InboundMessage[] = [];
  const sentTo = (chat: number) => fake.sent.filter((m) => m.chat.id === chat).map(textOf);
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  before(async () => {
    fake = await startFakeTelegram();
    const log = await quietLog();
    http = testHttp(log);
    const { port } = await http.listen();
    endpoint = `http://127.0.0.1:${port}${WEBHOOK_PATH}`;
    const config = defaultConfig();
    adapter = new TelegramAdapter({
      config: { ...config.adapters.telegram, enabled: true, token: fake.token, apiRoot: fake.apiRoot, mode: 'webhook', webhookSecret: SECRET, webhookUrl: endpoint },
      http,
      log,
    });
    p = await pipeline(adapter, {
      log,
      config,
      wrapHost: (host): AdapterHost => ({ ...host, submit: (m, onDelta) => (submitted.push(m), host.submit(m, onDelta)) }),
    });
    ({ store, gateway } = p);
  });
  after(async () => {
    await p.close();
    const closed = http.close();
    http.destroyAll();
    await closed;
    await fake.close();
  });

  it('start() sets the webhook with the secret and only the update types it handles', () => {
    assert.deepEqual(fake.webhook, { url: endpoint, secret_token: SECRET });
    const set = fake.requests.filter((r) => r.method === 'setWebhook');
    assert.equal(set.length, 1);
    assert.equal(set[0]!.status, 200);
    assert.equal(set[0]!.params.secret_token, SECRET);
    assert.deepEqual(fake.allowedUpdates, ['message', 'edited_message']);
    assert.equal(fake.requests.filter((r) => r.method === 'getUpdates').length, 0, 'no polling in webhook mode');
    const h = adapter.health();
    assert.equal(h.connected, true);
    assert.match(h.detail, new RegExp(`@${fake.bot.username}, webhook`));
  });

  it('an update pushed by Telegram reaches the endpoint and is answered, as a reply to it', async () => {
    const CHAT = 7001;
    const update = fake.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT, first_name: 'Ada' }, text: 'hello webhook' });
    const id = fake.pushUpdate(update);
    assert.ok(id > 0, 'message updates are allowed');
    await until('the reply', () => sentTo(CHAT).length > 0);
    assert.deepEqual(sentTo(CHAT), ['echo: hello webhook']);
    const delivery = fake.webhookDeliveries.find((d) => d.update_id === id);
    assert.equal(delivery?.status, 200, 'the endpoint answered 200');
    assert.equal(delivery?.attempt, 1, 'first try');
    assert.deepEqual(fake.pendingUpdates(), [], 'nothing left for Telegram to redeliver');
    const send = fake.requests.find((r) => r.method === 'sendMessage' && String(r.params.chat_id) === String(CHAT));
    const asked = (update as { message: { message_id: number } }).message.message_id;
    assert.equal((send?.params.reply_parameters as { message_id?: number })?.message_id, asked);
    assert.equal(store.pendingTurns(), 0);
  });

  it('without the secret header, or with a wrong one: 401 and nothing recorded', async () => {
    const CHAT = 7002;
    const update = { ...fake.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT }, text: 'let me in' }), update_id: 990001 };
    const before = { submitted: submitted.length, pending: store.pendingTurns(), sent: fake.sent.length };
    const none = await post(update);
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { error: string }).error, /secret/i);
    const wrong = await post(update, { 'x-telegram-bot-api-secret-token': `${SECRET}x` });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const prefix = await post(update, { 'x-telegram-bot-api-secret-token': SECRET.slice(0, -1) });
    assert.equal(prefix.status, 401);
    await prefix.body?.cancel();
    const empty = await post(update, { 'x-telegram-bot-api-secret-token': '' });
    assert.equal(empty.status, 401);
    await empty.body?.cancel();
    await sleep(200);
    assert.equal(submitted.length, before.submitted, 'nothing reached the gateway');
    assert.equal(store.pendingTurns(), before.pending);
    assert.equal(fake.sent.length, before.sent, 'no reply');
    assert.deepEqual(sentTo(CHAT), []);
    // The same update with the right secret goes through: the 401s were about the secret only.
    const ok = await post(update, { 'x-telegram-bot-api-secret-token': SECRET });
    assert.equal(ok.status, 200);
    await until('the reply', () => sentTo(CHAT).length > 0);
    assert.deepEqual(sentTo(CHAT), ['echo: let me in']);
  });

  it('update types it does not handle (poll, message_reaction) get 200 and are ignored', async () => {
    const headers = { 'x-telegram-bot-api-secret-token': SECRET };
    const before = { submitted: submitted.length, sent: fake.sent.length, requests: fake.requests.length };
    const poll = await post({ update_id: 990101, poll: { id: '5000', question: 'Lunch?', options: [{ text: 'yes', voter_count: 1 }, { text: 'no', voter_count: 0 }], total_voter_count: 1, is_closed: false, is_anonymous: true, type: 'regular', allows_multiple_answers: false } }, headers);
    assert.equal(poll.status, 200);
    assert.deepEqual(await poll.json(), { ok: true });
    const reaction = await post({
      update_id: 990102,
      message_reaction: { chat: { id: 7003, type: 'private', first_name: 'A' }, message_id: 3, user: { id: 7003, is_bot: false, first_name: 'A' }, date: 1_700_000_000, old_reaction: [], new_reaction: [{ type: 'emoji', emoji: '👍' }] },
    }, headers);
    assert.equal(reaction.status, 200);
    await reaction.body?.cancel();
    // An update type grammY has never heard of is no error either.
    const future = await post({ update_id: 990103, some_future_update: { x: 1 } }, headers);
    assert.equal(future.status, 200);
    await future.body?.cancel();
    await sleep(100);
    assert.equal(submitted.length, before.submitted);
    assert.equal(fake.sent.length, before.sent);
    assert.equal(adapter.health().lastError, null, 'no error recorded');
  });

  it('a body that is not an Update is a 400, not a crash', async () => {
    const headers = { 'x-telegram-bot-api-secret-token': SECRET };
    const notJson = await post('{"update_id": 1,', headers);
    assert.equal(notJson.status, 400);
    await notJson.body?.cancel();
    const noId = await post({ message: { text: 'x' } }, headers);
    assert.equal(noId.status, 400);
    await noId.body?.cancel();
    const get = await fetch(endpoint);
    assert.equal(get.status, 405);
    await get.body?.cancel();
  });

  it('the same message delivered twice gets one reply', async () => {
    const CHAT = 7004;
    const update = fake.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT }, text: 'only once please' });
    // Twice through Telegram (two update_ids, the same message: a re-read after a restart) ...
    const a = fake.pushUpdate(update);
    const b = fake.pushUpdate(update);
    assert.notEqual(a, b);
    await until('both deliveries', () => [a, b].every((id) => fake.webhookDeliveries.some((d) => d.update_id === id && d.status === 200)));
    // ... and once more with the same update_id, as Telegram redelivers when it missed our 200.
    const again = await post({ ...update, update_id: b }, { 'x-telegram-bot-api-secret-token': SECRET });
    assert.equal(again.status, 200);
    await again.body?.cancel();
    await until('the reply', () => sentTo(CHAT).length > 0);
    await sleep(300);
    assert.deepEqual(sentTo(CHAT), ['echo: only once please']);
    assert.equal(submitted.filter((m) => m.chat.id === String(CHAT)).length, 3, 'all three reached the gateway, which kept one');
    assert.equal(store.pendingTurns(), 0);
  });
});
