import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDb, readKeyState } from '../src/store/db.ts';
import { Store } from '../src/store/store.ts';
import type { InboundMessage } from '../src/core/types.ts';

const msg = (id: string, text = 'hi'): InboundMessage => ({
  platform: 'test', id, chat: { id: 'c1', type: 'dm' }, sender: { id: 'u1' }, text, sentAt: 1000, attachments: [],
});

/** Finished turns in a Telegram group chat: `say(id, user, text, at)` records the message and completes it with "re: <text>". */
function groupTurns(s: Store, chatId: string, sessionTtlMs: number) {
  const conversation = `telegram:${chatId}`;
  return (id: string, user: string, text: string, at: number) => {
    const r = s.inbox.record({ platform: 'telegram', id, chat: { id: chatId, type: 'group' }, sender: { id: user }, text, sentAt: at, attachments: [] }, conversation, at);
    if (r.duplicate) throw new Error('dup');
    const answer = `re: ${text}`;
    s.completeTurn({ inboxId: r.inboxId, conversation, reply: { platform: 'telegram', chatId, text: answer },
      remember: [{ role: 'user', text, at }, { role: 'assistant', text: answer, at }], sessionTtlMs }, at);
  };
}

describe('store', () => {
  it('opens with WAL, migrations applied once, sqlite-vec loaded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clawdbot-db-'));
    try {
      const path = join(dir, 'x.db');
      const a = openDb(path);
      assert.equal(a.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(a.vecVersion, 'v0.1.9');
      const v = a.db.pragma('user_version', { simple: true });
      a.close();
      const b = openDb(path);
      assert.equal(b.db.pragma('user_version', { simple: true }), v);
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a data key, text is stored as written and the database records no key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clawdbot-db-'));
    try {
      const path = join(dir, 'x.db');
      const s = Store.open(path);
      await s.write(() => s.sessions.append('test:c1', [{ role: 'user', text: 'plain words', at: 1 }], 1, 60_000));
      assert.equal(s.info.keyId, undefined);
      s.close();
      const raw = openDb(path);
      assert.deepEqual(readKeyState(raw.db), { keyId: undefined, rotatingTo: undefined });
      assert.equal(raw.codec, undefined);
      assert.deepEqual(raw.db.prepare('SELECT text FROM messages').pluck().all(), ['plain words']);
      raw.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('inbox dedupes by platform + message id and lists unfinished turns', () => {
    const s = Store.open(':memory:');
    const first = s.inbox.record(msg('1'), 'test:c1', 1);
    assert.equal(first.duplicate, false);
    assert.deepEqual(s.inbox.record(msg('1'), 'test:c1', 2), { duplicate: true });
    assert.equal(s.inbox.record({ ...msg('1'), platform: 'other' }, 'other:c1', 3).duplicate, false);
    assert.deepEqual(s.inbox.pending().map((p) => p.message.platform), ['test', 'other']);
    s.close();
  });

  it('prune forgets finished turns older than the cut, and keeps unfinished, recently finished and recent ones', () => {
    const s = Store.open(':memory:');
    const at = (id: string, received: number) => {
      const r = s.inbox.record(msg(id), 'test:c1', received);
      assert.equal(r.duplicate, false);
      return r.duplicate ? -1 : r.inboxId;
    };
    const finish = (inboxId: number, when: number) => s.completeTurnWithoutReply(inboxId, when);
    finish(at('old-done', 100), 110);
    at('old-pending', 120); // never finished: redone at the next start, never pruned
    finish(at('old-but-finished-late', 130), 5000); // finished after the cut: kept for now
    finish(at('old-done-2', 140), 150);
    finish(at('recent', 2000), 2010);
    finish(at('clock-went-back', 50), 60); // received after 'recent' but stamped earlier: waits for a later prune
    assert.equal(s.inbox.prune(1000, 0), 2);
    const left = () => ['old-done', 'old-pending', 'old-but-finished-late', 'old-done-2', 'recent', 'clock-went-back']
      .filter((id) => s.inbox.record(msg(id), 'test:c1', 9999).duplicate);
    assert.deepEqual(left(), ['old-pending', 'old-but-finished-late', 'recent', 'clock-went-back']);
    assert.equal(s.inbox.prune(Number.MAX_SAFE_INTEGER, 0), 3, 'every finished turn (the ones just re-recorded are pending)');
    s.close();
  });

  it("prune keeps a finished turn whose reply still waits for its recipient, and forgets sent messages that answered no turn", () => {
    const opened = openDb(':memory:');
    const s = new Store(opened);
    const r = s.inbox.record(msg('waiting'), 'test:c1', 100);
    if (r.duplicate) throw new Error('dup');
    const reply = s.completeTurn({ inboxId: r.inboxId, conversation: 'test:c1', reply: { platform: 'test', chatId: 'c1', inReplyTo: 'waiting', text: 'for later' }, remember: [], sessionTtlMs: 1 }, 110);
    assert.equal(s.inbox.prune(1000, 0), 0, 'its recipient is offline: the reply waits, and so does its turn');
    assert.equal(s.outbox.pendingFor('test', 'c1').length, 1);
    // A reply that answered a turn is never Outbox.prune's to delete: it goes with its turn.
    s.outbox.markSent(reply, { platformMessageIds: ['p1'], sentAt: 5000 });
    assert.equal(s.outbox.prune(1000, 0), 0);
    assert.equal(s.inbox.prune(1000, 0), 1, 'sent: the turn and its reply go');
    assert.equal(opened.db.prepare('SELECT count(*) FROM outbox').pluck().get(), 0);
    // A reply that waited too long (a client that never comes back) goes with its turn too.
    const r2 = s.inbox.record(msg('never'), 'test:c1', 120);
    if (r2.duplicate) throw new Error('dup');
    s.completeTurn({ inboxId: r2.inboxId, conversation: 'test:c1', reply: { platform: 'test', chatId: 'c1', inReplyTo: 'never', text: 'lost' }, remember: [], sessionTtlMs: 1 }, 130);
    assert.equal(s.inbox.prune(1000, 100), 0, 'queued at 130, after the give-up cut: still waited for');
    assert.equal(s.inbox.prune(1000, 500), 1, 'queued before the give-up cut');
    assert.equal(s.outbox.pendingFor('test', 'c1').length, 0);

    const notice = (text: string, at: number) => s.queueMessage({ platform: 'test', chatId: 'c1', text }, at);
    const sentOld = notice('old report', 200);
    s.outbox.markSent(sentOld, { platformMessageIds: ['p2'], sentAt: 210 });
    notice('old, never delivered', 300);
    const deadOld = notice('old, given up', 400);
    s.outbox.markDead(deadOld, 'refused');
    notice('recent', 2000);
    assert.equal(s.outbox.prune(1000, 0), 2, 'the old sent and the old given-up ones');
    assert.deepEqual(s.outbox.pendingFor('test', 'c1').map((m) => m.text), ['old, never delivered', 'recent']);
    s.close();
  });

  it('prune gives up a message that answered no turn once it has waited for its recipient past the give-up cut, like a reply', () => {
    const opened = openDb(':memory:');
    const s = new Store(opened);
    // A scheduled report for a WebSocket chat whose client never came back: without a give-up it would
    // be retried every 10 minutes and kept forever.
    s.queueMessage({ platform: 'test', chatId: 'c1', text: 'report for an absent client' }, 300);
    s.queueMessage({ platform: 'test', chatId: 'c1', text: 'recent report' }, 2000);
    assert.equal(s.outbox.prune(1000, 100), 0, 'queued at 300, after the give-up cut: still waited for');
    assert.equal(s.outbox.prune(1000, 500), 1, 'queued before the give-up cut');
    assert.deepEqual(s.outbox.pendingFor('test', 'c1').map((m) => m.text), ['recent report']);
    assert.equal(s.outbox.prune(Number.MAX_SAFE_INTEGER, 1000), 0, 'a message queued after the give-up cut is kept');
    s.close();
  });

  it('completing a turn queues the reply, marks the turn done and remembers it, atomically', () => {
    const s = Store.open(':memory:');
    const r = s.inbox.record(msg('1', 'question'), 'test:c1', 1);
    assert.equal(r.duplicate, false);
    if (r.duplicate) return;
    const reply = { platform: 'test', chatId: 'c1', inReplyTo: '1', text: 'answer' };
    const id = s.completeTurn({ inboxId: r.inboxId, conversation: 'test:c1', reply, remember: [{ role: 'user', text: 'question', at: 1000 }, { role: 'assistant', text: 'answer', at: 1001 }], sessionTtlMs: 60_000 }, 1001);
    assert.equal(s.inbox.pending().length, 0);
    assert.deepEqual(s.outbox.due(2000).map((o) => o.text), ['answer']);
    assert.deepEqual(s.sessions.history('test:c1', 2000, 60_000, 10).map((h) => h.text), ['question', 'answer']);
    // A second completion of the same turn is refused (one reply per turn), and nothing changes.
    assert.throws(() => s.completeTurn({ inboxId: r.inboxId, conversation: 'test:c1', reply, remember: [{ role: 'user', text: 'dup', at: 1 }], sessionTtlMs: 60_000 }, 1002));
    assert.equal(s.sessions.history('test:c1', 2000, 60_000, 10).length, 2);
    s.outbox.markSent(id, { platformMessageIds: ['p1'], sentAt: 2000 });
    assert.equal(s.outbox.due(3000).length, 0);
    s.close();
  });

  it('group commit: writes of one tick commit together, a failing one alone is undone; settled() waits for them', async () => {
    const s = Store.open(':memory:');
    const reply = { platform: 'test', chatId: 'c1', inReplyTo: '1', text: 'x' };
    const ok = s.writeOne(() => s.inbox.record(msg('1'), 'test:c1', 1));
    // One statement that fails (no such turn: foreign key) and a multi-statement write that throws halfway.
    const orphan = s.writeOne(() => s.completeTurn({ inboxId: 999, conversation: 'test:c1', reply, remember: [], sessionTtlMs: 1 }, 2));
    const halfway = s.write(() => {
      s.inbox.record(msg('2'), 'test:c1', 3);
      throw new Error('halfway');
    });
    const after = s.writeOne(() => s.inbox.record(msg('3'), 'test:c1', 4));
    let settled = false;
    const done = s.settled().then(() => { settled = true; });
    assert.equal(s.inbox.pending().length, 0, 'nothing is written before the batch runs');
    await done;
    assert.equal(settled, true);
    assert.equal((await ok).duplicate, false);
    await assert.rejects(orphan, /FOREIGN KEY/);
    await assert.rejects(halfway, /halfway/);
    assert.equal((await after).duplicate, false);
    assert.deepEqual(s.inbox.pending().map((p) => p.message.id), ['1', '3'], "the throwing write's first statement was undone with it");
    assert.equal(s.outbox.due(10).length, 0);
    await s.settled(); // nothing queued: at once
    s.close();
  });

  it('group commit: an error that rolls the whole transaction back (a full disk) fails the whole batch, and nothing of it commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clawdbot-full-'));
    const opened = openDb(join(dir, 'x.db'));
    const s = new Store(opened);
    const other = openDb(join(dir, 'x.db'));
    try {
      opened.db.pragma(`max_page_count = ${Number(opened.db.pragma('page_count', { simple: true })) + 4}`);
      const before = s.writeOne(() => s.inbox.record(msg('1'), 'test:c1', 1));
      const big = s.writeOne(() => s.queueMessage({ platform: 'test', chatId: 'c9', text: 'x'.repeat(200_000) }, 2));
      const after = s.writeOne(() => s.inbox.record(msg('2'), 'test:c1', 3));
      await assert.rejects(big, /full/);
      await assert.rejects(before, /full/);
      await assert.rejects(after, /full/);
      assert.equal(other.db.prepare('SELECT count(*) FROM inbox').pluck().get(), 0, 'the writes after the failed one did not commit on their own');
    } finally {
      other.close();
      s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('outbox retry time and dead letters', () => {
    const s = Store.open(':memory:');
    const r = s.inbox.record(msg('1'), 'test:c1', 1);
    if (r.duplicate) throw new Error('dup');
    const id = s.completeTurn({ inboxId: r.inboxId, conversation: 'test:c1', reply: { platform: 'test', chatId: 'c1', inReplyTo: '1', text: 'x' }, remember: [], sessionTtlMs: 1 }, 100);
    s.outbox.retryAt(id, 5000, 'busy');
    assert.equal(s.outbox.due(4999).length, 0);
    assert.equal(s.outbox.due(5000)[0]?.attempts, 1);
    assert.equal(s.outbox.pendingFor('test', 'c1').length, 1);
    s.outbox.markDead(id, 'gone');
    assert.equal(s.outbox.pendingFor('test', 'c1').length, 0);
    s.close();
  });

  it('a session idle beyond its TTL starts afresh; history is capped', () => {
    const s = Store.open(':memory:');
    const entries = (n: number, at: number) => Array.from({ length: n }, (_, i) => ({ role: 'user' as const, text: `m${at}-${i}`, at }));
    s.sessions.append('k', entries(5, 1000), 1000, 10_000);
    assert.equal(s.sessions.history('k', 5000, 10_000, 3).length, 3);
    assert.deepEqual(s.sessions.history('k', 5000, 10_000, 3).map((h) => h.text), ['m1000-2', 'm1000-3', 'm1000-4']);
    s.sessions.append('k', entries(1, 8000), 8000, 10_000);
    assert.deepEqual(s.sessions.history('k', 9000, 10_000, 10).map((h) => h.text), ['m1000-0', 'm1000-1', 'm1000-2', 'm1000-3', 'm1000-4', 'm8000-0'], 'within the TTL the session goes on');
    assert.equal(s.sessions.history('k', 18_001, 10_000, 10).length, 0, 'expired');
    s.sessions.append('k', entries(1, 30_000), 30_000, 10_000);
    assert.deepEqual(s.sessions.history('k', 30_001, 10_000, 10).map((h) => h.text), ['m30000-0'], 'old entries are not carried into the new session');
    s.close();
  });

  it('history follows its conversation through interleaved ones; /sessions counts the live session', () => {
    const s = Store.open(':memory:');
    const turn = (c: string, i: number, at: number) =>
      s.sessions.append(c, [{ role: 'user', text: `${c}-q${i}`, at }, { role: 'assistant', text: `${c}-a${i}`, at }], at, 60_000);
    for (let i = 0; i < 6; i++) {
      turn('a', i, 1000 + i);
      turn('b', i, 1000 + i);
    }
    assert.deepEqual(s.sessions.history('a', 2000, 60_000, 4).map((h) => h.text), ['a-q4', 'a-a4', 'a-q5', 'a-a5']);
    assert.deepEqual(s.sessions.history('b', 2000, 60_000, 3).map((h) => `${h.role}:${h.text}`), ['assistant:b-a4', 'user:b-q5', 'assistant:b-a5']);
    assert.deepEqual(s.sessions.recent(5).map((r) => [r.conversation, r.messages]).sort(), [['a', 12], ['b', 12]]);
    turn('a', 6, 100_000); // after the TTL: a new session
    assert.deepEqual(s.sessions.history('a', 100_001, 60_000, 10).map((h) => h.text), ['a-q6', 'a-a6']);
    assert.deepEqual(s.sessions.recent(1).map((r) => [r.conversation, r.messages]), [['a', 2]]);
    s.close();
  });

  it('prune forgets expired sessions and the history no live session reads; live sessions keep theirs whole', () => {
    const s = Store.open(':memory:');
    const turn = (c: string, i: number, at: number) =>
      s.sessions.append(c, [{ role: 'user', text: `${c}-q${i}`, at }, { role: 'assistant', text: `${c}-a${i}`, at }], at, 1e9);
    turn('old', 0, 1000);
    turn('live', 0, 1500);
    turn('old', 1, 2000);
    turn('live', 1, 50_000);
    turn('fresh', 0, 60_000);
    // 'old' has been idle since 2000: expired at the cut. Its first turn goes; its second is kept, since
    // it comes after the first live entry of 'live' (the deletion is a rowid prefix).
    assert.equal(s.sessions.prune(10_000, 0), 2);
    assert.deepEqual(s.sessions.recent(5).map((r) => r.conversation).sort(), ['fresh', 'live']);
    assert.deepEqual(s.sessions.history('live', 60_001, 1e9, 10).map((h) => h.text), ['live-q0', 'live-a0', 'live-q1', 'live-a1']);
    assert.deepEqual(s.sessions.history('fresh', 60_001, 1e9, 10).map((h) => h.text), ['fresh-q0', 'fresh-a0']);
    assert.equal(s.sessions.prune(100_000, 0), 8, 'everything, once every session is idle since the cut');
    assert.deepEqual(s.sessions.recent(5), []);
    turn('old', 2, 200_000);
    assert.deepEqual(s.sessions.history('old', 200_001, 1e9, 10).map((h) => h.text), ['old-q2', 'old-a2'], 'a conversation that comes back starts afresh');
    // A session that never pauses pins nothing older than `oldest`: it keeps its recent entries.
    for (let i = 3; i < 8; i++) turn('old', i, 200_000 + i * 100_000);
    assert.equal(s.sessions.prune(900_000, 550_000), 4, 'its entries before 550,000 (two turns), though its session is live');
    assert.deepEqual(s.sessions.history('old', 900_001, 1e9, 10).map((h) => h.text), ['old-q4', 'old-a4', 'old-q5', 'old-a5', 'old-q6', 'old-a6', 'old-q7', 'old-a7']);
    s.close();
  });

  it('history never follows a pointer into another conversation (a rowid reused after a deletion elsewhere)', () => {
    const opened = openDb(':memory:');
    const s = new Store(opened);
    const turn = (c: string, at: number) => s.sessions.append(c, [{ role: 'user', text: `${c}-q`, at }, { role: 'assistant', text: `${c}-a`, at }], at, 60_000);
    turn('g', 1000);
    // Another process deletes g's last entry (the table's last row); before any relink, a turn of another
    // conversation takes its rowid.
    opened.db.prepare("DELETE FROM messages WHERE conversation = 'g' AND role = 'assistant'").run();
    turn('d', 1001);
    const seen = s.sessions.history('g', 1002, 60_000, 10).map((h) => h.text);
    assert.deepEqual(seen.filter((t) => t.startsWith('d-')), [], "d's entries are not g's history");
    turn('g', 1003); // g goes on: its new entries point back at the reused rowid
    assert.deepEqual(s.sessions.history('g', 1004, 60_000, 10).map((h) => h.text), ['g-q', 'g-a'], "g's own entries only");
    s.close();
  });

  it('forget that empties the live session: the next turn starts a new one (history and count), not the expired one', () => {
    const s = Store.open(':memory:');
    const conversation = 'telegram:-7';
    const say = groupTurns(s, '-7', 10_000);
    say('1', 'bob', 'bob old', 1000); // a session that expires
    say('2', 'ann', 'ann live', 50_000); // the live session holds only ann's turn
    assert.equal(s.memory.forget({ user: 'ann', platform: 'telegram' }).messages, 2);
    assert.deepEqual(s.sessions.history(conversation, 50_001, 10_000, 10), []);
    assert.equal(s.sessions.recent(1)[0]!.messages, 0, "the expired session's entries are not counted");
    say('3', 'bob', 'bob new', 50_002);
    assert.deepEqual(s.sessions.history(conversation, 50_003, 10_000, 10).map((h) => h.text), ['bob new', 're: bob new']);
    assert.equal(s.sessions.recent(1)[0]!.messages, 2);
    s.close();
  });

  it("memory forget in a group chat deletes the person's entries and the replies to them; the others' history stays whole", () => {
    const s = Store.open(':memory:');
    const conversation = 'telegram:-100';
    const say = groupTurns(s, '-100', 60_000);
    say('1', 'ann', 'ann one', 1000);
    say('2', 'bob', 'bob one', 1001);
    say('3', 'ann', 'ann two', 1002);
    say('4', 'bob', 'bob two', 1003);
    say('5', 'ann', 'ann three', 1004);
    assert.equal(s.memory.forget({ user: 'ann', platform: 'telegram' }).messages, 6);
    const history = () => s.sessions.history(conversation, 2000, 60_000, 10).map((h) => h.text);
    assert.deepEqual(history(), ['bob one', 're: bob one', 'bob two', 're: bob two']);
    assert.equal(s.sessions.recent(1)[0]!.messages, 4);
    say('6', 'bob', 'bob three', 1005);
    assert.deepEqual(history(), ['bob one', 're: bob one', 'bob two', 're: bob two', 'bob three', 're: bob three']);
    assert.equal(s.sessions.recent(1)[0]!.messages, 6);
    s.close();
  });
});
