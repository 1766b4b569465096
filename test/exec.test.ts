// `clawdbot exec` end to end: the real CLI process against the fake model servers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { startFakeOpenAI } from './fakes/openai.ts';
import { closedPort, runCli, scratch } from './helpers/cli.ts';

describe('exec', () => {
  const s = scratch();
  let ollama: Awaited<ReturnType<typeof startFakeOllama>>;
  let openai: Awaited<ReturnType<typeof startFakeOpenAI>>;
  before(async () => {
    ollama = await startFakeOllama({ models: ['llama3.2:latest'] });
    openai = await startFakeOpenAI({ models: ['qwen2.5'], apiKey: 'sk-test' });
  });
  after(async () => {
    await ollama.close();
    await openai.close();
    s.cleanup();
  });
  const ollamaConfig = () => s.write('ollama.yaml', `models:\n  default:\n    provider: ollama\n    endpoint: ${ollama.url}\n    model: llama3.2\n`);

  it('answers ping through Ollama, streaming to stdout, with a small prompt', async () => {
    const r = await runCli(['--config', ollamaConfig(), 'exec', 'ping'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'pong\n');
    const chat = ollama.requests.filter((q) => q.path === '/api/chat').at(-1);
    assert.ok(chat, 'the model was called');
    const size = JSON.stringify(chat.body.messages).length;
    assert.ok(size < 600, `a trivial turn sends a few hundred bytes, sent ${size}`);
    assert.equal(chat.body.model, 'llama3.2');
    // The seed's defaults reach the wire as Ollama's options: max_tokens 1024, temperature 0.7.
    assert.deepEqual(chat.body.options, { num_predict: 1024, temperature: 0.7 });
  });

  it('--json prints a structured result', async () => {
    const r = await runCli(['--config', ollamaConfig(), 'exec', '--json', '--chat', 'j1', 'ping'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.reply, 'pong');
    assert.equal(out.status, 'ok');
    assert.equal(out.action, 'process_with_llm');
    assert.equal(typeof out.duration_ms, 'number');
  });

  it('reads the message from stdin with "-" and keeps history across invocations of one chat', async () => {
    const cfg = ollamaConfig();
    const first = await runCli(['--config', cfg, 'exec', '--chat', 'h1', '-'], { env: s.env, cwd: s.dir, input: 'my name is Ada\n' });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'echo: my name is Ada\n');
    const second = await runCli(['--config', cfg, 'exec', '--chat', 'h1', 'what is my name?'], { env: s.env, cwd: s.dir });
    assert.equal(second.code, 0, second.stderr);
    const sent = ollama.requests.filter((q) => q.path === '/api/chat').at(-1)!.body.messages as { role: string; content: string }[];
    assert.deepEqual(sent.slice(-3).map((m) => m.content), ['my name is Ada', 'echo: my name is Ada', 'what is my name?']);
  });

  it('without --chat each user has their own conversation: --user bob does not see your history', async () => {
    const cfg = ollamaConfig();
    const mine = await runCli(['--config', cfg, 'exec', '--user', 'alice', 'my pin is 4711'], { env: s.env, cwd: s.dir });
    assert.equal(mine.code, 0, mine.stderr);
    const again = await runCli(['--config', cfg, 'exec', '--user', 'alice', 'and my name?'], { env: s.env, cwd: s.dir });
    assert.equal(again.code, 0, again.stderr);
    const last = () => (ollama.requests.filter((q) => q.path === '/api/chat').at(-1)!.body.messages as { content: string }[]).map((m) => m.content);
    assert.ok(last().includes('my pin is 4711'), 'one user keeps their history across invocations');
    const bob = await runCli(['--config', cfg, 'exec', '--user', 'bob', 'what is the pin?'], { env: s.env, cwd: s.dir });
    assert.equal(bob.code, 0, bob.stderr);
    assert.ok(!last().some((c) => c.includes('4711')), `bob saw alice's history: ${JSON.stringify(last())}`);
  });

  it('talks to an OpenAI-compatible endpoint (the seed layout: .../v1, auto provider)', async () => {
    const cfg = s.write('openai.yaml', `models:\n  default:\n    endpoint: "${openai.baseUrl}"\n    api_key: \${MODEL_KEY}\n    max_tokens: 2048\n    temperature: 0.2\n`);
    const r = await runCli(['--config', cfg, 'exec', 'ping'], { env: { ...s.env, MODEL_KEY: 'sk-test' }, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'pong\n');
    const call = openai.requests.filter((q) => q.path === '/v1/chat/completions').at(-1)!;
    assert.equal(call.body.model, 'qwen2.5', 'no model configured: the first listed is used');
    assert.equal(call.body.max_tokens, 2048);
    assert.equal(call.body.temperature, 0.2);
    assert.equal(call.headers.authorization, 'Bearer sk-test');
  });

  it('a reply route answers without the model', async () => {
    const cfg = s.write('routes.yaml', `routes:\n  - match: { platform: cli, content: /start }\n    action: send_welcome_message\n  - default: { action: process_with_llm }\nmodels:\n  default: { endpoint: "http://127.0.0.1:9" }\n`);
    const r = await runCli(['--config', cfg, 'exec', '/start'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /clawdbot/);
  });

  it('model down: a short reply, a precise error, exit 1', async () => {
    const port = await closedPort();
    const cfg = s.write('down.yaml', `models:\n  default: { provider: ollama, endpoint: "http://127.0.0.1:${port}", model: x }\n`);
    const r = await runCli(['--config', cfg, 'exec', 'ping'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not reachable/);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
    // An expected outage is one line, not a stack trace through undici.
    assert.doesNotMatch(r.stderr, /\bat \S+ \(|"stack"/);
  });

  it('model missing: says so, exit 1', async () => {
    const cfg = s.write('missing.yaml', `models:\n  default: { provider: ollama, endpoint: "${ollama.url}", model: nosuch }\n`);
    const r = await runCli(['--config', cfg, 'exec', 'ping'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not available/);
    assert.match(r.stderr, /nosuch.*not found/);
  });

  it('malformed YAML and unknown keys are usage errors (exit 2) naming file:line:col', async () => {
    const bad = s.write('bad.yaml', 'system:\n  name: [unclosed\n');
    const r1 = await runCli(['--config', bad, 'exec', 'ping'], { env: s.env, cwd: s.dir });
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /bad\.yaml:\d+:\d+/);
    const unknown = s.write('unknown.yaml', 'system:\n  nmae: x\n');
    const r2 = await runCli(['--config', unknown, 'exec', 'ping'], { env: s.env, cwd: s.dir });
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /unknown\.yaml:2:3/);
    assert.match(r2.stderr, /did you mean .?name/);
  });

  it('a database written with a data key, opened without it or with another: a config error (exit 2), no "error:" prefix', async () => {
    const dir = 'enc-data';
    const key1 = s.write('enc1.yaml', `system: { data_dir: ${dir} }\nsecurity: { encryption_key: "${Buffer.alloc(32, 1).toString('base64')}" }\nroutes: [ { default: { action: hi } } ]\nactions: { hi: { type: reply, text: hi } }\n`);
    assert.equal((await runCli(['--config', key1, 'exec', 'hello'], { env: s.env, cwd: s.dir })).code, 0);
    const none = s.write('enc0.yaml', `system: { data_dir: ${dir} }\nroutes: [ { default: { action: hi } } ]\nactions: { hi: { type: reply, text: hi } }\n`);
    const r1 = await runCli(['--config', none, 'exec', 'hello'], { env: s.env, cwd: s.dir });
    assert.equal(r1.code, 2, r1.stderr);
    assert.match(r1.stderr, /^\S+clawdbot\.db is encrypted \(key \w+\) but no key is configured/);
    const key2 = s.write('enc2.yaml', `system: { data_dir: ${dir} }\nsecurity: { encryption_key: "${Buffer.alloc(32, 2).toString('base64')}" }\n`);
    const r2 = await runCli(['--config', key2, 'exec', 'hello'], { env: s.env, cwd: s.dir });
    assert.equal(r2.code, 2, r2.stderr);
    assert.match(r2.stderr, /^\S+clawdbot\.db is encrypted with key \w+, but the configured key is \w+/);
  });

  it('usage errors exit 2', async () => {
    const r = await runCli(['exec'], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 2);
    const r2 = await runCli(['nosuchcommand'], { env: s.env, cwd: s.dir });
    assert.equal(r2.code, 2);
  });
});
