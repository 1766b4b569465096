// The audit chain, approvals, and migration 4 (outbox rebuilt with rows kept).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BetterSqlite3, nativeParts } from '../src/store/native.ts';
import { migrations } from '../src/store/migrations.ts';
import type { AuditEvent } from '../src/store/audit.ts';
import { Store } from '../src/store/store.ts';

const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  eventType: 'command_execution', userId: 'alice', platform: 'cli', role: 'Admin', conversation: 'cli:t', decision: 'allowed',
  input: 'disk_usage /var', output: 'ok', durationMs: 12, modelVersion: null, ...over,
});

describe('audit log', () => {
  test('each record links to the one before it by hash', async () => {
    const store = Store.open(':memory:');
    for (let i = 0; i < 5; i++) await store.write(() => store.audit.append(event({ input: `n${i}` }), 1000 + i));
    assert.equal(store.audit.verifyChain(), null);
    const rows = store.audit.tail({ limit: 10 });
    assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4, 5]);
    assert.equal(rows[1]!.prevHash, rows[0]!.hash);
    store.close();
  });

  test('tampering is detected at the edited record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clawdbot-audit-'));
    const path = join(dir, 'db.sqlite');
    const store = Store.open(path);
    return (async () => {
      for (let i = 0; i < 4; i++) await store.write(() => store.audit.append(event({ output: `out${i}` }), 2000 + i));
      store.close();
      const native = nativeParts();
      const raw = native.addon ? new BetterSqlite3(path, { nativeBinding: native.addon }) : new BetterSqlite3(path);
      raw.prepare("UPDATE audit SET output = 'nothing to see' WHERE id = 3").run();
      raw.close();
      const again = Store.open(path);
      assert.deepEqual(again.audit.verifyChain(), { brokenAt: 3, reason: 'its content does not match its hash' });
      again.close();
    })();
  });

  test('filters by user, event and time; long fields are capped', async () => {
    const store = Store.open(':memory:');
    await store.write(() => store.audit.append(event({ userId: 'bob', eventType: 'policy_denial', decision: 'denied' }), 10));
    await store.write(() => store.audit.append(event({ input: 'x'.repeat(10_000) }), 20));
    assert.deepEqual(store.audit.tail({ userId: 'bob', limit: 10 }).map((r) => r.eventType), ['policy_denial']);
    assert.deepEqual(store.audit.tail({ eventType: 'command_execution', limit: 10 }).map((r) => r.userId), ['alice']);
    assert.equal(store.audit.tail({ since: 15, limit: 10 }).length, 1);
    assert.ok(store.audit.tail({ limit: 1 })[0]!.input!.length <= 4001);
    store.close();
  });
});

describe('approvals', () => {
  const req = { command: 'restart_web', args: { service: 'web' }, requester: { platform: 'telegram', id: '42' }, platform: 'telegram', chatId: '42', threadId: undefined, inReplyTo: '7' };

  test('a request is decided once, never after it expired', async () => {
    const store = Store.open(':memory:');
    const a = await store.write(() => store.approvals.create(req, 1000, 60_000));
    assert.match(a.id, /^[a-z2-9]{6}$/);
    assert.deepEqual(store.approvals.pending(1001).map((p) => p.id), [a.id]);
    assert.equal(await store.write(() => store.approvals.decide(a.id.toUpperCase(), 'approved', 'cli:alice', 2000)), true);
    assert.equal(await store.write(() => store.approvals.decide(a.id, 'denied', 'cli:bob', 2001)), false, 'second decision');
    assert.equal(store.approvals.get(a.id)!.status, 'approved');
    assert.deepEqual(store.approvals.get(a.id)!.args, { service: 'web' });

    const b = await store.write(() => store.approvals.create(req, 1000, 10));
    assert.equal(await store.write(() => store.approvals.decide(b.id, 'approved', 'cli:alice', 5000)), false, 'expired');
    assert.equal(await store.write(() => store.approvals.expire(5000)), 1);
    assert.equal(store.approvals.get(b.id)!.status, 'expired');
    store.close();
  });
});

test('migration 4 keeps outbox rows of an older database and allows messages without a turn', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clawdbot-mig-'));
  const path = join(dir, 'db.sqlite');
  const native = nativeParts();
  const raw = native.addon ? new BetterSqlite3(path, { nativeBinding: native.addon }) : new BetterSqlite3(path);
  for (const m of migrations.slice(0, 3)) raw.exec(m);
  raw.pragma('user_version = 3');
  raw.prepare("INSERT INTO inbox (platform, message_id, conversation, payload, received_at) VALUES ('cli', 'm1', 'cli:t', '{}', 1)").run();
  raw.prepare("INSERT INTO outbox (inbox_id, platform, chat_id, in_reply_to, text, next_attempt_at, created_at, parts_sent) VALUES (1, 'cli', 't', 'm1', 'queued reply', 1, 1, 2)").run();
  raw.close();
  const store = Store.open(path);
  const due = store.outbox.due(10);
  assert.equal(due.length, 1);
  assert.equal(due[0]!.text, 'queued reply');
  assert.equal(due[0]!.partsSent, 2);
  assert.equal(due[0]!.inReplyTo, 'm1');
  const id = await store.write(() => store.queueMessage({ platform: 'cli', chatId: 't', text: 'daily report' }, 5));
  const row = store.outbox.get(id)!;
  assert.equal(row.inReplyTo, undefined);
  assert.equal(row.text, 'daily report');
  store.close();
});
