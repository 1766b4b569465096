import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from '../src/core/ratelimit.ts';

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
});
