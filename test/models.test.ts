// Both model clients against the protocol fakes: streaming, errors by kind, provider detection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../src/core/errors.ts';
import { connectModel, detectProvider } from '../src/core/models/connect.ts';
import { OllamaClient } from '../src/core/models/ollama.ts';
import { OpenAIClient } from '../src/core/models/openai.ts';
import { sseData } from '../src/core/models/sse.ts';
import type { ChatMessage, ModelClient, ToolCall, ToolSpec } from '../src/core/models/types.ts';
import { startFakeOllama, toolBehaviour } from './fakes/ollama.ts';
import { startFakeOpenAI } from './fakes/openai.ts';
import { closedPort } from './helpers/cli.ts';

const ask = async (client: ModelClient, text = 'hello there friend') => {
  const deltas: string[] = [];
  const r = await client.chat({ messages: [{ role: 'user', content: text }], maxTokens: 64, temperature: 0, onDelta: (d) => deltas.push(d) });
  return { ...r, deltas };
};
const jsonError = (text: string) => {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${text} is valid JSON`);
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

  const WEATHER: ToolSpec = { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
  const WEATHER_WIRE = { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: WEATHER.parameters } };
  const lastChat = (fake: typeof ollama | typeof openai) => fake.requests.filter((q) => q.path.endsWith('/chat') || q.path.endsWith('/chat/completions')).at(-1)!.body;
  const askWithTools = (client: ModelClient, messages: ChatMessage[], deltas: string[] = []) =>
    client.chat({ messages, maxTokens: 64, temperature: 0, tools: [WEATHER], onDelta: (d) => deltas.push(d) });

  for (const [name, make, fake] of [['ollama', () => ol(), () => ollama], ['openai', () => oa(), () => openai]] as const) {
    it(`${name}: offers tools in its dialect and returns the calls the model asked for`, async (t) => {
      fake().options.reply = toolBehaviour({ rules: [{ match: /weather/, text: 'Let me check.', calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }] });
      t.after(() => (fake().options.reply = undefined));
      const deltas: string[] = [];
      const r = await askWithTools(make(), [{ role: 'user', content: 'weather in Oslo?' }], deltas);
      assert.deepEqual(lastChat(fake()).tools, [WEATHER_WIRE]);
      assert.equal(r.text, 'Let me check.');
      assert.equal(deltas.join(''), 'Let me check.', 'the client streams what it gets; holding text back is the caller’s choice');
      assert.equal(r.toolCalls.length, 1);
      assert.ok(r.toolCalls[0]!.id.length > 0);
      assert.deepEqual(r.toolCalls, [{ id: r.toolCalls[0]!.id, name: 'get_weather', arguments: { city: 'Oslo' }, argumentsError: undefined }]);
    });

    it(`${name}: sends the calls and their results back in its dialect`, async (t) => {
      fake().options.reply = toolBehaviour({});
      t.after(() => (fake().options.reply = undefined));
      const call: ToolCall = { id: 'call_abc', name: 'get_weather', arguments: { city: 'Oslo' }, argumentsError: undefined };
      const r = await askWithTools(make(), [
        { role: 'user', content: 'weather in Oslo?' },
        { role: 'assistant', content: '', toolCalls: [call] },
        { role: 'tool', toolCallId: 'call_abc', name: 'get_weather', content: 'sunny' },
      ]);
      assert.equal(r.text, 'Tool results: get_weather: sunny', 'the fake paired the result with its call');
      assert.deepEqual(r.toolCalls, []);
      const sent = lastChat(fake()).messages.slice(1);
      assert.deepEqual(
        sent,
        name === 'ollama'
          ? [
              { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
              { role: 'tool', content: 'sunny', tool_name: 'get_weather' },
            ]
          : [
              { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
              { role: 'tool', tool_call_id: 'call_abc', content: 'sunny' },
            ],
      );
    });

    it(`${name}: without tools the request is what it was before tools existed`, async () => {
      for (const tools of [undefined, []]) {
        await make().chat({ messages: [{ role: 'user', content: 'ping' }], maxTokens: 64, temperature: 0, ...(tools ? { tools } : {}) });
        const body = lastChat(fake());
        assert.deepEqual(Object.keys(body), name === 'ollama' ? ['model', 'messages', 'stream', 'options'] : ['model', 'messages', 'max_tokens', 'temperature', 'stream', 'stream_options']);
        assert.deepEqual(body.messages, [{ role: 'user', content: 'ping' }]);
      }
    });
  }

  it('ollama: calls carry no id on the wire; each gets its own', async (t) => {
    ollama.options.reply = () => ({ text: '', toolCalls: [{ name: 'get_weather', arguments: { city: 'A' } }, { name: 'get_weather', arguments: { city: 'B' } }] });
    t.after(() => (ollama.options.reply = undefined));
    const r = await askWithTools(ol(), [{ role: 'user', content: 'x' }]);
    assert.deepEqual(r.toolCalls.map((c) => c.arguments), [{ city: 'A' }, { city: 'B' }]);
    assert.notEqual(r.toolCalls[0]!.id, r.toolCalls[1]!.id);
  });

  it('openai: streamed calls are put together by index (or by id when all share index 0); bad JSON is reported, not thrown', async (t) => {
    openai.options.reply = () => ({
      text: '',
      toolCalls: [
        { name: 'get_weather', arguments: { city: 'A' } },
        { name: 'get_weather', arguments: '{"city": "B' },
        { name: 'get_weather', arguments: '["C"]' },
        { name: 'list_cities', arguments: '' },
      ],
    });
    t.after(() => {
      openai.options.reply = undefined;
      openai.options.sameToolCallIndex = false;
    });
    for (const same of [false, true]) {
      openai.options.sameToolCallIndex = same;
      const r = await askWithTools(oa(), [{ role: 'user', content: 'x' }]);
      assert.deepEqual(
        r.toolCalls.map((c) => [c.name, c.arguments, c.argumentsError]),
        [
          ['get_weather', { city: 'A' }, undefined],
          ['get_weather', {}, `the arguments are not valid JSON (${jsonError('{"city": "B')})`],
          ['get_weather', {}, 'the arguments must be a JSON object, got an array'],
          ['list_cities', {}, undefined],
        ],
        same ? 'all at index 0' : 'by index',
      );
      assert.equal(new Set(r.toolCalls.map((c) => c.id)).size, 4);
      assert.ok(r.toolCalls.every((c) => /^call_[A-Za-z0-9]+$/.test(c.id)), 'the server’s ids are kept');
    }
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
