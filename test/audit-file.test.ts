// The audit trail as a JSON-lines file: one line per committed record in chain order, 0600, rotated by
// size with the chain continuing across the parts; `verifyFile` finds an edited line, a forged one, a
// deleted one, records deleted from the database; processes sharing the database share one file; a
// failed copy is logged and made good later. Real SQLite and real files in temp folders.
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { AuditFile, fileParts, parseLine, verifyFile } from '../src/core/audit-file.ts';
import { writeAudit } from '../src/core/audit.ts';
import { AUDIT_DEFAULTS, auditSection, compileAudit } from '../src/core/config/audit.ts';
import { createLogger, type Logger } from '../src/core/log.ts';
import { patternRedactor } from '../src/core/redact.ts';
import { formatLine, lineHash, toLine, type AuditEvent, type AuditLine } from '../src/store/audit.ts';
import { BetterSqlite3, nativeParts } from '../src/store/native.ts';
import { Store } from '../src/store/store.ts';

const event = (n: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  eventType: 'command_execution', userId: 'alice', platform: 'chat', role: 'Admin', conversation: 'chat:c1', decision: 'allowed',
  input: `disk_usage {"path":"/var/${n}"}`, output: `exit 0\n${n}G used`, durationMs: n, modelVersion: null, ...over,
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'clawdbot-auditfile-'));
}

async function capturingLog(): Promise<{ log: Logger; text: () => string }> {
  const chunks: string[] = [];
  const log = await createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }) });
  return { log, text: () => chunks.join('') };
}

/** A store on a database file whose audit log copies to `file`. */
function openWithFile(db: string, file: string, opts: { maxSize?: number; keep?: number } = {}): Store {
  const store = Store.open(db);
  store.audit.attach({ redact: (s) => patternRedactor.redact(s), sink: new AuditFile({ file, maxSize: opts.maxSize ?? AUDIT_DEFAULTS.maxSize, keep: opts.keep ?? AUDIT_DEFAULTS.keep }) });
  return store;
}

const readLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const writeLines = (path: string, lines: readonly string[]) => writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
/** A line as someone who knows the format would forge it: content changed and hash recomputed. */
const forge = (l: AuditLine, output: string, prevHash = l.prev_hash): AuditLine => {
  const changed = { ...l, output, prev_hash: prevHash };
  return { ...changed, hash: lineHash(changed) };
};

async function trail(n: number, opts: { maxSize?: number; keep?: number } = {}) {
  const dir = tempDir();
  const dbPath = join(dir, 'clawdbot.db');
  const file = join(dir, 'logs', 'audit.jsonl');
  const store = openWithFile(dbPath, file, opts);
  const { log, text } = await capturingLog();
  for (let i = 1; i <= n; i++) await writeAudit(store, log, event(i));
  return { dir, dbPath, file, store, log, logText: text };
}

describe('audit file', () => {
  test('every committed record is one line, in chain order, byte for byte the database record; the file is 0600', async () => {
    const t = await trail(5);
    const lines = readLines(t.file);
    assert.deepEqual(lines, t.store.audit.tail({ limit: 10 }).map((r) => formatLine(toLine(r))));
    assert.deepEqual(lines.map((l) => parseLine(l).id), [1, 2, 3, 4, 5]);
    assert.equal(statSync(t.file).mode & 0o777, 0o600);
    assert.deepEqual(verifyFile(t.file, t.store.audit), { parts: [t.file], records: 5, firstId: 1, lastId: 5, broken: null });
    assert.equal(t.logText(), '', 'nothing went wrong');
    t.store.close();
  });

  test('a line edited in the middle fails at exactly that record', async () => {
    const t = await trail(5);
    const lines = readLines(t.file);
    lines[2] = lines[2]!.replace('3G used', '0G used');
    writeLines(t.file, lines);
    assert.deepEqual(verifyFile(t.file, t.store.audit).broken, { file: t.file, line: 3, id: 3, reason: 'its content does not match its hash' });
    t.store.close();
  });

  test('a forged line (hash recomputed, and every later link too) still differs from the database at that record', async () => {
    const t = await trail(5);
    const lines = readLines(t.file).map(parseLine);
    const forged: AuditLine[] = [...lines.slice(0, 2)];
    for (const l of lines.slice(2)) forged.push(forge(l, l.id === 3 ? 'exit 0\nnothing to see' : l.output!, forged.at(-1)!.hash));
    writeLines(t.file, forged.map(formatLine));
    assert.deepEqual(verifyFile(t.file, t.store.audit).broken, { file: t.file, line: 3, id: 3, reason: 'differs from record 3 in the database' });
    t.store.close();
  });

  test('a deleted line is found', async () => {
    const t = await trail(5);
    const lines = readLines(t.file);
    lines.splice(2, 1);
    writeLines(t.file, lines);
    const r = verifyFile(t.file, t.store.audit);
    assert.deepEqual(r.broken, { file: t.file, line: 3, id: 3, reason: 'missing: record 2 is followed by record 4' });
    assert.equal(r.records, 2, 'the records before it hold');
    t.store.close();
  });

  test('records deleted from the end of the database are found through the file', async () => {
    const t = await trail(5);
    t.store.close();
    const native = nativeParts();
    const raw = native.addon ? new BetterSqlite3(t.dbPath, { nativeBinding: native.addon }) : new BetterSqlite3(t.dbPath);
    raw.prepare('DELETE FROM audit WHERE id > 3').run();
    raw.close();
    const store = Store.open(t.dbPath);
    assert.equal(store.audit.verifyChain(), null, 'a chain cut at its end still holds on its own');
    assert.deepEqual(verifyFile(t.file, store.audit).broken, {
      file: t.file, line: 4, id: 4, reason: 'not in the database, which ends at record 3 (records deleted from the database, or the file of another one)',
    });
    store.close();
  });

  test('rotation: file → file.1 → … → file.keep, each part under max_size, the chain verifiable across the parts', async () => {
    const t = await trail(40, { maxSize: 2000, keep: 3 });
    const parts = fileParts(t.file);
    assert.deepEqual(parts, [`${t.file}.3`, `${t.file}.2`, `${t.file}.1`, t.file]);
    assert.equal(existsSync(`${t.file}.4`), false, 'older parts are dropped');
    for (const p of parts) assert.ok(statSync(p).size <= 2000, `${p} is ${statSync(p).size} bytes`);
    const r = verifyFile(t.file, t.store.audit);
    assert.equal(r.broken, null);
    assert.equal(r.lastId, 40);
    assert.ok(r.firstId! > 1, 'the oldest records were rotated away; the rest still verify');
    assert.equal(r.records, 40 - r.firstId! + 1);
    // The link across a rotation: the current file's first record points at file.1's last.
    assert.equal(parseLine(readLines(t.file)[0]!).prev_hash, parseLine(readLines(`${t.file}.1`).at(-1)!).hash);
    // A line deleted inside a rotated part is found there.
    const middle = readLines(`${t.file}.2`);
    const gone = parseLine(middle[1]!).id;
    middle.splice(1, 1);
    writeLines(`${t.file}.2`, middle);
    assert.deepEqual(verifyFile(t.file, t.store.audit).broken, { file: `${t.file}.2`, line: 2, id: gone, reason: `missing: record ${gone - 1} is followed by record ${gone + 1}` });
    t.store.close();
  });

  test('a rotated part deleted from the middle (file.1 gone, file.2 kept) is found, not skipped', async () => {
    const t = await trail(40, { maxSize: 2000, keep: 3 });
    assert.deepEqual(fileParts(t.file), [`${t.file}.3`, `${t.file}.2`, `${t.file}.1`, t.file]);
    const lastOf2 = parseLine(readLines(`${t.file}.2`).at(-1)!).id;
    const firstOfFile = parseLine(readLines(t.file)[0]!).id;
    unlinkSync(`${t.file}.1`);
    const r = verifyFile(t.file, t.store.audit);
    assert.deepEqual(r.broken, { file: t.file, line: 1, id: lastOf2 + 1, reason: `missing: record ${lastOf2} is followed by record ${firstOfFile}` });
    t.store.close();
  });

  test("erase (memory forget): one person's text goes from every part, in the database's transaction; the chain still verifies", async () => {
    const t = await trail(0, { maxSize: 2000, keep: 3 });
    for (let i = 1; i <= 30; i++) await writeAudit(t.store, t.log, event(i, i % 3 === 0 ? { userId: 'bob' } : {}));
    assert.equal(fileParts(t.file).length, 4);
    const all = () => fileParts(t.file).flatMap((p) => readLines(p).map(parseLine));
    const before = all();
    const sink = new AuditFile({ file: t.file, maxSize: 2000, keep: 3 });
    const { erased, unreadable } = await t.store.write(() => (t.store.audit.erase({ userId: 'bob' }), sink.erase({ userId: 'bob' })));
    const after = all();
    assert.equal(erased, before.filter((l) => l.user_id === 'bob').length);
    assert.ok(erased > 0);
    assert.equal(unreadable, 0);
    after.forEach((l, i) => {
      const was = before[i]!;
      if (l.user_id === 'bob') assert.ok(/^\[erased sha256:/.test(l.input!) && /^\[erased sha256:/.test(l.output!), `record ${l.id}`);
      else assert.deepEqual(l, was, `record ${l.id} of another person is as it was`);
      assert.equal(l.hash, was.hash);
    });
    assert.equal(verifyFile(t.file, t.store.audit).broken, null, 'file and database agree, the chain verifies');
    assert.deepEqual(sink.erase({ userId: 'bob' }), { erased: 0, unreadable: 0 }, 'a second time erases nothing');
    // The next record still continues the file.
    await writeAudit(t.store, t.log, event(31));
    assert.equal(parseLine(readLines(t.file).at(-1)!).id, 31);
    assert.equal(verifyFile(t.file, t.store.audit).broken, null);
    t.store.close();
  });

  test('erase keeps the mode and owner of each part, and a torn or foreign line byte for byte (counted)', async () => {
    const t = await trail(4);
    chmodSync(t.file, 0o640);
    const root = process.getuid?.() === 0;
    if (root) chownSync(t.file, 65534, 65534);
    const junk = `not a record ${'x'.repeat(2_500_000)}`; // longer than a read: crosses chunks
    appendFileSync(t.file, `${junk}\n{"id":5,"timest`);
    const sink = new AuditFile({ file: t.file, maxSize: AUDIT_DEFAULTS.maxSize, keep: 1 });
    assert.deepEqual(await t.store.write(() => sink.erase({ userId: 'alice' })), { erased: 4, unreadable: 2 });
    const st = statSync(t.file);
    assert.equal(st.mode & 0o777, 0o640);
    if (root) assert.deepEqual([st.uid, st.gid], [65534, 65534]);
    const text = readFileSync(t.file, 'utf8');
    assert.ok(text.endsWith(`\n${junk}\n{"id":5,"timest`), 'the foreign line and the torn end are as they were');
    assert.equal(text.includes('disk_usage'), false);
    t.store.close();
  });

  test('erase changes no part when one of them cannot be rewritten', async () => {
    const t = await trail(30, { maxSize: 2000, keep: 3 });
    const parts = fileParts(t.file);
    const before = parts.map((p) => readFileSync(p, 'utf8'));
    mkdirSync(`${parts[2]}.erase-${process.pid}`); // the third part's temporary file cannot be made
    const sink = new AuditFile({ file: t.file, maxSize: 2000, keep: 3 });
    await assert.rejects(t.store.write(() => sink.erase({ userId: 'alice' })), /EEXIST/);
    assert.deepEqual(parts.map((p) => readFileSync(p, 'utf8')), before);
    assert.deepEqual(readdirSync(dirname(t.file)).filter((f) => f.includes('.erase-')), [`${basename(parts[2]!)}.erase-${process.pid}`], 'no temporary file is left');
    t.store.close();
  });

  test('keep: 0 drops the full file instead of keeping parts', async () => {
    const t = await trail(20, { maxSize: 2000, keep: 0 });
    assert.deepEqual(fileParts(t.file), [t.file]);
    const r = verifyFile(t.file, t.store.audit);
    assert.equal(r.broken, null);
    assert.equal(r.lastId, 20);
    t.store.close();
  });

  test('two processes on one database append one chain to one file', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'clawdbot.db');
    const file = join(dir, 'audit.jsonl');
    const a = openWithFile(dbPath, file, { maxSize: 4000, keep: 10 });
    const b = openWithFile(dbPath, file, { maxSize: 4000, keep: 10 });
    const { log, text } = await capturingLog();
    await Promise.all(Array.from({ length: 30 }, (_, i) => writeAudit(i % 2 ? a : b, log, event(i + 1, { userId: i % 2 ? 'serve' : 'exec' }))));
    assert.equal(text(), '');
    const r = verifyFile(file, a.audit);
    assert.equal(r.broken, null);
    assert.equal(r.lastId, 30);
    assert.equal(r.records, 30 - r.firstId! + 1, 'no record twice, none missing');
    a.close();
    b.close();
  });

  test('records written where no file is attached are copied by the next write that has one', async () => {
    const t = await trail(1);
    t.store.audit.attach({ redact: (s) => s, sink: undefined });
    await writeAudit(t.store, t.log, event(2));
    await writeAudit(t.store, t.log, event(3));
    assert.equal(readLines(t.file).length, 1);
    t.store.audit.attach({ redact: (s) => s, sink: new AuditFile({ file: t.file, maxSize: AUDIT_DEFAULTS.maxSize, keep: 5 }) });
    await writeAudit(t.store, t.log, event(4));
    assert.deepEqual(readLines(t.file).map((l) => parseLine(l).id), [1, 2, 3, 4]);
    assert.equal(verifyFile(t.file, t.store.audit).broken, null);
    t.store.close();
  });

  test('a failed copy is logged and the turn goes on; the next record makes it good', async () => {
    const t = await trail(1);
    renameSync(t.file, `${t.file}.aside`);
    mkdirSync(t.file); // the path is now a folder: appending fails
    await writeAudit(t.store, t.log, event(2));
    assert.match(t.logText(), /could not copy audit records to the audit file/);
    assert.equal(t.store.audit.lastId(), 2, 'the record itself is in the database');
    rmdirSync(t.file);
    renameSync(`${t.file}.aside`, t.file);
    await writeAudit(t.store, t.log, event(3));
    assert.deepEqual(readLines(t.file).map((l) => parseLine(l).id), [1, 2, 3]);
    t.store.close();
  });

  test('a failed copy of the very first record (no file yet) is made good by the next one too', async () => {
    const dir = tempDir();
    const file = join(dir, 'audit.jsonl');
    const store = openWithFile(join(dir, 'clawdbot.db'), file);
    const { log, text } = await capturingLog();
    mkdirSync(file); // the path is a folder: the first append fails
    await writeAudit(store, log, event(1));
    assert.match(text(), /could not copy audit records to the audit file/);
    rmdirSync(file);
    await writeAudit(store, log, event(2));
    assert.deepEqual(readLines(file).map((l) => parseLine(l).id), [1, 2], 'record 1 is in the database and must reach the file');
    store.close();
  });

  test('a file of another database is not continued; the error says so', async () => {
    const other = await trail(3);
    other.store.close();
    const dir = tempDir();
    const store = openWithFile(join(dir, 'clawdbot.db'), other.file);
    const { log, text } = await capturingLog();
    for (let i = 1; i <= 4; i++) await writeAudit(store, log, event(i, { userId: 'someone-else' }));
    assert.match(text(), /does not continue this database's audit chain/);
    assert.deepEqual(readLines(other.file).map((l) => parseLine(l).user_id), ['alice', 'alice', 'alice']);
    store.close();
  });

  test('a torn last line (power lost mid-write) does not swallow the next record, and verify names it', async () => {
    const t = await trail(2);
    appendFileSync(t.file, '{"id":3,"timest');
    await writeAudit(t.store, t.log, event(3));
    const lines = readLines(t.file);
    assert.equal(lines.length, 4);
    assert.equal(parseLine(lines[3]!).id, 3, 'record 3 follows on its own line');
    assert.deepEqual(verifyFile(t.file, t.store.audit).broken, { file: t.file, line: 3, id: 3, reason: 'not an audit record (not JSON)' });
    t.store.close();
  });

  test('parseLine refuses lines that are not records', () => {
    const good = formatLine({ id: 1, timestamp: 1.5, event_type: 'x', user_id: null, platform: null, role: null, conversation: null, decision: null, input: null, output: null, duration_ms: null, model_version: null, prev_hash: '0'.repeat(64), hash: 'a'.repeat(64) });
    assert.equal(parseLine(good).id, 1);
    assert.throws(() => parseLine('[1]'), /not a JSON object/);
    assert.throws(() => parseLine(good.replace('"id":1', '"id":0')), /id is not a positive whole number/);
    assert.throws(() => parseLine(good.replace('}', ',"note":"x"}')), /unexpected member note/);
    assert.throws(() => parseLine(good.replace('"decision":null', '"decision":"maybe"')), /decision is not allowed, denied or null/);
    assert.throws(() => parseLine(good.replace(/,"hash":"a+"/, '')), /missing hash/);
  });
});

describe('audit: config section', () => {
  test('defaults: no file, 10MB, 5 parts; paths relative to the config file or ~', () => {
    assert.deepEqual(compileAudit(undefined, { dir: '/etc/clawdbot', home: '/home/u' }), { file: undefined, maxSize: 10 * 1024 * 1024, keep: 5 });
    const raw = auditSection.parse({ file: 'logs/audit.jsonl', max_size: '1MB', keep: 2 });
    assert.deepEqual(compileAudit(raw, { dir: '/etc/clawdbot', home: '/home/u' }), { file: '/etc/clawdbot/logs/audit.jsonl', maxSize: 1024 * 1024, keep: 2 });
    assert.equal(compileAudit(auditSection.parse({ file: '~/audit.jsonl' }), { dir: '/x', home: '/home/u' }).file, '/home/u/audit.jsonl');
  });

  test('unknown keys, a tiny max_size and a negative keep are refused with what was expected', () => {
    const problems = (v: unknown) => {
      const r = auditSection.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => i.message);
    };
    assert.match(problems({ file: 'a', rotate: true }).join(), /file, max_size, keep/);
    assert.match(problems({ max_size: '1KB' }).join(), /at least 64KB/);
    assert.match(problems({ keep: -1 }).join(), /whole number from 0 to 1000/);
  });
});
