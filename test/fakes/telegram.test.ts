// Tests of the fake Telegram Bot API, driven by the real grammy (Bot with client.apiRoot, polling,
// webhookCallback) plus raw fetch where the wire format itself is the point (headers, paths, 404s).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Bot, GrammyError, HttpError, InputFile, webhookCallback } from 'grammy';
import type { Update } from 'grammy/types';
import { DEFAULT_ALLOWED_UPDATES, type FakeTelegram, TEXT_LIMIT, parseEntities, startFakeTelegram } from './telegram.ts';

type TestContext = { after: (fn: () => unknown) => void };

/** A hang (a long poll nobody answers) fails the test instead of stalling the run. */
const LIMIT = { timeout: 5000 };

// Cleanups run last-registered-first, so a bot stops before the fake it talks to goes away.
const stacks = new WeakMap<TestContext, (() => unknown)[]>();
function defer(t: TestContext, fn: () => unknown): void {
  let stack = stacks.get(t);
  if (!stack) {
    const fns: (() => unknown)[] = [];
    stacks.set(t, fns);
    t.after(async () => {
      for (const f of fns.reverse()) await f();
    });
    stack = fns;
  }
  stack.push(fn);
}

async function fakeTelegram(t: TestContext, opts?: Parameters<typeof startFakeTelegram>[0]): Promise<FakeTelegram> {
  const fake = await startFakeTelegram(opts);
  defer(t, () => fake.close());
  return fake;
}

const botFor = (fake: FakeTelegram, token = fake.token): Bot => new Bot(token, { client: { apiRoot: fake.apiRoot } });

async function until(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function grammyError(p: Promise<unknown>): Promise<GrammyError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GrammyError, `expected a GrammyError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

/** A local webhook receiver: records requests, answers with `respond` (default 200 {}). */
async function receiver(t: TestContext, respond?: (n: number, req: http.IncomingMessage, body: string, res: http.ServerResponse) => void) {
  const got: { headers: http.IncomingHttpHeaders; body: string; url: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body, url: req.url ?? '' });
      if (respond) respond(got.length, req, body, res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  defer(t, () => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/telegram/hook`, got, server };
}

test('getMe through bot.init(): the bot user the fake was started with', LIMIT, async (t) => {
  const fake = await fakeTelegram(t, { botUsername: 'clawd_probe_bot' });
  const bot = botFor(fake);
  await bot.init();
  assert.equal(bot.botInfo.id, Number(fake.token.split(':')[0]));
  assert.equal(bot.botInfo.username, 'clawd_probe_bot');
  assert.equal(bot.botInfo.is_bot, true);
  assert.equal(bot.botInfo.can_join_groups, true);
  assert.equal(bot.botInfo.can_read_all_group_messages, false);
  assert.equal(bot.botInfo.supports_inline_queries, false);
  assert.deepEqual(fake.requests.map((r) => [r.method, r.httpMethod, r.status]), [['getMe', 'POST', 200]]);
});

test('a wrong token is 401 Unauthorized and bot.init() rejects; a malformed one is "invalid token specified"', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const err = await grammyError(botFor(fake, '987654321:AAwrongwrongwrong').init());
  assert.equal(err.error_code, 401);
  assert.equal(err.description, 'Unauthorized');
  const raw = await fetch(`${fake.apiRoot}/botnot-a-token/getMe`);
  assert.equal(raw.status, 401);
  assert.match(raw.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await raw.json(), { ok: false, error_code: 401, description: 'Unauthorized: invalid token specified' });
});

test('unknown methods and paths are 404 Not Found; method names are case-insensitive; GET with query works', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const bot = botFor(fake);
  const err = await grammyError((bot.api.raw as unknown as Record<string, () => Promise<unknown>>).frobnicate!());
  assert.equal(err.error_code, 404);
  assert.equal(err.description, 'Not Found');
  const other = await fetch(`${fake.apiRoot}/somewhere/else`);
  assert.equal(other.status, 404);
  assert.deepEqual(await other.json(), { ok: false, error_code: 404, description: 'Not Found' });
  const me = await fetch(`${fake.apiRoot}/bot${fake.token}/GETME`);
  assert.equal(((await me.json()) as { result: { username: string } }).result.username, fake.bot.username);
  fake.addChat({ id: 42 });
  const q = await fetch(`${fake.apiRoot}/bot${fake.token}/sendMessage?chat_id=42&text=${encodeURIComponent('via query')}`);
  assert.equal(((await q.json()) as { result: { text: string } }).result.text, 'via query');
  const form = await fetch(`${fake.apiRoot}/bot${fake.token}/sendMessage`, {
    method: 'POST',
    body: new URLSearchParams({ chat_id: '42', text: 'via form', reply_parameters: JSON.stringify({ message_id: 1 }) }),
  });
  const sentByForm = ((await form.json()) as { result: { text: string; reply_to_message: { message_id: number } } }).result;
  assert.equal(sentByForm.text, 'via form');
  assert.equal(sentByForm.reply_to_message.message_id, 1);
  assert.deepEqual(fake.requests.at(-1)!.params.reply_parameters, { message_id: 1 }, 'JSON-typed form fields are decoded in the record');
  const multipart = new FormData();
  multipart.set('chat_id', '42');
  multipart.set('document', new Blob(['form bytes'], { type: 'text/plain' }), 'a file.txt');
  const doc = await fetch(`${fake.apiRoot}/bot${fake.token}/sendDocument`, { method: 'POST', body: multipart });
  const sentDoc = ((await doc.json()) as { result: { document: { file_name: string; mime_type: string } } }).result.document;
  assert.deepEqual([sentDoc.file_name, sentDoc.mime_type], ['a file.txt', 'text/plain']);
});

test('polling: bot.start() gets pushed updates in order, replies, and bot.stop() confirms the offset', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const bot = botFor(fake);
  const seen: string[] = [];
  bot.on('message:text', async (ctx) => {
    seen.push(ctx.message.text);
    await ctx.reply(`echo: ${ctx.message.text}`, { reply_parameters: { message_id: ctx.message.message_id } });
  });
  const first = fake.pushUpdate(fake.textMessage({ chatId: 1001, from: { id: 1001, first_name: 'Ann' }, text: 'one' }));
  const second = fake.pushUpdate(fake.textMessage({ chatId: 1001, from: { id: 1001, first_name: 'Ann' }, text: 'two' }));
  assert.equal(second, first + 1);
  const running = bot.start();
  await until(() => seen.length === 2 && fake.sent.length === 2, 'the queued updates and their replies');
  // the next long poll is pending now: a new update wakes it at once
  const third = fake.pushUpdate(fake.textMessage({ chatId: 1001, from: { id: 1001, first_name: 'Ann' }, text: 'three' }));
  await until(() => seen.length === 3 && fake.sent.length === 3, 'the pushed update and its reply');
  await bot.stop();
  await running;

  assert.deepEqual(seen, ['one', 'two', 'three']);
  assert.deepEqual(fake.sent.map((m) => [m.text, m.reply_to_message?.message_id]), [
    ['echo: one', 1],
    ['echo: two', 2],
    ['echo: three', 5], // message ids are per chat and shared by both sides: 1, 2 in, 3, 4 out, 5 in, 6 out
  ]);
  assert.deepEqual(fake.pendingUpdates(), []);
  assert.equal(fake.confirmedUpTo, third);
  const calls = fake.requests.map((r) => r.method);
  assert.equal(calls[0], 'getMe');
  assert.equal(calls[1], 'deleteWebhook', 'grammy deletes any webhook before polling');
  const polls = fake.requests.filter((r) => r.method === 'getUpdates');
  assert.deepEqual(polls[0]!.params, { offset: 1, timeout: 30, allowed_updates: [] });
  assert.deepEqual(polls.at(-1)!.params, { offset: third + 1, limit: 1 }, 'stop() confirms with one last short poll');
});

test('getUpdates offsets: confirmed updates are forgotten, a negative offset counts from the end, a long poll wakes on push', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const api = botFor(fake).api;
  const ids = ['a', 'b', 'c', 'd'].map((text) => fake.pushUpdate(fake.textMessage({ chatId: 7, text })));
  assert.deepEqual((await api.getUpdates({ limit: 2 })).map((u) => u.update_id), ids.slice(0, 2));
  assert.deepEqual((await api.getUpdates()).map((u) => u.update_id), ids, 'nothing is confirmed without a higher offset');
  assert.deepEqual((await api.getUpdates({ offset: ids[1]! + 1 })).map((u) => u.update_id), ids.slice(2));
  assert.equal(fake.confirmedUpTo, ids[1]);
  assert.deepEqual((await api.getUpdates({ offset: -1 })).map((u) => u.update_id), [ids[3]]);
  assert.deepEqual(fake.pendingUpdates().map((u) => u.update_id), [ids[3]], 'older updates were forgotten');

  const started = Date.now();
  const pending = api.getUpdates({ offset: ids[3]! + 1, timeout: 20 });
  await until(() => fake.requests.length === 5, 'the long poll to arrive');
  const next = fake.pushUpdate(fake.textMessage({ chatId: 7, text: 'e' }));
  assert.deepEqual((await pending).map((u) => u.update_id), [next]);
  assert.ok(Date.now() - started < 1000, 'the long poll returned as soon as the update arrived');
});

test('allowed_updates: chat_member updates are not created by default, and are once asked for', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const api = botFor(fake).api;
  assert.deepEqual(fake.allowedUpdates, DEFAULT_ALLOWED_UPDATES);
  const memberUpdate = { chat_member: { chat: { id: -5, type: 'group', title: 'g' }, date: 1 } };
  assert.equal(fake.pushUpdate(memberUpdate), 0);
  await api.getUpdates({ allowed_updates: ['message', 'chat_member'] });
  const id = fake.pushUpdate(memberUpdate);
  assert.ok(id > 0);
  assert.deepEqual((await api.getUpdates()).map((u) => Object.keys(u)), [['update_id', 'chat_member']]);
  await api.getUpdates({ allowed_updates: [] });
  assert.deepEqual(fake.allowedUpdates, DEFAULT_ALLOWED_UPDATES, 'an empty list means the default');
});

test('a second long poll terminates the first with 409, which makes grammy`s bot.start() reject', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const bot = botFor(fake);
  const running = bot.start();
  await until(() => fake.requests.some((r) => r.method === 'getUpdates'), 'the first long poll');
  const other = botFor(fake).api.getUpdates({ timeout: 5 });
  const err = await grammyError(running);
  assert.equal(err.error_code, 409);
  assert.equal(err.description, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
  const id = fake.pushUpdate(fake.textMessage({ chatId: 3, text: 'for the survivor' }));
  assert.deepEqual((await other).map((u) => u.update_id), [id]);
});

test('getUpdates while a webhook is set is 409; setWebhook ends a pending long poll', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const hook = await receiver(t);
  const api = botFor(fake).api;
  const poll = grammyError(api.getUpdates({ timeout: 10 }));
  await until(() => fake.requests.length === 1, 'the long poll');
  await api.setWebhook(hook.url);
  const ended = await poll;
  assert.equal(ended.error_code, 409);
  assert.equal(ended.description, 'Conflict: terminated by setWebhook request');
  const err = await grammyError(api.getUpdates());
  assert.equal(err.error_code, 409);
  assert.equal(err.description, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  const raw = await (await fetch(`${fake.apiRoot}/bot${fake.token}/deleteWebhook`, { method: 'POST' })).json();
  assert.deepEqual(raw, { ok: true, result: true, description: 'Webhook was deleted' });
  assert.deepEqual(await api.getUpdates(), []);
});

test('sendMessage with parse_mode HTML: entities parsed, length counted after parsing in UTF-16 units', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  fake.addChat({ id: 500, first_name: 'Bo', username: 'bo' });
  const api = botFor(fake).api;
  const m = await api.sendMessage(500, '<b>Hi</b> &lt;there&gt; <a href="https://example.com/x">link</a> <code>x &amp; y</code>', { parse_mode: 'HTML' });
  assert.equal(m.text, 'Hi <there> link x & y');
  assert.deepEqual(m.entities, [
    { type: 'bold', offset: 0, length: 2 },
    { type: 'text_link', offset: 11, length: 4, url: 'https://example.com/x' },
    { type: 'code', offset: 16, length: 5 },
  ]);
  assert.equal(m.message_id, 1);
  assert.deepEqual(m.chat, { id: 500, first_name: 'Bo', username: 'bo', type: 'private' });
  assert.deepEqual(m.from, { id: fake.bot.id, is_bot: true, first_name: fake.bot.first_name, username: fake.bot.username });
  assert.equal((await api.sendMessage(500, 'second')).message_id, 2);

  // 4096 counted after tag removal, in UTF-16 code units (an emoji is 2)
  assert.equal((await api.sendMessage(500, `<b>${'a'.repeat(TEXT_LIMIT)}</b>`, { parse_mode: 'HTML' })).text?.length, TEXT_LIMIT);
  assert.equal((await api.sendMessage(500, '😀'.repeat(TEXT_LIMIT / 2))).text?.length, TEXT_LIMIT);
  const long = await grammyError(api.sendMessage(500, '😀'.repeat(TEXT_LIMIT / 2) + '!'));
  assert.equal(long.error_code, 400);
  assert.equal(long.description, 'Bad Request: message is too long');
  assert.deepEqual(fake.sent.map((s) => s.message_id), [1, 2, 3, 4]);
});

test('sendMessage errors: bad HTML, reserved MarkdownV2 characters, empty text, unknown chat, missing reply', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  fake.addChat({ id: 600 });
  const api = botFor(fake).api;
  const cases: [Promise<unknown>, string][] = [
    [api.sendMessage(600, '<b>unclosed', { parse_mode: 'HTML' }), "Bad Request: can't parse entities: Can't find end tag corresponding to start tag b"],
    [api.sendMessage(600, 'é <br> x', { parse_mode: 'HTML' }), `Bad Request: can't parse entities: Unsupported start tag "br" at byte offset 3`],
    [api.sendMessage(600, '<b>x</i>', { parse_mode: 'HTML' }), `Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`],
    [api.sendMessage(600, 'Done.', { parse_mode: 'MarkdownV2' }), "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"],
    [api.sendMessage(600, '*bold', { parse_mode: 'MarkdownV2' }), "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0"],
    [api.sendMessage(600, 'x', { parse_mode: 'Textile' as 'HTML' }), 'Bad Request: unsupported parse_mode'],
    [api.sendMessage(600, ''), 'Bad Request: message text is empty'],
    [api.sendMessage(600, '<b> </b>', { parse_mode: 'HTML' }), 'Bad Request: message text is empty'],
    [api.sendMessage(999, 'hello'), 'Bad Request: chat not found'],
    [api.sendMessage(600, 'hello', { reply_parameters: { message_id: 77 } }), 'Bad Request: message to be replied not found'],
  ];
  for (const [call, description] of cases) {
    const err = await grammyError(call);
    assert.equal(err.error_code, 400, description);
    assert.equal(err.description, description);
  }
  const ok = await api.sendMessage(600, 'hello', { reply_parameters: { message_id: 77, allow_sending_without_reply: true } });
  assert.equal(ok.reply_to_message, undefined);
  const md = await api.sendMessage(600, '*bold* and `code` \\.', { parse_mode: 'MarkdownV2' });
  assert.equal(md.text, 'bold and code .');
  assert.deepEqual(md.entities?.map((e) => e.type), ['bold', 'code']);
  assert.deepEqual(fake.sent.map((s) => s.text), ['hello', 'bold and code .'], 'failed calls sent nothing');
});

test('a 429 from failNext surfaces as a GrammyError with parameters.retry_after and a Retry-After header', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  fake.addChat({ id: 700 });
  const api = botFor(fake).api;
  fake.failNext('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 2', retry_after: 2 });
  const err = await grammyError(api.sendMessage(700, 'hi'));
  assert.equal(err.error_code, 429);
  assert.equal(err.description, 'Too Many Requests: retry after 2');
  assert.deepEqual(err.parameters, { retry_after: 2 });
  assert.equal((await api.sendMessage(700, 'hi')).text, 'hi', 'only the next call failed');

  fake.failNext('*', { error_code: 429, description: 'Too Many Requests: retry after 5' });
  const raw = await fetch(`${fake.apiRoot}/bot${fake.token}/getMe`);
  assert.equal(raw.status, 429);
  assert.equal(raw.headers.get('retry-after'), '5');
  assert.deepEqual(await raw.json(), { ok: false, error_code: 429, description: 'Too Many Requests: retry after 5', parameters: { retry_after: 5 } });
});

test('rateLimit: a second message to the same chat within a second is 429 with retry_after', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  fake.addChat({ id: 701 });
  fake.addChat({ id: 702 });
  fake.rateLimit = { perChatPerSecond: 1 };
  const api = botFor(fake).api;
  await api.sendMessage(701, 'first');
  const err = await grammyError(api.sendMessage(701, 'second'));
  assert.equal(err.error_code, 429);
  assert.equal(err.parameters.retry_after, 1);
  assert.equal((await api.sendMessage(702, 'other chat')).text, 'other chat');
});

test('getFile and the file download URL serve the hosted bytes; unknown ids and paths fail like Telegram', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const bytes = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0x10, 0x80]);
  const update = fake.documentMessage({ chatId: 800, bytes, fileName: 'report.pdf', mimeType: 'application/pdf', caption: 'see /help' });
  const doc = update.message!.document!;
  assert.equal(doc.file_name, 'report.pdf');
  assert.equal(doc.file_size, bytes.length);
  assert.deepEqual(update.message!.caption_entities, [{ type: 'bot_command', offset: 4, length: 5 }]);
  const api = botFor(fake).api;
  const file = await api.getFile(doc.file_id);
  assert.equal(file.file_id, doc.file_id);
  assert.equal(file.file_size, bytes.length);
  assert.match(file.file_path ?? '', /^documents\/file_\d+\.pdf$/);
  const res = await fetch(`${fake.apiRoot}/file/bot${fake.token}/${file.file_path}`);
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);

  const missing = await fetch(`${fake.apiRoot}/file/bot${fake.token}/documents/nope.pdf`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { ok: false, error_code: 404, description: 'Not Found' });
  assert.equal((await fetch(`${fake.apiRoot}/file/bot123:other/${file.file_path}`)).status, 404);
  const bad = await grammyError(api.getFile('AgACAgIAAxkBAAIunknown'));
  assert.equal(bad.description, 'Bad Request: invalid file_id');

  // an upload from grammy arrives as multipart/form-data and becomes a hosted file too
  const uploaded = await api.sendDocument(800, new InputFile(Buffer.from('uploaded bytes'), 'notes.txt'), { caption: '<b>notes</b>', parse_mode: 'HTML' });
  assert.equal(uploaded.document.file_name, 'notes.txt');
  assert.equal(uploaded.caption, 'notes');
  assert.deepEqual(uploaded.caption_entities, [{ type: 'bold', offset: 0, length: 5 }]);
  assert.match(String(fake.requests.at(-1)!.params.document), /^attach:\/\//);
  const up = await api.getFile(uploaded.document.file_id);
  assert.equal(await (await fetch(`${fake.apiRoot}/file/bot${fake.token}/${up.file_path}`)).text(), 'uploaded bytes');

  const photo = fake.photoMessage({ chatId: 800, bytes, width: 640, height: 480 }).message!.photo!;
  assert.deepEqual(photo.map((p) => [p.width, p.height]), [[90, 68], [640, 480]]);
  assert.match((await api.getFile(photo[1]!.file_id)).file_path ?? '', /^photos\/file_\d+\.jpg$/);
});

test('textMessage computes entities like Telegram, so grammy`s command filter sees /start@bot', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const bot = botFor(fake);
  await bot.init();
  const update = fake.textMessage({
    chatId: -1001234567890,
    chatType: 'supergroup',
    title: 'Team',
    from: { id: 55, first_name: 'Cy', username: 'cy' },
    text: `/start@${fake.bot.username} hi @someone, see https://example.com #tag`,
    threadId: 9,
  });
  const msg = update.message!;
  const at = (s: string): number => msg.text!.indexOf(s);
  assert.deepEqual(msg.chat, { id: -1001234567890, title: 'Team', is_forum: true, type: 'supergroup' });
  assert.equal(msg.message_thread_id, 9);
  assert.equal(msg.is_topic_message, true);
  assert.deepEqual(msg.entities, [
    { type: 'bot_command', offset: 0, length: 6 + 1 + fake.bot.username.length },
    { type: 'mention', offset: at('@someone'), length: 8 },
    { type: 'url', offset: at('https:'), length: 19 },
    { type: 'hashtag', offset: at('#tag'), length: 4 },
  ]);
  let args: string | undefined;
  bot.command('start', (ctx) => {
    args = ctx.match;
  });
  await bot.handleUpdate({ ...update, update_id: 1 } as Update);
  assert.equal(args, 'hi @someone, see https://example.com #tag');
});

test('editMessageText, deleteMessage, sendChatAction, setMyCommands', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  fake.addChat({ id: 900 });
  const api = botFor(fake).api;
  const m = await api.sendMessage(900, 'draft');
  const edited = await api.editMessageText(900, m.message_id, '<i>final</i>', { parse_mode: 'HTML' });
  assert.ok(edited !== true && 'text' in edited);
  assert.equal(edited.text, 'final');
  assert.deepEqual(edited.entities, [{ type: 'italic', offset: 0, length: 5 }]);
  assert.equal(typeof edited.edit_date, 'number');
  const same = await grammyError(api.editMessageText(900, m.message_id, '<i>final</i>', { parse_mode: 'HTML' }));
  assert.equal(
    same.description,
    'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
  );
  assert.equal((await grammyError(api.editMessageText(900, 4242, 'x'))).description, 'Bad Request: message to edit not found');
  assert.deepEqual(fake.sent.map((s) => s.text), ['draft', 'final']);

  assert.equal(await api.sendChatAction(900, 'typing'), true);
  assert.deepEqual(fake.chatActions, [{ chat_id: 900, action: 'typing' }]);
  assert.equal((await grammyError(api.sendChatAction(900, 'dancing' as 'typing'))).description, 'Bad Request: wrong parameter action in request');

  assert.equal(await api.deleteMessage(900, m.message_id), true);
  assert.equal((await grammyError(api.deleteMessage(900, m.message_id))).description, 'Bad Request: message to delete not found');
  assert.equal(await api.setMyCommands([{ command: 'help', description: 'Show help' }]), true);
  assert.equal((await grammyError(api.setMyCommands([{ command: 'Bad Command', description: 'x' }]))).description, 'Bad Request: BOT_COMMAND_INVALID');
});

test('webhook: pushUpdate POSTs the update with the secret header and redelivers after a non-2xx answer', LIMIT, async (t) => {
  const fake = await fakeTelegram(t, { webhookRetryDelayMs: 10 });
  const hook = await receiver(t, (n, _req, _body, res) => {
    if (n === 1) res.writeHead(500).end('boom');
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const api = botFor(fake).api;
  assert.equal(await api.setWebhook(hook.url, { secret_token: 'S3cret_token-1' }), true);
  assert.deepEqual(fake.webhook, { url: hook.url, secret_token: 'S3cret_token-1' });
  const id = fake.pushUpdate(fake.textMessage({ chatId: 1200, text: 'hello hook' }));
  await until(() => fake.webhookDeliveries.length === 2, 'the delivery and its retry');
  assert.deepEqual(fake.webhookDeliveries.map((d) => [d.update_id, d.attempt, d.status]), [[id, 1, 500], [id, 2, 200]]);
  const first = hook.got[0]!;
  assert.equal(first.url, '/telegram/hook');
  assert.equal(first.headers['x-telegram-bot-api-secret-token'], 'S3cret_token-1');
  assert.equal(first.headers['content-type'], 'application/json');
  const body = JSON.parse(first.body) as Update;
  assert.equal(body.update_id, id);
  assert.equal(body.message?.text, 'hello hook');
  assert.equal(hook.got[1]!.body, first.body, 'the same update is redelivered');
  const info = await api.getWebhookInfo();
  assert.equal(info.url, hook.url);
  assert.equal(info.pending_update_count, 0);
  assert.equal(info.last_error_message, 'Wrong response from the webhook: 500 Internal Server Error');
  assert.equal(fake.confirmedUpTo, id);

  const badSecret = await grammyError(api.setWebhook(`${hook.url}?x=1`, { secret_token: 'not allowed!' }));
  assert.equal(badSecret.description, 'Bad Request: secret token contains unallowed characters');
  const remote = await grammyError(api.setWebhook('https://example.com/hook'));
  assert.equal(remote.error_code, 429, 'setWebhook is limited to one call per second');
});

test('webhook into grammy`s webhookCallback: secret checked, a webhook reply is executed as a method call', LIMIT, async (t) => {
  const fake = await fakeTelegram(t, { webhookRetryDelayMs: 10 });
  const bot = new Bot(fake.token, { client: { apiRoot: fake.apiRoot, canUseWebhookReply: (m) => m === 'sendMessage' } });
  bot.on('message:text', (ctx) => ctx.reply(`got ${ctx.message.text}`));
  const handle = webhookCallback(bot, 'http', { secretToken: 'right_secret' });
  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  defer(t, () => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  fake.webhook = { url, secret_token: 'wrong_secret' };
  fake.pushUpdate(fake.textMessage({ chatId: 1300, text: 'ping' }));
  await until(() => fake.webhookDeliveries.length >= 2, 'refused deliveries');
  assert.equal(fake.webhookDeliveries[0]!.status, 401);
  assert.equal(fake.webhookDeliveries[0]!.error, 'Wrong response from the webhook: 401 Unauthorized');

  fake.webhook = { url, secret_token: 'right_secret' };
  await until(() => fake.sent.length === 1, 'the webhook reply');
  assert.equal(fake.sent[0]!.text, 'got ping');
  const reply = fake.requests.find((r) => r.method === 'sendMessage')!;
  assert.equal(reply.via, 'webhook-reply');
  assert.deepEqual(fake.pendingUpdates(), []);
});

test('down() refuses connections until it is over; grammy sees an HttpError, then works again', LIMIT, async (t) => {
  const fake = await fakeTelegram(t);
  const api = botFor(fake).api;
  await api.getMe();
  await fake.down();
  await assert.rejects(api.getMe(), (err: unknown) => err instanceof HttpError);
  await fake.up();
  assert.equal((await api.getMe()).username, fake.bot.username);
  await fake.down(30);
  await assert.rejects(api.getMe(), HttpError);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal((await api.getMe()).username, fake.bot.username, 'back after the given time');
});

test('close() ends a pending long poll and leaves the port closed', LIMIT, async (t) => {
  const fake = await startFakeTelegram();
  t.after(() => fake.close()); // idempotent: only matters when an assertion below fails
  const api = botFor(fake).api;
  const poll = api.getUpdates({ timeout: 30 });
  await until(() => fake.requests.length === 1, 'the long poll');
  const started = Date.now();
  await fake.close();
  await assert.rejects(poll, HttpError);
  assert.ok(Date.now() - started < 1000);
  await assert.rejects(fetch(`${fake.apiRoot}/bot${fake.token}/getMe`));
});

test('parseEntities: TDLib byte offsets, nested pre/code, trimming', LIMIT, () => {
  assert.deepEqual(parseEntities('<pre><code class="language-ts">let x</code></pre>', 'HTML').entities, [{ type: 'pre', offset: 0, length: 5, language: 'ts' }]);
  assert.deepEqual(parseEntities('\n\n  <b>hi</b>  \n', 'HTML'), { text: 'hi', entities: [{ type: 'bold', offset: 0, length: 2 }] });
  assert.throws(() => parseEntities('日本 <foo>', 'HTML'), { message: 'Unsupported start tag "foo" at byte offset 7' });
  assert.deepEqual(parseEntities('😀 <b>x</b>', 'HTML').entities, [{ type: 'bold', offset: 3, length: 1 }]);
  assert.deepEqual(parseEntities('||spoiler|| __under__', 'MarkdownV2').entities.map((e) => e.type), ['spoiler', 'underline']);
});
