// Rate limits: token buckets per key (HTTP 429 with Retry-After), per platform user and per chat (one
// notice per window, then silence), with a bounded number of buckets; and their config section.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateLimitsSection, compileRateLimits } from '../src/core/config/limits.ts';
import type { RateLimit } from '../src/core/config/types.ts';
import { parseRate } from '../src/core/config/units.ts';
import { ApiKeyAuth } from '../src/core/http/auth.ts';
import { HttpGateway } from '../src/core/http/server.ts';
import { ChatLimits, RateLimiter } from '../src/core/ratelimit.ts';
import { ApiKeys } from '../src/store/api-keys.ts';
import { openDb } from '../src/store/db.ts';
import { quietLog } from './helpers/pipeline.ts';

const rate = (text: string): RateLimit => parseRate(text)!;

describe('rate limiter', () => {
  it('allows a burst of the limit, then one per interval, per key', () => {
    const l = new RateLimiter({ limit: 3, windowMs: 3000, text: '3/3s' });
    for (let i = 0; i < 3; i++) assert.equal(l.take('a', 0).ok, true);
    const denied = l.take('a', 0);
    assert.equal(denied.ok, false);
    assert.equal(denied.ok === false && denied.retryAfterMs, 1000);
    assert.equal(l.take('b', 0).ok, true, 'keys are independent');
    assert.equal(l.take('a', 999).ok, false);
    assert.equal(l.take('a', 1000).ok, true);
    assert.equal(l.take('a', 1001).ok, false);
  });

  it('"100/min": the 101st request in a burst waits exactly one interval (600 ms), and then gets through', () => {
    const l = new RateLimiter(rate('100/min'));
    for (let i = 0; i < 100; i++) assert.equal(l.take('k', 5000).ok, true, `request ${i + 1}`);
    assert.deepEqual(l.take('k', 5000), { ok: false, retryAfterMs: 600 });
    assert.deepEqual(l.take('k', 5599), { ok: false, retryAfterMs: 1 });
    assert.deepEqual(l.take('k', 5600), { ok: true });
  });

  it('keeps no more buckets than maxEntries: the least recently used goes first', () => {
    const l = new RateLimiter(rate('1/min'), { maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) assert.equal(l.take(k, 0).ok, true);
    assert.equal(l.take('a', 1).ok, false, 'a is empty (and now the most recently used)');
    assert.equal(l.take('d', 2).ok, true);
    assert.equal(l.size, 3);
    assert.equal(l.take('b', 3).ok, true, 'b was the least recently used: dropped, so it starts full again');
    assert.equal(l.take('a', 4).ok, false, 'a was kept');
  });

  it('does not grow with the number of distinct users', () => {
    const l = new RateLimiter(rate('10/min'));
    for (let i = 0; i < 50_000; i++) l.take(`user${i}`, i);
    assert.ok(l.size <= 10_000, `size ${l.size}`);
  });

  it('drops idle buckets once they are full again', () => {
    const l = new RateLimiter(rate('2/s'));
    for (let i = 0; i < 100; i++) l.take(`u${i}`, 0);
    assert.equal(l.size, 100);
    l.take('late', 1000);
    assert.equal(l.size, 1, 'every refilled bucket was swept; only the new one is left');
  });
});

describe('HTTP per-key limit', () => {
  async function gateway(limiter: RateLimiter, auth: ApiKeyAuth) {
    const http = new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth, limiter, log: await quietLog() });
    http.route('POST', '/v1/messages', ({ res }) => void res.end('ok'), { auth: true, limit: true });
    const { port } = await http.listen();
    const post = async (key: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
      await res.arrayBuffer();
      return res;
    };
    return { http, post };
  }

  it('under "100/min" the 101st request within a minute gets 429 with a Retry-After that the bucket honours', async () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(rate('100/min'), { now: () => now });
    const { http, post } = await gateway(limiter, new ApiKeyAuth('the-key'));
    try {
      // At one instant of the injected clock: the bucket refills continuously (one token per 600 ms), so
      // requests spread over the minute would earn more than 100.
      for (let i = 0; i < 100; i++) assert.equal((await post('the-key')).status, 200, `request ${i + 1}`);
      const refused = await post('the-key');
      assert.equal(refused.status, 429);
      const secs = Number(refused.headers.get('retry-after'));
      assert.ok(Number.isInteger(secs) && secs >= 1 && secs <= 60, `Retry-After ${refused.headers.get('retry-after')}`);
      assert.equal(limiter.wait('config', now), 600, 'the bucket: one token per 600 ms');
      assert.equal(secs, 1, '600 ms, rounded up to whole seconds (never shorter than the real wait)');
      const refusedAt = now;
      now = refusedAt + 599;
      assert.equal((await post('the-key')).status, 429, 'before the token is back');
      now = refusedAt + secs * 1000;
      assert.equal((await post('the-key')).status, 200, 'after Retry-After seconds the request gets through');
    } finally {
      await http.close();
    }
  });

  it('Retry-After is in whole seconds, rounded up ("2/min": 30 s, then 1 s near the end)', async () => {
    let now = 0;
    const { http, post } = await gateway(new RateLimiter(rate('2/min'), { now: () => now }), new ApiKeyAuth('k'));
    try {
      assert.equal((await post('k')).status, 200);
      assert.equal((await post('k')).status, 200);
      assert.equal((await post('k')).headers.get('retry-after'), '30');
      now = 29_001;
      assert.equal((await post('k')).headers.get('retry-after'), '1');
      now = 30_000;
      assert.equal((await post('k')).status, 200);
    } finally {
      await http.close();
    }
  });

  it('each key has its own bucket', async () => {
    const opened = openDb(':memory:');
    const keys = new ApiKeys(opened.db);
    const a = keys.add('a', 'User', 0).key;
    const b = keys.add('b', 'User', 0).key;
    const now = 0;
    const { http, post } = await gateway(new RateLimiter(rate('1/min'), { now: () => now }), new ApiKeyAuth(undefined, keys));
    try {
      assert.equal((await post(a)).status, 200);
      assert.equal((await post(a)).status, 429);
      assert.equal((await post(b)).status, 200);
    } finally {
      await http.close();
      opened.close();
    }
  });
});

describe('chat limits', () => {
  it('per user and per chat are independent, and a refused message costs no token', () => {
    const l = new ChatLimits({ user: rate('2/min'), chat: rate('3/min') });
    assert.equal(l.take('telegram', 'u1', 'c1', 0).ok, true);
    assert.equal(l.take('telegram', 'u1', 'c1', 0).ok, true);
    assert.equal(l.take('telegram', 'u1', 'c1', 0).ok, false, 'u1 is over its user limit');
    assert.equal(l.take('telegram', 'u1', 'c2', 0).ok, false, 'in any chat');
    assert.equal(l.take('telegram', 'u2', 'c1', 0).ok, true, 'c1 has one more (u1\'s refusals took none)');
    assert.equal(l.take('telegram', 'u3', 'c1', 0).ok, false, 'c1 is over its chat limit, whoever writes');
    assert.equal(l.take('telegram', 'u3', 'c2', 0).ok, true, 'u3 elsewhere is fine');
    assert.equal(l.take('telegram', 'u3', 'c2', 0).ok, true, 'u3\'s refusal in c1 cost u3 nothing');
    assert.equal(l.take('slack', 'u1', 'c1', 0).ok, true, 'the same ids on another platform are other people');
  });

  it('only a user limit, or only a chat limit, limits only that', () => {
    const users = new ChatLimits({ user: rate('1/min'), chat: undefined });
    assert.equal(users.take('p', 'u1', 'c', 0).ok, true);
    assert.equal(users.take('p', 'u2', 'c', 0).ok, true);
    assert.equal(users.take('p', 'u1', 'c', 0).ok, false);
    const chats = new ChatLimits({ user: undefined, chat: rate('1/min') });
    assert.equal(chats.take('p', 'u1', 'c1', 0).ok, true);
    assert.equal(chats.take('p', 'u1', 'c2', 0).ok, true);
    assert.equal(chats.take('p', 'u2', 'c1', 0).ok, false);
  });

  it('one notice per window for a user, then silence', () => {
    const l = new ChatLimits({ user: rate('2/min'), chat: undefined });
    const take = (t: number) => l.take('telegram', '42', '42', t);
    assert.deepEqual([take(0), take(0)], [{ ok: true }, { ok: true }]);
    assert.deepEqual(take(1), { ok: false, retryAfterMs: 29_999, notify: true });
    assert.deepEqual(take(2), { ok: false, retryAfterMs: 29_998, notify: false });
    assert.deepEqual(take(30_000), { ok: true });
    assert.deepEqual(take(30_001), { ok: false, retryAfterMs: 29_999, notify: false }, 'still the same window as the notice');
    assert.deepEqual(take(60_000), { ok: true });
    assert.deepEqual(take(60_001), { ok: false, retryAfterMs: 29_999, notify: true }, 'a window after the notice: one more');
  });

  it('one notice per window for a chat, whoever is refused there', () => {
    const l = new ChatLimits({ user: rate('10/min'), chat: rate('1/min') });
    assert.equal(l.take('slack', 'U1', 'C1', 0).ok, true);
    const first = l.take('slack', 'U2', 'C1', 10);
    assert.deepEqual(first, { ok: false, retryAfterMs: 59_990, notify: true });
    assert.deepEqual(l.take('slack', 'U3', 'C1', 20), { ok: false, retryAfterMs: 59_980, notify: false });
    assert.deepEqual(l.take('slack', 'U2', 'C1', 30), { ok: false, retryAfterMs: 59_970, notify: false });
  });

  it('keeps its buckets bounded too', () => {
    const l = new ChatLimits({ user: rate('1/h'), chat: rate('1/h') }, { maxEntries: 100 });
    for (let i = 0; i < 1000; i++) assert.equal(l.take('p', `u${i}`, `c${i}`, i).ok, true);
    assert.equal(l.take('p', 'u999', 'new', 1000).ok, false, 'a recent user is still limited');
    assert.equal(l.take('p', 'u0', 'new2', 1001).ok, true, 'the oldest user\'s bucket was dropped (1/h would refuse it otherwise)');
  });
});

describe('security.rate_limits', () => {
  it('parses key, user and chat in the seed\'s syntax; key overrides rate_limit', () => {
    const raw = rateLimitsSection.parse({ key: '10/s', user: '20 per minute', chat: '1000/h' });
    const limits = compileRateLimits({ rate_limit: rate('100/min'), rate_limits: raw });
    assert.deepEqual(limits, {
      key: { limit: 10, windowMs: 1000, text: '10/s' },
      user: { limit: 20, windowMs: 60_000, text: '20 per minute' },
      chat: { limit: 1000, windowMs: 3_600_000, text: '1000/h' },
    });
  });

  it('without rate_limits the seed\'s rate_limit is the per-key limit; absent ones do not limit', () => {
    assert.deepEqual(compileRateLimits({ rate_limit: rate('100/min') }), { key: rate('100/min'), user: undefined, chat: undefined });
    assert.deepEqual(compileRateLimits({ rate_limit: null, rate_limits: rateLimitsSection.parse({ user: '5/min' }) }), { key: undefined, user: rate('5/min'), chat: undefined });
    assert.deepEqual(compileRateLimits({}), { key: undefined, user: undefined, chat: undefined });
  });

  it('says what it expected for a bad rate or an unknown key', () => {
    const bad = rateLimitsSection.safeParse({ user: '5 a minute' });
    assert.equal(bad.success, false);
    assert.match(bad.error!.issues[0]!.message, /expected a rate like 100\/min/);
    assert.deepEqual(bad.error!.issues[0]!.path, ['user']);
    const unknown = rateLimitsSection.safeParse({ group: '5/min' });
    assert.equal(unknown.success, false);
    assert.match(unknown.error!.issues[0]!.message, /key, user, chat/);
  });
});
