// Both model clients against the protocol fakes: streaming, errors by kind, provider detection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../src/core/errors.ts';
import { connectModel, detectProvider } from '../src/core/models/connect.ts';
import { OllamaClient } from '../src/core/models/ollama.ts';
import { OpenAIClient } from '../src/core/models/openai.ts';
import { sseData } from '../src/core/models/sse.ts';
import type { ModelClient } from '../src/core/models/types.ts';
import { startFakeOllama } from './fakes/ollama.ts';
import { startFakeOpenAI } from './fakes/openai.ts';
import { closedPort } from './helpers/cli.ts';

const ask = async (client: ModelClient, text = 'hello there friend') => {
  const deltas: string[] = [];
  const r = await client.chat({ messages: [{ role: 'user', content: text }], maxTokens: 64, temperature: 0, onDelta: (d) => deltas.push(d) });
  return { ...r, deltas };
};
const kindOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    assert.ok(err instanceof ModelError, `expected ModelError, got ${String(err)}`);
    return err.kind;
  }
};

describe('model clients', () => {
  let ollama: Awaited<ReturnType<typeof startFakeOllama>>;
  let openai: Awaited<ReturnType<typeof startFakeOpenAI>>;
  before(async () => {
    ollama = await startFakeOllama({ models: ['llama3.2:latest', 'qwen2.5:7b'] });
    openai = await startFakeOpenAI({ models: ['local-model'] });
  });
  after(async () => {
    await ollama.close();
    await openai.close();
  });
  const ol = (model = 'llama3.2', timeoutMs = 5000) => new OllamaClient({ endpoint: ollama.url, model, timeoutMs });
  const oa = (model = 'local-model', timeoutMs = 5000) => new OpenAIClient({ endpoint: openai.baseUrl, model, apiKey: undefined, timeoutMs });

  for (const [name, make] of [['ollama', () => ol()], ['openai', () => oa()]] as const) {
    it(`${name}: streams deltas that add up to the answer, with token counts`, async () => {
      const r = await ask(make());
      assert.equal(r.text, 'echo: hello there friend');
      assert.ok(r.deltas.length > 1);
      assert.equal(r.deltas.join(''), r.text);
      assert.ok((r.completionTokens ?? 0) > 0);
    });
  }

  it('sends max_tokens and temperature in each dialect', async () => {
    await ask(ol());
    const o = ollama.requests.filter((q) => q.path === '/api/chat').at(-1)!.body;
    assert.deepEqual(o.options, { num_predict: 64, temperature: 0 });
    await ask(oa());
    const a = openai.requests.filter((q) => q.path === '/v1/chat/completions').at(-1)!.body;
    assert.equal(a.max_tokens, 64);
    assert.equal(a.stream, true);
  });

  it('lists models; an empty model name means the first one', async () => {
    assert.deepEqual(await ol().listModels(), ['llama3.2:latest', 'qwen2.5:7b']);
    assert.equal((await ask(ol(''))).model, 'llama3.2:latest');
    assert.equal((await ask(oa(''))).model, 'local-model');
  });

  it('errors have kinds: missing model, endpoint down, HTTP 500, truncated stream, timeout', async () => {
    assert.equal(await kindOf(ask(ol('nosuch'))), 'not_found');
    assert.equal(await kindOf(ask(oa('nosuch'))), 'not_found');
    assert.equal(await kindOf(ask(new OllamaClient({ endpoint: `http://127.0.0.1:${await closedPort()}`, model: 'x', timeoutMs: 2000 }))), 'unreachable');
    assert.equal(await kindOf(ask(new OpenAIClient({ endpoint: `http://127.0.0.1:${await closedPort()}/v1`, model: 'x', apiKey: undefined, timeoutMs: 2000 }))), 'unreachable');
    for (const fake of [ollama, openai]) {
      fake.options.failure = 'http500';
      assert.equal(await kindOf(ask(fake === ollama ? ol() : oa())), 'http');
      fake.options.failure = 'truncated-stream';
      assert.equal(await kindOf(ask(fake === ollama ? ol() : oa())), 'bad_response');
      fake.options.failure = 'hang';
      assert.equal(await kindOf(ask(fake === ollama ? ol('llama3.2', 300) : oa('local-model', 300))), 'timeout');
      fake.options.failure = 'none';
    }
  });

  it('auto picks the provider from the endpoint', async () => {
    assert.equal(await detectProvider(ollama.url), 'ollama');
    assert.equal(await detectProvider(openai.baseUrl), 'openai');
    assert.equal(await detectProvider(openai.url), 'openai', 'no /v1 but not Ollama either');
    const c = await connectModel({ provider: 'auto', endpoint: openai.url, model: '', apiKey: undefined, maxTokens: 10, temperature: 0, timeoutMs: 5000 });
    assert.equal(c.endpoint, `${openai.url}/v1`);
    assert.equal((await ask(c, 'ping')).text, 'pong');
    await assert.rejects(detectProvider(`http://127.0.0.1:${await closedPort()}`), { name: 'ModelError', kind: 'unreachable' });
  });

  it('SSE reader joins multi-line data and skips comments', async () => {
    async function* body() {
      yield Buffer.from(': comment\ndata: a\nda');
      yield Buffer.from('ta: b\n\ndata:c\r\n\r\n');
    }
    const out: string[] = [];
    for await (const d of sseData(body())) out.push(d);
    assert.deepEqual(out, ['a\nb', 'c']);
  });
});
