// The llm action's tool loop against both model fakes, through the real clients: a round trip, the
// round bound, calls for tools that were not offered, malformed arguments, and requests without tools.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ToolBox, type ToolCallRecord, runLlm } from '../src/core/actions/llm.ts';
import { OllamaClient } from '../src/core/models/ollama.ts';
import { OpenAIClient } from '../src/core/models/openai.ts';
import type { ModelClient, ToolSpec } from '../src/core/models/types.ts';
import type { Turn } from '../src/core/turn.ts';
import type { FakeModelServer } from './fakes/model-behaviour.ts';
import { startFakeOllama, toolBehaviour } from './fakes/ollama.ts';
import { type FakeOpenAIServer, startFakeOpenAI } from './fakes/openai.ts';

const DISK: ToolSpec = { name: 'disk_usage', description: 'Disk usage of a path', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } };
const UPTIME: ToolSpec = { name: 'uptime', description: 'How long the server has been up', parameters: { type: 'object', properties: {} } };

/** A ToolBox that answers from a table and remembers every call it got. */
function box(specs: readonly ToolSpec[] = [DISK, UPTIME], answers: Record<string, string> = { disk_usage: '40% used', uptime: 'up 3 days' }) {
  const calls: { name: string; args: Readonly<Record<string, unknown>>; signal: AbortSignal }[] = [];
  const tools: ToolBox = {
    specs,
    call: async (name, args, signal) => {
      calls.push({ name, args, signal });
      return answers[name] ?? 'no such answer';
    },
  };
  return { tools, calls };
}

function turn(text: string, deltas: string[] = [], signal = new AbortController().signal): Turn {
  return {
    message: { platform: 'test', id: 'm1', chat: { id: 'c1', type: 'dm' }, sender: { id: 'u1' }, text, sentAt: Date.now(), attachments: [] },
    identity: { platform: 'test', id: 'u1', role: 'Operator' },
    history: async () => [],
    signal,
    onDelta: (d) => deltas.push(d),
    conversation: 'test:c1',
    announce: async () => {},
  };
}

/** Both dialects offer tools the same way. */
const onWire = (specs: ToolSpec[]) => specs.map((s) => ({ type: 'function', function: { name: s.name, description: s.description, parameters: s.parameters } }));

const params = { system: 'You are a test.', maxTokens: 256, temperature: 0, historyTurns: 0 };

describe('llm tool loop', () => {
  let ollama: FakeModelServer;
  let openai: FakeOpenAIServer;
  before(async () => {
    ollama = await startFakeOllama();
    openai = await startFakeOpenAI();
  });
  after(async () => {
    await ollama.close();
    await openai.close();
  });

  const providers = [
    {
      name: 'ollama',
      fake: () => ollama,
      client: (): ModelClient => new OllamaClient({ endpoint: ollama.url, model: 'llama3.2:3b', timeoutMs: 5000 }),
      path: '/api/chat',
    },
    {
      name: 'openai',
      fake: () => openai,
      client: (): ModelClient => new OpenAIClient({ endpoint: openai.baseUrl, model: 'local-model', apiKey: undefined, timeoutMs: 5000 }),
      path: '/v1/chat/completions',
    },
  ] as const;

  for (const p of providers) {
    /** The chat requests the fake got since `from`. */
    const chats = (from: number) => p.fake().requests.slice(from).filter((q) => q.path === p.path).map((q) => q.body);
    const script = (b: Parameters<typeof toolBehaviour>[0], t: { after: (fn: () => void) => void }) => {
      p.fake().options.reply = toolBehaviour(b);
      t.after(() => (p.fake().options.reply = undefined));
      return p.fake().requests.length;
    };
    const run = async (text: string, extra: Partial<Parameters<typeof runLlm>[1]>, deltas: string[] = []) => {
      const client = p.client();
      return runLlm(async () => client, { ...params, ...extra }, turn(text, deltas));
    };

    it(`${p.name}: a tool round trip: the model asks, gets the result, answers with it`, async (t) => {
      const from = script({ rules: [{ match: /disk/, text: 'Let me check.', calls: [{ name: 'disk_usage', arguments: { path: '/var' } }] }] }, t);
      const { tools, calls } = box();
      const records: ToolCallRecord[] = [];
      const deltas: string[] = [];
      const result = await run('how full is the disk at /var?', { tools, onToolCall: (r) => records.push(r) }, deltas);

      assert.deepEqual(result, { status: 'ok', text: 'Tool results: disk_usage: 40% used', model: p.name === 'ollama' ? 'llama3.2:3b' : 'local-model' });
      assert.deepEqual(calls.map((c) => [c.name, c.args]), [['disk_usage', { path: '/var' }]]);
      assert.equal(deltas.join(''), result.text, 'only the answer was streamed, not the text of the round that asked for a tool');
      assert.deepEqual(records.map((r) => [r.round, r.call.name, r.outcome, r.result]), [[1, 'disk_usage', 'ran', '40% used']]);

      const sent = chats(from);
      assert.equal(sent.length, 2);
      assert.deepEqual(sent[0].tools, onWire([DISK, UPTIME]), 'the specs offered, in the provider’s format');
      assert.deepEqual(sent[1].tools, sent[0].tools);
      const [asked, answered] = sent[1].messages.slice(-2);
      if (p.name === 'ollama') {
        assert.deepEqual(asked, { role: 'assistant', content: 'Let me check.', tool_calls: [{ function: { name: 'disk_usage', arguments: { path: '/var' } } }] });
        assert.deepEqual(answered, { role: 'tool', content: '40% used', tool_name: 'disk_usage' });
      } else {
        const id = asked.tool_calls[0].id;
        assert.match(id, /^call_/);
        assert.deepEqual(asked, { role: 'assistant', content: 'Let me check.', tool_calls: [{ id, type: 'function', function: { name: 'disk_usage', arguments: '{"path":"/var"}' } }] });
        assert.deepEqual(answered, { role: 'tool', tool_call_id: id, content: '40% used' });
      }
    });

    it(`${p.name}: a model that always asks for a tool gets maxToolRounds calls, then must answer in text`, async (t) => {
      for (const maxToolRounds of [undefined, 2]) {
        const from = script({ always: { name: 'uptime', arguments: {} } }, t);
        const { tools, calls } = box();
        const result = await run('are you up?', maxToolRounds === undefined ? { tools } : { tools, maxToolRounds });
        const rounds = maxToolRounds ?? 4;
        assert.equal(calls.length, rounds);
        assert.deepEqual([result.status, result.text], ['ok', 'Tool results: uptime: up 3 days']);
        const sent = chats(from);
        assert.equal(sent.length, rounds + 1);
        assert.ok(sent.slice(0, -1).every((b) => Array.isArray(b.tools)));
        assert.equal('tools' in sent.at(-1), false, 'the last request offers no tools');
        assert.equal(sent.at(-1).messages.filter((m: { role: string }) => m.role === 'tool').length, rounds, 'and carries every result');
      }
    });

    it(`${p.name}: a call for a tool that was not offered is refused; the ToolBox never sees it`, async (t) => {
      const from = script({ rules: [{ match: /clean/, calls: [{ name: 'rm_rf', arguments: { path: '/' } }] }] }, t);
      const { tools, calls } = box();
      const records: ToolCallRecord[] = [];
      const result = await run('clean up the disk', { tools, onToolCall: (r) => records.push(r) });
      assert.equal(calls.length, 0);
      const refusal = 'Error: unknown tool "rm_rf". The tools offered are: disk_usage, uptime.';
      assert.deepEqual([result.status, result.text], ['ok', `Tool results: rm_rf: ${refusal}`]);
      assert.deepEqual(records.map((r) => [r.call.name, r.outcome, r.result]), [['rm_rf', 'unknown_tool', refusal]]);
      assert.equal(chats(from)[1].messages.at(-1).content, refusal);
    });

    it(`${p.name}: the ToolBox gets the turn's signal; calls run one after another, in order`, async (t) => {
      script({ rules: [{ match: /both/, calls: [{ name: 'uptime', arguments: {} }, { name: 'disk_usage', arguments: { path: '/' } }] }] }, t);
      const order: string[] = [];
      const controller = new AbortController();
      const tools: ToolBox = {
        specs: [DISK, UPTIME],
        call: async (name, _args, signal) => {
          assert.equal(signal, controller.signal);
          order.push(`start ${name}`);
          await new Promise((r) => setTimeout(r, 5));
          order.push(`end ${name}`);
          return name;
        },
      };
      const client = p.client();
      const result = await runLlm(async () => client, { ...params, tools }, turn('both please', [], controller.signal));
      assert.equal(result.text, 'Tool results: uptime: uptime; disk_usage: disk_usage');
      assert.deepEqual(order, ['start uptime', 'end uptime', 'start disk_usage', 'end disk_usage']);
    });

    it(`${p.name}: a ToolBox that throws fails the turn with a short text; a cancelled turn says so`, async (t) => {
      script({ rules: [{ match: /disk/, calls: [{ name: 'disk_usage', arguments: { path: '/' } }] }] }, t);
      const broken: ToolBox = { specs: [DISK], call: async () => { throw new Error('ssh: handshake failed for root@10.0.0.1'); } };
      const failed = await run('disk?', { tools: broken });
      assert.equal(failed.status, 'failed');
      assert.equal(failed.text, 'A tool failed unexpectedly. Please try again later.', 'no details reach the user');
      assert.equal(failed.status === 'failed' && failed.error.name, 'ToolBoxError');

      const controller = new AbortController();
      const cancelled: ToolBox = {
        specs: [DISK],
        call: async () => {
          controller.abort();
          throw new DOMException('This operation was aborted', 'AbortError');
        },
      };
      const client = p.client();
      const r = await runLlm(async () => client, { ...params, tools: cancelled }, turn('disk?', [], controller.signal));
      assert.deepEqual([r.status, r.text], ['failed', 'The request was cancelled.']);
    });

    it(`${p.name}: without tools the request carries no tools field and the answer streams as it comes`, async (t) => {
      const from = script({ rules: [{ match: /disk/, calls: [{ name: 'disk_usage', arguments: { path: '/' } }] }] }, t);
      for (const extra of [{}, { tools: box([]).tools }, { tools: box().tools, maxToolRounds: 0 }]) {
        const deltas: string[] = [];
        const result = await run('disk space, in many words please', extra, deltas);
        assert.equal(result.text, 'echo: disk space, in many words please');
        assert.ok(deltas.length > 1, 'streamed in pieces');
        assert.equal(deltas.join(''), result.text);
      }
      const sent = chats(from);
      assert.equal(sent.length, 3);
      assert.ok(sent.every((b) => !('tools' in b)));
    });
  }

  it('openai: malformed arguments get an error result; the model can try again', async (t) => {
    let attempts = 0;
    openai.options.reply = (req) => {
      const last = req.messages.at(-1)!;
      if (last.role === 'user') return { text: '', toolCalls: [{ name: 'disk_usage', arguments: '{"path": "/va' }] };
      if (last.role === 'tool' && attempts++ === 0) return { text: '', toolCalls: [{ name: 'disk_usage', arguments: '{"path": "/var"}' }] };
      return `Tool results: ${last.toolName}: ${last.content}`;
    };
    t.after(() => (openai.options.reply = undefined));
    const from = openai.requests.length;
    const { tools, calls } = box();
    const records: ToolCallRecord[] = [];
    const client = new OpenAIClient({ endpoint: openai.baseUrl, model: 'local-model', apiKey: undefined, timeoutMs: 5000 });
    const result = await runLlm(async () => client, { ...params, tools, onToolCall: (r) => records.push(r) }, turn('disk?'));

    assert.deepEqual(result, { status: 'ok', text: 'Tool results: disk_usage: 40% used', model: 'local-model' });
    assert.deepEqual(calls.map((c) => c.args), [{ path: '/var' }], 'only the well-formed call ran');
    assert.deepEqual(records.map((r) => r.outcome), ['bad_arguments', 'ran']);
    const second = openai.requests.slice(from).filter((q) => q.path === '/v1/chat/completions')[1]!.body;
    const [asked, answered] = second.messages.slice(-2);
    assert.equal(asked.tool_calls[0].function.arguments, '{}', 'unreadable arguments go back as an empty object');
    assert.match(answered.content, /^Error: disk_usage was not run: the arguments are not valid JSON \(.+\)\. Call it again with a JSON object of arguments\.$/);
  });
});
