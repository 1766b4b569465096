// Prometheus metrics: the seed's `metrics:` section loads as written; a live scrape of a real gateway
// listener passes `promtool check metrics` (lint problems, exit 3, fail too); the endpoint's token is
// enforced; the generated rule file passes `promtool check rules`; the Grafana dashboard queries only
// metrics that exist, and its expressions parse; prom-client stays out of the modules serve always loads.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYamlText, stringify } from 'yaml';
import { nullish } from 'zod/mini';
import { promDuration, renderRules, runMetricsRules } from '../src/cli/metrics.ts';
import { parseYaml } from '../src/core/config/document.ts';
import { obj } from '../src/core/config/kit.ts';
import { compileMetrics, DEFAULT_RULES, metricsSection, type MetricsConfig } from '../src/core/config/metrics.ts';
import { issuesToProblems } from '../src/core/config/problems.ts';
import { ApiKeyAuth } from '../src/core/http/auth.ts';
import { registerMetrics } from '../src/core/http/metrics-route.ts';
import { HttpGateway } from '../src/core/http/server.ts';
import { Metrics } from '../src/core/metrics.ts';
import { quietLog } from './helpers/pipeline.ts';

const PROMTOOL = '/usr/bin/promtool';
const noPromtool = existsSync(PROMTOOL) ? false : `${PROMTOOL} is missing: install Debian's prometheus package (.ci/run does)`;
const ROOT = new URL('..', import.meta.url).pathname;

/** The seed's section 4.3 (test/fixtures/config/seed-metrics.yaml). */
const SEED = readFileSync(new URL('./fixtures/config/seed-metrics.yaml', import.meta.url), 'utf8');

const schema = obj({ metrics: nullish(metricsSection) });

function load(yaml: string, env: NodeJS.ProcessEnv = {}): MetricsConfig {
  const f = parseYaml(yaml, '/x/c.yaml', 'c.yaml', env);
  assert.deepEqual(f.problems, []);
  const r = schema.safeParse(f.source.data);
  assert.ok(r.success, r.success ? '' : issuesToProblems(r.error.issues, f.source).join('\n'));
  return compileMetrics(r.data.metrics);
}

function problems(yaml: string): string {
  const f = parseYaml(yaml, '/x/c.yaml', 'c.yaml', {});
  const r = schema.safeParse(f.source.data);
  assert.ok(!r.success, 'loaded, but should not have');
  return issuesToProblems(r.error.issues, f.source).join('\n');
}

function promtool(args: string[], input = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'clawdbot-metrics-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function checkRules(text: string): Promise<{ code: number | null; out: string }> {
  const file = join(tmp, `rules-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, text);
  return promtool(['check', 'rules', file]);
}

/** Families from `# TYPE` lines, with the series names a histogram adds. */
function seriesNames(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const m of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s);
  }
  return names;
}

/** The value of one sample line, e.g. `clawdbot_errors_total{component="model"}`. */
function sample(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const PLATFORMS = ['websocket', 'api', 'telegram', 'slack'];
const newMetrics = () => new Metrics({ platforms: PLATFORMS, isCommand: (n) => n === 'disk_usage' });

/** Every method driven at least once, with values the scrape assertions below look for. */
function drive(m: Metrics, state: { depth: number; adapters: { platform: string; connected: boolean }[] }): void {
  m.message('telegram', 'in');
  m.message('telegram', 'in');
  m.message('telegram', 'out');
  m.message('irc', 'in');
  m.error('model');
  m.modelRequest(0.8, 100, 20);
  m.modelRequest(45, 20);
  m.modelRequest(Number.NaN, Number.NaN, -3);
  m.command('disk_usage', 'ok');
  m.command('rm -rf /', 'denied');
  m.denial();
  m.memorySearch(0.004);
  m.setCollectors({ queueDepth: () => state.depth, adapters: () => state.adapters });
}

describe('metrics config', () => {
  it('the seed\'s section loads as written', () => {
    assert.deepEqual(load(SEED), {
      enabled: true,
      endpoint: '/metrics',
      token: undefined,
      rules: [{
        name: 'high_error_rate',
        expr: 'rate(clawdbot_errors_total[5m]) > 0.1',
        forMs: undefined,
        labels: { severity: 'critical' },
        annotations: { summary: 'High error rate detected', description: 'Error rate exceeded threshold' },
      }],
    });
  });

  it('takes a token from the environment and a `for` duration', () => {
    const c = load('metrics:\n  enabled: true\n  token: ${METRICS_TOKEN}\n  rules:\n    - { name: slow, expr: "up == 0", for: 1h30m }\n', { METRICS_TOKEN: 'scrape-secret' });
    assert.equal(c.token, 'scrape-secret');
    assert.equal(c.rules[0]!.forMs, 90 * 60_000);
    assert.deepEqual(c.rules[0]!.labels, {});
  });

  it('is off without the section; no `rules:` means the default set, an empty list means none', () => {
    assert.deepEqual(load('metrics:\n'), { enabled: false, endpoint: '/metrics', token: undefined, rules: DEFAULT_RULES });
    assert.deepEqual(compileMetrics(undefined).rules, DEFAULT_RULES);
    assert.deepEqual(load('metrics:\n  enabled: true\n  rules: []\n').rules, []);
  });

  it('names every mistake with its place', () => {
    assert.match(problems('metrics:\n  endpiont: /metrics\n'), /c\.yaml:2:3: metrics\.endpiont: unknown key, did you mean `endpoint`\?/);
    assert.match(problems('metrics:\n  endpoint: metrics\n'), /metrics\.endpoint: expected a URL path starting with \//);
    assert.match(problems('metrics:\n  rules:\n    - { name: "high error rate", expr: "up == 0" }\n'), /c\.yaml:3:15: metrics\.rules\[0\]\.name: expected an alert name/);
    assert.match(problems('metrics:\n  rules:\n    - { name: a, expr: "  " }\n'), /metrics\.rules\[0\]\.expr: expected a PromQL expression/);
    assert.match(problems('metrics:\n  rules:\n    - { name: a, expr: "up == 0", labels: { severity: { level: 1 } } }\n'), /metrics\.rules\[0\]\.labels\.severity: expected a text, got a mapping/);
    assert.match(problems('metrics:\n  rules:\n    - { name: a, expr: "up == 0", labels: { bad-name: x } }\n'), /expected label names of letters, digits and _ .*"bad-name"/);
    assert.match(problems('metrics:\n  rules:\n    - { name: a, expr: "up == 0", labels: { __name__: x } }\n'), /expected label names .*"__name__"/);
    assert.match(problems('metrics:\n  rules:\n    - { name: a, expr: "up == 0", annotations: [summary] }\n'), /metrics\.rules\[0\]\.annotations: expected a mapping of annotation names to texts/);
    assert.match(problems('metrics:\n  rules:\n    - { name: a, expr: "up == 0", for: soon }\n'), /metrics\.rules\[0\]\.for: expected a duration/);
    assert.match(problems('metrics:\n  rules:\n    - { name: a, exp: "up == 0" }\n'), /metrics\.rules\[0\]\.exp: unknown key, did you mean `expr`\?/);
  });
});

describe('metrics endpoint', () => {
  const state = { depth: 3, adapters: [{ platform: 'telegram', connected: true }, { platform: 'slack', connected: false }] };
  const metrics = newMetrics();
  drive(metrics, state);
  const gateways: HttpGateway[] = [];

  async function serve(apiKey: string | undefined, token: string | undefined): Promise<string> {
    const http = new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth: new ApiKeyAuth(apiKey), limiter: undefined, log: await quietLog() });
    registerMetrics(http, metrics, { endpoint: '/metrics', token });
    gateways.push(http);
    const { port } = await http.listen();
    return `http://127.0.0.1:${port}/metrics`;
  }

  let open: string;
  before(async () => {
    open = await serve(undefined, undefined);
  });
  after(async () => {
    for (const g of gateways) {
      g.destroyAll();
      await g.close();
    }
  });

  it('a live scrape passes promtool check metrics', { skip: noPromtool }, async () => {
    const res = await fetch(open);
    assert.equal(res.status, 200);
    const r = await promtool(['check', 'metrics'], await res.text());
    assert.equal(r.code, 0, `promtool check metrics (exit 3 = lint problems):\n${r.out}`);
  });

  it('serves every metric with HELP, in the Prometheus text format', async () => {
    const res = await fetch(open);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const help = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
    const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    assert.ok(types.length > 20, `only ${types.length} metrics`);
    for (const t of types) assert.ok(help.has(t), `${t} has no HELP`);
    for (const name of ['clawdbot_messages_total', 'clawdbot_errors_total', 'clawdbot_model_request_duration_seconds', 'clawdbot_model_tokens_total',
      'clawdbot_queue_depth', 'clawdbot_adapter_connected', 'clawdbot_memory_search_duration_seconds', 'clawdbot_commands_total',
      'clawdbot_policy_denials_total', 'process_resident_memory_bytes', 'process_cpu_seconds_total']) {
      assert.ok(types.includes(name), `${name} missing`);
    }
    // Gauges named *_total are what Prometheus' lint rejects; prom-client's are dropped.
    assert.deepEqual(types.filter((t) => t!.endsWith('_total') && !new RegExp(`^# TYPE ${t} counter$`, 'm').test(text)), []);
  });

  it('a request that fails unexpectedly (500) counts as an http error', async () => {
    const m = newMetrics();
    const http = new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth: new ApiKeyAuth(undefined), limiter: undefined, log: await quietLog() });
    http.reportErrorsTo(m);
    http.route('GET', '/boom', () => { throw new Error('bug'); }, { auth: false });
    registerMetrics(http, m, { endpoint: '/metrics', token: undefined });
    gateways.push(http);
    const { port } = await http.listen();
    assert.equal((await fetch(`http://127.0.0.1:${port}/boom`)).status, 500);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nowhere`)).status, 404, 'a client mistake is not an error of ours');
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.equal(sample(text, 'clawdbot_errors_total{component="http"}'), 1);
  });

  it('counts what the gateway reports, with labels from fixed sets', async () => {
    const text = await (await fetch(open)).text();
    const at = (s: string) => sample(text, s);
    assert.equal(at('clawdbot_messages_total{platform="telegram",direction="in"}'), 2);
    assert.equal(at('clawdbot_messages_total{platform="telegram",direction="out"}'), 1);
    assert.equal(at('clawdbot_messages_total{platform="other",direction="in"}'), 1, 'an unknown platform is "other"');
    assert.equal(at('clawdbot_messages_total{platform="slack",direction="in"}'), 0, 'known series start at 0');
    assert.equal(at('clawdbot_errors_total{component="model"}'), 1);
    assert.equal(at('clawdbot_errors_total{component="store"}'), 0);
    assert.equal(at('clawdbot_model_request_duration_seconds_count'), 2, 'a NaN duration is not observed');
    assert.equal(at('clawdbot_model_request_duration_seconds_bucket{le="1"}'), 1);
    assert.equal(at('clawdbot_model_request_duration_seconds_bucket{le="60"}'), 2);
    assert.equal(at('clawdbot_model_tokens_total{kind="prompt"}'), 120);
    assert.equal(at('clawdbot_model_tokens_total{kind="completion"}'), 20);
    assert.equal(at('clawdbot_commands_total{command="disk_usage",outcome="ok"}'), 1);
    assert.equal(at('clawdbot_commands_total{command="other",outcome="denied"}'), 1, 'a name outside the catalogue is "other"');
    assert.equal(at('clawdbot_policy_denials_total'), 1);
    assert.equal(at('clawdbot_memory_search_duration_seconds_bucket{le="0.005"}'), 1);
    assert.equal(at('clawdbot_queue_depth'), 3);
    assert.equal(at('clawdbot_adapter_connected{platform="telegram"}'), 1);
    assert.equal(at('clawdbot_adapter_connected{platform="slack"}'), 0);
    assert.ok(at('process_resident_memory_bytes')! > 1e6);
  });

  it('reads the collectors at every scrape', async () => {
    const m = newMetrics();
    const s = { depth: 7, adapters: [{ platform: 'slack', connected: true }] };
    drive(m, s);
    assert.equal(sample(await m.scrape(), 'clawdbot_queue_depth'), 7);
    s.depth = 0;
    s.adapters = [{ platform: 'telegram', connected: false }];
    const text = await m.scrape();
    assert.equal(sample(text, 'clawdbot_queue_depth'), 0);
    assert.equal(sample(text, 'clawdbot_adapter_connected{platform="telegram"}'), 0);
    assert.equal(sample(text, 'clawdbot_adapter_connected{platform="slack"}'), undefined, 'an adapter that is gone is not reported');
  });

  it('with a token, requires exactly that bearer token', async () => {
    const url = await serve('gateway-key', 'scrape-secret');
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer gateway-key' } })).status, 401, 'the API key is not the metrics token');
    const inUrl = await fetch(`${url}?token=scrape-secret`, { headers: { authorization: 'Bearer scrape-secret' } });
    assert.equal(inUrl.status, 401);
    assert.match((await inUrl.json() as { error: string }).error, /not accepted in the URL/);
    const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-secret' } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^# HELP clawdbot_messages_total /m);
  });

  it('without a token, takes the gateway\'s API key like other endpoints', async () => {
    const url = await serve('gateway-key', undefined);
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer gateway-key' } })).status, 200);
  });
});

describe('rule file', () => {
  it('the seed\'s rules become a Prometheus rule file that promtool accepts', { skip: noPromtool }, async () => {
    const text = renderRules(load(SEED).rules, 'clawdbot.yaml');
    assert.deepEqual(parseYamlText(text), {
      groups: [{
        name: 'clawdbot',
        rules: [{
          alert: 'high_error_rate',
          expr: 'rate(clawdbot_errors_total[5m]) > 0.1',
          labels: { severity: 'critical' },
          annotations: { summary: 'High error rate detected', description: 'Error rate exceeded threshold' },
        }],
      }],
    });
    const r = await checkRules(text);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS: 1 rules found/);
  });

  it('the default set passes promtool check rules', { skip: noPromtool }, async () => {
    const text = renderRules(DEFAULT_RULES, 'clawdbot.yaml');
    assert.match(text, /^ +for: 5m$/m);
    const r = await checkRules(text);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${DEFAULT_RULES.length} rules found`));
  });

  it('a broken expression fails the same check', { skip: noPromtool }, async () => {
    const r = await checkRules(renderRules(load('metrics:\n  rules:\n    - { name: broken, expr: "rate(clawdbot_errors_total[5m] >" }\n').rules, 'x'));
    assert.notEqual(r.code, 0, r.out);
  });

  it('writes durations as Prometheus does', () => {
    assert.equal(promDuration(300_000), '5m');
    assert.equal(promDuration(90 * 60_000), '1h30m');
    assert.equal(promDuration(86_400_000 + 1500), '1d1s500ms');
    assert.equal(promDuration(0), '0s');
  });

  it('`metrics rules --out` writes the default set for a config without metrics.rules', { skip: noPromtool }, async () => {
    const config = join(tmp, 'clawdbot.yaml');
    writeFileSync(config, 'system:\n  name: test\n');
    const out = join(tmp, 'clawdbot.rules.yml');
    assert.equal(await runMetricsRules({ config, out }), 0);
    const text = readFileSync(out, 'utf8');
    assert.match(text, /^# Prometheus alerting rules from clawdbot's default set/);
    assert.deepEqual((parseYamlText(text) as { groups: { rules: { alert: string }[] }[] }).groups[0]!.rules.map((r) => r.alert), DEFAULT_RULES.map((r) => r.name));
    const r = await promtool(['check', 'rules', out]);
    assert.equal(r.code, 0, r.out);
  });
});

describe('grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/clawdbot.json'), 'utf8'));
  type Target = { expr: string; datasource: { uid: string } };
  type Panel = { type: string; title: string; datasource?: { uid: string }; targets?: Target[] };
  const panels = (dashboard.panels as Panel[]).filter((p) => p.type !== 'row');
  const exprs = [
    ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...(dashboard.templating.list as { definition: string }[]).map((v) => v.definition),
  ];
  const queried = new Set(exprs.flatMap((e) => e.match(/\b(?:clawdbot|process|nodejs)_[a-z0-9_]+/g) ?? []));

  it('is an importable dashboard with a Prometheus data source input', () => {
    assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
    assert.deepEqual(dashboard.__inputs.map((i: { name: string; pluginId: string }) => [i.name, i.pluginId]), [['DS_PROMETHEUS', 'prometheus']]);
    assert.ok(panels.length >= 10);
    for (const p of panels) {
      assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', p.title);
      assert.ok(p.targets?.length, `${p.title} has no query`);
      for (const t of p.targets) assert.equal(t.datasource.uid, '${DS_PROMETHEUS}', p.title);
    }
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  });

  it('queries only metrics that exist, and every clawdbot metric', async () => {
    const m = newMetrics();
    const names = seriesNames(await m.scrape());
    for (const q of queried) assert.ok(names.has(q), `the dashboard queries ${q}, which the registry does not have`);
    for (const n of names) {
      if (n.startsWith('clawdbot_') && !/_(bucket|sum|count)$/.test(n)) {
        assert.ok([...queried].some((q) => q === n || q.startsWith(`${n}_`)), `no panel shows ${n}`);
      }
    }
  });

  it('every query is valid PromQL', { skip: noPromtool }, async () => {
    // As recording rules, promtool parses each expression; Grafana's variables get values first.
    const rules = panels.flatMap((p) => (p.targets ?? []).map((t, i) => ({
      record: `dashboard:${p.title.toLowerCase().replace(/[^a-z0-9]+/g, '_')}:${i}`,
      expr: t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*'),
    })));
    const r = await checkRules(stringify({ groups: [{ name: 'dashboard', rules }] }));
    assert.equal(r.code, 0, r.out);
  });
});

describe('start-up cost', () => {
  // serve imports config and route modules always; prom-client (~30 files) only when metrics are enabled.
  const promClientFiles = (modules: string[]) => new Promise<number>((resolve, reject) => {
    const script = `${modules.map((m) => `await import(${JSON.stringify(join(ROOT, m))});`).join('\n')}
const { createRequire } = await import('node:module');
console.log(Object.keys(createRequire(process.cwd() + '/').cache).filter((k) => k.includes('/node_modules/prom-client/')).length);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(Number(out.trim())));
  });

  it('the config section, the route and the rules command do not load prom-client; Metrics does', async () => {
    assert.equal(await promClientFiles(['src/core/config/metrics.ts', 'src/core/http/metrics-route.ts', 'src/cli/metrics.ts']), 0);
    assert.ok(await promClientFiles(['src/core/metrics.ts']) > 0);
  });
});
