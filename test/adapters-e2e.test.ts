// Telegram and Slack end to end through the command line: `clawdbot serve` and `clawdbot doctor` as
// child processes, configured like the seed (its routing rules in routing.yaml), against the fake
// Bot API, the fake Slack (Socket Mode) and the fake Ollama, all in this process on port 0.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama, type FakeModelServer } from './fakes/ollama.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack.ts';
import { startFakeTelegram, type FakeTelegram, type Message } from './fakes/telegram.ts';
import { runCli, scratch, startServe, type Served } from './helpers/cli.ts';

const KEY = 'e2e-gateway-key-0123456789';
const SEED_ROUTING = new URL('./fixtures/config/seed-routing.yaml', import.meta.url).pathname;
const WELCOME = "Hi! I'm clawdbot, your assistant. Just type a question and I'll answer.";

interface Report { checks: { name: string; status: string; detail: string }[]; summary: { failed: number } }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 8000) => {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
};
const textOf = (m: Message) => ('text' in m ? (m.text ?? '') : '');

describe('telegram and slack end to end (serve, doctor)', () => {
  const s = scratch();
  let model: FakeModelServer;
  let tg: FakeTelegram;
  let slack: FakeSlack;
  let srv: Served | undefined;
  let cfg: string;
  let cleanCfg: string;
  const env = () => ({ ...s.env, GATEWAY_KEY: KEY, TG_TOKEN: tg.token, SLACK_BOT_TOKEN: slack.botToken, SLACK_APP_TOKEN: slack.appToken });
  const sentTo = (chat: number) => tg.sent.filter((m) => m.chat.id === chat).map(textOf);
  const postedIn = (channel: string) => slack.posted.filter((p) => p.method === 'chat.postMessage' && p.channel === channel);
  const doctor = async (config: string, e: NodeJS.ProcessEnv) => {
    const r = await runCli(['doctor', '--json', '--config', config], { env: e, cwd: s.dir, timeoutMs: 15_000 });
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stdout: r.stdout, stderr: r.stderr };
  };
  const check = (rep: Report, name: string) => rep.checks.find((c) => c.name === name);

  before(async () => {
    [model, tg, slack] = await Promise.all([startFakeOllama({ models: ['llama3.2:latest'] }), startFakeTelegram(), startFakeSlack()]);
    copyFileSync(SEED_ROUTING, join(s.dir, 'routing.yaml'));
    const common = [
      'security:',
      '  api_key: ${GATEWAY_KEY}',
      'models:',
      `  default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 }`,
      'adapters:',
      '  websocket: { listen: "127.0.0.1:0" }',
      '  telegram:',
      '    enabled: true',
      '    token: ${TG_TOKEN}',
      `    api_root: "${tg.apiRoot}"`,
      '  slack:',
      '    enabled: true',
      '    bot_token: ${SLACK_BOT_TOKEN}',
      '    app_token: ${SLACK_APP_TOKEN}',
      `    api_url: "${slack.url}/api/"`,
    ];
    cfg = s.write('clawdbot.yaml', [...common, 'routes_file: routing.yaml', ''].join('\n'));
    // The same without the seed's rule for an action nobody defined (doctor fails on that rule).
    cleanCfg = s.write('clean.yaml', [...common, 'routes:', '  - default: { action: process_with_llm }', ''].join('\n'));
    srv = await startServe(['--config', cfg], { env: env(), cwd: s.dir });
  });
  after(async () => {
    await srv?.stop();
    await Promise.all([tg.close(), slack.close(), model.close()]);
    s.cleanup();
  });

  it('/readyz lists telegram and slack as connected', async () => {
    assert.equal((await fetch(`${srv!.url}/readyz`)).status, 401, 'behind the key');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let body: any;
    await until('telegram and slack ready', async () => {
      const res = await fetch(`${srv!.url}/readyz`, { headers: { authorization: `Bearer ${KEY}` } });
      body = await res.json();
      return res.status === 200;
    }, 10_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(body)}`));
    assert.equal(body.ready, true);
    const { telegram, slack: sl } = body.components.adapters;
    assert.equal(telegram.ok, true);
    assert.match(telegram.detail, new RegExp(`@${tg.bot.username}, polling`));
    assert.equal(sl.ok, true);
    assert.match(sl.detail, /socket/);
    assert.equal(slack.socketCount(), 1, 'one Socket Mode connection');
  });

  it('telegram: /start gets the welcome text (the seed\'s send_welcome_message)', async () => {
    const CHAT = 8101;
    tg.pushUpdate(tg.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT, first_name: 'Ada' }, text: '/start' }));
    await until('the welcome', () => sentTo(CHAT).length > 0);
    assert.deepEqual(sentTo(CHAT), [WELCOME]);
  });

  it('telegram: /start@thebot in a group is the same command', async () => {
    const GROUP = -1008102;
    const chats = () => model.requests.filter((r) => r.path === '/api/chat').length;
    const before = chats();
    tg.pushUpdate(tg.textMessage({ chatId: GROUP, chatType: 'supergroup', from: { id: 8102, first_name: 'Bob' }, text: `/start@${tg.bot.username}` }));
    await until('the welcome', () => sentTo(GROUP).length > 0);
    assert.deepEqual(sentTo(GROUP), [WELCOME]);
    assert.equal(chats(), before, 'no model call');
  });

  it('telegram: a normal message gets the model\'s answer', async () => {
    const CHAT = 8103;
    tg.pushUpdate(tg.textMessage({ chatId: CHAT, chatType: 'private', from: { id: CHAT, first_name: 'Cy' }, text: 'what is the capital of France?' }));
    await until('the answer', () => sentTo(CHAT).length > 0);
    assert.deepEqual(sentTo(CHAT), ['echo: what is the capital of France?']);
    const chat = model.requests.filter((r) => r.path === '/api/chat').at(-1);
    assert.equal(chat?.body?.model, 'llama3.2');
  });

  it('telegram: a group message without a mention is not answered', async () => {
    const GROUP = -1008104;
    tg.pushUpdate(tg.textMessage({ chatId: GROUP, chatType: 'supergroup', from: { id: 8104 }, text: 'just chatting' }));
    tg.pushUpdate(tg.textMessage({ chatId: GROUP, chatType: 'supergroup', from: { id: 8104 }, text: `@${tg.bot.username} now you` }));
    await until('the answer to the mention', () => sentTo(GROUP).length > 0);
    await sleep(200);
    assert.deepEqual(sentTo(GROUP), ['echo: now you']);
  });

  it('slack: "!help" in a dm lists what the sender may use, without the model', async () => {
    const DM = 'D0E2EHELP01';
    const modelCalls = model.requests.filter((r) => r.path === '/api/chat').length;
    slack.pushEvent(slack.directMessage({ channel: DM, user: 'U0E2EUSER01', text: '!help' }));
    await until('the reply', () => postedIn(DM).length > 0);
    const [reply] = postedIn(DM);
    assert.ok(reply!.text, 'a text reply');
    assert.match(reply!.text!, /you are User here/);
    assert.match(reply!.text!, /\/whoami/);
    assert.doesNotMatch(reply!.text!, /\/run|\/approve|\/audit/, 'a User is not shown admin commands');
    assert.doesNotMatch(reply!.text!, /Error|stack|undefined|\bat \w+ \(/, 'no internals');
    assert.equal(reply!.thread_ts, undefined, 'in the dm, not a thread');
    assert.equal(model.requests.filter((r) => r.path === '/api/chat').length, modelCalls, 'the model was not asked');
  });

  it('slack: a mention in a channel gets the model\'s answer in its thread', async () => {
    const CH = 'C0E2ECHAN01';
    const event = slack.mention({ channel: CH, user: 'U0E2EUSER01', text: 'summarise the week' }) as { ts: string };
    slack.pushEvent(event);
    await until('the reply', () => postedIn(CH).length > 0);
    assert.deepEqual(postedIn(CH).map((p) => [p.text, p.thread_ts]), [['echo: summarise the week', event.ts]]);
  });

  it('doctor --json (online) checks both adapters\' credentials', async () => {
    const { report } = await doctor(cfg, env());
    const tgCheck = check(report, 'adapter telegram');
    assert.equal(tgCheck?.status, 'ok', JSON.stringify(tgCheck));
    assert.match(tgCheck!.detail, new RegExp(`@${tg.bot.username}`));
    const slCheck = check(report, 'adapter slack');
    assert.equal(slCheck?.status, 'ok', JSON.stringify(slCheck));
    assert.match(slCheck!.detail, new RegExp(slack.botUserId));
    // The seed's routing names only existing actions: nothing fails.
    assert.deepEqual(report.checks.filter((c) => c.status === 'fail').map((c) => c.name), []);
  });

  it('doctor: a wrong telegram token fails `adapter telegram` (exit 1); the right one passes (exit 0)', async () => {
    const good = await doctor(cleanCfg, env());
    assert.equal(good.code, 0, JSON.stringify(good.report.checks.filter((c) => c.status === 'fail')));
    const bad = await doctor(cleanCfg, { ...env(), TG_TOKEN: `${tg.bot.id}:AAHwrongTokenWrongTokenWrongToken_0000` });
    assert.equal(bad.code, 1);
    const c = check(bad.report, 'adapter telegram');
    assert.equal(c?.status, 'fail');
    assert.match(c!.detail, /401|Unauthorized/);
    assert.match(c!.detail, /adapters\.telegram\.token/, 'says what to fix');
    assert.equal(check(bad.report, 'adapter slack')?.status, 'ok');
    assert.doesNotMatch(bad.stdout, /AAHwrongToken/, 'the token is not printed');
  });

  it('SIGTERM: serve stops cleanly (exit 0), having logged no error on the way', async () => {
    const code = await srv!.stop('SIGTERM');
    assert.equal(code, 0);
    const errors = srv!.stderr().split('\n').filter((l) => /^\{"level":(50|60)/.test(l));
    assert.deepEqual(errors, []);
    assert.equal(slack.socketCount(), 0, 'the Socket Mode connection is closed');
  });

  it('serve with a wrong telegram token exits 2, naming adapters.telegram', async () => {
    const t0 = Date.now();
    const r = await runCli(['serve', '--config', cfg], { env: { ...env(), TG_TOKEN: `${tg.bot.id}:AAHwrongTokenWrongTokenWrongToken_0000` }, cwd: s.dir, timeoutMs: 10_000 });
    assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, /adapters\.telegram/);
    assert.match(r.stderr, /telegram cannot start/);
    assert.ok(Date.now() - t0 < 8000, `exited promptly (${Date.now() - t0} ms)`);
    assert.doesNotMatch(r.stderr, /"ready"/);
  });
});
