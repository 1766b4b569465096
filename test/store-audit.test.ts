// The audit chain (line format, hash definition, tampering found where it happened, redaction and
// encryption before storing), approvals, and migration 4 (outbox rebuilt with rows kept).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BetterSqlite3, nativeParts } from '../src/store/native.ts';
import { migrations } from '../src/store/migrations.ts';
import { AuditLog, formatLine, GENESIS_HASH, lineHash, toLine, type AuditEvent } from '../src/store/audit.ts';
import { dataCodec } from '../src/store/crypto.ts';
import { Store } from '../src/store/store.ts';

const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  eventType: 'command_execution', userId: 'alice', platform: 'cli', role: 'Admin', conversation: 'cli:t', decision: 'allowed',
  input: 'disk_usage /var', output: 'ok', durationMs: 12, modelVersion: null, ...over,
});

/** Opens the database file behind a store's back, as someone tampering with it would. */
function rawDb(path: string) {
  const native = nativeParts();
  return native.addon ? new BetterSqlite3(path, { nativeBinding: native.addon }) : new BetterSqlite3(path);
}

async function storeWith(n: number, at = 2000): Promise<{ path: string; store: Store }> {
  const path = join(mkdtempSync(join(tmpdir(), 'clawdbot-audit-')), 'db.sqlite');
  const store = Store.open(path);
  for (let i = 1; i <= n; i++) await store.write(() => store.audit.append(event({ output: `out${i}` }), at + i));
  return { path, store };
}

describe('audit log', () => {
  test('each record links to the one before it by hash', async () => {
    const store = Store.open(':memory:');
    for (let i = 0; i < 5; i++) await store.write(() => store.audit.append(event({ input: `n${i}` }), 1000 + i));
    assert.deepEqual(store.audit.walk(), { records: 5, firstId: 1, lastId: 5, broken: null });
    const rows = store.audit.tail({ limit: 10 });
    assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4, 5]);
    assert.equal(rows[0]!.prevHash, GENESIS_HASH);
    assert.equal(rows[1]!.prevHash, rows[0]!.hash);
    store.close();
  });

  test('a line has exactly the seed fields plus id, role, decision, conversation and the chain; its hash is recomputable from the line alone', async () => {
    const store = Store.open(':memory:');
    await store.write(() => store.audit.append(event({ eventType: 'model_invocation', modelVersion: 'llama3.2', input: 'What\'s the server status?', output: 'All systems operational' }), 1672531200125));
    const line = formatLine(toLine(store.audit.tail({ limit: 1 })[0]!));
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), [
      'id', 'timestamp', 'event_type', 'user_id', 'platform', 'role', 'conversation', 'decision', 'input', 'output',
      'duration_ms', 'model_version', 'prev_hash', 'hash',
    ]);
    assert.equal(parsed.timestamp, 1672531200.125, 'seconds, with the milliseconds as the fraction');
    assert.equal(parsed.event_type, 'model_invocation');
    assert.equal(parsed.duration_ms, 12);
    // The definition, done by hand: drop the last member, put the SHA-256 of input and output in their
    // place, and hash the text that is left.
    const m = /^(.*),"hash":"([0-9a-f]{64})"\}$/.exec(line)!;
    assert.ok(m, line);
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const hashed = `${m[1]}}`.replace(JSON.stringify(parsed.input), JSON.stringify(sha(parsed.input as string))).replace(JSON.stringify(parsed.output), JSON.stringify(sha(parsed.output as string)));
    assert.equal(sha(hashed), m[2]);
    assert.equal(m[2], parsed.hash);
    store.close();
  });

  test('erasing a person\'s text keeps the chain intact: only digests remain', async () => {
    const store = Store.open(':memory:');
    await store.write(() => store.audit.append(event({ userId: 'ann', input: 'my secret plan', output: 'noted: secret plan' }), 1000));
    await store.write(() => store.audit.append(event({ userId: 'bob', input: 'hello' }), 1001));
    await store.write(() => store.audit.append(event({ userId: 'ann', input: 'again', output: null }), 1002));
    assert.equal(await store.write(() => store.audit.erase({ userId: 'ann' })), 2);
    assert.equal(await store.write(() => store.audit.erase({ userId: 'ann' })), 0, 'erasing twice changes nothing');
    const rows = store.audit.tail({ limit: 10 });
    assert.match(rows[0]!.input!, /^\[erased sha256:[0-9a-f]{64}\]$/);
    assert.equal(rows[2]!.output, null);
    assert.equal(rows[1]!.input, 'hello', 'other people are untouched');
    assert.equal(store.audit.verifyChain(), null);
    store.close();
  });

  test('an edited row fails the walk at exactly that record', async () => {
    const { path, store } = await storeWith(4);
    store.close();
    const raw = rawDb(path);
    raw.prepare("UPDATE audit SET output = 'nothing to see' WHERE id = 3").run();
    raw.close();
    const again = Store.open(path);
    assert.deepEqual(again.audit.walk(), { records: 2, firstId: 1, lastId: 2, broken: { brokenAt: 3, reason: 'its content does not match its hash' } });
    assert.deepEqual(again.audit.verifyChain(), { brokenAt: 3, reason: 'its content does not match its hash' });
    again.close();
  });

  test('a row edited with its hash recomputed breaks the link of the next one', async () => {
    const { path, store } = await storeWith(4);
    store.close();
    const raw = rawDb(path);
    const row = raw.prepare('SELECT * FROM audit WHERE id = 2').get() as Record<string, unknown>;
    const forged = { ...toLine({
      id: 2, timestamp: row.timestamp as number, eventType: row.event_type as string, userId: row.user_id as string, platform: row.platform as string,
      role: row.role as string, conversation: row.conversation as string, decision: row.decision as 'allowed', input: row.input as string,
      output: 'forged', durationMs: row.duration_ms as number, modelVersion: null, prevHash: row.prev_hash as string, hash: '',
    }) };
    raw.prepare("UPDATE audit SET output = 'forged', hash = ? WHERE id = 2").run(lineHash(forged));
    raw.close();
    const again = Store.open(path);
    assert.deepEqual(again.audit.verifyChain(), { brokenAt: 3, reason: 'does not link to the record before it' });
    again.close();
  });

  test('a deleted row is named as missing; so is a deleted first row', async () => {
    const { path, store } = await storeWith(5);
    store.close();
    const raw = rawDb(path);
    raw.prepare('DELETE FROM audit WHERE id = 3').run();
    raw.close();
    let again = Store.open(path);
    assert.deepEqual(again.audit.verifyChain(), { brokenAt: 3, reason: 'missing: record 2 is followed by record 4' });
    again.close();
    const raw2 = rawDb(path);
    raw2.prepare('DELETE FROM audit WHERE id = 1').run();
    raw2.close();
    again = Store.open(path);
    assert.deepEqual(again.audit.verifyChain(), { brokenAt: 1, reason: 'missing: the chain starts at record 2' });
    again.close();
  });

  test('filters by user, event and time; long fields are capped', async () => {
    const store = Store.open(':memory:');
    await store.write(() => store.audit.append(event({ userId: 'bob', eventType: 'policy_denial', decision: 'denied' }), 10));
    await store.write(() => store.audit.append(event({ input: 'x'.repeat(10_000) }), 20));
    assert.deepEqual(store.audit.tail({ userId: 'bob', limit: 10 }).map((r) => r.eventType), ['policy_denial']);
    assert.deepEqual(store.audit.tail({ eventType: 'command_execution', limit: 10 }).map((r) => r.userId), ['alice']);
    assert.equal(store.audit.tail({ since: 15, limit: 10 }).length, 1);
    assert.ok(store.audit.tail({ limit: 1 })[0]!.input!.length <= 4001);
    assert.equal(store.audit.verifyChain(), null);
    store.close();
  });

  test('credentials are cut out before storing, also with no config attached; a cap never leaves half a secret', async () => {
    const store = Store.open(':memory:');
    const slack = 'xoxb-1234567890-abcdefghijkl';
    await store.write(() => store.audit.append(event({ input: `post with ${slack}`, output: 'Authorization: Bearer abc123def456ghi' }), 1));
    let r = store.audit.tail({ limit: 1 })[0]!;
    assert.equal(r.input, 'post with [redacted]');
    assert.equal(r.output, 'Authorization: [redacted]');
    store.audit.attach({ redact: (s) => s.replaceAll('hunter2-secret', '[redacted]'), sink: undefined });
    const secret = 'hunter2-secret';
    await store.write(() => store.audit.append(event({ input: `${'y'.repeat(3995)}${secret}` }), 2));
    r = store.audit.tail({ limit: 1 })[0]!;
    assert.ok(!r.input!.includes('hunt'), 'redacted before the cap cut it');
    assert.ok(r.input!.endsWith('[reda…'), r.input!.slice(-20));
    assert.equal(store.audit.verifyChain(), null);
    store.close();
  });

  test('text that SQLite would change (a lone surrogate) is stored so that the chain still verifies', async () => {
    const { path, store } = await storeWith(0);
    await store.write(() => store.audit.append(event({ input: 'half an emoji \ud83d', durationMs: 12.6 }), 1));
    store.close();
    const again = Store.open(path);
    assert.equal(again.audit.verifyChain(), null);
    assert.equal(again.audit.tail({ limit: 1 })[0]!.durationMs, 13);
    again.close();
  });

  test('with a data key, input and output are encrypted on disk; the chain is over the clear text', async () => {
    const { path, store } = await storeWith(0);
    store.close();
    const raw = rawDb(path);
    const codec = dataCodec(randomBytes(32));
    const log = new AuditLog(raw, codec);
    const r = raw.transaction(() => log.append(event({ input: 'the secret plan' }), 5))();
    const stored = raw.prepare('SELECT input FROM audit WHERE id = ?').pluck().get(r.id) as string;
    assert.ok(!stored.includes('secret plan'), stored);
    assert.equal(log.tail({ limit: 1 })[0]!.input, 'the secret plan');
    assert.equal(log.verifyChain(), null);
    // A changed ciphertext no longer authenticates: that record is the broken one.
    raw.prepare('UPDATE audit SET input = ? WHERE id = ?').run(`${stored.slice(0, -6)}AAAAA=`, r.id);
    assert.equal(log.verifyChain()?.brokenAt, r.id);
    raw.close();
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

/** A database file as a build with the first `version` migrations left it (open with `raw`, then close it). */
function olderDatabase(version: number) {
  const dir = mkdtempSync(join(tmpdir(), 'clawdbot-mig-'));
  const path = join(dir, 'db.sqlite');
  const native = nativeParts();
  const raw = native.addon ? new BetterSqlite3(path, { nativeBinding: native.addon }) : new BetterSqlite3(path);
  raw.loadExtension(native.vec0);
  for (const m of migrations.slice(0, version)) raw.exec(m);
  raw.pragma(`user_version = ${version}`);
  return { dir, path, raw };
}

test('migration 4 keeps outbox rows of an older database and allows messages without a turn', async () => {
  const { path, raw } = olderDatabase(3);
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

test('migration 7 keeps the sessions of an older database (now keyed by conversation alone) and prunes done turns without the index', () => {
  const { dir, path, raw } = olderDatabase(6);
  raw.prepare("INSERT INTO sessions (conversation, started_at, updated_at) VALUES ('cli:t', 100, 200)").run();
  raw.prepare("INSERT INTO messages (conversation, role, text, at) VALUES ('cli:t', 'user', 'earlier words', 150)").run();
  raw.prepare("INSERT INTO inbox (platform, message_id, conversation, payload, status, received_at, done_at) VALUES ('cli', 'm1', 'cli:t', '{}', 'done', 1, 2)").run();
  raw.close();
  const store = Store.open(path);
  assert.deepEqual(store.sessions.history('cli:t', 300, 1000, 10).map((h) => h.text), ['earlier words']);
  const rec = store.inbox.record({ platform: 'cli', id: 'm2', chat: { id: 't', type: 'dm' }, sender: { id: 'u' }, text: 'next', sentAt: 400, attachments: [] }, 'cli:t', 400);
  assert.equal(rec.duplicate, false);
  if (rec.duplicate) return;
  const remember = [{ role: 'user' as const, text: 'next', at: 400 }, { role: 'assistant' as const, text: 'answer', at: 401 }];
  store.completeTurn({ inboxId: rec.inboxId, conversation: 'cli:t', reply: { platform: 'cli', chatId: 't', inReplyTo: 'm2', text: 'answer' }, remember, sessionTtlMs: 1000 }, 401);
  assert.deepEqual(store.sessions.history('cli:t', 500, 1000, 10).map((h) => h.text), ['earlier words', 'next', 'answer'], 'the session went on');
  assert.equal(store.inbox.prune(3, 0), 1, 'the old done turn is pruned, the new one kept');
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('migration 8 chains the history of an older database: each conversation, its live session, its count', () => {
  const { dir, path, raw } = olderDatabase(7);
  // Conversation a: an expired session's entries (at 100, 110), then the live one (from 500); b interleaved.
  raw.prepare("INSERT INTO sessions (conversation, started_at, updated_at) VALUES ('a', 500, 530), ('b', 100, 520)").run();
  const add = raw.prepare('INSERT INTO messages (conversation, role, text, at) VALUES (?, ?, ?, ?)');
  for (const [c, role, text, at] of [['a', 'user', 'old q', 100], ['b', 'user', 'b q1', 105], ['a', 'assistant', 'old a', 110], ['a', 'user', 'q1', 500],
    ['b', 'assistant', 'b a1', 505], ['a', 'assistant', 'a1', 510], ['b', 'user', 'b q2', 515], ['a', 'user', 'q2', 520], ['a', 'assistant', 'a2', 530]] as const) add.run(c, role, text, at);
  raw.close();
  const store = Store.open(path);
  assert.deepEqual(store.sessions.history('a', 600, 1000, 10).map((h) => h.text), ['q1', 'a1', 'q2', 'a2']);
  assert.deepEqual(store.sessions.history('a', 600, 1000, 3).map((h) => h.text), ['a1', 'q2', 'a2']);
  assert.deepEqual(store.sessions.history('b', 600, 1000, 10).map((h) => h.text), ['b q1', 'b a1', 'b q2']);
  assert.deepEqual(store.sessions.recent(5).map((r) => [r.conversation, r.messages]), [['a', 4], ['b', 3]]);
  store.sessions.append('b', [{ role: 'assistant', text: 'b a2', at: 540 }], 540, 1000);
  assert.deepEqual(store.sessions.history('b', 600, 1000, 10).map((h) => h.text), ['b q1', 'b a1', 'b q2', 'b a2'], 'the chain goes on from the migrated one');
  store.close();
  rmSync(dir, { recursive: true, force: true });
});
