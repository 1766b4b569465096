// Encryption at rest: the codec, the key settings, a message through the real pipeline into an encrypted
// database (the raw file and its WAL are searched for the text), the refusals at open, encrypting a
// database that was clear, and key rotation (also interrupted and rerun).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AdapterRegistry } from '../src/adapters/registry.ts';
import { compileEncryption, encryptionSettings, parseDataKey, readKeyFile } from '../src/core/config/encryption.ts';
import { obj } from '../src/core/config/kit.ts';
import { loadConfig } from '../src/core/config/load.ts';
import { ConfigError, UsageError } from '../src/core/errors.ts';
import { Executor } from '../src/core/executor.ts';
import { Gateway } from '../src/core/gateway.ts';
import type { InboundMessage } from '../src/core/types.ts';
import { newKey, progressBar, rotateData } from '../src/cli/rotate-data.ts';
import { dataCodec, EncryptionError, keyIdOf, type EncryptionErrorKind } from '../src/store/crypto.ts';
import { openDbUnchecked, readKeyState } from '../src/store/db.ts';
import type { ApprovalRequest } from '../src/store/approvals.ts';
import { Store } from '../src/store/store.ts';
import { ChatAdapter } from './helpers/chat.ts';
import { scratch } from './helpers/cli.ts';
import { echoModel, quietLog, until } from './helpers/pipeline.ts';

const newDataKey = () => randomBytes(32);

/** The database file and its WAL, as bytes on disk (read while the store is open: closing folds the WAL in). */
function onDisk(file: string): { db: Buffer; wal: Buffer } {
  return { db: readFileSync(file), wal: existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0) };
}

function assertNotOnDisk(file: string, needle: string, what: string): void {
  const { db, wal } = onDisk(file);
  assert.equal(db.includes(needle), false, `${what} found in the database file`);
  assert.equal(wal.includes(needle), false, `${what} found in the -wal file`);
}

const isEncryptionError = (kind: EncryptionErrorKind, message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof EncryptionError, `expected an EncryptionError, got ${String(err)}`);
  assert.equal(err.kind, kind);
  if (message) assert.match(err.message, message);
  return true;
};

describe('codec', () => {
  test('round trip, with a fresh nonce for every value', () => {
    const c = dataCodec(newDataKey());
    for (const text of ['', 'hello', '你好，世界 👩‍👩‍👧 — ünïcödé', 'x'.repeat(100_000)]) assert.equal(c.decrypt(c.encrypt(text)), text);
    const a = c.encrypt('same text');
    const b = c.encrypt('same text');
    assert.notEqual(a, b);
    const nonce = (v: string) => Buffer.from(v.slice(`enc1:${c.keyId}:`.length), 'base64').subarray(0, 12).toString('hex');
    assert.notEqual(nonce(a), nonce(b));
    assert.ok(a.startsWith(`enc1:${c.keyId}:`));
    assert.equal(a.includes('same text'), false);
    // Nonces come from a pool of 256: across refills every one is still new.
    const many = Array.from({ length: 1000 }, () => nonce(c.encrypt('x')));
    assert.equal(new Set(many).size, many.length);
  });

  test('a changed value is refused as tampered, not returned', () => {
    const c = dataCodec(newDataKey());
    const v = c.encrypt('transfer 10 EUR to alice');
    const head = `enc1:${c.keyId}:`;
    const raw = Buffer.from(v.slice(head.length), 'base64');
    for (const i of [0, 12, raw.length - 1]) { // the nonce, the ciphertext, the tag
      const bad = Buffer.from(raw);
      bad[i]! ^= 1;
      assert.throws(() => c.decrypt(head + bad.toString('base64')), isEncryptionError('tampered', /changed after it was written/));
    }
    assert.throws(() => c.decrypt(head + raw.subarray(0, 20).toString('base64')), isEncryptionError('tampered', /cut short/));
  });

  test('another key is recognised as such, by key id; a clear value is not taken as encrypted', () => {
    const key = newDataKey();
    const c = dataCodec(key);
    const other = dataCodec(newDataKey());
    assert.match(c.keyId, /^[0-9a-f]{8}$/);
    assert.equal(keyIdOf(Buffer.from(key)), c.keyId, 'the id depends on the key only');
    assert.notEqual(other.keyId, c.keyId);
    assert.throws(() => other.decrypt(c.encrypt('secret')), isEncryptionError('wrong_key', new RegExp(`key ${c.keyId}, not with the given key ${other.keyId}`)));
    assert.throws(() => c.decrypt('plain words'), isEncryptionError('not_encrypted'));
    assert.throws(() => dataCodec(randomBytes(16)), RangeError);
  });
});

describe('config: security.encryption_key / encryption_key_file', () => {
  const key = newDataKey();
  const secretText = 'not-a-key-but-a-secret-password';

  test('32 bytes as base64 (openssl rand -base64 32) or 64 hex digits', () => {
    assert.deepEqual(parseDataKey(key.toString('base64')), key);
    assert.deepEqual(parseDataKey(`  ${key.toString('base64').replace(/=$/, '')}\n`), key);
    assert.deepEqual(parseDataKey(key.toString('hex')), key);
    assert.deepEqual(parseDataKey(key.toString('hex').toUpperCase()), key);
  });

  test('anything else says how to make a key, and never shows the value', () => {
    for (const bad of [secretText, randomBytes(16).toString('base64'), randomBytes(33).toString('hex'), `${key.toString('base64')}!`]) {
      assert.throws(() => parseDataKey(bad), (err: Error) => {
        assert.match(err.message, /expected 32 random bytes as base64 or as 64 hex digits \(make one with `openssl rand -base64 32`\)/);
        assert.equal(err.message.includes(bad.trim()), false);
        return true;
      });
    }
    assert.throws(() => parseDataKey(''), /got an empty value \(is the environment variable set\?\)/);
    // The schema piece reports through the config's problem list: the value is described, not shown.
    const r = obj(encryptionSettings).safeParse({ encryption_key: secretText });
    assert.equal(r.success, false);
    const message = r.success ? '' : r.error.issues.map((i) => i.message).join('\n');
    assert.match(message, /openssl rand -base64 32/);
    assert.equal(message.includes(secretText), false);
    const ok = obj(encryptionSettings).safeParse({ encryption_key: key.toString('base64') });
    assert.ok(ok.success);
    assert.deepEqual(ok.data.encryption_key, key);
  });

  test('a key file is read relative to the config file (or ~); both settings at once is an error', () => {
    const s = scratch();
    try {
      s.write('data.key', `${key.toString('base64')}\n`);
      s.write('bad.key', secretText);
      assert.deepEqual(compileEncryption({ encryption_key_file: 'data.key' }, { dir: s.dir, home: '/nowhere' }), key);
      assert.deepEqual(compileEncryption({ encryption_key_file: '~/data.key' }, { dir: '/nowhere', home: s.dir }), key);
      assert.deepEqual(compileEncryption({ encryption_key: key }, { dir: s.dir, home: s.dir }), key);
      assert.equal(compileEncryption({}, { dir: s.dir, home: s.dir }), undefined);
      assert.throws(() => compileEncryption({ encryption_key: key, encryption_key_file: 'data.key' }, { dir: s.dir, home: s.dir }),
        (err: unknown) => err instanceof ConfigError && /either encryption_key or encryption_key_file, got both/.test(err.message));
      assert.throws(() => compileEncryption({ encryption_key_file: 'missing.key' }, { dir: s.dir, home: s.dir }),
        (err: unknown) => err instanceof ConfigError && /cannot read the key file .*missing\.key: ENOENT \(make one with `openssl rand -base64 32 > /.test(err.message));
      assert.throws(() => compileEncryption({ encryption_key_file: 'bad.key' }, { dir: s.dir, home: s.dir }),
        (err: unknown) => err instanceof ConfigError && /bad\.key: expected 32 random bytes/.test(err.message) && !err.message.includes(secretText));
      assert.deepEqual(readKeyFile(join(s.dir, 'data.key')), key);
    } finally {
      s.cleanup();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// The pipeline: a chat message answered by a `reply` action that repeats it, so the marker reaches the
// inbox, the history (both sides) and the outbox; "ask ..." goes to the model (which echoes), so it
// reaches the audit trail's input and output too.

const CONFIG = `
actions:
  repeat: { type: reply, text: "you said: {{input}}" }
  assistant: { type: llm }
routes:
  - { match: { content_prefix: "ask " }, action: assistant }
  - default: { action: repeat }
`;

let seq = 0;
const message = (text: string, chat = 'c1'): InboundMessage => ({
  platform: 'chat', id: `m${++seq}`, chat: { id: chat, type: 'dm' }, sender: { id: 'bob' }, text, sentAt: Date.now(), attachments: [],
});

const approval = (marker: string): ApprovalRequest => ({
  command: 'restart', args: { service: marker }, requester: { platform: 'chat', id: 'bob' }, platform: 'chat', chatId: 'c1', threadId: undefined, inReplyTo: undefined,
});

interface Chat {
  readonly store: Store;
  readonly chat: ChatAdapter;
  /** Sends `text` and waits until its reply was delivered and marked sent. */
  say(text: string, chat?: string): Promise<string>;
  close(): Promise<void>;
}

async function openChat(file: string, key: Buffer | undefined, dir: string): Promise<Chat> {
  writeFileSync(join(dir, 'clawdbot.yaml'), CONFIG);
  const config = loadConfig({ file: join(dir, 'clawdbot.yaml'), env: {}, home: dir, cwd: dir });
  const log = await quietLog();
  const store = Store.open(file, { key });
  const chat = new ChatAdapter();
  const adapters = new AdapterRegistry();
  adapters.add(chat);
  const gateway = new Gateway({ config, store, executor: new Executor({ config, store, log, model: echoModel }), adapters, log });
  return {
    store,
    chat,
    say: async (text, chatId = 'c1') => {
      const m = message(text, chatId);
      const o = await gateway.receive(m);
      assert.ok(!o.duplicate && o.result?.status === 'ok');
      await until('the reply is sent', () => chat.sent.some((r) => r.inReplyTo === m.id) && store.outbox.pendingFor('chat', chatId).length === 0);
      return chat.sent.find((r) => r.inReplyTo === m.id)!.text;
    },
    close: async () => {
      await gateway.close(1000);
      store.close();
    },
  };
}

describe('an encrypted database', () => {
  test('a message, its reply, the history, a queued message and an approval: readable through the store, not in the file nor its WAL', async () => {
    const s = scratch();
    const file = join(s.dir, 'data', 'clawdbot.db');
    const key = newDataKey();
    const marker = `MARKER-${randomUUID()}`;
    const c = await openChat(file, key, s.dir);
    try {
      assert.equal(await c.say(`please remember ${marker}`), `you said: please remember ${marker}`);
      const history = c.store.sessions.history('chat:c1', Date.now(), 60_000, 10);
      assert.deepEqual(history.map((h) => [h.role, h.text]), [['user', `please remember ${marker}`], ['assistant', `you said: please remember ${marker}`]]);
      // The model's turn is audited: input and output read back, and the chain (hashed over the clear text) holds.
      assert.equal(await c.say(`ask ${marker}`), `echo: ask ${marker}`);
      const [audited] = c.store.audit.tail({ eventType: 'model_invocation', limit: 1 });
      assert.deepEqual([audited?.input, audited?.output], [`ask ${marker}`, `echo: ask ${marker}`]);
      assert.equal(c.store.audit.verifyChain(), null);
      // A reply nobody has picked up yet, and an approval whose arguments hold user text.
      await c.store.write(() => c.store.queueMessage({ platform: 'chat', chatId: 'offline', text: `queued ${marker}` }, Date.now()));
      const a = await c.store.write(() => c.store.approvals.create(approval(marker), Date.now(), 60_000));
      assert.deepEqual(c.store.outbox.pendingFor('chat', 'offline').map((o) => o.text), [`queued ${marker}`]);
      assert.equal(c.store.approvals.get(a.id)?.args.service, marker);
      assert.equal(c.store.info.keyId, keyIdOf(key));

      const { db, wal } = onDisk(file);
      assert.ok(wal.length > 0, 'the writes are in the WAL (so searching it means something)');
      assert.ok(Buffer.concat([db, wal]).includes(`enc1:${keyIdOf(key)}:`), 'encrypted values are there');
      assertNotOnDisk(file, marker, 'the message text');
      assertNotOnDisk(file, marker.slice(7, 30), 'part of the message text');
    } finally {
      await c.close();
    }
    // Closed (the WAL folded into the file), the text is still not there; reopened with the key, all reads back.
    assertNotOnDisk(file, marker, 'the message text after close');
    const again = Store.open(file, { key });
    try {
      assert.equal(again.sessions.history('chat:c1', Date.now(), 60_000, 10).length, 4);
      assert.equal(again.audit.tail({ limit: 1 })[0]?.input, `ask ${marker}`);
      assert.equal(again.audit.verifyChain(), null);
      assert.equal(again.outbox.pendingFor('chat', 'offline')[0]?.text, `queued ${marker}`);
      const raw = openDbUnchecked(file);
      assert.deepEqual(readKeyState(raw.db), { keyId: keyIdOf(key), rotatingTo: undefined });
      raw.close();
    } finally {
      again.close();
      s.cleanup();
    }
  });

  test('control: without a key the same message is in the file (the search above would find it)', async () => {
    const s = scratch();
    const file = join(s.dir, 'clawdbot.db');
    const marker = `MARKER-${randomUUID()}`;
    const c = await openChat(file, undefined, s.dir);
    try {
      await c.say(marker);
      const { db, wal } = onDisk(file);
      assert.ok(Buffer.concat([db, wal]).includes(marker));
      assert.equal(c.store.info.keyId, undefined);
    } finally {
      await c.close();
      s.cleanup();
    }
  });

  test('reopened without the key, or with another key: refused, and nothing is written', async () => {
    const s = scratch();
    const file = join(s.dir, 'clawdbot.db');
    const key = newDataKey();
    const c = await openChat(file, key, s.dir);
    await c.say('hello');
    await c.close();
    try {
      const before = readFileSync(file);
      assert.throws(() => Store.open(file), isEncryptionError('no_key',
        new RegExp(`is encrypted \\(key ${keyIdOf(key)}\\) but no key is configured: set security\\.encryption_key .*refuses to start without it rather than write clear text next to encrypted data`)));
      const other = newDataKey();
      assert.throws(() => Store.open(file, { key: other }), isEncryptionError('wrong_key',
        new RegExp(`is encrypted with key ${keyIdOf(key)}, but the configured key is ${keyIdOf(other)}`)));
      assert.deepEqual(readFileSync(file), before);
      assert.equal(existsSync(`${file}-wal`) && readFileSync(`${file}-wal`).length > 0, false, 'no write reached the WAL');
    } finally {
      s.cleanup();
    }
  });

  test('a database written before the key was set is encrypted in place at the first open with it', async () => {
    const s = scratch();
    const file = join(s.dir, 'clawdbot.db');
    const marker = `MARKER-${randomUUID()}`;
    const clear = await openChat(file, undefined, s.dir);
    await clear.say(marker);
    await clear.store.write(() => clear.store.approvals.create(approval(marker), Date.now(), 60_000));
    await clear.store.write(() => clear.store.audit.append({
      eventType: 'model_invocation', userId: 'bob', platform: 'chat', role: 'User', conversation: 'chat:c1', decision: 'allowed',
      input: marker, output: `answer to ${marker}`, durationMs: 1, modelVersion: null,
    }, Date.now()));
    await clear.close();

    const key = newDataKey();
    const logged: unknown[] = [];
    const log = { info: (fields: object, msg: string) => void logged.push({ fields, msg }) };
    const store = Store.open(file, { key, log });
    try {
      // inbox payload, 2 history entries, the outbox reply, the approval's args, audit input and output
      assert.deepEqual(logged, [{ fields: { path: file, rows: 7, keyId: keyIdOf(key) }, msg: 'encrypted the text written before the data key was set' }]);
      assertNotOnDisk(file, marker, 'the text written before the key');
      assert.deepEqual(store.sessions.history('chat:c1', Date.now(), 60_000, 10).map((h) => h.text), [marker, `you said: ${marker}`]);
      assert.equal(store.approvals.pending(Date.now())[0]?.args.service, marker);
      const raw = openDbUnchecked(file);
      const audit = raw.db.prepare('SELECT input, output FROM audit').get() as { input: string; output: string };
      raw.close();
      assert.equal(dataCodec(key).decrypt(audit.input), marker);
      assert.equal(dataCodec(key).decrypt(audit.output), `answer to ${marker}`);
      assert.equal(store.audit.tail({ limit: 1 })[0]?.input, marker);
      assert.equal(store.audit.verifyChain(), null, 'the chain, hashed over the clear text, still holds');
    } finally {
      store.close();
    }
    // The second open finds the key recorded: nothing more to do, nothing logged.
    const again = Store.open(file, { key, log });
    again.close();
    assert.equal(logged.length, 1);
    assert.throws(() => Store.open(file), isEncryptionError('no_key'));
    s.cleanup();
  });
});

describe('keys rotate-data', () => {
  const rotator = {
    eventType: 'key_change', userId: 'alice', platform: 'cli', role: 'Admin', conversation: null, decision: 'allowed', output: null, durationMs: null, modelVersion: null,
  } as const;
  /** An encrypted database with `n` conversations of one exchange each; returns the markers. */
  async function seeded(file: string, key: Buffer, dir: string, n: number): Promise<string[]> {
    const c = await openChat(file, key, dir);
    const markers: string[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const marker = `MARKER-${i}-${randomUUID()}`;
        markers.push(marker);
        await c.say(marker);
      }
      await c.say(`ask ${markers[0]}`, 'c2');
      await c.store.write(() => c.store.approvals.create(approval(markers[0]!), Date.now(), 60_000));
    } finally {
      await c.close();
    }
    return markers;
  }

  const readsAll = (file: string, key: Buffer, markers: readonly string[]) => {
    const store = Store.open(file, { key });
    try {
      const texts = store.sessions.history('chat:c1', Date.now(), 60_000, 1000).map((h) => h.text);
      assert.deepEqual(texts, markers.flatMap((m) => [m, `you said: ${m}`]));
      assert.equal(store.approvals.pending(Date.now())[0]?.args.service, markers[0]);
      assert.equal(store.audit.tail({ eventType: 'model_invocation', limit: 1 })[0]?.output, `echo: ask ${markers[0]}`);
      assert.equal(store.audit.verifyChain(), null, 'rotation leaves the audit chain intact');
    } finally {
      store.close();
    }
  };

  test('moves every value to the new key: the old key is refused, the new one reads everything, no old ciphertext is left', async () => {
    const s = scratch();
    const file = join(s.dir, 'clawdbot.db');
    const oldKey = newDataKey();
    const newK = newDataKey();
    const markers = await seeded(file, oldKey, s.dir, 4);
    const progress: [number, number][] = [];
    const r = rotateData(file, { from: oldKey, to: newK, batchSize: 3, onProgress: (d, t) => progress.push([d, t]), audit: rotator });
    try {
      // 5 inbox payloads + 10 history entries + 5 replies + 1 approval + audit input and output
      assert.deepEqual(r, { from: keyIdOf(oldKey), to: keyIdOf(newK), changed: 23 });
      assert.ok(progress.length > 5, 'reported per batch');
      assert.deepEqual(progress.at(-1), [23, 23]);
      assert.ok(progress.every(([d], i) => i === 0 || d >= progress[i - 1]![0]), 'progress only grows');
      assert.throws(() => Store.open(file, { key: oldKey }), isEncryptionError('wrong_key', new RegExp(`encrypted with key ${keyIdOf(newK)}`)));
      readsAll(file, newK, markers);
      const store = Store.open(file, { key: newK });
      assert.deepEqual(store.audit.tail({ eventType: 'key_change', limit: 5 }).map((a) => [a.userId, a.input]), [['alice', `rotate-data from key ${keyIdOf(oldKey)} to key ${keyIdOf(newK)}`]]);
      store.close();
      const { db, wal } = onDisk(file);
      assert.equal(Buffer.concat([db, wal]).includes(`enc1:${keyIdOf(oldKey)}:`), false, 'values under the old key are scrubbed from the file');
      assert.deepEqual(rotateData(file, { from: newK, to: newK, batchSize: 3, onProgress: () => {}, audit: rotator }).changed, 0, 'a second run has nothing to do');
    } finally {
      s.cleanup();
    }
  });

  test('interrupted midway: the database refuses both keys until a rerun finishes the job', async () => {
    const s = scratch();
    const file = join(s.dir, 'clawdbot.db');
    const oldKey = newDataKey();
    const newK = newDataKey();
    const markers = await seeded(file, oldKey, s.dir, 3);
    let batches = 0;
    assert.throws(() => rotateData(file, { from: oldKey, to: newK, batchSize: 2, onProgress: () => { if (++batches === 2) throw new Error('killed'); }, audit: rotator }), /killed/);
    try {
      const unfinished = new RegExp(`rotation from key ${keyIdOf(oldKey)} to key ${keyIdOf(newK)} did not finish; run \`clawdbot keys rotate-data\` again`);
      assert.throws(() => Store.open(file, { key: oldKey }), isEncryptionError('rotation_unfinished', unfinished));
      assert.throws(() => Store.open(file, { key: newK }), isEncryptionError('rotation_unfinished', unfinished));
      assert.throws(() => Store.open(file), isEncryptionError('rotation_unfinished'));
      // Another new key cannot start over the unfinished rotation; the config already switched cannot continue it.
      assert.throws(() => rotateData(file, { from: oldKey, to: newDataKey(), batchSize: 2, onProgress: () => {}, audit: rotator }), isEncryptionError('rotation_unfinished'));
      assert.throws(() => rotateData(file, { from: newK, to: newK, batchSize: 2, onProgress: () => {}, audit: rotator }), isEncryptionError('wrong_key', /put the old key back in the config/));
      const r = rotateData(file, { from: oldKey, to: newK, batchSize: 2, onProgress: () => {}, audit: rotator });
      assert.equal(r.changed, 8 + 4 + 1 + 2, 'the rerun moves only what the first run left (it had done the 4 inbox rows, in two batches)');
      readsAll(file, newK, markers);
    } finally {
      s.cleanup();
    }
  });

  test('a database without a key is encrypted by it; without the old key an encrypted one is not touched', async () => {
    const s = scratch();
    const file = join(s.dir, 'clawdbot.db');
    const marker = `MARKER-${randomUUID()}`;
    const c = await openChat(file, undefined, s.dir);
    await c.say(marker);
    await c.close();
    const key = newDataKey();
    try {
      assert.deepEqual(rotateData(file, { from: undefined, to: key, batchSize: 100, onProgress: () => {}, audit: rotator }), { from: undefined, to: keyIdOf(key), changed: 4 });
      assertNotOnDisk(file, marker, 'the text');
      readsAllOne(file, key, marker);
      assert.throws(() => rotateData(file, { from: undefined, to: newDataKey(), batchSize: 100, onProgress: () => {}, audit: rotator }), isEncryptionError('no_key'));
      readsAllOne(file, key, marker);
    } finally {
      s.cleanup();
    }
  });

  const readsAllOne = (file: string, key: Buffer, marker: string) => {
    const store = Store.open(file, { key });
    assert.deepEqual(store.sessions.history('chat:c1', Date.now(), 60_000, 10).map((h) => h.text), [marker, `you said: ${marker}`]);
    store.close();
  };

  test('the new key comes from exactly one of --new-key-env and --new-key-file; errors never show it', () => {
    const key = newDataKey();
    assert.deepEqual(newKey({ newKeyEnv: 'NEW_KEY' }, { NEW_KEY: key.toString('base64') }), key);
    const usage = (re: RegExp) => (err: unknown) => err instanceof UsageError && re.test(err.message);
    assert.throws(() => newKey({}, {}), usage(/exactly one of --new-key-env VAR or --new-key-file FILE/));
    assert.throws(() => newKey({ newKeyEnv: 'A', newKeyFile: 'f' }, {}), usage(/exactly one of/));
    assert.throws(() => newKey({ newKeyEnv: 'NEW_KEY' }, {}), usage(/--new-key-env NEW_KEY: \$NEW_KEY is not set/));
    assert.throws(() => newKey({ newKeyEnv: 'NEW_KEY' }, { NEW_KEY: 'hunter2-hunter2' }), (err: unknown) => usage(/openssl rand -base64 32/)(err) && !(err as Error).message.includes('hunter2'));
    assert.throws(() => newKey({ newKeyFile: '/nonexistent/new.key' }), usage(/--new-key-file: cannot read the key file \/nonexistent\/new\.key: ENOENT/));
  });

  test('progress: a bar redrawn in place on a terminal, a line per 10% elsewhere', () => {
    const lines: string[] = [];
    const plain = progressBar({ write: (t) => lines.push(t) }, 're-encrypting');
    for (let d = 0; d <= 1000; d += 7) plain(d, 1000);
    plain(1000, 1000);
    assert.deepEqual(lines.map((l) => /^re-encrypting: (\d+)% \(\d+\/1000 rows\)\n$/.exec(l)?.[1]), ['0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
    assert.equal(lines[1], 're-encrypting: 10% (105/1000 rows)\n');
    const tty: string[] = [];
    const bar = progressBar({ write: (t) => tty.push(t), isTTY: true }, 're-encrypting');
    bar(0, 4);
    bar(1, 4);
    bar(1, 4);
    bar(4, 4);
    assert.deepEqual(tty, [
      '\rre-encrypting [..............................]   0% 0/4',
      '\rre-encrypting [########......................]  25% 1/4',
      '\rre-encrypting [##############################] 100% 4/4\n',
    ]);
  });
});
