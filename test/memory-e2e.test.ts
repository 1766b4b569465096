// Context memory through the whole pipeline (exec, the fake Ollama for chat and embeddings): a fact told
// in turn 1 is in what turn 5 sends to the model, in another chat of the same person; another person's
// turn never sees it; after `memory forget` it is gone from the database files and the audit file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { runCli, scratch } from './helpers/cli.ts';

const FACT = 'Zanzibarite-4711';

describe('memory across turns (exec)', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  let cfg: string;
  before(async () => {
    model = await startFakeOllama({ models: ['llama3.2:latest', 'nomic-embed-text:latest'] });
    cfg = s.write('clawdbot.yaml', [
      'system: { data_dir: ./data }',
      'models:',
      `  default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 }`,
      `  embedding: { provider: ollama, endpoint: "${model.url}", model: nomic-embed-text }`,
      'memory: { enabled: true, scope: user, top_k: 3, budget_tokens: 300 }',
      'audit: { file: ./audit.jsonl, max_size: 64KB, keep: 5 }',
      '',
    ].join('\n'));
  });
  after(async () => {
    await model.close();
    s.cleanup();
  });
  const exec = (user: string, chat: string, text: string) => runCli(['exec', '--config', cfg, '--user', user, '--chat', chat, text], { env: s.env, cwd: s.dir });
  const lastChat = () => JSON.stringify(model.requests.filter((r) => r.path === '/api/chat').at(-1)!.body);

  it('turn 1 told, turn 5 recalls it (another chat, same person); another person does not see it; forget erases it', async () => {
    assert.equal((await exec('ann', 'phone', `Please remember: my locker code is ${FACT}.`)).code, 0);
    for (const q of ['How is the weather?', 'Tell me a joke.', 'What is 2+2?']) assert.equal((await exec('ann', 'phone', q)).code, 0);
    assert.equal((await exec('ann', 'laptop', 'What is my locker code?')).code, 0);
    assert.ok(lastChat().includes(FACT), `turn 5 carries the fact: ${lastChat().slice(0, 400)}`);

    assert.equal((await exec('bob', 'laptop', 'What is my locker code?')).code, 0);
    assert.ok(!lastChat().includes(FACT), 'another person never gets it');

    const search = await runCli(['memory', 'search', 'locker code', '--user', 'ann', '--config', cfg], { env: s.env, cwd: s.dir });
    assert.equal(search.code, 0, search.stderr);
    assert.match(search.stdout, new RegExp(FACT));

    const audit = () => readFileSync(join(s.dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { user_id: string; input: string; output: string });
    const bobs = audit().filter((l) => l.user_id === 'bob');
    assert.ok(audit().some((l) => l.user_id === 'ann' && l.input.includes(FACT)), 'the audit file holds her words');

    const forget = await runCli(['memory', 'forget', '--user', 'ann', '--platform', 'cli', '--config', cfg], { env: s.env, cwd: s.dir });
    assert.equal(forget.code, 0, forget.stderr);
    assert.match(forget.stdout, /and 5 audit records \(5 in the audit file\)/, "five turns of hers, one model call each");
    const bytes = Buffer.concat(readdirSync(join(s.dir, 'data')).map((f) => readFileSync(join(s.dir, 'data', f))));
    assert.equal(bytes.includes(FACT), false, 'gone from the database file and its WAL');
    assert.equal(bytes.includes(FACT.toLowerCase()), false, 'and from the full-text index');
    assert.equal(readFileSync(join(s.dir, 'audit.jsonl'), 'utf8').includes(FACT), false, 'and from the audit file');
    assert.ok(audit().filter((l) => l.user_id === 'ann').every((l) => /^\[erased sha256:[0-9a-f]{64}\]$/.test(l.input)));
    assert.deepEqual(audit().filter((l) => l.user_id === 'bob'), bobs, "another person's records are as they were");
    const verify = await runCli(['audit', 'verify', '--config', cfg], { env: s.env, cwd: s.dir });
    assert.equal(verify.code, 0, `the chain still verifies, database and file: ${verify.stdout}${verify.stderr}`);
  });
});
