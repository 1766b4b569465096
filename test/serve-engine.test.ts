// The execution engine inside `clawdbot serve` and from the terminal: a schedule posts its workflow's
// reply to a WebSocket chat (a message nobody asked for: `id` null), survives a restart without running
// a slot twice; `/reload` and SIGHUP pick up a changed file; `clawdbot workflow run` prints each step.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Store } from '../src/store/store.ts';
import { runCli, scratch, startServe, type Served } from './helpers/cli.ts';
import { TestClient } from './helpers/ws.ts';

const KEY = 'engine-test-key-123456';
const headers = { authorization: `Bearer ${KEY}` };

describe('execution engine in serve', () => {
  const s = scratch();
  let srv: Served | undefined;
  after(async () => {
    await srv?.stop();
    s.cleanup();
  });
  const config = (greeting: string) => [
    'system: { data_dir: ./data }',
    'security:',
    '  api_key: ${GATEWAY_KEY}',
    '  roles: { Operator: ["websocket:olga"] }',
    'adapters:',
    '  websocket: { listen: "127.0.0.1:0" }',
    'commands:',
    '  say: { runner: local, argv: ["echo", "{{word}}"], params: { word: { pattern: "^[a-z]+$" } }, role: Operator }',
    'workflows:',
    '  tick:',
    '    steps:',
    '      - { name: w, command: say, args: [tock] }',
    `      - { reply: "${greeting} {{steps.w.output}}" }`,
    'schedules:',
    '  - { name: every-second, cron: "* * * * * *", workflow: tick, role: Operator, deliver: { platform: websocket, chat: reports } }',
    'routes:',
    '  - default: { action: tick }',
    '',
  ].join('\n');
  const env = () => ({ ...s.env, GATEWAY_KEY: KEY });
  const cfg = s.write('clawdbot.yaml', config('tick'));

  it('a schedule delivers its workflow reply to a chat, each slot once, across a restart', async () => {
    srv = await startServe(['--config', cfg], { env: env(), cwd: s.dir });
    const c = await TestClient.connect(`${srv.url.replace('http', 'ws')}/ws`, headers);
    c.send({ type: 'hello', chat: 'reports' });
    const first = await c.waitFor((f) => f.type === 'reply' && f.chat === 'reports', 5000);
    assert.equal(first.id, null, 'a message nobody asked for carries no id');
    assert.match(first.text ?? '', /^tick tock/);
    c.close();
    assert.equal(await srv.stop(), 0);
    srv = undefined;

    srv = await startServe(['--config', cfg], { env: env(), cwd: s.dir });
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await srv.stop(), 0);
    srv = undefined;
    const store = Store.open(`${s.dir}/data/clawdbot.db`);
    try {
      const runs = store.schedules.recent(1000, 'every-second');
      const slots = runs.map((r) => r.slot);
      assert.equal(new Set(slots).size, slots.length, 'no slot twice');
      assert.ok(runs.filter((r) => r.status === 'done').length >= 2, JSON.stringify(runs));
      const audited = store.audit.tail({ platform: 'schedule', eventType: 'command_execution', limit: 1000 });
      assert.ok(audited.length >= 2 && audited.every((r) => r.userId === 'every-second' && r.role === 'Operator'));
    } finally {
      store.close();
    }
  });

  it('/reload by an Operator and SIGHUP take a changed file for the next turn', async () => {
    srv = await startServe(['--config', cfg], { env: env(), cwd: s.dir });
    const c = await TestClient.connect(`${srv.url.replace('http', 'ws')}/ws`, headers);
    const ask = async (id: string, text: string, user = 'olga') => {
      c.send({ type: 'message', id, text, user, chat: 'ops' });
      return (await c.waitFor((f) => f.type === 'reply' && f.id === id)).text ?? '';
    };
    assert.match(await ask('a1', 'go'), /^tick tock/);
    s.write('clawdbot.yaml', config('tack'));
    assert.match(await ask('a2', '/reload', 'bob'), /needs the Operator role/);
    assert.match(await ask('a3', '/reload'), /^Reloaded .*clawdbot\.yaml: 1 route\(s\), 1 command\(s\), 1 workflow\(s\)\./);
    assert.match(await ask('a4', 'go'), /^tack tock/);
    s.write('clawdbot.yaml', config('tuck'));
    srv.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    assert.match(await ask('a5', 'go'), /^tuck tock/);
    s.write('clawdbot.yaml', 'routes: [ { default: { action: nowhere_at_all } } ]\nbogus: 1\n');
    assert.match(await ask('a6', '/reload'), /not reloaded: .*bogus: unknown key/);
    assert.match(await ask('a7', 'go'), /^tuck tock/, 'a broken file changes nothing');
    c.close();
    assert.equal(await srv.stop(), 0);
    srv = undefined;
  });
});

describe('clawdbot workflow run', () => {
  const s = scratch();
  after(() => s.cleanup());
  const cfg = s.write('clawdbot.yaml', [
    'system: { data_dir: ./data }',
    'security: { roles: { Operator: ["cli:olga"] } }',
    'commands:',
    '  say: { runner: local, argv: ["echo", "{{word}}"], params: { word: { pattern: "^[a-z]+$" } }, role: Operator }',
    'workflows:',
    '  greet:',
    '    steps:',
    '      - { name: w, command: say, args: { word: "{{input}}" } }',
    '      - name: check',
    '        if: { value: "{{steps.w.output}}", equals: "hello" }',
    '        then: [ { reply: "said {{steps.w.output}}" } ]',
    '        else: [ { reply: "other" } ]',
    '    on_error: reply',
    '',
  ].join('\n'));

  it('prints each step as it ends, then the reply; a User is refused at the command step', async () => {
    const ok = await runCli(['workflow', 'run', 'greet', '--input', 'hello', '--user', 'olga', '--config', cfg], { env: s.env, cwd: s.dir });
    assert.equal(ok.code, 0, ok.stderr);
    const lines = ok.stdout.trim().split('\n');
    assert.match(lines[0]!, /^w \(command\) ok \d+ ms {2}"hello"$/);
    assert.match(lines[1]!, /^ {2}check_then1 \(reply\) ok/);
    assert.match(lines[2]!, /^check \(if → then\) ok/);
    assert.equal(lines.at(-1), 'said hello');

    const denied = await runCli(['workflow', 'run', 'greet', '--input', 'hello', '--user', 'bob', '--config', cfg], { env: s.env, cwd: s.dir });
    assert.equal(denied.code, 1);
    assert.match(denied.stdout, /^w \(command\) failed/m);
    assert.match(denied.stdout, /Sorry, command "say" needs the Operator role, and you are a User\./);

    const bad = await runCli(['workflow', 'run', 'grete', '--config', cfg], { env: s.env, cwd: s.dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no workflow "grete".*defined: greet/);
  });
});
