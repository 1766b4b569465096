// Per-user and per-chat rate limits on chat platforms: over the limit, one polite notice per window,
// then silence; other users and chats are not affected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdapterRegistry } from '../src/adapters/registry.ts';
import { loadConfig } from '../src/core/config/load.ts';
import { Executor } from '../src/core/executor.ts';
import { Gateway } from '../src/core/gateway.ts';
import type { InboundMessage } from '../src/core/types.ts';
import { Store } from '../src/store/store.ts';
import { ChatAdapter } from './helpers/chat.ts';
import { scratch } from './helpers/cli.ts';
import { echoModel, quietLog } from './helpers/pipeline.ts';

test('over security.rate_limits.user: one notice, then silence; another user still answered', async () => {
  const s = scratch();
  const config = loadConfig({ file: s.write('c.yaml', 'security:\n  rate_limits: { user: "2/min", chat: "100/min" }\nroutes:\n  - default: { action: send_welcome_message }\n'), env: {}, home: s.dir, cwd: s.dir });
  const store = Store.open(':memory:');
  const log = await quietLog();
  const chat = new ChatAdapter();
  const adapters = new AdapterRegistry();
  adapters.add(chat);
  const gateway = new Gateway({ config, store, executor: new Executor({ config, store, log, model: echoModel }), adapters, log });
  let n = 0;
  const msg = (user: string): InboundMessage => ({ platform: 'chat', id: `m${++n}`, chat: { id: 'group', type: 'group' }, sender: { id: user }, text: 'hi', sentAt: Date.now(), attachments: [] });
  try {
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await gateway.receive(msg('eve')));
    const statuses = outcomes.map((o) => (o.duplicate ? 'dup' : (o.result?.status ?? 'silent')));
    assert.deepEqual(statuses, ['ok', 'ok', 'denied', 'silent']);
    const third = outcomes[2]!;
    assert.ok(!third.duplicate && third.result);
    assert.match(third.result.text, /^You're sending messages faster than allowed here; please wait \d+ s before the next one\.$/);
    const other = await gateway.receive(msg('frank'));
    assert.ok(!other.duplicate && other.result?.status === 'ok', 'another user is not limited');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(chat.sent.length, 4, 'two answers, one notice, one answer for frank');
  } finally {
    store.close();
    s.cleanup();
  }
});
