// Tool calling in the fake model servers, in each provider's own wire format: calls offered and made,
// streamed, paired with their results, and the malformed cases the real servers refuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toolBehaviour } from './model-behaviour.ts';
import { expectResponseError, ollamaFake, openaiFake, readSse, recordingTools, WEATHER } from './clients.ts';

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
