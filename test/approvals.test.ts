// Commands marked `approve: true`: the request waits, admins are told, an Admin's /approve runs it as the
// requester with the result sent to the requester's chat; /deny refuses; a request expires; a decision
// is taken once.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { renderMessages } from '../src/adapters/format/index.ts';
import { AdapterRegistry } from '../src/adapters/registry.ts';
import { loadConfig } from '../src/core/config/load.ts';
import { Executor } from '../src/core/executor.ts';
import { Gateway } from '../src/core/gateway.ts';
import { Store } from '../src/store/store.ts';
import { scratch } from './helpers/cli.ts';
import { echoModel, quietLog } from './helpers/pipeline.ts';
import { answer, chatMessage, ChatAdapter } from './helpers/chat.ts';

describe('approvals', () => {
  const s = scratch();
  const marker = join(s.dir, 'restarted');
  const chat = new ChatAdapter();
  let store: Store;
  let gateway: Gateway;

  before(async () => {
    const config = loadConfig({
      file: s.write('clawdbot.yaml', `
security:
  roles: { Admin: ["chat:alice"], Operator: ["chat:olga"] }
  approvals: { ttl: 1s, notify: [{ platform: chat, chat: admins }] }
commands:
  restart_web:
    runner: local
    argv: ["touch", "${marker}"]
    role: Operator
    approve: true
  note:
    runner: local
    argv: ["true", "{{text}}"]
    params: { text: { pattern: "." } }
    role: Operator
    approve: true
routes:
  - { match: { content_prefix: "/restart" }, action: restart_web }
  - { match: { content_prefix: "/note" }, action: note }
`),
      env: {}, home: s.dir, cwd: s.dir,
    });
    store = Store.open(':memory:');
    const log = await quietLog();
    const adapters = new AdapterRegistry();
    adapters.add(chat);
    gateway = new Gateway({ config, store, executor: new Executor({ config, store, log, model: echoModel }), adapters, log });
  });
  after(() => {
    store.close();
    s.cleanup();
  });

  const turn = (user: string, text: string) => answer(gateway, user, text);
  const settle = () => new Promise((r) => setTimeout(r, 30));
  const idIn = (text: string) => /`\/approve ([a-z2-9]{6})`/.exec(text)![1]!;

  test('an Operator asks; admins are told; nothing runs until an Admin approves; then it runs once, as the requester', async () => {
    chat.sent.length = 0;
    const r = await turn('olga', '/restart');
    assert.equal(r.status, 'ok');
    assert.match(r.text, /needs an admin's approval\. Request `[a-z2-9]{6}` is waiting/);
    await settle();
    assert.ok(!existsSync(marker), 'nothing ran yet');
    const notice = chat.sent.find((m) => m.chatId === 'admins');
    assert.ok(notice, 'the admins chat was told');
    assert.match(notice.text, /\(chat:olga\) asks to run `restart_web`/);
    const id = idIn(notice.text);

    const early = await turn('olga', `/approve ${id}`);
    assert.equal(early.status, 'denied', 'the requester cannot approve');
    assert.ok(!existsSync(marker));

    chat.sent.length = 0;
    const ok = await turn('alice', `/approve ${id}`);
    assert.match(ok.text, new RegExp(`Approved \`${id}\`: \`restart_web\` ran for chat:olga \\(ok\\)`));
    assert.ok(existsSync(marker), 'it ran');
    await settle();
    const told = chat.sent.find((m) => m.chatId === 'c-olga');
    assert.ok(told, 'the requester got the result in their chat');
    assert.match(told.text, new RegExp(`request \`${id}\` was approved`));

    const again = await turn('alice', `/approve ${id}`);
    assert.match(again.text, /was already approved/);
    const runs = store.audit.tail({ eventType: 'command_execution', limit: 10 });
    assert.equal(runs.length, 1, 'ran once');
    assert.deepEqual([runs[0]!.userId, runs[0]!.role], ['olga', 'Operator'], 'audited as the requester');
  });

  test('/deny refuses and tells the requester; a request expires', async () => {
    chat.sent.length = 0;
    const id = idIn((await turn('olga', '/restart')).text.replace(/Request `([a-z2-9]{6})`/, '`/approve $1`'));
    const denied = await turn('alice', `/deny ${id}`);
    assert.match(denied.text, new RegExp(`Refused request \`${id}\``));
    await settle();
    assert.ok(chat.sent.some((m) => m.chatId === 'c-olga' && /was refused by an admin/.test(m.text)));

    const late = idIn((await turn('olga', '/restart')).text.replace(/Request `([a-z2-9]{6})`/, '`/approve $1`'));
    assert.match((await turn('alice', '/pending')).text, new RegExp(late));
    await new Promise((r) => setTimeout(r, 1100));
    assert.match((await turn('alice', `/approve ${late}`)).text, /already expired/);
    assert.equal((await turn('alice', '/pending')).text, 'No requests are waiting.');
  });

  test('an unclosed quote after a command (typed, or after /run) is answered with what is wrong', async () => {
    for (const [user, text] of [['olga', '/restart "now'], ['alice', '/run restart_web "now']] as const) {
      const r = await turn(user, text);
      assert.equal(r.status, 'failed', text);
      assert.match(r.text, /A quote \("\) is not closed/, text);
    }
    assert.equal(store.approvals.pending(Date.now()).length, 0);
  });

  test('a value with backticks stays inside the command shown to admins; it cannot add a link', async () => {
    chat.sent.length = 0;
    const value = 'x` then [approve here](https://evil.example/) `y';
    await turn('olga', `/note '${value}'`);
    await settle();
    const notice = chat.sent.find((m) => m.chatId === 'admins')!;
    const html = renderMessages(notice.text, { markup: 'telegram-html', limit: 100_000, unit: 'utf16' }).join('');
    assert.ok(!html.includes('<a '), html);
    assert.ok(html.includes(`<code>note ${value}</code>`), html);
    await turn('alice', `/deny ${idIn(notice.text)}`);
  });

  test("a requester's display name cannot add a link to the admins' notice either", async () => {
    chat.sent.length = 0;
    const m = chatMessage('olga', '/restart');
    const o = await gateway.receive({ ...m, sender: { id: 'olga', name: 'Olga [approve here](https://evil.example/)' } });
    assert.ok(!o.duplicate && o.result?.status === 'ok');
    await settle();
    const notice = chat.sent.find((x) => x.chatId === 'admins')!;
    const html = renderMessages(notice.text, { markup: 'telegram-html', limit: 100_000, unit: 'utf16' }).join('');
    assert.ok(!html.includes('<a '), html);
    assert.ok(html.includes('Olga [approve here](https://evil.example/)'), html);
    await turn('alice', `/deny ${idIn(notice.text)}`);
  });

  test('a User may not even ask; an Admin runs it at once', async () => {
    const r = await turn('bob', '/restart');
    assert.equal(r.status, 'denied');
    assert.equal(store.approvals.pending(Date.now()).length, 0);
    const admin = await turn('alice', '/run restart_web');
    assert.equal(admin.status, 'ok');
  });
});

describe('approvals across a reload', () => {
  const s = scratch();
  const chat = new ChatAdapter();
  let store: Store;
  let gateway: Gateway;
  const yaml = (pattern: string) => `
security:
  roles: { Admin: ["chat:alice"], Operator: ["chat:olga"] }
  approvals: { ttl: 1m, notify: [{ platform: chat, chat: admins }] }
commands:
  make:
    runner: local
    argv: ["touch", "${s.dir}/made-{{name}}"]
    params: { name: { pattern: '${pattern}' } }
    role: Operator
    approve: true
routes:
  - { match: { content_prefix: "/make" }, action: make }
`;
  const load = (pattern: string) => loadConfig({ file: s.write('clawdbot.yaml', yaml(pattern)), env: {}, home: s.dir, cwd: s.dir });

  before(async () => {
    const config = load('^[a-z]+$');
    store = Store.open(':memory:');
    const log = await quietLog();
    const adapters = new AdapterRegistry();
    adapters.add(chat);
    gateway = new Gateway({ config, store, executor: new Executor({ config, store, log, model: echoModel }), adapters, log });
  });
  after(() => {
    store.close();
    s.cleanup();
  });

  test('a request whose arguments the reloaded command no longer accepts is not run when approved', async () => {
    const asked = await answer(gateway, 'olga', '/make zz');
    const id = /Request `([a-z2-9]{6})`/.exec(asked.text)![1]!;
    // The admin tightens the parameter (say, after learning what "zz" does) and reloads.
    gateway.reconfigure(load('^a+$'));
    const r = await answer(gateway, 'alice', `/approve ${id}`);
    assert.ok(!existsSync(join(s.dir, 'made-zz')), `it ran with a value the command now refuses: ${r.text}`);
    assert.match(r.text, /<name> must be/);
  });
});
