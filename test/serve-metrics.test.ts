// Metrics wired into serve: a scrape after real traffic counts it, passes promtool, needs its token;
// `clawdbot metrics rules` writes the seed's rules as a file promtool accepts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { runCli, scratch, startServe, type Served } from './helpers/cli.ts';
import { TestClient } from './helpers/ws.ts';

const PROMTOOL = '/usr/bin/promtool';
const KEY = 'metrics-test-key-123456';
const TOKEN = 'scrape-token-abcdef123';

// The seed's section 4.3, plus a scrape token.
const SEED_METRICS = readFileSync(new URL('./fixtures/config/seed-metrics.yaml', import.meta.url), 'utf8')
  .replace('  endpoint: "/metrics"\n', '  endpoint: "/metrics"\n  token: ${SCRAPE_TOKEN}\n');

describe('metrics in serve', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  let srv: Served;
  before(async () => {
    model = await startFakeOllama({ models: ['llama3.2:latest'] });
    const cfg = s.write('clawdbot.yaml', [
      'system: { data_dir: ./data }',
      'security:',
      '  api_key: ${GATEWAY_KEY}',
      `models: { default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 } }`,
      'adapters: { websocket: { listen: "127.0.0.1:0" } }',
      SEED_METRICS,
    ].join('\n'));
    srv = await startServe(['--config', cfg], { env: { ...s.env, GATEWAY_KEY: KEY, SCRAPE_TOKEN: TOKEN }, cwd: s.dir });
  });
  after(async () => {
    await srv?.stop();
    await model.close();
    s.cleanup();
  });

  it('counts a real turn and the model request; the scrape passes promtool check metrics; the token is required', async (t) => {
    const c = await TestClient.connect(`${srv.url.replace('http', 'ws')}/ws`, { authorization: `Bearer ${KEY}` });
    c.send({ type: 'message', id: 'q1', text: 'hello metrics' });
    await c.waitFor((f) => f.type === 'reply' && f.id === 'q1');
    c.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await fetch(`${srv.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).status, 401, 'the API key is not the scrape token');
    const res = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /^clawdbot_messages_total\{platform="websocket",direction="in"\} 1$/m);
    assert.match(body, /^clawdbot_messages_total\{platform="websocket",direction="out"\} 1$/m);
    assert.match(body, /^clawdbot_model_request_duration_seconds_count 1$/m);
    assert.match(body, /^clawdbot_adapter_connected\{platform="websocket"\} 1$/m);
    assert.match(body, /^# HELP clawdbot_errors_total /m);
    if (!existsSync(PROMTOOL)) return t.skip('promtool missing (CI installs Debian\'s prometheus package)');
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });
});

describe('clawdbot metrics rules', () => {
  const s = scratch();
  after(() => s.cleanup());
  it('writes the seed\'s rules as a Prometheus rule file that promtool accepts', async (t) => {
    const cfg = s.write('seed-metrics.yaml', SEED_METRICS.replace('  token: ${SCRAPE_TOKEN}\n', ''));
    const out = `${s.dir}/rules.yml`;
    const r = await runCli(['metrics', 'rules', '--config', cfg, '--out', out], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    if (!existsSync(PROMTOOL)) return t.skip('promtool missing (CI installs Debian\'s prometheus package)');
    const check = spawnSync(PROMTOOL, ['check', 'rules', out], { encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /SUCCESS: 1 rules found/);
  });
});
