// Tests of the fake Slack, driven by the real clients: @slack/web-api's WebClient for the Web API, a
// real Bolt App in Socket Mode (and Bolt's HTTP receiver for the Events API helpers), plus a raw `ws`
// client for the Socket Mode protocol details Bolt hides (redelivery, tickets, ping/pong).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { App, LogLevel, SocketModeReceiver, verifySlackRequest } from '@slack/bolt';
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api';
import { WebSocket } from 'ws';
import { SECTION_TEXT_LIMIT, SLACK_TEXT_LIMIT, type FakeSlack, type FakeSlackOptions, signedRequest, slackSignature, startFakeSlack, urlVerification } from './slack.ts';

type TestContext = { after: (fn: () => unknown) => void };

const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

// Cleanups run last-registered-first (t.after runs hooks in registration order), so an app is
// stopped before the fake it talks to goes away.
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

async function fakeSlack(t: TestContext, opts?: FakeSlackOptions): Promise<FakeSlack> {
  const fake = await startFakeSlack(opts);
  defer(t, () => fake.close());
  return fake;
}

function client(fake: FakeSlack, token: string | null = fake.botToken, extra: WebClientOptions = {}): WebClient {
  return new WebClient(token ?? undefined, { slackApiUrl: `${fake.url}/api/`, retryConfig: { retries: 0 }, logger: silent, ...extra });
}

async function until(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type SlackErr = { code?: string; data?: { error?: string; errors?: string[]; response_metadata?: { messages?: string[] } }; retryAfter?: number; statusCode?: number; message?: string };

function platformError(error: string) {
  return (err: unknown): boolean => {
    const e = err as SlackErr;
    assert.equal(e.code, ErrorCode.PlatformError);
    assert.equal(e.data?.error, error);
    return true;
  };
}

const post = (fake: FakeSlack, method: string, body: string, headers: Record<string, string>) =>
  fetch(`${fake.url}/api/${method}`, { method: 'POST', headers, body });

// ---------------------------------------------------------------------------------------------
// Web API through WebClient

test('web api: auth.test, token kinds and unknown methods', async (t) => {
  const fake = await fakeSlack(t);
  const web = client(fake);

  const me = await web.auth.test();
  assert.equal(me.ok, true);
  assert.equal(me.user_id, fake.botUserId);
  assert.equal(me.bot_id, fake.botId);
  assert.equal(me.team_id, fake.teamId);
  assert.equal(me.is_enterprise_install, false);
  assert.match(String(me.url), /^https:\/\/.+\.slack\.com\/$/);
  assert.deepEqual(me.response_metadata?.scopes?.includes('chat:write'), true);
  const rec = fake.requests.at(-1)!;
  assert.equal(rec.method, 'auth.test');
  assert.equal(rec.token, fake.botToken);
  assert.match(rec.contentType ?? '', /^application\/x-www-form-urlencoded/);
  assert.equal(rec.params.token, undefined);

  await assert.rejects(client(fake, 'xoxb-not-a-real-token').auth.test(), platformError('invalid_auth'));
  await assert.rejects(client(fake, null).auth.test(), platformError('not_authed'));
  // App-level tokens only open Socket Mode connections; bot tokens cannot.
  await assert.rejects(client(fake, fake.appToken).chat.postMessage({ channel: 'C0TEST0001', text: 'x' }), platformError('not_allowed_token_type'));
  await assert.rejects(web.apps.connections.open(), platformError('not_allowed_token_type'));
  const open = await client(fake, fake.appToken).apps.connections.open();
  assert.match(String(open.url), new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/link/\\?ticket=[0-9a-f-]+&app_id=${fake.appId}$`));

  await assert.rejects(web.apiCall('nothing.here'), platformError('unknown_method'));
  assert.equal(fake.requests.at(-1)!.status, 200); // Slack answers 200 + ok:false for everything but 429
});

test('web api: chat.postMessage is form-encoded with blocks as a JSON string, chat.update, reactions, delete', async (t) => {
  const fake = await fakeSlack(t);
  const web = client(fake);
  const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hello* there' } }];

  const first = await web.chat.postMessage({ channel: 'C0TEST0001', text: 'hello there', blocks, mrkdwn: true, unfurl_links: false });
  assert.equal(first.ok, true);
  assert.equal(first.channel, 'C0TEST0001');
  assert.match(String(first.ts), /^\d{10}\.\d{6}$/);
  assert.equal(first.message?.bot_id, fake.botId);
  assert.equal(first.message?.user, fake.botUserId);
  assert.equal(first.message?.text, 'hello there');

  const rec = fake.requests.at(-1)!;
  assert.match(rec.contentType ?? '', /^application\/x-www-form-urlencoded/);
  assert.deepEqual(rec.params.blocks, blocks, 'the JSON string inside the form reaches the fake decoded');
  assert.equal(rec.params.unfurl_links, 'false', 'plain form fields stay the strings that were sent');
  assert.equal(rec.params.mrkdwn, 'true');

  const dm = await web.chat.postMessage({ channel: 'U0HUMAN0001', text: 'psst' });
  assert.equal(dm.channel, 'D0HUMAN0001', 'a user ID posts into the DM and the D… ID comes back');
  fake.posted.pop();

  const reply = await web.chat.postMessage({ channel: 'C0TEST0001', text: 'in thread', thread_ts: String(first.ts) });
  assert.ok(Number(reply.ts) > Number(first.ts), 'ts increases');
  assert.equal(reply.message?.thread_ts, first.ts);
  assert.equal(reply.message?.parent_user_id, fake.botUserId);

  const upd = await web.chat.update({ channel: 'C0TEST0001', ts: String(first.ts), text: 'edited' });
  assert.deepEqual([upd.ok, upd.channel, upd.ts, upd.text], [true, 'C0TEST0001', first.ts, 'edited']);
  assert.deepEqual(
    fake.posted.map((p) => [p.method, p.ts, p.text, p.thread_ts]),
    [
      ['chat.postMessage', first.ts, 'hello there', undefined],
      ['chat.postMessage', reply.ts, 'in thread', first.ts],
      ['chat.update', first.ts, 'edited', undefined],
    ],
  );
  assert.deepEqual(fake.posted[0]!.blocks, blocks);
  await assert.rejects(web.chat.update({ channel: 'C0TEST0001', ts: '1000000000.000001', text: 'x' }), platformError('message_not_found'));

  // A user's message (built by mention()) can be reacted to but not edited by the bot.
  const ev = fake.mention({ channel: 'C0TEST0001', user: 'U0HUMAN0001', text: 'hi' });
  await web.reactions.add({ channel: 'C0TEST0001', timestamp: String(ev.ts), name: 'eyes' });
  await assert.rejects(web.reactions.add({ channel: 'C0TEST0001', timestamp: String(ev.ts), name: 'eyes' }), platformError('already_reacted'));
  await web.reactions.remove({ channel: 'C0TEST0001', timestamp: String(ev.ts), name: 'eyes' });
  await assert.rejects(web.reactions.remove({ channel: 'C0TEST0001', timestamp: String(ev.ts), name: 'eyes' }), platformError('no_reaction'));
  await assert.rejects(web.reactions.add({ channel: 'C0TEST0001', timestamp: '1000000000.000001', name: 'eyes' }), platformError('message_not_found'));
  assert.deepEqual(fake.reactions, [
    { name: 'eyes', channel: 'C0TEST0001', timestamp: ev.ts },
    { name: 'eyes', channel: 'C0TEST0001', timestamp: ev.ts, removed: true },
  ]);
  await assert.rejects(web.chat.update({ channel: 'C0TEST0001', ts: String(ev.ts), text: 'x' }), platformError('cant_update_message'));

  await web.chat.delete({ channel: 'C0TEST0001', ts: String(reply.ts) });
  await assert.rejects(web.chat.delete({ channel: 'C0TEST0001', ts: String(reply.ts) }), platformError('message_not_found'));

  const human = await web.users.info({ user: 'U0HUMAN0001' });
  assert.equal(human.user?.id, 'U0HUMAN0001');
  assert.equal(human.user?.is_bot, false);
  assert.equal((await web.users.info({ user: fake.botUserId })).user?.is_bot, true);
  await assert.rejects(web.users.info({ user: 'nobody' }), platformError('user_not_found'));
  assert.equal((await web.conversations.info({ channel: 'D0DIRECT001' })).channel?.is_im, true);
  assert.equal((await web.conversations.info({ channel: 'C0TEST0001' })).channel?.is_channel, true);
  await assert.rejects(web.conversations.info({ channel: 'general' }), platformError('channel_not_found'));
});

test('web api: text and block limits, no_text, unknown channels', async (t) => {
  const fake = await fakeSlack(t);
  const web = client(fake);
  assert.equal(SLACK_TEXT_LIMIT, 40_000);

  await web.chat.postMessage({ channel: 'C0TEST0001', text: 'a'.repeat(SLACK_TEXT_LIMIT) });
  await assert.rejects(web.chat.postMessage({ channel: 'C0TEST0001', text: 'a'.repeat(SLACK_TEXT_LIMIT + 1) }), platformError('msg_too_long'));
  await assert.rejects(web.chat.postMessage({ channel: 'C0TEST0001', text: '' }), platformError('no_text'));

  const section = (n: number) => [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(n) } }];
  await web.chat.postMessage({ channel: 'C0TEST0001', text: 'fallback', blocks: section(SECTION_TEXT_LIMIT) });
  await assert.rejects(web.chat.postMessage({ channel: 'C0TEST0001', text: 'fallback', blocks: section(SECTION_TEXT_LIMIT + 1) }), (err: unknown) => {
    const e = err as SlackErr;
    assert.equal(e.data?.error, 'invalid_blocks');
    assert.deepEqual(e.data?.errors, ['failed to match all allowed schemas [json-pointer:/blocks/0/text]', 'must be less than 3001 characters [json-pointer:/blocks/0/text/text]']);
    assert.deepEqual(e.data?.response_metadata?.messages, e.data?.errors?.map((m) => `[ERROR] ${m}`));
    return true;
  });
  const many = Array.from({ length: 51 }, () => ({ type: 'divider' }));
  await assert.rejects(web.chat.postMessage({ channel: 'C0TEST0001', text: 'x', blocks: many }), platformError('invalid_blocks'));

  // Blocks that are not JSON at all (only possible by hand-building the form).
  const raw = await post(fake, 'chat.postMessage', `channel=C0TEST0001&text=x&blocks=${encodeURIComponent('[{"type":')}`, {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Bearer ${fake.botToken}`,
  });
  assert.equal(((await raw.json()) as { error: string }).error, 'invalid_blocks_format');

  await assert.rejects(web.chat.postMessage({ channel: 'not-a-channel', text: 'x' }), platformError('channel_not_found'));
  fake.options.channels = ['C0TEST0001']; // options are live
  await assert.rejects(web.chat.postMessage({ channel: 'C0OTHER0001', text: 'x' }), platformError('channel_not_found'));
  await web.chat.postMessage({ channel: 'C0TEST0001', text: 'still fine' });
});

test('web api: 429 with Retry-After becomes the WebClient rate-limit error; other injected failures', async (t) => {
  const fake = await fakeSlack(t);

  fake.failNext('auth.test', { retryAfter: 3 });
  const res = await post(fake, 'auth.test', '', { authorization: `Bearer ${fake.botToken}` });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '3');
  assert.deepEqual(await res.json(), { ok: false, error: 'ratelimited' });

  fake.failNext('chat.postMessage', { retryAfter: 7 });
  await assert.rejects(client(fake, fake.botToken, { rejectRateLimitedCalls: true }).chat.postMessage({ channel: 'C0TEST0001', text: 'x' }), (err: unknown) => {
    const e = err as SlackErr;
    assert.equal(e.code, ErrorCode.RateLimitedError);
    assert.equal(e.code, 'slack_webapi_rate_limited_error');
    assert.equal(e.retryAfter, 7);
    return true;
  });

  // Quirk: with retries: 0 but rejectRateLimitedCalls left false, WebClient first sleeps Retry-After
  // seconds, then rejects with a *request* error (code slack_webapi_request_error) wrapping
  // "A rate limit was exceeded", not with the rate-limit error.
  fake.failNext('chat.postMessage', { retryAfter: 1 });
  const started = Date.now();
  await assert.rejects(client(fake).chat.postMessage({ channel: 'C0TEST0001', text: 'x' }), (err: unknown) => {
    const e = err as SlackErr;
    assert.equal(e.code, ErrorCode.RequestError);
    assert.match(String(e.message), /A rate limit was exceeded .*retry-after: 1/);
    return true;
  });
  assert.ok(Date.now() - started >= 900, 'slept for Retry-After');

  fake.failNext('*', { error: 'internal_error' });
  await assert.rejects(client(fake).auth.test(), platformError('internal_error'));
  fake.failNext('auth.test', { status: 503 });
  await assert.rejects(client(fake).auth.test(), (err: unknown) => {
    const e = err as SlackErr;
    assert.equal(e.code, ErrorCode.HTTPError);
    assert.equal(e.statusCode, 503);
    return true;
  });
  fake.failNext('auth.test', { error: 'ratelimited' }, 2);
  await assert.rejects(client(fake).auth.test(), platformError('ratelimited'));
  await assert.rejects(client(fake).auth.test(), platformError('ratelimited'));
  assert.equal((await client(fake).auth.test()).ok, true);
});

test('web api: JSON bodies need the token in the Authorization header', async (t) => {
  const fake = await fakeSlack(t);
  const blocks = [{ type: 'section', text: { type: 'plain_text', text: 'hi' } }];

  const ok = await post(fake, 'chat.postMessage', JSON.stringify({ channel: 'C0TEST0001', text: 'hi', blocks }), {
    'content-type': 'application/json; charset=utf-8',
    authorization: `Bearer ${fake.botToken}`,
  });
  const body = (await ok.json()) as { ok: boolean; warning?: string };
  assert.equal(body.ok, true);
  assert.equal(body.warning, undefined);
  assert.deepEqual(fake.requests.at(-1)!.params.blocks, blocks);

  const inBody = await post(fake, 'chat.postMessage', JSON.stringify({ token: fake.botToken, channel: 'C0TEST0001', text: 'hi' }), { 'content-type': 'application/json; charset=utf-8' });
  assert.deepEqual(await inBody.json(), { ok: false, error: 'not_authed' });

  const noCharset = await post(fake, 'auth.test', '{}', { 'content-type': 'application/json', authorization: `Bearer ${fake.botToken}` });
  const warned = (await noCharset.json()) as { ok: boolean; warning?: string; response_metadata?: { warnings?: string[] } };
  assert.equal(warned.ok, true);
  assert.equal(warned.warning, 'missing_charset');
  assert.deepEqual(warned.response_metadata?.warnings, ['missing_charset']);

  const bad = await post(fake, 'auth.test', '{"oops', { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${fake.botToken}` });
  assert.deepEqual(await bad.json(), { ok: false, error: 'invalid_json' });
  const untyped = await fetch(`${fake.url}/api/auth.test`, { method: 'POST', body: new Uint8Array([1, 2, 3]), headers: { authorization: `Bearer ${fake.botToken}` } });
  assert.deepEqual(await untyped.json(), { ok: false, error: 'missing_post_type' });
  const form = await post(fake, 'auth.test', `token=${fake.botToken}`, { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(((await form.json()) as { ok: boolean }).ok, true, 'a form body may carry the token');
});

test('files: files.info and url_private downloads need the bot token', async (t) => {
  const fake = await fakeSlack(t);
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
  const file = fake.addFile(bytes, { name: 'cat.png', mimetype: 'image/png' });
  assert.match(file.id, /^F[A-Z0-9]+$/);
  assert.equal(file.size, bytes.length);

  const info = await client(fake).files.info({ file: file.id });
  assert.equal(info.file?.url_private, file.url_private);
  assert.equal(info.file?.filetype, 'png');
  await assert.rejects(client(fake).files.info({ file: 'F0NOPE00001' }), platformError('file_not_found'));

  const ok = await fetch(file.url_private, { headers: { authorization: `Bearer ${fake.botToken}` } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await ok.arrayBuffer()), bytes);
  assert.equal((await fetch(file.url_private_download, { headers: { authorization: `Bearer ${fake.botToken}` } })).status, 200);

  const anon = await fetch(file.url_private, { redirect: 'manual' });
  assert.equal(anon.status, 302);
  assert.match(anon.headers.get('location') ?? '', /\/\?redir=/);
  const wrong = await fetch(file.url_private, { redirect: 'manual', headers: { authorization: 'Bearer xoxb-wrong' } });
  assert.equal(wrong.status, 302);
  // The classic mistake: following the redirect yields a 200 HTML sign-in page, not the file.
  const followed = await fetch(file.url_private);
  assert.equal(followed.status, 200);
  assert.match(followed.headers.get('content-type') ?? '', /^text\/html/);
  await followed.arrayBuffer();

  fake.options.fileAuthFailure = 'forbidden';
  assert.equal((await fetch(file.url_private)).status, 403);
  assert.deepEqual(
    fake.downloads.map((d) => [d.authorized, d.status]),
    [[true, 200], [true, 200], [false, 302], [false, 302], [false, 302], [false, 403]],
  );
});

// ---------------------------------------------------------------------------------------------
// Socket Mode protocol with a raw client

async function rawSocket(fake: FakeSlack) {
  const res = await post(fake, 'apps.connections.open', '', { authorization: `Bearer ${fake.appToken}`, 'content-type': 'application/x-www-form-urlencoded' });
  const { url } = (await res.json()) as { url: string };
  const ws = new WebSocket(url);
  const received: Record<string, unknown>[] = [];
  ws.on('message', (d) => received.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, url, received };
}

test('socket mode: hello, envelopes, acks, redelivery with retry_reason timeout, tickets, ping/pong, disconnect', async (t) => {
  const fake = await fakeSlack(t, { ackTimeoutMs: 150, maxRetries: 2, disconnectGraceMs: 100 });
  const { ws, url, received } = await rawSocket(fake);
  defer(t, () => ws.terminate());
  await until(() => received.length === 1, 'hello');
  assert.deepEqual(received[0], {
    type: 'hello',
    num_connections: 1,
    debug_info: { host: 'applink-fake-1', build_number: 1, approximate_connection_time: 18060 },
    connection_info: { app_id: fake.appId },
  });

  // Tickets are single use.
  const again = new WebSocket(url);
  again.on('error', () => {});
  const status = await new Promise<number>((resolve) => again.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
  again.terminate();
  assert.equal(status, 401);

  const ev = fake.mention({ channel: 'C0TEST0001', user: 'U0HUMAN0001', text: 'summarise this', thread_ts: undefined });
  const id = fake.pushEvent(ev);
  await until(() => received.length === 2, 'first envelope');
  const env = received[1] as { envelope_id: string; type: string; payload: Record<string, unknown>; accepts_response_payload: boolean; retry_attempt: number; retry_reason: string };
  assert.equal(env.envelope_id, id);
  assert.deepEqual(Object.keys(env), ['envelope_id', 'payload', 'type', 'accepts_response_payload', 'retry_attempt', 'retry_reason']);
  assert.deepEqual([env.type, env.accepts_response_payload, env.retry_attempt, env.retry_reason], ['events_api', false, 0, '']);
  const payload = env.payload as { type: string; event_id: string; team_id: string; api_app_id: string; event: Record<string, unknown>; authorizations: { user_id: string; is_bot: boolean }[] };
  assert.equal(payload.type, 'event_callback');
  assert.match(payload.event_id, /^Ev[A-Z0-9]+$/);
  assert.equal(payload.api_app_id, fake.appId);
  assert.equal(payload.authorizations[0]!.user_id, fake.botUserId);
  assert.equal(payload.event.type, 'app_mention');
  assert.equal(payload.event.text, `<@${fake.botUserId}> summarise this`);
  assert.equal(payload.event.event_ts, payload.event.ts);

  // Not acked in time: redelivered under a new envelope_id, same event_id, retry_attempt 1 / 'timeout'.
  await until(() => received.length === 3, 'redelivery');
  const retry = received[2] as { envelope_id: string; payload: { event_id: string }; retry_attempt: number; retry_reason: string };
  assert.notEqual(retry.envelope_id, id);
  assert.equal(retry.payload.event_id, payload.event_id);
  assert.deepEqual([retry.retry_attempt, retry.retry_reason], [1, 'timeout']);
  ws.send(JSON.stringify({ envelope_id: retry.envelope_id, payload: {} }));
  const ack = await fake.waitForAck(retry.envelope_id);
  assert.deepEqual(ack.payload, {});
  assert.equal(ack.event_id, payload.event_id);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(received.length, 3, 'an acked envelope is not redelivered');

  // Never acked: the first delivery plus maxRetries redeliveries, then Slack gives up.
  fake.pushEvent(fake.directMessage({ channel: 'D0DIRECT001', user: 'U0HUMAN0001', text: 'hello' }));
  await until(() => received.length === 6, 'two redeliveries');
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(received.slice(3).map((e) => e.retry_attempt), [0, 1, 2]);
  assert.equal(((received[3] as { payload: { event: { channel_type: string } } }).payload.event.channel_type), 'im');

  // Client pings are answered with pongs (unless answerPings is turned off).
  await new Promise<void>((resolve) => {
    ws.once('pong', () => resolve());
    ws.ping();
  });
  assert.equal(fake.pingsReceived(), 1);

  // Interactive envelopes have no retry fields and accept a response payload.
  fake.pushEnvelope('interactive', { type: 'block_actions', actions: [] });
  await until(() => received.length === 7, 'interactive envelope');
  assert.deepEqual(Object.keys(received[6]!), ['envelope_id', 'payload', 'type', 'accepts_response_payload']);
  assert.equal(received[6]!.accepts_response_payload, true);

  // A disconnect message; a client that does not close is cut off after disconnectGraceMs.
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  fake.disconnectAll('link_disabled');
  await until(() => received.length === 8, 'disconnect message');
  assert.deepEqual(received[7], { type: 'disconnect', reason: 'link_disabled', debug_info: { host: 'applink-fake-1' } });
  assert.equal(await closed, 1001);
  await until(() => fake.socketCount() === 0, 'socket gone');

  // With no socket, envelopes wait for the next connection. Server pings are opt-in.
  fake.options.pingIntervalMs = 30;
  const queued = fake.pushEvent(fake.mention({ channel: 'C0TEST0001', user: 'U0HUMAN0001', text: 'anyone?' }));
  const second = await rawSocket(fake);
  defer(t, () => second.ws.terminate());
  await until(() => second.received.length === 2, 'hello + queued envelope');
  assert.equal(second.received[0]!.type, 'hello');
  assert.equal(second.received[1]!.envelope_id, queued);
  assert.equal(fake.connectionsOpened(), 2);
  await new Promise<void>((resolve) => second.ws.once('ping', () => resolve()));
});

// ---------------------------------------------------------------------------------------------
// A real Bolt App in Socket Mode

function boltApp(fake: FakeSlack, extra: Partial<ConstructorParameters<typeof App>[0]> = {}): App {
  return new App({
    token: fake.botToken,
    appToken: fake.appToken,
    socketMode: true,
    // Pass botId/botUserId so the constructor does not fire auth.test (design.md §9).
    botId: fake.botId,
    botUserId: fake.botUserId,
    clientOptions: { slackApiUrl: `${fake.url}/api/`, retryConfig: { retries: 0 } },
    logLevel: LogLevel.ERROR,
    ...extra,
  });
}

test('bolt socket mode: an app_mention is acked and answered in its thread', async (t) => {
  const fake = await fakeSlack(t);
  const app = boltApp(fake);
  const seen: Record<string, unknown>[] = [];
  const messages: unknown[] = [];
  app.message(async ({ message }) => {
    messages.push(message);
  });
  app.event('app_mention', async ({ event, say, context }) => {
    seen.push({ ...event, retryNum: context.retryNum });
    await say({ text: `you said: ${event.text.replace(/<@[A-Z0-9]+>\s*/, '')}`, thread_ts: event.ts });
  });
  await app.start();
  defer(t, () => app.stop());
  assert.equal(fake.socketCount(), 1);
  const open = fake.requests.filter((r) => r.method === 'apps.connections.open');
  assert.equal(open.length, 1);
  assert.equal(open[0]!.token, fake.appToken);

  fake.options.echoBotMessages = true; // Slack sends the bot's own post back as a message event
  const ev = fake.mention({ channel: 'C0TEST0001', user: 'U0HUMAN0001', text: 'ping' });
  const id = fake.pushEvent(ev);
  const ack = await fake.waitForAck(id);
  assert.deepEqual(ack.payload, {}, 'socket-mode acks with an empty payload');
  await until(() => fake.posted.length === 1, 'the reply');
  assert.deepEqual(fake.posted[0], { method: 'chat.postMessage', channel: 'C0TEST0001', ts: fake.posted[0]!.ts, text: 'you said: ping', blocks: undefined, thread_ts: ev.ts });
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.ts, ev.ts);
  assert.equal(seen[0]!.retryNum, 0);
  assert.ok(ack.at <= Date.now());
  assert.equal(fake.requests.some((r) => r.method === 'auth.test'), false, 'no auth.test with botId/botUserId given');

  // The echo of our own reply is delivered and acked, but Bolt's ignoreSelf keeps it from listeners.
  await until(() => fake.deliveries.length === 2, 'the echo');
  const echo = fake.deliveries[1]!;
  assert.deepEqual((echo.payload.event as { bot_id?: string; type: string }).bot_id, fake.botId);
  await fake.waitForAck(echo.envelope_id);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(messages, []);

  await app.stop();
  await until(() => fake.socketCount() === 0, 'socket closed by app.stop()');
});

test('bolt socket mode: disconnect refresh_requested reconnects after clientPingTimeout (5 s by default)', async (t) => {
  const fake = await fakeSlack(t);
  const app = boltApp(fake);
  const texts: string[] = [];
  app.event('app_mention', async ({ event }) => {
    texts.push(event.text);
  });
  await app.start();
  defer(t, () => app.stop());

  const started = Date.now();
  fake.disconnectAll('refresh_requested');
  await until(() => fake.socketCount() === 0, 'the client closing its socket', 1000);
  const closedAfter = Date.now() - started;
  // Pushed during the gap: Slack holds it; the fake queues it for the next connection.
  const id = fake.pushEvent(fake.mention({ channel: 'C0TEST0001', user: 'U0HUMAN0001', text: 'during the gap' }));
  await until(() => fake.connectionsOpened() === 2 && fake.socketCount() === 1, 'the reconnect', 8000);
  const reconnectedAfter = Date.now() - started;
  assert.ok(closedAfter < 500, `closed at once (${closedAfter} ms)`);
  assert.ok(reconnectedAfter >= 4500 && reconnectedAfter < 8000, `reconnected after ~5 s (${reconnectedAfter} ms)`);
  assert.equal(fake.requests.filter((r) => r.method === 'apps.connections.open').length, 2, 'a fresh URL for each connection');
  await fake.waitForAck(id);
  await until(() => texts.length === 1, 'the queued event');
  assert.match(texts[0]!, /during the gap$/);
});

test('bolt socket mode: a tuned SocketModeReceiver reconnects fast; "warning" and a dropped link also make it reconnect', async (t) => {
  const fake = await fakeSlack(t);
  const receiver = new SocketModeReceiver({
    appToken: fake.appToken,
    clientPingTimeout: 600,
    installerOptions: { clientOptions: { slackApiUrl: `${fake.url}/api/` } },
    logger: silent, // a dropped link is logged as an error
  });
  const app = new App({ token: fake.botToken, receiver, botId: fake.botId, botUserId: fake.botUserId, clientOptions: { slackApiUrl: `${fake.url}/api/` }, logLevel: LogLevel.ERROR });
  let mentions = 0;
  app.event('app_mention', async () => {
    mentions++;
  });
  await app.start();
  defer(t, () => app.stop());

  let started = Date.now();
  fake.disconnectAll('warning'); // socket-mode 3.x treats every disconnect reason alike
  await until(() => fake.connectionsOpened() === 2 && fake.socketCount() === 1, 'reconnect after warning', 3000);
  const afterWarning = Date.now() - started;
  assert.ok(afterWarning >= 500 && afterWarning < 2000, `~clientPingTimeout (${afterWarning} ms)`);

  started = Date.now();
  fake.dropAll(); // no close frame: network loss
  await until(() => fake.connectionsOpened() === 3 && fake.socketCount() === 1, 'reconnect after drop', 3000);
  assert.ok(Date.now() - started < 2000);

  await fake.waitForAck(fake.pushEvent(fake.mention({ channel: 'C0TEST0001', user: 'U0HUMAN0001', text: 'still there?' })));
  await until(() => mentions === 1, 'event on the third connection');
  await until(() => fake.pingsReceived() > 0, 'a client ping (every clientPingTimeout / 3), answered with a pong', 1000);
  assert.equal(fake.socketCount(), 1, 'pongs keep the connection alive');
});

// ---------------------------------------------------------------------------------------------
// Events API helpers (Slack's side of HTTP delivery)

test('signedRequest: Slack example vector, independent HMAC, Bolt verifySlackRequest, retry headers', async (t) => {
  // The worked example from "Verifying requests from Slack".
  const docBody =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  assert.equal(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, docBody), 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');

  const secret = 'test-signing-secret';
  const seen: { headers: http.IncomingHttpHeaders; body: string; verdict: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verdict = 'ok';
      try {
        verifySlackRequest({
          signingSecret: secret,
          body,
          headers: {
            'x-slack-signature': String(req.headers['x-slack-signature']),
            'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']),
          },
        });
      } catch (err) {
        verdict = (err as Error).message;
      }
      seen.push({ headers: req.headers, body, verdict });
      res.writeHead(verdict === 'ok' ? 200 : 401).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  defer(t, () => new Promise<void>((r) => server.close(() => r())));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

  const fake = await fakeSlack(t);
  const payload = fake.eventCallback(fake.mention({ channel: 'C0TEST0001', user: 'U0HUMAN0001', text: 'hi' }));
  assert.equal((await signedRequest(target, secret, payload)).status, 200);
  const first = seen[0]!;
  const ts = String(first.headers['x-slack-request-timestamp']);
  assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 5);
  assert.equal(first.headers['x-slack-signature'], `v0=${createHmac('sha256', secret).update(`v0:${ts}:${first.body}`).digest('hex')}`);
  assert.deepEqual(JSON.parse(first.body), payload);
  assert.equal(first.headers['content-type'], 'application/json');
  assert.equal(first.headers['x-slack-retry-num'], undefined);

  assert.equal((await signedRequest(target, secret, payload, { retryNum: 2 })).status, 200);
  assert.equal(seen[1]!.headers['x-slack-retry-num'], '2');
  assert.equal(seen[1]!.headers['x-slack-retry-reason'], 'http_timeout');

  assert.equal((await signedRequest(target, secret, payload, { badSignature: true })).status, 401);
  assert.match(seen[2]!.verdict, /signature mismatch/);
  assert.equal((await signedRequest(target, secret, payload, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status, 401);
  assert.match(seen[3]!.verdict, /stale/);
});

test('signedRequest against a Bolt HTTP app: url_verification, events with retry info, bad signatures', async (t) => {
  const fake = await fakeSlack(t);
  const secret = 'bolt-signing-secret';
  const app = new App({
    token: fake.botToken,
    signingSecret: secret,
    botId: fake.botId,
    botUserId: fake.botUserId,
    clientOptions: { slackApiUrl: `${fake.url}/api/` },
    logLevel: LogLevel.ERROR,
  });
  const seen: { text: string; retryNum?: number; retryReason?: string }[] = [];
  app.event('app_mention', async ({ event, context }) => {
    seen.push({ text: event.text, retryNum: context.retryNum, retryReason: context.retryReason });
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as http.Server;
  defer(t, () => app.stop());
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

  const check = await urlVerification(target, secret, 'challenge-123');
  assert.equal(check.status, 200);
  assert.deepEqual(await check.json(), { challenge: 'challenge-123' });

  const payload = fake.eventCallback(fake.mention({ channel: 'C0TEST0001', user: 'U0HUMAN0001', text: 'over http' }));
  assert.equal((await signedRequest(target, secret, payload)).status, 200);
  assert.equal((await signedRequest(target, secret, payload, { retryNum: 1, retryReason: 'http_timeout' })).status, 200);
  await until(() => seen.length === 2, 'both deliveries');
  assert.deepEqual(seen[1], { text: `<@${fake.botUserId}> over http`, retryNum: 1, retryReason: 'http_timeout' });

  const bad = await signedRequest(target, secret, payload, { badSignature: true });
  assert.equal(bad.status, 401);
  await bad.arrayBuffer();
  assert.equal(seen.length, 2);
});
