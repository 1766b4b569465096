// The Slack adapter in Events API mode, in-process: the gateway's HTTP server listens, the adapter
// registers /slack/events on it, and the fake Slack plays Slack's side (signed POSTs to that endpoint,
// the Web API for auth.test and chat.postMessage). Real WebClient and verifySlackRequest, real
// Gateway/Store/Executor, a scripted model.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdapterHost } from '../src/adapters/contract.ts';
import { SlackAdapter } from '../src/adapters/slack/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import type { Gateway } from '../src/core/gateway.ts';
import type { HttpGateway } from '../src/core/http/server.ts';
import type { InboundMessage } from '../src/core/types.ts';
import type { Store } from '../src/store/store.ts';
import { signedRequest, slackSignature, startFakeSlack, urlVerification, type FakeSlack } from './fakes/slack.ts';
import { pipeline, quietLog, testHttp, until, type Pipeline } from './helpers/pipeline.ts';

const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const CHANNEL = 'C0EVENTS001';
const ADA = 'U0ADA000001';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slack adapter: events mode', () => {
  let fake: FakeSlack;
  let http: HttpGateway;
  let store: Store;
  let gateway: Gateway;
  let adapter: SlackAdapter;
  let endpoint: string;
  let p: Pipeline;
  const submitted: InboundMessage[] = [];
  const posts = () => fake.posted.filter((p) => p.method === 'chat.postMessage');
  const postsIn = (channel: string) => posts().filter((p) => p.channel === channel);

  before(async () => {
    fake = await startFakeSlack();
    const log = await quietLog();
    http = testHttp(log);
    const { port } = await http.listen();
    const config = defaultConfig();
    const slack = { ...config.adapters.slack, enabled: true, mode: 'events' as const, botToken: fake.botToken, appToken: undefined, signingSecret: SIGNING_SECRET, apiUrl: `${fake.url}/api/` };
    endpoint = `http://127.0.0.1:${port}${slack.eventsPath}`;
    adapter = new SlackAdapter({ config: slack, http, log });
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

  it('starts without Socket Mode: auth.test only, connected', () => {
    assert.equal(fake.connectionsOpened(), 0, 'no socket');
    assert.ok(fake.requests.some((r) => r.method === 'auth.test' && r.status === 200));
    assert.equal(fake.requests.filter((r) => r.method === 'apps.connections.open').length, 0);
    const h = adapter.health();
    assert.equal(h.connected, true);
    assert.match(h.detail, /events/);
  });

  it('url_verification echoes the challenge', async () => {
    const res = await urlVerification(endpoint, SIGNING_SECRET, 'challenge-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { challenge: 'challenge-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
    const unsigned = await urlVerification(endpoint, SIGNING_SECRET, 'x', { badSignature: true });
    assert.equal(unsigned.status, 401, 'the challenge is answered only to Slack');
    await unsigned.body?.cancel();
  });

  it('a signed app_mention is answered in its thread', async () => {
    const event = fake.mention({ channel: CHANNEL, user: ADA, text: 'what is new?' }) as { ts: string };
    const res = await signedRequest(endpoint, SIGNING_SECRET, fake.eventCallback(event));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await until('the reply', () => postsIn(CHANNEL).length > 0);
    const [reply] = postsIn(CHANNEL);
    assert.equal(reply!.text, 'echo: what is new?');
    assert.equal(reply!.thread_ts, event.ts, 'in the thread of the mention');
    assert.equal(store.pendingTurns(), 0);
  });

  it('a mention inside an existing thread is answered in that thread', async () => {
    const parent = fake.mention({ channel: 'C0THREADS01', user: ADA, text: 'first' }) as { ts: string };
    const event = fake.mention({ channel: 'C0THREADS01', user: ADA, text: 'second', thread_ts: parent.ts });
    const res = await signedRequest(endpoint, SIGNING_SECRET, fake.eventCallback(event));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await until('the reply', () => postsIn('C0THREADS01').length > 0);
    assert.deepEqual(postsIn('C0THREADS01').map((p) => [p.text, p.thread_ts]), [['echo: second', parent.ts]]);
  });

  it('a dm is answered in the conversation, without a thread', async () => {
    const event = fake.directMessage({ channel: 'D0EVENTSDM1', user: ADA, text: 'in private' });
    const res = await signedRequest(endpoint, SIGNING_SECRET, fake.eventCallback(event));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await until('the reply', () => postsIn('D0EVENTSDM1').length > 0);
    const [reply] = postsIn('D0EVENTSDM1');
    assert.equal(reply!.text, 'echo: in private');
    assert.equal(reply!.thread_ts, undefined);
  });

  it('a wrong signature or a stale timestamp: 401 and nothing changes', async () => {
    const channel = 'C0REFUSED01';
    const body = fake.eventCallback(fake.mention({ channel, user: ADA, text: 'forged' }));
    const before = { submitted: submitted.length, pending: store.pendingTurns(), posted: posts().length };
    const forged = await signedRequest(endpoint, SIGNING_SECRET, body, { badSignature: true });
    assert.equal(forged.status, 401);
    assert.match(((await forged.json()) as { error: string }).error, /signature/i);
    const stale = await signedRequest(endpoint, SIGNING_SECRET, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    assert.equal(stale.status, 401, 'older than 5 minutes: a replay');
    await stale.body?.cancel();
    // Signed correctly, but the body was changed on the way.
    const ts = Math.floor(Date.now() / 1000);
    const raw = JSON.stringify(body);
    const tampered = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SIGNING_SECRET, ts, raw) },
      body: raw.replace('forged', 'FORGED'),
    });
    assert.equal(tampered.status, 401);
    await tampered.body?.cancel();
    const bare = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
    assert.equal(bare.status, 401, 'no signature headers at all');
    await bare.body?.cancel();
    await sleep(200);
    assert.equal(submitted.length, before.submitted, 'nothing reached the gateway');
    assert.equal(store.pendingTurns(), before.pending);
    assert.equal(posts().length, before.posted, 'no post');
    assert.deepEqual(postsIn(channel), []);
    // A timestamp a little old (4 minutes) is still accepted: the window is 5 minutes.
    const late = await signedRequest(endpoint, SIGNING_SECRET, body, { timestamp: Math.floor(Date.now() / 1000) - 4 * 60 });
    assert.equal(late.status, 200);
    await late.body?.cancel();
    await until('the reply', () => postsIn(channel).length > 0);
  });

  it('a retry of the same event (X-Slack-Retry-Num) gets 200 and still one reply', async () => {
    const channel = 'C0RETRIES01';
    const body = fake.eventCallback(fake.mention({ channel, user: ADA, text: 'only once' }));
    const first = await signedRequest(endpoint, SIGNING_SECRET, body);
    assert.equal(first.status, 200);
    await first.body?.cancel();
    for (const retryNum of [1, 2]) {
      const retry = await signedRequest(endpoint, SIGNING_SECRET, body, { retryNum, retryReason: 'http_timeout' });
      assert.equal(retry.status, 200, `retry ${retryNum} acknowledged`);
      await retry.body?.cancel();
    }
    await until('the reply', () => postsIn(channel).length > 0);
    await sleep(300);
    assert.deepEqual(postsIn(channel).map((p) => p.text), ['echo: only once']);
    assert.equal(submitted.filter((m) => m.chat.id === channel).length, 3, 'each delivery reached the gateway, which kept one');
  });

  it('events it does not handle get 200 and are ignored', async () => {
    const before = { submitted: submitted.length, posted: posts().length };
    const events = [
      { type: 'reaction_added', user: ADA, reaction: 'thumbsup', item: { type: 'message', channel: CHANNEL, ts: '1700000000.000100' }, item_user: fake.botUserId, event_ts: '1700000001.000200' },
      { type: 'message', channel_type: 'channel', channel: CHANNEL, user: ADA, text: 'chatter without a mention', ts: '1700000002.000300', event_ts: '1700000002.000300' },
      { type: 'message', subtype: 'message_changed', channel_type: 'im', channel: 'D0EVENTSDM1', hidden: true, ts: '1700000003.000400', message: { type: 'message', user: ADA, text: 'edited', ts: '1700000001.000100' } },
      { type: 'app_home_opened', user: ADA, channel: 'D0EVENTSDM1', tab: 'messages', event_ts: '1700000004.000500' },
    ];
    for (const e of events) {
      const res = await signedRequest(endpoint, SIGNING_SECRET, fake.eventCallback(e));
      assert.equal(res.status, 200, e.type);
      assert.deepEqual(await res.json(), { ok: true });
    }
    // Envelope types other than event_callback (app_rate_limited) are acknowledged too.
    const limited = await signedRequest(endpoint, SIGNING_SECRET, { token: 'x', type: 'app_rate_limited', team_id: fake.teamId, minute_rate_limited: 1518467820, api_app_id: fake.appId });
    assert.equal(limited.status, 200);
    await limited.body?.cancel();
    await sleep(100);
    assert.equal(submitted.length, before.submitted);
    assert.equal(posts().length, before.posted);
  });

  it('a signed body that is not JSON is a 400', async () => {
    const res = await signedRequest(endpoint, SIGNING_SECRET, 'payload=%7B%7D', { contentType: 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 400);
    await res.body?.cancel();
  });
});
