// Reading the audit trail: `clawdbot audit tail | search | verify` (runAudit, on a real config file and
// database) and GET /v1/audit on the real HTTP gateway (Auditor and Admin keys read it; any other role
// gets 403 and leaves a policy_denial record).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { runAudit, type AuditOptions, type AuditSubcommand } from '../src/cli/audit.ts';
import { loginName } from '../src/cli/context.ts';
import { AuditFile, parseLine } from '../src/core/audit-file.ts';
import { AUDIT_DEFAULTS } from '../src/core/config/audit.ts';
import { UsageError } from '../src/core/errors.ts';
import { ApiKeyAuth } from '../src/core/http/auth.ts';
import { registerAuditRoute } from '../src/core/http/audit-route.ts';
import { HttpGateway, type RequestContext } from '../src/core/http/server.ts';
import type { Role } from '../src/core/policy.ts';
import { patternRedactor } from '../src/core/redact.ts';
import { lineHash, type AuditEvent } from '../src/store/audit.ts';
import { BetterSqlite3, nativeParts } from '../src/store/native.ts';
import { Store } from '../src/store/store.ts';
import { runCli, scratch } from './helpers/cli.ts';
import { quietLog } from './helpers/pipeline.ts';

const HOUR = 3600_000;
const now = Date.now();

/** Six records: alice's commands two hours ago, bob's denial and model call ten minutes ago, one on Slack. */
const RECORDS: readonly [AuditEvent, number][] = [
  [{ eventType: 'command_execution', userId: 'alice', platform: 'chat', role: 'Admin', conversation: 'chat:c1', decision: 'allowed', input: 'disk_usage {"path":"/var"}', output: 'exit 0\n12G used', durationMs: 5, modelVersion: null }, now - 2 * HOUR],
  [{ eventType: 'command_execution', userId: 'alice', platform: 'chat', role: 'Admin', conversation: 'chat:c1', decision: 'allowed', input: 'uptime {}', output: 'exit 0\nup 3 days', durationMs: 3, modelVersion: null }, now - 2 * HOUR + 1000],
  [{ eventType: 'policy_denial', userId: 'bob', platform: 'chat', role: 'User', conversation: 'chat:c2', decision: 'denied', input: '/disk /var', output: 'disk_usage needs Operator; the sender is User', durationMs: null, modelVersion: null }, now - 10 * 60_000],
  [{ eventType: 'model_invocation', userId: 'bob', platform: 'chat', role: 'User', conversation: 'chat:c2', decision: 'allowed', input: 'what is "up"?\nsecond line', output: 'x'.repeat(200), durationMs: 125, modelVersion: 'llama3.2' }, now - 9 * 60_000],
  [{ eventType: 'model_invocation', userId: 'U42', platform: 'slack', role: 'User', conversation: 'slack:C1', decision: 'allowed', input: 'hi', output: 'hello', durationMs: 80, modelVersion: 'llama3.2' }, now - 8 * 60_000],
  [{ eventType: 'config_reload', userId: 'olga', platform: 'chat', role: 'Operator', conversation: 'chat:c3', decision: 'allowed', input: '/reload', output: 'reloaded', durationMs: null, modelVersion: null }, now - 60_000],
];

function capture(): { out: Writable; text: () => string; lines: () => string[] } {
  let text = '';
  const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  return { out, text: () => text, lines: () => text.split('\n').filter(Boolean) };
}

describe('clawdbot audit', () => {
  const s = scratch();
  const dataDir = join(s.dir, 'data');
  const dbPath = join(dataDir, 'clawdbot.db');
  const file = join(s.dir, 'audit.jsonl');
  let config: string;

  before(async () => {
    // The login running the test reads the log as an Auditor (tail and search take the role).
    config = s.write('clawdbot.yaml', `system:\n  data_dir: ${dataDir}\n  log_level: silent\nsecurity:\n  roles: { Auditor: ["cli:${loginName()}"] }\n`);
    const store = Store.open(dbPath);
    store.audit.attach({ redact: (t) => patternRedactor.redact(t), sink: new AuditFile({ file, maxSize: AUDIT_DEFAULTS.maxSize, keep: 5 }) });
    // Written the way writeAudit does: the record, then its copy to the file.
    for (const [e, at] of RECORDS) {
      const r = await store.write(() => store.audit.append(e, at));
      await store.write(() => store.audit.mirror(r.id));
    }
    store.close();
  });
  after(() => s.cleanup());

  const run = async (sub: AuditSubcommand, opts: Omit<AuditOptions, 'config'> = {}) => {
    const c = capture();
    const code = await runAudit(sub, { config, ...opts }, c.out);
    return { code, text: c.text(), lines: c.lines() };
  };

  test('tail prints the newest records oldest first, one line each; -n limits them', async () => {
    const all = await run('tail');
    assert.equal(all.code, 0);
    assert.equal(all.lines.length, 6);
    assert.match(all.lines[0]!, /^#1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z command_execution allowed chat:alice \(Admin\) 5ms "disk_usage \{\\"path\\":\\"\/var\\"\}" → "exit 0\\n12G used"$/);
    assert.match(all.lines[3]!, /^#4 .* model_invocation allowed chat:bob \(User\) 125ms model=llama3\.2 "what is \\"up\\"\?\\nsecond line" → "x{60}…"$/);
    assert.match(all.lines[2]!, / policy_denial denied chat:bob \(User\) - /);
    const two = await run('tail', { limit: '2' });
    assert.deepEqual(two.lines.map((l) => l.split(' ')[0]), ['#5', '#6']);
  });

  test('tail --json prints the audit file\'s lines', async () => {
    const r = await run('tail', { json: true, limit: '3' });
    assert.deepEqual(r.lines, readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-3));
    for (const line of r.lines) {
      const l = parseLine(line);
      assert.equal(lineHash(l), l.hash);
    }
  });

  test('search filters by user, platform, event and time', async () => {
    const ids = async (opts: Omit<AuditOptions, 'config'>) => (await run('search', { ...opts, json: true })).lines.map((l) => parseLine(l).id);
    assert.deepEqual(await ids({ user: 'bob' }), [3, 4]);
    assert.deepEqual(await ids({ platform: 'slack' }), [5]);
    assert.deepEqual(await ids({ event: 'model_invocation' }), [4, 5]);
    assert.deepEqual(await ids({ event: 'model_invocation', platform: 'chat' }), [4]);
    assert.deepEqual(await ids({ since: '1h' }), [3, 4, 5, 6]);
    assert.deepEqual(await ids({ since: '5m' }), [6]);
    assert.deepEqual(await ids({ since: new Date(now - 3 * HOUR).toISOString() }), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await ids({ since: '1h', limit: '1' }), [6]);
    assert.deepEqual(await ids({ user: 'nobody' }), []);
  });

  test('a bad --since or -n is a usage error that says what was expected', async () => {
    await assert.rejects(run('search', { since: 'yesterday' }), (e: unknown) => e instanceof UsageError && /--since: expected a duration back from now/.test(e.message));
    await assert.rejects(run('tail', { limit: '0' }), (e: unknown) => e instanceof UsageError && /-n: expected a whole number from 1 to 1000/.test(e.message));
  });

  test('a misspelt --event is a usage error (exit 2) naming the event types, not an empty answer', async () => {
    const r = await runCli(['audit', 'search', '--config', config, '--event', 'policy_denied'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--event: expected one of .*policy_denial.*media_processing, got "policy_denied"/);
    const ok = await runCli(['audit', 'search', '--config', config, '--event', 'policy_denial', '--json'], { env: s.env, cwd: s.dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.stdout.split('\n').filter(Boolean).map((l) => parseLine(l).id), [3]);
  });

  test('verify: an intact database and file copy exit 0 with a summary', async () => {
    const r = await run('verify', { file });
    assert.equal(r.code, 0, r.text);
    assert.deepEqual(r.lines, [
      `database ${dbPath}: 6 records (#1–#6), chain intact`,
      `file ${file}: 6 records (#1–#6), chain intact, matches the database`,
    ]);
    const dbOnly = await run('verify');
    assert.equal(dbOnly.code, 0);
    assert.equal(dbOnly.lines[1], 'file: none (set audit.file, or give --file F)');
  });

  test('verify --file: a copy with a line edited in the middle names that record and exits 1', async () => {
    const copy = join(s.dir, 'copy.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[3] = lines[3]!.replace('second line', 'something else');
    writeFileSync(copy, lines.join('\n'));
    const r = await run('verify', { file: copy });
    assert.equal(r.code, 1);
    assert.equal(r.lines[0], `database ${dbPath}: 6 records (#1–#6), chain intact`);
    assert.equal(r.lines[1], `file ${copy} line 4: BROKEN at record 4: its content does not match its hash (the 3 records before it hold: #1–#3)`);
    await assert.rejects(run('verify', { file: join(s.dir, 'nope.jsonl') }), UsageError);
  });

  test('verify: a database row edited in the middle names that record and exits 1', async () => {
    const native = nativeParts();
    const raw = native.addon ? new BetterSqlite3(dbPath, { nativeBinding: native.addon }) : new BetterSqlite3(dbPath);
    const original = raw.prepare('SELECT output FROM audit WHERE id = 2').pluck().get() as string;
    raw.prepare("UPDATE audit SET output = 'exit 0\nup 300 days' WHERE id = 2").run();
    try {
      const r = await run('verify', { file });
      assert.equal(r.code, 1);
      assert.equal(r.lines[0], `database ${dbPath}: BROKEN at record 2: its content does not match its hash (the record before it holds: #1)`);
      // The file's record 2 still carries the hash the database row was written with.
      assert.match(r.lines[1]!, /chain intact, matches the database$/);
    } finally {
      raw.prepare('UPDATE audit SET output = ? WHERE id = 2').run(original);
      raw.close();
    }
  });

  // Last: it adds a record, which the tests above count.
  test('reading records takes the Auditor role: a User login is refused (and audited); verify stays open', async () => {
    const plain = s.write('user.yaml', `system:\n  data_dir: ${dataDir}\n  log_level: silent\n`);
    const c = capture();
    assert.equal(await runAudit('tail', { config: plain }, c.out), 1);
    assert.equal(c.text(), '', 'nothing printed');
    assert.equal(await runAudit('verify', { config: plain, file }, capture().out), 0);
    const store = Store.open(dbPath);
    try {
      const last = store.audit.tail({ limit: 1 })[0]!;
      assert.deepEqual([last.eventType, last.platform, last.userId, last.decision, last.input], ['policy_denial', 'cli', loginName(), 'denied', 'audit tail']);
    } finally {
      store.close();
    }
  });
});

describe('GET /v1/audit', () => {
  const KEY = 'audit-route-test-key-0123456789';
  let store: Store;
  let http: HttpGateway;
  let url: string;
  let role: Role = 'Auditor';
  let principal = '';

  before(async () => {
    store = Store.open(':memory:');
    for (const [e, at] of RECORDS) await store.write(() => store.audit.append(e, at));
    const log = await quietLog();
    http = new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth: new ApiKeyAuth(KEY), limiter: undefined, log });
    registerAuditRoute(http, {
      store, log,
      roleOf: (ctx: RequestContext) => {
        principal = ctx.principal;
        return role;
      },
    });
    const addr = await http.listen();
    url = `http://127.0.0.1:${addr.port}/v1/audit`;
  });
  after(async () => {
    await http.close();
    store.close();
  });

  const get = (query = '', headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) => fetch(`${url}${query}`, { headers });

  test('an Auditor key reads JSON lines, oldest first, each verifiable on its own; the read is audited', async () => {
    role = 'Auditor';
    const res = await get('?user=bob');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/x-ndjson/);
    const lines = (await res.text()).split('\n').filter(Boolean).map(parseLine);
    assert.deepEqual(lines.map((l) => [l.id, l.user_id, l.event_type]), [[3, 'bob', 'policy_denial'], [4, 'bob', 'model_invocation']]);
    for (const l of lines) assert.equal(lineHash(l), l.hash);
    const read = store.audit.tail({ eventType: 'admin_action', limit: 1 })[0]!;
    assert.deepEqual([read.platform, read.userId, read.role, read.decision, read.input, read.output], ['api', principal, 'Auditor', 'allowed', 'GET /v1/audit?user=bob', '2 record(s)']);
  });

  test('filters: platform, event, since, limit', async () => {
    role = 'Admin';
    const ids = async (q: string) => (await (await get(q)).text()).split('\n').filter(Boolean).map((l) => parseLine(l).id);
    assert.deepEqual(await ids('?platform=slack'), [5]);
    assert.deepEqual(await ids('?event=command_execution'), [1, 2]);
    assert.deepEqual(await ids('?event=model_invocation&since=1h&limit=1'), [5]);
    assert.deepEqual(await ids(`?since=${encodeURIComponent(new Date(now - 3 * HOUR).toISOString())}&event=config_reload`), [6]);
  });

  for (const denied of ['User', 'Operator'] as const) {
    test(`a key with the ${denied} role gets 403 and leaves a policy_denial record`, async () => {
      role = denied;
      const before = store.audit.tail({ eventType: 'policy_denial', limit: 100 }).length;
      const res = await get('?event=policy_denial');
      assert.equal(res.status, 403);
      assert.deepEqual(await res.json(), { error: `reading the audit log needs Auditor; the sender is ${denied}` });
      const records = store.audit.tail({ eventType: 'policy_denial', limit: 100 });
      assert.equal(records.length, before + 1);
      const r = records.at(-1)!;
      assert.deepEqual([r.platform, r.userId, r.role, r.decision, r.input], ['api', principal, denied, 'denied', 'GET /v1/audit?event=policy_denial']);
    });
  }

  test('no key, a wrong key or a key in the URL: 401, nothing read', async () => {
    role = 'Auditor';
    assert.equal((await get('', {})).status, 401);
    assert.equal((await get('', { authorization: 'Bearer wrong-key-wrong-key' })).status, 401);
    assert.equal((await get(`?api_key=${KEY}`, {})).status, 401);
  });

  test('bad filters are 400 with what was expected', async () => {
    role = 'Auditor';
    const bad = async (q: string) => {
      const res = await get(q);
      assert.equal(res.status, 400);
      return ((await res.json()) as { error: string }).error;
    };
    assert.match(await bad('?since=last-week'), /^since: expected a duration back from now/);
    assert.match(await bad('?limit=5000'), /^limit: expected a whole number from 1 to 1000/);
    assert.match(await bad('?usr=bob'), /^unknown query parameter usr \(known: user, platform, event, since, limit\)/);
  });
});
