// `clawdbot doctor` and `clawdbot init` as a user runs them.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { runCli, scratch } from './helpers/cli.ts';

interface Report { checks: { name: string; status: string; detail: string }[]; summary: { failed: number; warnings: number } }
const FIXTURES = new URL('./fixtures/config/', import.meta.url).pathname;

describe('doctor and init', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  before(async () => { model = await startFakeOllama({ models: ['llama3.2:latest'] }); });
  after(async () => { await model.close(); s.cleanup(); });
  const doctor = async (args: string[], env = s.env) => {
    const r = await runCli(['doctor', '--json', ...args], { env, cwd: s.dir });
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  };
  const status = (rep: Report, name: string) => rep.checks.filter((c) => c.name === name).map((c) => c.status);

  it('built-in defaults pass offline, with the model check skipped', async () => {
    const { code, report } = await doctor(['--offline']);
    assert.equal(code, 0);
    assert.deepEqual(status(report, 'database'), ['ok']);
    assert.match(report.checks.find((c) => c.name === 'database')!.detail, /sqlite-vec v0\.1\.9/);
    assert.deepEqual(status(report, 'model'), ['skip']);
  });

  it('the seed layout: warns about quotes and the placeholder key, fails a world-readable secret', async () => {
    copyFileSync(join(FIXTURES, 'seed-routing.yaml'), join(s.dir, 'seed-routing.yaml'));
    const cfg = join(s.dir, 'seed.yaml');
    copyFileSync(join(FIXTURES, 'with-routes-file.yaml'), cfg);
    chmodSync(cfg, 0o644);
    const { code, report } = await doctor(['--offline', '--config', cfg]);
    assert.equal(code, 1);
    // Every rule of the seed's routing.yaml names an existing action (trigger_help_workflow is built in).
    assert.deepEqual(status(report, 'routes'), ['ok']);
    assert.deepEqual(status(report, 'secrets'), ['fail']);
    assert.ok(status(report, 'security').includes('warn'));
    chmodSync(cfg, 0o600);
    assert.deepEqual(status((await doctor(['--offline', '--config', cfg])).report, 'secrets'), ['ok']);
  });

  it('fails a world-readable file holding any literal secret, not only api keys (a bot token, the data key)', async () => {
    const cfg = s.write('tg-secret.yaml', [
      'adapters:',
      '  telegram: { enabled: true, token: "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" }',
      '',
    ].join('\n'));
    chmodSync(cfg, 0o644);
    const { code, report } = await doctor(['--offline', '--config', cfg]);
    assert.deepEqual(status(report, 'secrets'), ['fail'], JSON.stringify(report));
    assert.equal(code, 1);
    const key = s.write('key-secret.yaml', 'system: { data_dir: key-data }\nsecurity: { encryption_key: "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=" }\n');
    chmodSync(key, 0o640);
    assert.deepEqual(status((await doctor(['--offline', '--config', key])).report, 'secrets'), ['fail']);
    chmodSync(cfg, 0o600);
    assert.deepEqual(status((await doctor(['--offline', '--config', cfg])).report, 'secrets'), ['ok']);
  });

  it('ADAPTER_TYPE turning on an adapter whose token is not set fails the config (exit 2), as serve would refuse it', async () => {
    const cfg = s.write('compose.yaml', 'adapters:\n  telegram:\n    enabled: false\n    token: ${TELEGRAM_BOT_TOKEN:-}\n');
    const r = await doctor(['--offline', '--config', cfg], { ...s.env, ADAPTER_TYPE: 'websocket,telegram' });
    assert.equal(r.code, 2, JSON.stringify(r.report));
    assert.deepEqual(status(r.report, 'config'), ['fail']);
    assert.match(r.report.checks[0]!.detail, /environment ADAPTER_TYPE: enables telegram, but adapters\.telegram\.token is empty/);
    const set = await doctor(['--offline', '--config', cfg], { ...s.env, ADAPTER_TYPE: 'websocket,telegram', TELEGRAM_BOT_TOKEN: '123:abc' });
    assert.deepEqual(status(set.report, 'config'), ['ok']);
  });

  it('a config error about a secret never shows the secret (a header with a stray \\r, a bad webhook secret)', async () => {
    const cfg = s.write('leak.yaml', [
      'adapters:',
      '  telegram: { enabled: true, token: "123:abc", mode: webhook, webhook_url: "https://bot.example/telegram/webhook", webhook_secret: "${HOOK_SECRET}" }',
      'commands:',
      '  ticket: { runner: http, url: "https://tickets.internal/api", headers: { Authorization: "Bearer ${TICKETS_TOKEN}" } }',
      '',
    ].join('\n'));
    const env = { ...s.env, TICKETS_TOKEN: 'tk_live_9f8e7d6c5b4a\r', HOOK_SECRET: 'hunter2 hunter2!' };
    const r = await runCli(['doctor', '--json', '--offline', '--config', cfg], { env, cwd: s.dir });
    assert.equal(r.code, 2);
    const detail = (JSON.parse(r.stdout) as Report).checks[0]!.detail;
    assert.match(detail, /commands\.ticket\.headers\.Authorization: expected a header value \(text without line breaks\), got text with a line break/);
    assert.match(detail, /adapters\.telegram\.webhook_secret: expected 1-256 characters .*got 16 characters/);
    assert.doesNotMatch(r.stdout + r.stderr, /tk_live_9f8e7d6c5b4a|hunter2/);
  });

  it('checks what commands and schedules point at: programs, host keys, delivery platforms', async () => {
    const kh = s.write('known_hosts', 'other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEw7Wf2o7c4a0Yc6n0oGqXr7o5jv0wJ8sI8Gm5mG8c3H\n');
    const cfg = s.write('catalogue.yaml', [
      'commands:',
      '  ok_cmd: { runner: local, argv: ["echo", "hi"] }',
      '  missing: { runner: local, argv: ["no-such-program-xyz"] }',
      `  remote: { runner: ssh, host: web1, user: deploy, agent: /nonexistent/agent.sock, known_hosts: "${kh}", argv: [uptime] }`,
      'workflows:',
      '  report: { steps: [ { reply: "hi" } ] }',
      'schedules:',
      '  - { name: to-ws, cron: "0 9 * * *", workflow: report, deliver: { platform: websocket, chat: c1 } }',
      '  - { name: to-slack, cron: "0 9 * * *", workflow: report, deliver: { platform: slack, chat: C1 } }',
      '',
    ].join('\n'));
    const { code, report } = await doctor(['--offline', '--config', cfg]);
    assert.equal(code, 1);
    assert.deepEqual(status(report, 'command ok_cmd'), ['ok']);
    assert.deepEqual(status(report, 'command missing'), ['fail']);
    assert.match(report.checks.find((c) => c.name === 'command missing')!.detail, /"no-such-program-xyz" not found on PATH/);
    assert.deepEqual(status(report, 'command remote'), ['fail']);
    assert.match(report.checks.find((c) => c.name === 'command remote')!.detail, /no entry for web1/);
    assert.deepEqual(status(report, 'schedule to-ws'), ['ok']);
    assert.match(report.checks.find((c) => c.name === 'schedule to-ws')!.detail, /next \d{4}-\d\d-\d\dT09:00/);
    assert.deepEqual(status(report, 'schedule to-slack'), ['fail']);
  });

  it('checks the model endpoint and the model', async () => {
    const ok = s.write('m-ok.yaml', `models: { default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 } }\n`);
    const good = await doctor(['--config', ok]);
    assert.equal(good.code, 0, JSON.stringify(good.report));
    assert.deepEqual(status(good.report, 'model'), ['ok']);
    const missing = s.write('m-missing.yaml', `models: { default: { provider: ollama, endpoint: "${model.url}", model: mistral } }\n`);
    const bad = await doctor(['--config', missing]);
    assert.equal(bad.code, 1);
    assert.match(bad.report.checks.find((c) => c.name === 'model')!.detail, /ollama pull mistral/);
  });

  it('reports a listen address in use, unset variables, and a bad config with exit 2', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as { port: number }).port;
    const cfg = s.write('busy.yaml', `security: { api_key: "\${NOPE_KEY}" }\nadapters: { websocket: { listen: "127.0.0.1:${port}" } }\n`);
    const r = await doctor(['--offline', '--config', cfg]);
    busy.close();
    assert.equal(r.code, 1);
    assert.deepEqual(status(r.report, 'listen'), ['fail']);
    assert.ok(r.report.checks.some((c) => c.name === 'environment' && /NOPE_KEY/.test(c.detail)));
    const broken = s.write('broken.yaml', 'models:\n  default:\n    temprature: 2\n');
    const b = await doctor(['--offline', '--config', broken]);
    assert.equal(b.code, 2);
    assert.match(b.report.checks[0]!.detail, /broken\.yaml:3:5.*did you mean/);
  });

  it('init into a folder that does not exist, or onto a folder: a usage error (exit 2) that says so', async () => {
    const r = await runCli(['init', 'no-such-dir/clawdbot.yaml'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `init: cannot write ${join(s.dir, 'no-such-dir', 'clawdbot.yaml')}: the folder ${join(s.dir, 'no-such-dir')} does not exist\n`);
    const d = await runCli(['init', '--force', '.'], { env: s.env, cwd: s.dir });
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stderr, /^init: .* is a folder; give a file name/);
  });

  it('init writes the documented example, refuses to overwrite, and what it wrote passes doctor', async () => {
    const r = await runCli(['init'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(s.dir, 'clawdbot.yaml'), 'utf8');
    assert.match(text, /max_concurrency/);
    const again = await runCli(['init'], { env: s.env, cwd: s.dir });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; use --force/);
    assert.equal((await runCli(['init', '--force'], { env: s.env, cwd: s.dir })).code, 0);
    const d = await doctor(['--offline']);
    assert.equal(d.report.checks[0]!.detail, `${join(s.dir, 'clawdbot.yaml')} is valid`);
    assert.equal(d.report.summary.failed, 0, JSON.stringify(d.report));
  });
});
