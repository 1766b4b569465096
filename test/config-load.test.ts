// Loading real files: the seed's config and routing.yaml as written, the search order, ${VAR}
// expansion, the environment overrides, defaults and the example file.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig, findConfigFile, loadConfig, type LoadOptions } from '../src/core/config/load.ts';
import { ConfigError } from '../src/core/errors.ts';

const FIXTURES = new URL('./fixtures/config/', import.meta.url).pathname;
const EXAMPLE = new URL('../clawdbot.example.yaml', import.meta.url).pathname;

const root = mkdtempSync(join(tmpdir(), 'clawdbot-config-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh folder with its own home; `write` creates files in it (folders as needed). */
function sandbox() {
  const dir = join(root, `s${n++}`);
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = { HOME: home };
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  };
  const opts = (o: LoadOptions = {}): LoadOptions => ({ cwd: dir, env, home, systemFile: join(dir, 'etc', 'config.yaml'), ...o });
  return { dir, home, env, write, opts };
}

describe('the seed configuration', () => {
  it('loads section 2.3 as written, typographic quotes included', () => {
    const c = loadConfig({ file: join(FIXTURES, 'seed-config.yaml'), env: {}, home: root });
    assert.equal(c.system.name, 'MyAIAssistant');
    assert.equal(c.system.timezone, 'Asia/Shanghai');
    assert.equal(c.system.maxConcurrency, 5);
    assert.equal(c.security.apiKey, 'your-secure-key');
    assert.deepEqual(c.security.rateLimits.key, { limit: 100, windowMs: 60_000, text: '100/min' });
    assert.equal(c.models.default.endpoint, 'http://localhost:8000/v1');
    assert.equal(c.models.default.apiKey, 'your-model-key');
    assert.equal(c.models.default.maxTokens, 2048);
    assert.equal(c.models.default.temperature, 0.7);
    assert.equal(c.models.default.provider, 'auto');
    assert.equal(c.models.default.model, '', 'an OpenAI-style endpoint: the first model it lists');
    const quoteWarnings = c.warnings.filter((w) => w.includes('typographic quotes'));
    assert.equal(quoteWarnings.length, 3);
    assert.match(quoteWarnings[0]!, /seed-config\.yaml:4:9: system\.name: /);
  });

  it('loads routing.yaml (section 3.2) through routes_file, platform lists normalised', () => {
    const c = loadConfig({ file: join(FIXTURES, 'with-routes-file.yaml'), env: {}, home: root, cwd: FIXTURES });
    assert.equal(c.routes.length, 3);
    const [welcome, help, fallback] = c.routes;
    assert.deepEqual(welcome, { index: 0, match: { platform: ['whatsapp', 'telegram'], content: '/start' }, action: 'send_welcome_message', source: 'seed-routing.yaml:2:5' });
    assert.deepEqual(help, { index: 1, match: { platform: ['slack'], content: '!help' }, action: 'trigger_help_workflow', source: 'seed-routing.yaml:6:5' });
    assert.deepEqual(fallback, { index: 2, match: null, action: 'process_with_llm', source: 'seed-routing.yaml:10:5' });
    assert.equal(c.system.name, 'MyAIAssistant');
    // trigger_help_workflow is built in (it lists what the sender may use), so every rule's target exists.
    assert.ok(!c.warnings.some((w) => w.includes('unknown action')), c.warnings.join('\n'));
    assert.equal(c.actions.get('trigger_help_workflow')?.kind, 'help');
  });

  it("a routing.yaml beside the config that nothing names is not silently ignored: a warning says how to use it", () => {
    const s = sandbox();
    s.write('etc/routing.yaml', 'routes:\n  - match:\n      platform: "slack"\n      content: "!help"\n    action: trigger_help_workflow\n');
    const c = loadConfig(s.opts({ file: s.write('etc/config.yaml', 'system:\n  name: x\n') }));
    assert.equal(c.routes.length, 1, 'not read: routes_file says which file holds the rules');
    const w = c.warnings.filter((x) => x.includes('routing.yaml'));
    assert.equal(w.length, 1, c.warnings.join('\n'));
    assert.match(w[0]!, /routing\.yaml .*not used.*routes_file: routing\.yaml/);
    // Named (or rules written inline), there is nothing to warn about.
    const named = loadConfig(s.opts({ file: s.write('etc/config.yaml', 'system:\n  name: x\nroutes_file: routing.yaml\n') }));
    assert.equal(named.routes.length, 1);
    assert.ok(!named.warnings.some((x) => x.includes('not used')), named.warnings.join('\n'));
    const inline = loadConfig(s.opts({ file: s.write('etc/config.yaml', 'routes:\n  - default: { action: process_with_llm }\n') }));
    assert.ok(!inline.warnings.some((x) => x.includes('not used')), inline.warnings.join('\n'));
  });

  it('the same rules inline under routes: load too', () => {
    const s = sandbox();
    const routing = `routes:\n  - match:\n      platform: ["whatsapp", "telegram"]\n      content: "/start"\n    action: send_welcome_message\n  - default:\n      action: process_with_llm\n`;
    const c = loadConfig(s.opts({ file: s.write('c.yaml', `system:\n  name: x\n${routing}`) }));
    assert.deepEqual(c.routes.map((r) => [r.action, r.source]), [['send_welcome_message', 'c.yaml:4:5'], ['process_with_llm', 'c.yaml:8:5']]);
    assert.deepEqual(c.routes[0]!.match?.platform, ['whatsapp', 'telegram']);
  });

  it('without routes every message goes to process_with_llm; built-in actions always exist', () => {
    const s = sandbox();
    const c = loadConfig(s.opts({ file: s.write('c.yaml', 'system: { name: x }\n') }));
    assert.deepEqual(c.routes.map((r) => [r.match, r.action]), [[null, 'process_with_llm']]);
    assert.equal(c.actions.get('send_welcome_message')?.kind, 'reply');
    const llm = c.actions.get('process_with_llm');
    assert.ok(llm?.kind === 'llm');
    assert.ok(llm.system.length <= 200, `the built-in system prompt stays small (${llm.system.length} chars)`);
    assert.deepEqual([llm.maxTokens, llm.temperature, llm.historyTurns], [1024, 0.7, 20]);
    assert.deepEqual(c.warnings, []);
  });

  it('actions: adds new ones and overrides built-ins; llm settings default to models/sessions', () => {
    const s = sandbox();
    const c = loadConfig(s.opts({
      file: s.write('c.yaml', [
        'models: { default: { max_tokens: 300, temperature: 0.2 } }',
        'sessions: { max_history: 6 }',
        'actions:',
        '  send_welcome_message: { type: reply, text: "Hey {{user.name}}" }',
        '  short: { type: llm, system: "Answer in one line. {{ date }}", history: 0 }',
        '',
      ].join('\n')),
    }));
    assert.deepEqual(c.actions.get('send_welcome_message'), { kind: 'reply', name: 'send_welcome_message', role: ['User'], template: 'Hey {{user.name}}' });
    assert.deepEqual(c.actions.get('short'), {
      kind: 'llm', name: 'short', role: ['User'], system: 'Answer in one line. {{ date }}', maxTokens: 300, temperature: 0.2, historyTurns: 0, tools: [], maxToolRounds: 4,
    });
    const builtin = c.actions.get('process_with_llm');
    assert.ok(builtin?.kind === 'llm' && builtin.maxTokens === 300 && builtin.historyTurns === 6);
  });
});

describe('search order', () => {
  it('--config, then $CLAWDBOT_CONFIG, ./clawdbot.yaml, ~/.config/clawdbot/config.yaml, /etc/clawdbot/config.yaml', () => {
    const s = sandbox();
    const etc = s.write('etc/config.yaml', 'system: { name: etc }\n');
    const user = s.write('home/.config/clawdbot/config.yaml', 'system: { name: user }\n');
    const local = s.write('clawdbot.yaml', 'system: { name: local }\n');
    const fromEnv = s.write('env.yaml', 'system: { name: env }\n');
    const flag = s.write('flag.yaml', 'system: { name: flag }\n');
    const env = { ...s.env, CLAWDBOT_CONFIG: fromEnv };
    assert.equal(findConfigFile(s.opts({ env, file: 'flag.yaml' })), flag, '--config is relative to the working folder');
    assert.equal(findConfigFile(s.opts({ env })), fromEnv);
    assert.equal(findConfigFile(s.opts()), local);
    rmSync(local);
    assert.equal(findConfigFile(s.opts()), user);
    assert.equal(loadConfig(s.opts()).system.name, 'user');
    rmSync(user);
    assert.equal(findConfigFile(s.opts()), etc);
    rmSync(etc);
    assert.equal(findConfigFile(s.opts()), null);
  });

  it('honours XDG_CONFIG_HOME', () => {
    const s = sandbox();
    s.write('home/.config/clawdbot/config.yaml', 'system: { name: dot-config }\n');
    const xdg = s.write('xdg/clawdbot/config.yaml', 'system: { name: xdg }\n');
    assert.equal(findConfigFile(s.opts({ env: { ...s.env, XDG_CONFIG_HOME: join(s.dir, 'xdg') } })), xdg);
  });

  it('an explicit file that does not exist is an error, not a fallback', () => {
    const s = sandbox();
    s.write('clawdbot.yaml', 'system: { name: local }\n');
    assert.throws(() => loadConfig(s.opts({ file: 'nope.yaml' })), (e: unknown) => e instanceof ConfigError && /nope\.yaml.*--config.*does not exist/.test(e.message));
    assert.throws(() => loadConfig(s.opts({ env: { ...s.env, CLAWDBOT_CONFIG: join(s.dir, 'gone.yaml') } })), /gone\.yaml \(from \$CLAWDBOT_CONFIG\) does not exist/);
  });

  it('no file anywhere: built-in defaults', () => {
    const s = sandbox();
    const c = loadConfig(s.opts());
    assert.equal(c.file, null);
    assert.deepEqual(c, defaultConfig(s.env, s.home));
  });
});

describe('defaults', () => {
  it('match the documented values', () => {
    const c = defaultConfig({ HOME: '/h' }, '/h');
    assert.equal(c.file, null);
    assert.equal(c.system.name, 'clawdbot');
    // Found like the C library does ($TZ, /etc/localtime), so it may be an alias of Intl's name (Etc/UTC).
    const canonical = (tz: string) => new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
    assert.equal(canonical(c.system.timezone), canonical(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'));
    assert.equal(defaultConfig({ HOME: '/h', TZ: 'Asia/Shanghai' }, '/h').system.timezone, 'Asia/Shanghai');
    assert.equal(c.system.maxConcurrency, 4);
    assert.equal(c.system.dataDir, '/h/.local/share/clawdbot');
    assert.equal(c.system.logLevel, 'info');
    assert.equal(c.security.apiKey, undefined);
    assert.equal(c.security.rateLimits.key, undefined);
    assert.equal(c.security.roles.roleOf('cli', 'anyone'), 'User');
    assert.deepEqual(c.security.approvals, { ttlMs: 30 * 60_000, notify: [] });
    assert.equal(c.commands.size, 0);
    assert.equal(c.workflows.size, 0);
    assert.deepEqual(c.schedules, []);
    assert.deepEqual(c.models.default, { provider: 'auto', endpoint: 'http://127.0.0.1:11434', model: 'llama3.2', apiKey: undefined, maxTokens: 1024, temperature: 0.7, timeoutMs: 120_000 });
    assert.deepEqual(c.adapters.websocket, { enabled: true, listen: { host: '127.0.0.1', port: 8080 }, path: '/ws' });
    assert.deepEqual(c.sessions, { ttlMs: 3_600_000, maxHistory: 20 });
    assert.deepEqual([...c.actions.keys()], ['send_welcome_message', 'process_with_llm', 'trigger_help_workflow', 'image_analysis_workflow', 'document_extraction_workflow']);
    assert.equal(defaultConfig({ XDG_DATA_HOME: '/xdg' }, '/h').system.dataDir, '/xdg/clawdbot');
  });

  it('embeddings come from the chat model\'s server unless models.embedding names another', () => {
    const s = sandbox();
    const ollama = loadConfig(s.opts({ file: s.write('e1.yaml', 'models: { default: { endpoint: "http://gpu-box:11434" } }\n') }));
    assert.deepEqual([ollama.models.embedding.provider, ollama.models.embedding.endpoint], ['ollama', 'http://gpu-box:11434']);
    const openai = loadConfig(s.opts({ file: s.write('e2.yaml', 'models: { default: { provider: openai, endpoint: "http://proxy:8000/v1" } }\n') }));
    assert.deepEqual([openai.models.embedding.provider, openai.models.embedding.endpoint], ['openai', 'http://proxy:8000/v1']);
    const own = loadConfig(s.opts({ file: s.write('e3.yaml', 'models: { default: { endpoint: "http://a:11434" }, embedding: { endpoint: "http://b:11434" } }\n') }));
    assert.equal(own.models.embedding.endpoint, 'http://b:11434');
  });

  it('data_dir: relative to the config file, ~ is home', () => {
    const s = sandbox();
    const file = s.write('conf/c.yaml', 'system: { data_dir: ./state }\n');
    assert.equal(loadConfig(s.opts({ file })).system.dataDir, join(s.dir, 'conf', 'state'));
    const tilde = s.write('conf/t.yaml', 'system: { data_dir: ~/bot }\n');
    assert.equal(loadConfig(s.opts({ file: tilde })).system.dataDir, join(s.home, 'bot'));
  });

  it('model: llama3.2 for Ollama, empty (first listed) for OpenAI-style endpoints, as written otherwise', () => {
    const s = sandbox();
    const model = (yaml: string, env: NodeJS.ProcessEnv = s.env) => loadConfig(s.opts({ env, file: s.write('m.yaml', yaml) })).models.default.model;
    assert.equal(model('models: { default: { provider: ollama, endpoint: "http://gpu:9000" } }\n'), 'llama3.2');
    assert.equal(model('models: { default: { endpoint: "http://gpu:8000/v1" } }\n'), '');
    assert.equal(model('models: { default: { provider: openai, endpoint: "http://127.0.0.1:11434/v1" } }\n'), '');
    assert.equal(model('models: { default: { model: qwen2.5:7b } }\n'), 'qwen2.5:7b');
    assert.equal(model('models: { default: { model: "" } }\n'), '', 'explicitly empty stays empty');
    assert.equal(model('system: { name: x }\n', { ...s.env, MODEL_ENDPOINT: 'http://model-service:8000' }), '', 'decided after MODEL_ENDPOINT');
  });
});

describe('${VAR} expansion', () => {
  it('expands set variables and defaults, tracks unset ones, keeps $${ literal', () => {
    const s = sandbox();
    const file = s.write('c.yaml', [
      'system:',
      '  name: "${BOT_NAME}"',
      '  data_dir: ${DATA:-/srv/bot}/data',
      'security:',
      '  api_key: ${GATEWAY_KEY}',
      'models:',
      '  default:',
      '    api_key: ${MODEL_KEY}',
      '    model: ${MODEL:-llama3.2}',
      '    max_tokens: ${MAX_TOKENS:-512}',
      'actions:',
      '  price: { type: reply, text: "costs $$${PRICE} (not ${EMPTY:-expanded}) $5" }',
      '',
    ].join('\n'));
    const c = loadConfig(s.opts({ file, env: { ...s.env, BOT_NAME: 'Ada', MODEL: '', GATEWAY_KEY: 'k-123' } }));
    assert.equal(c.system.name, 'Ada');
    assert.equal(c.system.dataDir, '/srv/bot/data');
    assert.equal(c.security.apiKey, 'k-123');
    assert.equal(c.models.default.apiKey, undefined, 'unset: empty, so no key');
    assert.equal(c.models.default.model, 'llama3.2', ':- applies to empty values too');
    assert.equal(c.models.default.maxTokens, 512, 'an unquoted expansion that is a number is a number');
    assert.deepEqual(c.unsetEnv, ['MODEL_KEY']);
    const price = c.actions.get('price');
    assert.ok(price?.kind === 'reply');
    assert.equal(price.template, 'costs $${PRICE} (not expanded) $5');
  });

  it('all-digit secrets stay text; values cannot inject YAML', () => {
    const s = sandbox();
    const file = s.write('c.yaml', 'security:\n  api_key: ${KEY}\nsystem:\n  name: ${NAME}\n');
    const c = loadConfig(s.opts({ file, env: { ...s.env, KEY: '0012345', NAME: 'x\nlog_level: debug' } }));
    assert.equal(c.security.apiKey, '0012345');
    assert.equal(c.system.name, 'x\nlog_level: debug');
    assert.equal(c.system.logLevel, 'info');
    const c2 = loadConfig(s.opts({ file, env: { ...s.env, KEY: '12345', NAME: 'y' } }));
    assert.equal(c2.security.apiKey, '12345');
  });
});

describe('environment overrides', () => {
  it('MODEL_ENDPOINT replaces models.default.endpoint (file or defaults)', () => {
    const s = sandbox();
    const env = { ...s.env, MODEL_ENDPOINT: 'http://model-service:8000' };
    const file = s.write('c.yaml', 'models: { default: { endpoint: "http://localhost:8000/v1" } }\n');
    assert.equal(loadConfig(s.opts({ file, env })).models.default.endpoint, 'http://model-service:8000');
    assert.equal(loadConfig(s.opts({ env })).models.default.endpoint, 'http://model-service:8000');
    assert.equal(loadConfig(s.opts({ file })).models.default.endpoint, 'http://localhost:8000/v1');
    assert.throws(() => loadConfig(s.opts({ file, env: { ...s.env, MODEL_ENDPOINT: 'model-service:8000' } })), /MODEL_ENDPOINT: expected an http\(s\) URL.*got "model-service:8000"/);
  });

  it('ADAPTER_TYPE enables the named adapters only, and rejects unknown ids', () => {
    const s = sandbox();
    const off = s.write('off.yaml', 'adapters: { websocket: { enabled: false } }\n');
    const on = s.write('on.yaml', 'adapters: { websocket: { enabled: true } }\n');
    assert.equal(loadConfig(s.opts({ file: off })).adapters.websocket.enabled, false);
    assert.equal(loadConfig(s.opts({ file: off, env: { ...s.env, ADAPTER_TYPE: 'websocket' } })).adapters.websocket.enabled, true);
    assert.equal(loadConfig(s.opts({ file: on, env: { ...s.env, ADAPTER_TYPE: ' WebSocket ' } })).adapters.websocket.enabled, true);
    assert.equal(loadConfig(s.opts({ file: on, env: { ...s.env, ADAPTER_TYPE: '' } })).adapters.websocket.enabled, true, 'empty: no override');
    const withSlack = s.write('with-slack.yaml', 'adapters: { websocket: { enabled: true }, slack: { bot_token: "${SLACK_BOT_TOKEN:-}", app_token: "${SLACK_APP_TOKEN:-}" } }\n');
    const both = loadConfig(s.opts({ file: withSlack, env: { ...s.env, ADAPTER_TYPE: 'websocket,slack', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' } }));
    assert.deepEqual([both.adapters.websocket.enabled, both.adapters.slack.enabled, both.adapters.telegram.enabled], [true, true, false]);
    assert.throws(
      () => loadConfig(s.opts({ file: on, env: { ...s.env, ADAPTER_TYPE: 'websocket,matrix' } })),
      (e: unknown) => e instanceof ConfigError && /ADAPTER_TYPE/.test(e.message) && /"matrix"/.test(e.message) && /\(websocket, telegram, slack\)/.test(e.message),
    );
  });
});

describe('clawdbot.example.yaml', () => {
  it('loads cleanly and shows the defaults it documents', () => {
    const c = loadConfig({ file: EXAMPLE, env: { HOME: '/h' }, home: '/h' });
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(c.unsetEnv, []);
    const d = defaultConfig({ HOME: '/h' }, '/h');
    assert.deepEqual([c.system, c.security, c.models, c.adapters, c.sessions], [d.system, d.security, d.models, d.adapters, d.sessions]);
    assert.ok(c.routes.some((r) => r.match === null && r.action === 'process_with_llm'));
    for (const r of c.routes) assert.ok(c.actions.has(r.action) || c.commands.has(r.action) || c.workflows.has(r.action), `${r.action} exists`);
    assert.deepEqual([...c.commands.keys()], ['disk_usage']);
    assert.deepEqual([...c.workflows.keys()], ['trigger_help_workflow']);
    assert.equal(c.security.roles.roleOf('cli', 'admin'), 'Admin');
  });

  it('documents every key of the schema with a comment', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(EXAMPLE, 'utf8');
    const keys = ['system', 'name', 'timezone', 'max_concurrency', 'data_dir', 'log_level', 'security', 'api_key', 'rate_limit', 'models', 'default', 'provider', 'endpoint', 'model', 'max_tokens', 'temperature', 'timeout', 'adapters', 'websocket', 'enabled', 'listen', 'path', 'sessions', 'ttl', 'max_history', 'routes', 'routes_file', 'actions', 'platform', 'content', 'content_prefix', 'content_regex', 'role', 'type', 'text', 'system', 'history',
      'telegram', 'token', 'mode', 'api_root', 'webhook_secret', 'webhook_url', 'allow_users', 'allow_chats', 'group_mode', 'max_file_size',
      'slack', 'bot_token', 'app_token', 'signing_secret', 'api_url', 'allow_channels', 'events_path', 'stream',
      'roles', 'Admin', 'Operator', 'Auditor', 'approvals', 'notify', 'tools', 'max_tool_rounds',
      'commands', 'description', 'runner', 'argv', 'params', 'pattern', 'timeout', 'output_cap', 'approve', 'cwd', 'env', 'env_allow',
      'host', 'port', 'user', 'private_key', 'known_hosts', 'host_key_fingerprint', 'method', 'url', 'headers', 'body', 'expect_status',
      'workflows', 'steps', 'on_error', 'schedules', 'cron', 'workflow', 'deliver', 'input', 'catch_up', 'max_catch_up',
      'metrics', 'token', 'rules', 'expr', 'for', 'labels', 'annotations',
      'tls', 'cert', 'key', 'ca', 'require_client_cert', 'min_version', 'rate_limits', 'chat', 'encryption_key', 'encryption_key_file', 'audit', 'file', 'max_size', 'keep', 'embedding', 'media_processors', 'image_analysis', 'allowed_types', 'handler', 'document_processing', 'memory', 'scope', 'top_k', 'budget_tokens', 'store', 'shared'];
    for (const k of keys) assert.match(text, new RegExp(`^\\s*(?:#\\s*|- )?${k}:`, 'm'), `${k}: is shown`);
    for (const word of ['MODEL_ENDPOINT', 'ADAPTER_TYPE', 'CLAWDBOT_CONFIG', '${VAR:-default}', '/etc/clawdbot/config.yaml']) assert.ok(text.includes(word), `${word} is mentioned`);
  });
});
