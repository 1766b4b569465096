// Tests of the fake model servers themselves: the Ollama fake through the real `ollama` client, the
// OpenAI fake through fetch with the SSE stream parsed line by line, and both as standalone processes.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ollama } from 'ollama';
import { type ReplyRequest, embedText, splitIntoChunks, toolBehaviour } from './model-behaviour.ts';
import { startFakeOllama } from './ollama.ts';
import { startFakeOpenAI } from './openai.ts';

type ClientError = { name?: string; status_code?: number; error?: string; message?: string };

function expectResponseError(status: number, text: string) {
  return (err: unknown): boolean => {
    const e = err as ClientError;
    assert.equal(e.name, 'ResponseError');
    assert.equal(e.status_code, status);
    assert.equal(e.error, text);
    return true;
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 1000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cosine = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: number[]): number => Math.sqrt(cosine(a, a));

// ---------------------------------------------------------------------------------------------
// Shared behaviour

test('replies are split into word pieces that join back exactly', () => {
  assert.deepEqual(splitIntoChunks('echo: one  two\nthree '), ['echo:', ' one', '  two', '\nthree', ' ']);
  assert.deepEqual(splitIntoChunks(''), []);
  const v = embedText('hello world');
  assert.equal(v.length, 768);
  assert.ok(Math.abs(norm(v) - 1) < 1e-5);
  assert.deepEqual(embedText('hello world', 16), embedText('hello world', 16));
});

const WEATHER = { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

/** A tool-using fake model that also keeps every request it was asked, in the neutral shape. */
function recordingTools(rules: Parameters<typeof toolBehaviour>[0]) {
  const seen: ReplyRequest[] = [];
  const behave = toolBehaviour(rules);
  return { seen, reply: (r: ReplyRequest) => (seen.push(r), behave(r)) };
}

test('toolBehaviour: rules when tools are offered, results quoted, always, unknown tools', () => {
  const user = (content: string) => ({ role: 'user', content, toolCalls: [], toolName: undefined });
  const tools = [{ name: 'get_weather', description: '', parameters: {} }];
  const model = toolBehaviour({ rules: [{ match: /weather/, calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }], text: 'Looking.' }] });
  assert.deepEqual(model({ model: 'm', messages: [user('weather please')], tools }), { text: 'Looking.', toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
  assert.equal(model({ model: 'm', messages: [user('weather please')], tools: [] }), 'echo: weather please', 'no tools offered: no calls');
  assert.equal(model({ model: 'm', messages: [user('hello')], tools }), 'echo: hello');
  const results = [
    user('weather please'),
    { role: 'assistant', content: '', toolCalls: [{ name: 'get_weather', arguments: {} }, { name: 'x', arguments: {} }], toolName: undefined },
    { role: 'tool', content: 'sunny', toolCalls: [], toolName: 'get_weather' },
    { role: 'tool', content: 'nope', toolCalls: [], toolName: 'x' },
  ];
  assert.equal(model({ model: 'm', messages: results, tools }), 'Tool results: get_weather: sunny; x: nope');
  const always = toolBehaviour({ always: { name: 'not_offered', arguments: {} } });
  assert.deepEqual(always({ model: 'm', messages: results, tools }), { text: '', toolCalls: [{ name: 'not_offered', arguments: {} }] });
  assert.equal(always({ model: 'm', messages: results, tools: [] }), 'Tool results: get_weather: sunny; x: nope', 'without tools it must answer');
});

// ---------------------------------------------------------------------------------------------
// Ollama fake, driven by the real client

async function ollamaFake(t: { after: (fn: () => Promise<void>) => void }, opts?: Parameters<typeof startFakeOllama>[0]) {
  const fake = await startFakeOllama(opts);
  t.after(() => fake.close());
  return { fake, client: new Ollama({ host: fake.url }) };
}

test('ollama: version, list and show', async (t) => {
  const { fake, client } = await ollamaFake(t);
  assert.match(fake.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  const v = await fetch(`${fake.url}/api/version`);
  assert.equal(v.status, 200);
  assert.equal(v.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.deepEqual(await v.json(), { version: '0.12.0' });
  assert.deepEqual(await client.version(), { version: '0.12.0' });

  const list = await client.list();
  assert.equal(list.models.length, 1);
  const m = list.models[0]!;
  assert.equal(m.name, 'llama3.2:3b');
  assert.equal(m.model, 'llama3.2:3b');
  assert.match(m.digest, /^[0-9a-f]{64}$/);
  assert.ok(m.size > 0);
  assert.ok(!Number.isNaN(new Date(m.modified_at).getTime()));
  assert.equal(m.details.format, 'gguf');
  assert.equal(m.details.family, 'llama');
  assert.equal(m.details.parameter_size, '3B');
  assert.equal(m.details.quantization_level, 'Q4_K_M');

  const show = await client.show({ model: 'llama3.2:3b' });
  assert.deepEqual(show.capabilities, ['completion']);
  assert.equal(show.details.family, 'llama');
  assert.equal((show.model_info as unknown as Record<string, unknown>)['llama.context_length'], 131072);
  assert.ok(show.modelfile.startsWith('# Modelfile generated by "ollama show"'));
  assert.match(show.template, /\{\{ \.Prompt \}\}/);

  await assert.rejects(client.show({ model: 'nope:1b' }), expectResponseError(404, "model 'nope:1b' not found"));
  assert.deepEqual(fake.requests.at(-1)?.body, { model: 'nope:1b' });
});

test('ollama: non-streaming chat', async (t) => {
  const { fake, client } = await ollamaFake(t);
  const res = await client.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'ping' }] });
  assert.deepEqual(res.message, { role: 'assistant', content: 'pong' });
  assert.equal(res.model, 'llama3.2:3b');
  assert.equal(res.done, true);
  assert.equal(res.done_reason, 'stop');
  assert.equal(res.eval_count, 1);
  assert.ok(res.prompt_eval_count > 0);
  assert.ok(res.total_duration >= res.eval_duration && res.eval_duration > 0);
  assert.match(String(res.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

  const recorded = fake.requests.at(-1)!;
  assert.equal(recorded.method, 'POST');
  assert.equal(recorded.path, '/api/chat');
  assert.equal(recorded.body.stream, false);
  assert.deepEqual(recorded.body.messages, [{ role: 'user', content: 'ping' }]);
  assert.match(String(recorded.headers['user-agent']), /^ollama-js\//);
});

test('ollama: streaming chat sends several NDJSON chunks then a done chunk', async (t) => {
  const { fake, client } = await ollamaFake(t, { chunkDelayMs: 1 });
  const stream = await client.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'one two three' }], stream: true });
  const parts = [];
  for await (const part of stream) parts.push(part);
  assert.deepEqual(
    parts.map((p) => p.message.content),
    ['echo:', ' one', ' two', ' three', ''],
  );
  assert.deepEqual(
    parts.map((p) => p.done),
    [false, false, false, false, true],
  );
  const last = parts.at(-1)!;
  assert.equal(last.done_reason, 'stop');
  assert.equal(last.eval_count, 4);
  assert.equal(parts[0]!.done_reason, undefined);

  // No `stream` field means streaming (the server's default, unlike the client's).
  const raw = await fetch(`${fake.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2', messages: [] }),
  });
  assert.equal(raw.status, 404, 'llama3.2 means llama3.2:latest, which the fake does not have');
  await raw.text();
  const res = await fetch(`${fake.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'a <b>' }] }),
  });
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
  const text = await res.text();
  assert.ok(text.includes('\\u003cb\\u003e'), 'JSON is escaped like Go does');
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'every line ends with a newline');
  const objs = lines.map((l) => JSON.parse(l));
  assert.equal(objs.length, 4);
  assert.equal(objs.map((o) => o.message.content).join(''), 'echo: a <b>');
  assert.deepEqual(
    objs.map((o) => o.done),
    [false, false, false, true],
  );
});

test('ollama: custom reply, models changed at runtime, num_predict', async (t) => {
  const { fake, client } = await ollamaFake(t, { reply: (r) => `${r.model} saw ${r.messages.length}` });
  fake.options.models = [...(fake.options.models ?? []), 'qwen3:8b'];
  const names = (await client.list()).models.map((m) => m.name);
  assert.deepEqual(names, ['llama3.2:3b', 'qwen3:8b']);
  const res = await client.chat({
    model: 'qwen3:8b',
    messages: [
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
    ],
  });
  assert.equal(res.message.content, 'qwen3:8b saw 2');

  fake.options.reply = () => 'a b c d e';
  const cut = await client.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'x' }], options: { num_predict: 2 } });
  assert.equal(cut.message.content, 'a b');
  assert.equal(cut.done_reason, 'length');

  const gen = await client.generate({ model: 'llama3.2:3b', prompt: 'hi' });
  assert.equal(gen.response, 'a b c d e');
  assert.equal(gen.done_reason, 'stop');
});

test('ollama: embed gives deterministic unit vectors', async (t) => {
  const { fake, client } = await ollamaFake(t, { models: ['nomic-embed-text', 'llama3.2:3b'] });
  const res = await client.embed({ model: 'nomic-embed-text', input: ['the cat sat on the mat', 'the cat sat on the mat', 'a cat on a mat', 'quantum chromodynamics'] });
  assert.equal(res.model, 'nomic-embed-text');
  assert.equal(res.embeddings.length, 4);
  for (const e of res.embeddings) {
    assert.equal(e.length, 768);
    assert.ok(Math.abs(norm(e) - 1) < 1e-5);
  }
  const [a, b, c, d] = res.embeddings as [number[], number[], number[], number[]];
  assert.deepEqual(a, b);
  assert.ok(cosine(a, c) > cosine(a, d) + 0.3, 'texts sharing words are closer');

  const one = await client.embed({ model: 'nomic-embed-text', input: 'the cat sat on the mat' });
  assert.deepEqual(one.embeddings, [a]);
  const show = await client.show({ model: 'nomic-embed-text' });
  assert.deepEqual(show.capabilities, ['embedding']);
  assert.equal(fake.requests.filter((r) => r.path === '/api/embed').length, 2);
});

test('ollama: a missing model is a ResponseError 404', async (t) => {
  const { client } = await ollamaFake(t);
  const text = 'model "missing-model" not found, try pulling it first';
  await assert.rejects(client.chat({ model: 'missing-model', messages: [{ role: 'user', content: 'hi' }] }), expectResponseError(404, text));
  await assert.rejects(
    client.chat({ model: 'missing-model', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    expectResponseError(404, text),
  );
  await assert.rejects(client.embed({ model: 'missing-model', input: 'x' }), expectResponseError(404, text));
});

test('ollama: failure modes', async (t) => {
  const { fake, client } = await ollamaFake(t, { reply: () => 'one two three four five six' });
  const messages = [{ role: 'user', content: 'hi' }];

  fake.options.failure = 'truncated-stream';
  const stream = await client.chat({ model: 'llama3.2:3b', messages, stream: true });
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const part of stream) got.push(part.message.content);
    })(),
    /Did not receive done or success response in stream/,
  );
  assert.deepEqual(got, ['one', ' two', ' three']);
  await assert.rejects(client.chat({ model: 'llama3.2:3b', messages }), SyntaxError);

  fake.options.failure = 'http500';
  await assert.rejects(client.chat({ model: 'llama3.2:3b', messages }), expectResponseError(500, 'llama runner process has terminated: exit status 2'));
  assert.equal((await client.list()).models.length, 1, 'metadata endpoints keep working by default');
  fake.options.failureScope = 'all';
  await assert.rejects(client.list(), expectResponseError(500, 'llama runner process has terminated: exit status 2'));

  fake.options.failure = 'none';
  assert.equal((await client.chat({ model: 'llama3.2:3b', messages })).message.content, 'one two three four five six');

  fake.options.failure = 'hang';
  const before = fake.requests.length;
  const hanging = fetch(`${fake.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2:3b', messages }) });
  await until(() => fake.requests.length > before, 'the hanging request to arrive');
  const started = Date.now();
  await fake.close();
  await assert.rejects(hanging);
  assert.ok(Date.now() - started < 500, 'close() ends hanging requests at once');
});

test('ollama: protocol errors look like the Go server', async (t) => {
  const { fake } = await ollamaFake(t);
  const post = (path: string, body: string) => fetch(`${fake.url}${path}`, { method: 'POST', body });

  let r = await post('/api/chat', '{"model": ');
  assert.equal(r.status, 400);
  assert.deepEqual(await r.json(), { error: 'unexpected EOF' });
  r = await post('/api/chat', 'hello');
  assert.equal(r.status, 400);
  assert.deepEqual(await r.json(), { error: "invalid character 'h' looking for beginning of value" });
  assert.equal(fake.requests.at(-1)?.body, 'hello', 'a non-JSON body is recorded as text');
  r = await post('/api/chat', '');
  assert.deepEqual([r.status, await r.json()], [400, { error: 'missing request body' }]);
  r = await post('/api/chat', '{"messages":[]}');
  assert.deepEqual([r.status, await r.json()], [400, { error: 'model is required' }]);

  r = await fetch(`${fake.url}/api/nope`);
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('content-type'), 'text/plain');
  assert.equal(await r.text(), '404 page not found');
  r = await fetch(`${fake.url}/api/chat`);
  assert.deepEqual([r.status, await r.text()], [405, '405 method not allowed']);
  r = await fetch(`${fake.url}/`);
  assert.equal(await r.text(), 'Ollama is running');
  r = await post('/api/chat', '{"model":"llama3.2:3b","messages":[]}');
  const load = (await r.json()) as Record<string, unknown>;
  assert.deepEqual([load.done, load.done_reason, load.message], [true, 'load', { role: 'assistant', content: '' }]);
});

test('close() ends streams in progress and pending chunk delays', async () => {
  const fake = await startFakeOllama({ chunkDelayMs: 10_000 });
  const res = await fetch(`${fake.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'slow stream' }] }),
  });
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /"content":"echo:"/);
  const started = Date.now();
  await fake.close();
  assert.ok(Date.now() - started < 500, 'close() does not wait for the stream');
  assert.ok(!process.getActiveResourcesInfo().includes('Timeout'), 'the 10 s chunk delay timer is cleared');
  await assert.rejects(async () => {
    for (;;) if ((await reader.read()).done) break;
  });
});

test('ollama: tool calls, non-streaming, and the results sent back', async (t) => {
  const model = recordingTools({ rules: [{ match: /weather/, calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }] });
  const { fake, client } = await ollamaFake(t, { reply: model.reply });
  const question = { role: 'user', content: 'weather in Oslo?' };
  const res = await client.chat({ model: 'llama3.2:3b', messages: [question], tools: [WEATHER], stream: false });
  assert.deepEqual(res.message, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] });
  assert.equal(res.done_reason, 'stop');
  assert.ok(res.eval_count > 0);
  assert.deepEqual(fake.requests.at(-1)!.body.tools, [WEATHER]);
  assert.deepEqual(model.seen.at(-1)!.tools, [{ name: 'get_weather', description: 'Weather for a city', parameters: WEATHER.function.parameters }]);

  const next = await client.chat({
    model: 'llama3.2:3b',
    messages: [question, res.message, { role: 'tool', content: 'sunny, 21 °C', tool_name: 'get_weather' }],
    tools: [WEATHER],
    stream: false,
  });
  assert.deepEqual(next.message, { role: 'assistant', content: 'Tool results: get_weather: sunny, 21 °C' });
  assert.deepEqual(model.seen.at(-1)!.messages.slice(1), [
    { role: 'assistant', content: '', toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }], toolName: undefined },
    { role: 'tool', content: 'sunny, 21 °C', toolCalls: [], toolName: 'get_weather' },
  ]);
});

test('ollama: streamed tool calls come whole in one chunk after the text, before the done chunk', async (t) => {
  const calls = [
    { name: 'get_weather', arguments: { city: 'Oslo' } },
    { name: 'get_weather', arguments: { city: 'Rome' } },
  ];
  const { client } = await ollamaFake(t, { reply: toolBehaviour({ rules: [{ match: /weather/, calls, text: 'Let me check.' }] }) });
  const stream = await client.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'weather?' }], tools: [WEATHER], stream: true });
  const parts = [];
  for await (const part of stream) parts.push(part);
  assert.deepEqual(
    parts.map((p) => [p.message.content, p.message.tool_calls?.length ?? 0, p.done]),
    [['Let', 0, false], [' me', 0, false], [' check.', 0, false], ['', 2, false], ['', 0, true]],
  );
  assert.deepEqual(parts[3]!.message.tool_calls, calls.map((c) => ({ function: c })));
});

test('ollama: a call whose arguments do not parse stays text; OpenAI-style argument strings are refused', async (t) => {
  const { client } = await ollamaFake(t, { reply: () => ({ text: '', toolCalls: [{ name: 'get_weather', arguments: '{"city": "Os' }] }) });
  const res = await client.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'weather?' }], tools: [WEATHER], stream: false });
  assert.equal(res.message.tool_calls, undefined);
  assert.equal(res.message.content, '{"name": "get_weather", "arguments": {"city": "Os}');

  const stringArgs = { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: '{"city":"Oslo"}' as unknown as Record<string, unknown> } }] };
  await assert.rejects(
    client.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'x' }, stringArgs], stream: false }),
    expectResponseError(400, 'json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments'),
  );
});

// ---------------------------------------------------------------------------------------------
// OpenAI fake, driven by fetch

async function openaiFake(t: { after: (fn: () => Promise<void>) => void }, opts?: Parameters<typeof startFakeOpenAI>[0]) {
  const fake = await startFakeOpenAI(opts);
  t.after(() => fake.close());
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${fake.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { fake, post };
}

/** Reads an SSE body line by line: returns the `data:` payloads, checking the framing on the way. */
async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  assert.ok(text.endsWith('\n\n'), 'the stream ends with a complete event');
  const events: string[] = [];
  let data: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') {
      if (data.length) events.push(data.join('\n'));
      data = [];
      continue;
    }
    assert.ok(line.startsWith('data: '), `unexpected SSE line: ${line}`);
    data.push(line.slice('data: '.length));
  }
  assert.equal(data.length, 0);
  return events;
}

test('openai: models list', async (t) => {
  const { fake } = await openaiFake(t, { models: ['local-model', 'other'] });
  assert.equal(fake.baseUrl, `${fake.url}/v1`);
  const r = await fetch(`${fake.baseUrl}/models`);
  assert.equal(r.status, 200);
  const body = (await r.json()) as { object: string; data: { id: string; object: string; created: number; owned_by: string }[] };
  assert.equal(body.object, 'list');
  assert.deepEqual(
    body.data.map((m) => [m.id, m.object, typeof m.created, m.owned_by]),
    [
      ['local-model', 'model', 'number', 'system'],
      ['other', 'model', 'number', 'system'],
    ],
  );
  const one = await fetch(`${fake.baseUrl}/models/other`);
  assert.equal(((await one.json()) as { id: string }).id, 'other');
  const probe = await fetch(`${fake.url}/api/version`);
  assert.equal(probe.status, 404, 'not an Ollama server');
  await probe.text();
});

test('openai: non-streaming chat completion', async (t) => {
  const { fake, post } = await openaiFake(t);
  const r = await post('/chat/completions', { model: 'local-model', messages: [{ role: 'user', content: 'ping' }] });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/json');
  const body = (await r.json()) as any;
  assert.match(body.id, /^chatcmpl-[A-Za-z0-9]{29}$/);
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.model, 'local-model');
  assert.ok(Number.isInteger(body.created) && body.created > 1_600_000_000);
  assert.equal(body.choices.length, 1);
  assert.deepEqual(
    [body.choices[0].index, body.choices[0].message.role, body.choices[0].message.content, body.choices[0].finish_reason],
    [0, 'assistant', 'pong', 'stop'],
  );
  assert.equal(body.usage.completion_tokens, 1);
  assert.ok(body.usage.prompt_tokens > 0);
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  assert.equal(fake.requests.at(-1)?.path, '/v1/chat/completions');

  // Content parts and max_tokens.
  fake.options.reply = () => 'one two three';
  const cut = (await (await post('/chat/completions', { model: 'local-model', max_tokens: 2, messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] })).json()) as any;
  assert.equal(cut.choices[0].message.content, 'one two');
  assert.equal(cut.choices[0].finish_reason, 'length');
});

test('openai: SSE streaming, parsed line by line', async (t) => {
  const { post } = await openaiFake(t, { chunkDelayMs: 1 });
  const r = await post('/chat/completions', {
    model: 'local-model',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hello streaming world' }],
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const events = await readSse(r);
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  // role chunk, 4 content chunks, finish chunk, usage chunk
  assert.equal(chunks.length, 7);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id && c.model === 'local-model'));
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
  const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(content, 'echo: hello streaming world');
  assert.deepEqual(
    chunks.map((c) => (c.choices[0] ? c.choices[0].finish_reason : 'none')),
    [null, null, null, null, null, 'stop', 'none'],
  );
  assert.deepEqual(chunks[5].choices[0].delta, {});
  const usageChunk = chunks[6];
  assert.deepEqual(usageChunk.choices, []);
  assert.equal(usageChunk.usage.completion_tokens, 4);
  assert.equal(usageChunk.usage.total_tokens, usageChunk.usage.prompt_tokens + 4);
  assert.ok(chunks.slice(0, 6).every((c) => c.usage === null));

  const plain = await readSse(await post('/chat/completions', { model: 'local-model', stream: true, messages: [{ role: 'user', content: 'ping' }] }));
  assert.equal(plain.length, 4, 'role, content, finish, [DONE]: no usage chunk without include_usage');
  assert.ok(plain.slice(0, -1).every((e) => !('usage' in JSON.parse(e))));
});

test('openai: API key, unknown model, bad requests', async (t) => {
  const { fake, post } = await openaiFake(t, { apiKey: 'sk-test-1234567890' });
  const messages = [{ role: 'user', content: 'ping' }];

  let r = await post('/chat/completions', { model: 'local-model', messages }, { authorization: 'Bearer sk-wrong-000000000' });
  assert.equal(r.status, 401);
  const wrong = (await r.json()) as any;
  assert.equal(wrong.error.type, 'invalid_request_error');
  assert.equal(wrong.error.code, 'invalid_api_key');
  assert.equal(wrong.error.param, null);
  assert.match(wrong.error.message, /^Incorrect API key provided: sk-\*+0000\./);

  r = await post('/chat/completions', { model: 'local-model', messages });
  assert.equal(r.status, 401);
  const missing = (await r.json()) as any;
  assert.match(missing.error.message, /^You didn't provide an API key/);
  assert.equal(missing.error.code, null);

  const auth = { authorization: 'Bearer sk-test-1234567890' };
  r = await post('/chat/completions', { model: 'local-model', messages }, auth);
  assert.equal(r.status, 200);
  await r.json();

  r = await post('/chat/completions', { model: 'gpt-x', messages }, auth);
  assert.equal(r.status, 404);
  assert.deepEqual(await r.json(), {
    error: { message: 'The model `gpt-x` does not exist or you do not have access to it.', type: 'invalid_request_error', param: null, code: 'model_not_found' },
  });

  r = await fetch(`${fake.baseUrl}/chat/completions`, { method: 'POST', headers: auth, body: '{nope' });
  assert.equal(r.status, 400);
  assert.match(((await r.json()) as any).error.message, /^We could not parse the JSON body/);
  r = await post('/chat/completions', { model: 'local-model', messages: [] }, auth);
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as any).error.code, 'empty_array');

  fake.options.apiKey = undefined;
  r = await post('/chat/completions', { model: 'local-model', messages });
  assert.equal(r.status, 200, 'the key is read per request');
  await r.json();
  r = await fetch(`${fake.url}/v1/nothing`);
  assert.equal(r.status, 404);
  assert.equal(((await r.json()) as any).error.message, 'Invalid URL (GET /v1/nothing)');
});

test('openai: failure modes', async (t) => {
  const { fake, post } = await openaiFake(t, { reply: () => 'one two three four' });
  const req = { model: 'local-model', stream: true, messages: [{ role: 'user', content: 'hi' }] };

  fake.options.failure = 'truncated-stream';
  const events = await readSse(await post('/chat/completions', req));
  assert.ok(!events.includes('[DONE]'));
  const chunks = events.map((e) => JSON.parse(e));
  assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), 'one two');
  assert.ok(chunks.every((c) => c.choices[0].finish_reason === null));

  fake.options.failure = 'http500';
  const r = await post('/chat/completions', req);
  assert.equal(r.status, 500);
  assert.equal(((await r.json()) as any).error.type, 'server_error');
  const models = await fetch(`${fake.baseUrl}/models`);
  assert.equal(models.status, 200);
  await models.json();

  fake.options.failure = 'hang';
  const before = fake.requests.length;
  const hanging = post('/chat/completions', req);
  await until(() => fake.requests.length > before, 'the hanging request to arrive');
  await fake.close();
  await assert.rejects(hanging);
});

test('openai: tool calls, non-streaming, and the results paired by id', async (t) => {
  const model = recordingTools({ rules: [{ match: /weather/, calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }] });
  const { fake, post } = await openaiFake(t, { reply: model.reply });
  const question = { role: 'user', content: 'weather in Oslo?' };
  const body = (await (await post('/chat/completions', { model: 'local-model', messages: [question], tools: [WEATHER] })).json()) as any;
  const choice = body.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.match(call.id, /^call_[A-Za-z0-9]{29}$/);
  assert.deepEqual({ ...call, id: 'x' }, { id: 'x', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } });
  assert.ok(body.usage.completion_tokens > 0);
  assert.deepEqual(fake.requests.at(-1)!.body.tools, [WEATHER]);

  const next = (await (
    await post('/chat/completions', {
      model: 'local-model',
      messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
      tools: [WEATHER],
    })
  ).json()) as any;
  assert.equal(next.choices[0].message.content, 'Tool results: get_weather: sunny', 'the result was matched to its call by id');
  assert.equal(next.choices[0].finish_reason, 'stop');
  assert.equal(model.seen.at(-1)!.messages[2]!.toolName, 'get_weather');
});

test('openai: streamed tool calls: id and name first, then the argument text in pieces, by index', async (t) => {
  const calls = [
    { name: 'get_weather', arguments: { city: 'Oslo' } },
    { name: 'get_weather', arguments: '{"city": "Ro' },
  ];
  const { fake, post } = await openaiFake(t, { reply: () => ({ text: '', toolCalls: calls }) });
  const req = { model: 'local-model', stream: true, messages: [{ role: 'user', content: 'weather?' }], tools: [WEATHER] };
  const chunks = (await readSse(await post('/chat/completions', req))).slice(0, -1).map((e) => JSON.parse(e));
  const deltas = chunks.map((c) => c.choices[0].delta);
  const first = deltas[0].tool_calls[0];
  assert.deepEqual(deltas[0], { role: 'assistant', content: null, tool_calls: [{ index: 0, id: first.id, type: 'function', function: { name: 'get_weather', arguments: '' } }], refusal: null });
  const byIndex = new Map<number, { id: string; name: string; args: string }>();
  for (const d of deltas) {
    for (const tc of d.tool_calls ?? []) {
      const slot = byIndex.get(tc.index) ?? { id: '', name: '', args: '' };
      if (tc.id) slot.id = tc.id;
      if (tc.function.name) slot.name = tc.function.name;
      slot.args += tc.function.arguments;
      byIndex.set(tc.index, slot);
    }
  }
  assert.deepEqual([...byIndex.values()].map((c) => [c.name, c.args]), [['get_weather', '{"city":"Oslo"}'], ['get_weather', '{"city": "Ro']], 'malformed text is sent verbatim');
  assert.notEqual(byIndex.get(0)!.id, byIndex.get(1)!.id);
  assert.ok(deltas.filter((d) => d.tool_calls?.[0]?.index === 0).length > 3, 'the arguments come in several pieces');
  assert.deepEqual(chunks.map((c) => c.choices[0].finish_reason).slice(-2), [null, 'tool_calls']);
  assert.deepEqual(deltas.at(-1), {});

  fake.options.sameToolCallIndex = true;
  const same = (await readSse(await post('/chat/completions', req))).slice(0, -1).map((e) => JSON.parse(e));
  const openings = same.flatMap((c) => c.choices[0].delta.tool_calls ?? []).filter((tc: any) => tc.id);
  assert.deepEqual(openings.map((tc: any) => tc.index), [0, 0], 'Ollama-style: every call at index 0');
  assert.notEqual(openings[0].id, openings[1].id);
});

test('openai: tools and tool messages are checked like the API does', async (t) => {
  const { post } = await openaiFake(t);
  const user = { role: 'user', content: 'hi' };
  const error = async (body: unknown) => {
    const r = await post('/chat/completions', { model: 'local-model', ...(body as object) });
    assert.equal(r.status, 400);
    return ((await r.json()) as any).error;
  };
  assert.equal((await error({ messages: [user], tools: [] })).code, 'empty_array');
  const badName = await error({ messages: [user], tools: [{ type: 'function', function: { name: 'two words' } }] });
  assert.equal(badName.param, 'tools[0].function.name');
  assert.equal(badName.code, 'invalid_value');

  const orphan = await error({ messages: [user, { role: 'tool', tool_call_id: 'call_1', content: 'x' }] });
  assert.equal(orphan.message, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.");
  assert.equal(orphan.param, 'messages.[1].role');

  const asked = { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }, { id: 'call_2', type: 'function', function: { name: 'f', arguments: '{}' } }] };
  const unanswered = await error({ messages: [user, asked, { role: 'tool', tool_call_id: 'call_1', content: 'x' }, user] });
  assert.match(unanswered.message, /did not have response messages: call_2$/);
  assert.equal(unanswered.param, 'messages.[1].role');
  const wrongId = await error({ messages: [user, asked, { role: 'tool', tool_call_id: 'call_9', content: 'x' }] });
  assert.equal(wrongId.param, 'messages.[2].role');

  const ok = await post('/chat/completions', {
    model: 'local-model',
    messages: [user, asked, { role: 'tool', tool_call_id: 'call_2', content: 'b' }, { role: 'tool', tool_call_id: 'call_1', content: 'a' }],
  });
  assert.equal(ok.status, 200, 'results may come in any order');
  await ok.json();
});

test('openai: embeddings, as floats and base64', async (t) => {
  const { post } = await openaiFake(t, { embeddingDims: 64 });
  const r = await post('/embeddings', { model: 'local-model', input: ['alpha beta', 'gamma'] });
  const body = (await r.json()) as any;
  assert.equal(body.object, 'list');
  assert.deepEqual(
    body.data.map((d: any) => [d.object, d.index, d.embedding.length]),
    [
      ['embedding', 0, 64],
      ['embedding', 1, 64],
    ],
  );
  assert.deepEqual(body.data[0].embedding, embedText('alpha beta', 64));
  const b64 = (await (await post('/embeddings', { model: 'local-model', input: 'alpha beta', encoding_format: 'base64' })).json()) as any;
  const bytes = Buffer.from(b64.data[0].embedding, 'base64');
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  assert.equal(floats.length, 64);
  assert.ok(Math.abs(floats[3]! - body.data[0].embedding[3]) < 1e-6);
});

// ---------------------------------------------------------------------------------------------
// Standalone processes

async function runStandalone(file: string, probe: string): Promise<void> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(file, import.meta.url)), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.on('exit', () => reject(new Error(`${file} exited early: ${err}`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  assert.deepEqual(Object.keys(JSON.parse(line)), ['url']);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await fetch(url + probe);
  assert.equal(r.status, 200);
  await r.text();
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  assert.equal(out, `${line}\n`, 'exactly one line on stdout');
}

test('both fakes run as standalone processes and stop on SIGTERM', async () => {
  await Promise.all([runStandalone('./ollama.ts', '/api/tags'), runStandalone('./openai.ts', '/v1/models')]);
});
