import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pacer } from '../src/adapters/pacer.ts';

describe('outbound pacer', () => {
  it('spaces messages to one chat, lets other chats through, and stops on abort', async () => {
    const p = new Pacer({ perChat: { limit: 1, windowMs: 60 }, global: { limit: 100, windowMs: 1000 } });
    const t0 = performance.now();
    await p.acquire('a', 'dm');
    await p.acquire('b', 'dm');
    assert.ok(performance.now() - t0 < 30, 'two chats: no wait');
    await p.acquire('a', 'dm');
    assert.ok(performance.now() - t0 >= 50, 'second message to chat a waited for its bucket');
    const ac = new AbortController();
    const waiting = p.acquire('a', 'dm', ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
  });

  it('groups get their own, slower bucket; direct chats do not draw from it', async () => {
    const p = new Pacer({ perGroup: { limit: 2, windowMs: 200 } });
    await p.acquire('g', 'group');
    await p.acquire('g', 'group');
    const t0 = performance.now();
    await p.acquire('d', 'dm');
    assert.ok(performance.now() - t0 < 20);
    await p.acquire('g', 'group');
    assert.ok(performance.now() - t0 >= 80, 'third group message waited');
  });
});
