// RBAC on every path: the four roles × a chat route to a command, `/run`, a model's tool call, a
// schedule, the REST API and the admin chat commands. One in-process pipeline per test file, real
// config loaded from YAML, a real local command, a scripted model that asks for tools.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AdapterRegistry } from '../src/adapters/registry.ts';
import { RestAdapter } from '../src/adapters/rest.ts';
import { loadConfig } from '../src/core/config/load.ts';
import type { Config } from '../src/core/config/types.ts';
import { Executor } from '../src/core/executor.ts';
import { Gateway } from '../src/core/gateway.ts';
import type { ChatRequest, ChatResult, ModelClient } from '../src/core/models/types.ts';
import { scheduledRun } from '../src/core/scheduled-run.ts';
import { Store } from '../src/store/store.ts';
import { scratch } from './helpers/cli.ts';
import { quietLog, testHttp } from './helpers/pipeline.ts';
import { answer, ChatAdapter } from './helpers/chat.ts';

const CONFIG = `
security:
  roles:
    Admin:    ["chat:alice", "api:alice"]
    Operator: ["chat:olga", "api:olga"]
    Auditor:  ["chat:carol", "api:carol"]
commands:
  disk_usage:
    runner: local
    argv: ["echo", "usage of", "{{path}}"]
    params: { path: { pattern: "^/[A-Za-z0-9/_-]*$" } }
    role: Operator
    timeout: 10s
  uptime:
    runner: local
    argv: ["echo", "up 3 days"]
    role: User
workflows:
  daily_report:
    steps:
      - { name: usage, command: disk_usage, args: { path: "/var" } }
      - { name: say, reply: "report: {{steps.usage.output}}" }
    on_error: reply
actions:
  assistant: { type: llm, tools: [disk_usage, uptime] }
routes:
  - { match: { content_prefix: "/disk" }, action: disk_usage }
  - { match: { content_prefix: "ask " }, action: assistant }
  - { default: { action: send_welcome_message } }
`;

/** Asks for the tool the message names ("tool:NAME"), offered or not, then answers with what the tool said. Records what it was offered. */
class ToolModel implements ModelClient {
  readonly provider = 'ollama' as const;
  readonly endpoint = 'scripted:';
  readonly offered: string[][] = [];
  async chat(req: ChatRequest): Promise<ChatResult> {
    const base = { model: 'scripted', promptTokens: 1, completionTokens: 1 };
    const last = req.messages.at(-1)!;
    this.offered.push((req.tools ?? []).map((t) => t.name));
    if (last.role === 'tool') return { ...base, text: `the tool said: ${last.content}`, toolCalls: [] };
    // Asks for the command whether or not it was offered: the policy, not the model, decides.
    const name = /tool:(\w+)/.exec(req.messages.findLast((m) => m.role === 'user')!.content)![1]!;
    return { ...base, text: '', toolCalls: [{ id: 'c1', name, arguments: { path: '/var' }, argumentsError: undefined }] };
  }
  async listModels(): Promise<string[]> {
    return ['scripted'];
  }
}

const PEOPLE = { Admin: 'alice', Operator: 'olga', Auditor: 'carol', User: 'bob' } as const;
type RoleName = keyof typeof PEOPLE;
const ROLES = Object.keys(PEOPLE) as RoleName[];

describe('RBAC on every entry point', () => {
  let config: Config;
  let store: Store;
  let gateway: Gateway;
  let executor: Executor;
  const chat = new ChatAdapter();
  const model = new ToolModel();
  const s = scratch();
  const stop = new AbortController();
  let rest: RestAdapter;
  let restUrl: string;

  before(async () => {
    config = loadConfig({ file: s.write('clawdbot.yaml', CONFIG), env: {}, home: s.dir, cwd: s.dir });
    store = Store.open(':memory:');
    const log = await quietLog();
    executor = new Executor({ config, store, log, model });
    const http = testHttp(log);
    rest = new RestAdapter({ http });
    const adapters = new AdapterRegistry();
    adapters.add(chat);
    adapters.add(rest);
    gateway = new Gateway({ config, store, executor, adapters, log });
    await rest.start(gateway.host('api'));
    const addr = await http.listen();
    restUrl = `http://127.0.0.1:${addr.port}`;
    stop.signal.addEventListener('abort', () => void http.close());
  });
  after(() => {
    stop.abort();
    store.close();
    s.cleanup();
  });

  const turn = (user: string, text: string) => answer(gateway, user, text);
  const deniedCount = () => store.audit.tail({ eventType: 'policy_denial', limit: 1000 }).length;

  for (const role of ROLES) {
    const user = PEOPLE[role];
    const may = role === 'Admin' || role === 'Operator';

    test(`${role}: a route to an Operator command ${may ? 'runs it' : 'is denied, audited'}`, async () => {
      const before = deniedCount();
      const r = await turn(user, '/disk /var');
      if (may) {
        assert.equal(r.status, 'ok');
        assert.match(r.text, /usage of \/var/);
      } else {
        assert.equal(r.status, 'denied');
        assert.match(r.text, role === 'User' ? /needs the Operator role, and you are a User\./ : /needs the Operator role, and you are an Auditor\./);
        assert.equal(deniedCount(), before + 1);
        const rec = store.audit.tail({ eventType: 'policy_denial', limit: 1 })[0]!;
        assert.deepEqual([rec.platform, rec.userId, rec.role, rec.decision], ['chat', user, role, 'denied']);
      }
    });

    test(`${role}: /run ${role === 'Admin' ? 'runs a command and a workflow' : 'is for Admins only'}`, async () => {
      const r = await turn(user, '/run disk_usage /srv');
      const w = await turn(user, '/run daily_report');
      if (role === 'Admin') {
        assert.equal(r.status, 'ok');
        assert.match(r.text, /usage of \/srv/);
        assert.equal(w.status, 'ok');
        assert.match(w.text, /^report: usage of \/var/);
      } else {
        assert.equal(r.status, 'denied');
        assert.match(r.text, /\/run command needs the Admin role/);
        assert.equal(w.status, 'denied');
      }
    });

    test(`${role}: the model's tool call ${may ? 'runs' : 'is refused (not offered, audited)'}`, async () => {
      model.offered.length = 0;
      const before = deniedCount();
      const r = await turn(user, 'ask how full is /var? tool:disk_usage');
      assert.equal(r.status, 'ok');
      if (may) {
        assert.deepEqual(model.offered[0], ['disk_usage', 'uptime']);
        assert.match(r.text, /the tool said: .*usage of \/var/s);
      } else {
        assert.deepEqual(model.offered[0], ['uptime'], 'only what this role may run is offered');
        assert.match(r.text, /the tool said: Error: unknown tool "disk_usage"/);
        assert.equal(deniedCount(), before + 1, 'the refused call is audited');
      }
    });

    test(`${role}: a schedule running as ${role} ${may ? 'delivers the report' : 'delivers the denial, records a failed run'}`, async () => {
      const fire = scheduledRun(executor, gateway);
      const spec = { ...config.schedules[0], name: `daily-${role}`, cron: '0 9 * * *', workflow: 'daily_report', input: '', role, deliver: { platform: 'chat', chatId: 'reports' }, timezone: 'UTC', enabled: true, catchUp: 'latest' as const, maxCatchUp: 10 };
      chat.sent.length = 0;
      const res = await fire(spec, new Date(), new AbortController().signal);
      await new Promise((r) => setTimeout(r, 20));
      const delivered = chat.sent.filter((m) => m.chatId === 'reports');
      assert.equal(delivered.length, 1);
      // The workflow itself may be started by anyone; its command step is checked with the schedule's role.
      if (may) {
        assert.equal(res.ok, true, res.detail);
        assert.match(delivered[0]!.text, /^report: usage of \/var/);
      } else {
        assert.equal(res.ok, false);
        assert.match(delivered[0]!.text, /needs the Operator role/);
      }
    });

    test(`${role}: the REST API ${may ? 'runs' : 'answers 403 for'} the command`, async () => {
      const res = await fetch(`${restUrl}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: '/disk /tmp', user }) });
      const body = await res.json() as { status: string; reply: string };
      if (may) {
        assert.equal(res.status, 200);
        assert.match(body.reply, /usage of \/tmp/);
      } else {
        assert.equal(res.status, 403);
        assert.equal(body.status, 'denied');
      }
    });

    test(`${role}: chat commands follow the matrix`, async () => {
      const expect: Record<string, readonly RoleName[]> = {
        '/sessions': ['Admin', 'Operator'],
        '/audit 3': ['Admin', 'Auditor'],
        '/report': ['Admin', 'Auditor'],
        '/pending': ['Admin'],
        '/whoami': ['Admin', 'Operator', 'Auditor', 'User'],
      };
      for (const [text, allowed] of Object.entries(expect)) {
        const r = await turn(user, text);
        assert.equal(r.status, allowed.includes(role) ? 'ok' : 'denied', `${role} ${text}: ${r.text}`);
      }
      const who = await turn(user, '/whoami');
      assert.equal(who.text, `You are chat:${user}, role ${role}.`);
    });
  }

  test('a tool that is not in the catalogue is refused and audited; nothing runs', async () => {
    const before = deniedCount();
    const r = await turn('alice', 'ask wipe it tool:rm_rf');
    assert.match(r.text, /the tool said: Error: unknown tool "rm_rf"/);
    assert.equal(deniedCount(), before + 1);
    assert.match(store.audit.tail({ eventType: 'policy_denial', limit: 1 })[0]!.input!, /^tool rm_rf/);
  });

  test('an Auditor reads the audit trail it is part of; the chain verifies', async () => {
    const r = await turn('carol', '/audit 50');
    assert.match(r.text, /policy_denial \(denied\) chat:carol Auditor/);
    assert.equal(store.audit.verifyChain(), null);
    const report = await turn('carol', '/report 1');
    assert.match(report.text, /^Last 1 h:\n/);
    assert.match(report.text, /^- policy_denial \(denied\): \d+ by \d+ user\(s\)$/m);
    assert.match(report.text, /^- command_execution \(allowed\): \d+ by \d+ user\(s\)$/m);
  });
});
