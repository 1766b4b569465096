// The workflow engine with fake services (plain objects): variables between steps, branches, set, wait,
// timeouts at every level, the three on_error modes, the http step's encoding, cancel, and the CLI line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpRequestSpec } from '../src/core/commands/types.ts';
import { compileWorkflows, workflowEntry } from '../src/core/config/workflows.ts';
import { ExecError, ModelError } from '../src/core/errors.ts';
import { runWorkflow } from '../src/core/workflows/engine.ts';
import { WorkflowError } from '../src/core/workflows/errors.ts';
import { formatStep } from '../src/core/workflows/format.ts';
import type { StepEvent, WorkflowResult, WorkflowServices, WorkflowSpec } from '../src/core/workflows/types.ts';

/** A workflow as it would be written under `workflows:` (checked and compiled like the config loader does). */
function wf(entry: Record<string, unknown>, name = 'w'): WorkflowSpec {
  return compileWorkflows({ [name]: workflowEntry.parse(entry) }).get(name)!;
}

const turnVars = (input = 'hello') => ({
  system: { name: 'Claw', timezone: 'UTC' },
  user: { id: 'u1', name: 'Ada', role: 'User' },
  chat: { id: 'c1' },
  platform: 'cli',
  input,
});

const unused = (): never => assert.fail('this service is not called here');
const fake = (s: Partial<WorkflowServices>): WorkflowServices => ({ llm: unused, command: unused, http: unused, ...s });
/** A service that never answers and ignores its signal: the engine alone must stop waiting. */
const hang = (): Promise<never> => new Promise(() => {});

async function run(spec: WorkflowSpec, services: WorkflowServices, opts: { input?: string; signal?: AbortSignal; events?: StepEvent[] } = {}): Promise<WorkflowResult> {
  return runWorkflow(spec, {
    vars: turnVars(opts.input),
    services,
    signal: opts.signal ?? new AbortController().signal,
    onStep: (e) => opts.events?.push(e),
  });
}

const statuses = (r: WorkflowResult) => r.steps.map((s) => `${s.name}=${s.status}`);

describe('workflow engine', () => {
  it('passes outputs and turn variables from step to step', async () => {
    const prompts: unknown[] = [];
    const commands: unknown[] = [];
    const spec = wf({
      steps: [
        { name: 'ask', llm: 'Summarise: {{input}}', system: 'Be brief, {{user.name}}.', max_tokens: 50, temperature: 0.1 },
        { name: 'disk', command: 'disk_usage', args: { path: '/var', note: '{{steps.ask.output}}' } },
        { name: 'up', command: 'uptime', args: ['{{chat.id}}'] },
        { reply: '{{user.id}}: {{steps.ask.output}} / {{steps.disk.output}} ({{steps.disk.status}})' },
      ],
    });
    const r = await run(spec, fake({
      llm: async (req) => {
        prompts.push(req);
        return 'short\n';
      },
      command: async (name, args) => {
        commands.push([name, args]);
        return `${name} ran`;
      },
    }));
    assert.equal(r.status, 'ok');
    assert.deepEqual(prompts, [{ prompt: 'Summarise: hello', system: 'Be brief, Ada.', maxTokens: 50, temperature: 0.1 }]);
    assert.deepEqual(commands, [['disk_usage', { path: '/var', note: 'short\n' }], ['uptime', ['c1']]]);
    assert.equal(r.reply, 'u1: short\n / disk_usage ran (ok)');
    assert.deepEqual(statuses(r), ['ask=ok', 'disk=ok', 'up=ok', 'step4=ok']);
  });

  it("without reply steps the reply is the last step's output; reply steps are joined by blank lines", async () => {
    const llm = async () => '  the answer \n';
    assert.equal((await run(wf({ steps: [{ reply: 'from the reply step' }, { llm: 'q' }] }), fake({ llm }))).reply, 'from the reply step');
    assert.equal((await run(wf({ steps: [{ llm: 'q' }, { wait: 0 }, { llm: 'again' }] }), fake({ llm }))).reply, 'the answer');
    assert.equal((await run(wf({ steps: [{ reply: 'one' }, { reply: '' }, { reply: 'two' }] }), fake({}))).reply, 'one\n\ntwo');
  });

  it('if / then / else: the branch taken runs, the if step carries its output', async () => {
    const spec = wf({
      steps: [
        { name: 'check', if: { value: '{{input}}', matches: '(?i)^disk' }, then: [{ command: 'disk_usage' }], else: [{ reply: 'not a disk question' }, { llm: '{{input}}' }] },
        { reply: 'result: {{steps.check.output}}' },
      ],
    });
    const services = fake({ command: async () => 'disk report', llm: async (req) => `model on ${req.prompt}` });
    const yes = await run(spec, services, { input: 'Disk please' });
    assert.deepEqual(statuses(yes), ['check_then1=ok', 'check=ok', 'step2=ok']);
    assert.equal(yes.steps[1]!.branch, 'then');
    assert.equal(yes.reply, 'result: disk report');
    const no = await run(spec, services, { input: 'weather' });
    assert.equal(no.steps.find((s) => s.name === 'check')!.branch, 'else');
    assert.equal(no.reply, 'not a disk question\n\nresult: model on weather');
  });

  it('conditions: equals and contains (trimmed value), empty and not_empty', async () => {
    const cases: [Record<string, unknown>, string, boolean][] = [
      [{ equals: 'yes' }, ' yes\n', true],
      [{ equals: '{{user.id}}' }, 'u1', true],
      [{ equals: 'yes' }, 'yes!', false],
      [{ contains: 'err' }, 'an error', true],
      [{ contains: 'ERR' }, 'an error', false],
      [{ empty: true }, ' \n', true],
      [{ not_empty: true }, ' \n', false],
      [{ not_empty: true }, 'x', true],
    ];
    for (const [test, input, holds] of cases) {
      const r = await run(wf({ steps: [{ if: { value: '{{input}}', ...test }, then: [{ reply: 'then' }], else: [{ reply: 'else' }] }] }), fake({}), { input });
      assert.equal(r.reply, holds ? 'then' : 'else', `${JSON.stringify(test)} on ${JSON.stringify(input)}`);
    }
  });

  it("contains compares with another step's output trimmed too (command output ends in a line break)", async () => {
    const spec = wf({
      steps: [
        { name: 'who', command: 'whoami' },
        { if: { value: '{{input}}', contains: '{{steps.who.output}}' }, then: [{ reply: 'mentions you' }], else: [{ reply: 'not you' }] },
      ],
    });
    const command = async () => 'alice\n';
    assert.equal((await run(spec, fake({ command }), { input: 'ask alice about disks' })).reply, 'mentions you');
    assert.equal((await run(spec, fake({ command }), { input: 'ask bob' })).reply, 'not you');
  });

  it('set: variables read later, also out of a branch; a set step reads the values from before it', async () => {
    const spec = wf({
      steps: [
        { set: { topic: 'general', who: '{{user.name}}' } },
        { if: { value: '{{input}}', not_empty: true }, then: [{ set: { topic: '{{input}}' } }] },
        { set: { topic: 'about {{vars.topic}}', old: '{{vars.topic}}' } },
        { reply: '{{vars.who}} asks {{vars.topic}} (was {{vars.old}})' },
      ],
    });
    assert.equal((await run(spec, fake({}), { input: 'disks' })).reply, 'Ada asks about disks (was disks)');
    assert.equal((await run(spec, fake({}), { input: '' })).reply, 'Ada asks about general (was general)');
  });

  it('wait waits, and fails as a timeout when its step has less time', async () => {
    let t = performance.now();
    const ok = await run(wf({ steps: [{ wait: '50ms' }, { reply: 'done' }] }), fake({}));
    assert.equal(ok.reply, 'done');
    assert.ok(performance.now() - t >= 45, 'it waited');

    t = performance.now();
    const r = await run(wf({ steps: [{ name: 'pause', wait: '5s', timeout: '50ms' }, { reply: 'after' }] }), fake({}));
    assert.ok(performance.now() - t < 1000, 'stopped at the step timeout');
    assert.equal(r.status, 'failed');
    assert.ok(r.error instanceof WorkflowError && r.error.kind === 'timeout' && r.error.step === 'pause');
    assert.deepEqual(statuses(r), ['pause=failed']);
  });

  it("a step's own timeout is its failure: on_error continue goes on, and the next step sees status failed", async () => {
    const t = performance.now();
    const r = await run(wf({
      on_error: 'continue',
      steps: [
        { name: 'slow', llm: 'q', timeout: '50ms' },
        { reply: 'slow was {{steps.slow.status}}, output "{{steps.slow.output}}"' },
      ],
    }), fake({ llm: hang }));
    assert.ok(performance.now() - t < 1000);
    assert.equal(r.status, 'ok');
    assert.equal(r.reply, 'slow was failed, output ""');
    const slow = r.steps[0]!;
    assert.ok(slow.error instanceof WorkflowError && slow.error.kind === 'timeout');
  });

  it("the whole workflow's deadline stops everything, even under on_error: continue", async () => {
    const t = performance.now();
    const r = await run(wf({
      timeout: '100ms',
      on_error: 'continue',
      steps: [{ reply: 'started' }, { name: 'a', llm: 'q', timeout: '10s' }, { name: 'b', reply: 'never' }],
    }), fake({ llm: hang }));
    assert.ok(performance.now() - t < 1000);
    assert.equal(r.status, 'failed');
    assert.ok(r.error instanceof WorkflowError && r.error.kind === 'timeout' && r.error.step === undefined);
    assert.deepEqual(statuses(r), ['step1=ok', 'a=failed']);
    assert.equal(r.reply, 'started');
  });

  it('the whole deadline under on_error: reply adds the timeout text', async () => {
    const r = await run(wf({ timeout: '50ms', on_error: 'reply', steps: [{ reply: 'so far' }, { llm: 'q' }] }), fake({ llm: hang }));
    assert.equal(r.status, 'failed');
    assert.equal(r.reply, 'so far\n\nThe workflow took too long and was stopped.');
  });

  it("an if step's timeout cuts its branch and is the if step's failure (its on_error decides)", async () => {
    const r = await run(wf({
      steps: [
        { name: 'check', if: { value: 'x', not_empty: true }, timeout: '50ms', on_error: 'continue', then: [{ name: 'inner', llm: 'q', on_error: 'reply' }] },
        { reply: 'check {{steps.check.status}}' },
      ],
    }), fake({ llm: hang }));
    assert.equal(r.status, 'ok');
    assert.deepEqual(statuses(r), ['inner=failed', 'check=failed', 'step2=ok']);
    assert.equal(r.reply, 'check failed', "the inner step's on_error: reply did not add a text for a deadline not its own");
    assert.ok(r.steps[1]!.error instanceof WorkflowError && (r.steps[1]!.error as WorkflowError).step === 'check');
  });

  describe('on_error', () => {
    const failing = fake({ command: async () => { throw new ExecError('NONZERO_EXIT', 'exit 2', { exitCode: 2 }); } });
    const steps = [{ reply: 'first' }, { name: 'cmd', command: 'broken' }, { reply: 'last: {{steps.cmd.status}}' }];

    it('stop (the default): failed, the reply is what was replied so far', async () => {
      const r = await run(wf({ steps }), failing);
      assert.equal(r.status, 'failed');
      assert.ok(r.error instanceof ExecError && r.error.code === 'NONZERO_EXIT');
      assert.equal(r.reply, 'first');
      assert.deepEqual(statuses(r), ['step1=ok', 'cmd=failed']);
    });

    it("reply: stops and adds the error's user text", async () => {
      const r = await run(wf({ steps, on_error: 'reply' }), failing);
      assert.equal(r.status, 'failed');
      assert.equal(r.reply, 'first\n\nThe command failed.');
    });

    it('reply without a user text on the error: "Step NAME failed."', async () => {
      const r = await run(wf({ steps: [{ name: 'ask', llm: 'q' }], on_error: 'reply' }), fake({ llm: async () => { throw new Error('socket hang up'); } }));
      assert.equal(r.reply, 'Step ask failed.');
      assert.equal(r.error?.message, 'socket hang up');
    });

    it('continue: the step is recorded failed and the next one runs', async () => {
      const r = await run(wf({ steps, on_error: 'continue' }), failing);
      assert.equal(r.status, 'ok');
      assert.equal(r.reply, 'first\n\nlast: failed');
      assert.deepEqual(statuses(r), ['step1=ok', 'cmd=failed', 'step3=ok']);
    });

    it("a step's on_error overrides the workflow's, and a branch inherits its if step's", async () => {
      const r = await run(wf({
        on_error: 'stop',
        steps: [
          { name: 'cmd', command: 'broken', on_error: 'continue' },
          { if: { value: 'x', not_empty: true }, on_error: 'reply', then: [{ llm: 'q' }] },
          { reply: 'never' },
        ],
      }), fake({
        command: failing.command,
        llm: async () => { throw new ModelError('unreachable', 'ECONNREFUSED'); },
      }));
      assert.equal(r.status, 'failed');
      assert.equal(r.reply, 'The model service is not reachable right now. Please try again later.');
      assert.deepEqual(statuses(r), ['cmd=failed', 'step2_then1=failed', 'step2=failed']);
    });

    it('a policy denial from services.command becomes a clear reply', async () => {
      const denied = new ExecError('DENIED', 'disk_usage needs Operator; the sender is User', { userText: 'Sorry, disk_usage needs the Operator role, and you are a User.' });
      const r = await run(wf({ on_error: 'reply', steps: [{ command: 'disk_usage', args: ['/var'] }, { reply: 'never' }] }), fake({ command: async () => { throw denied; } }));
      assert.equal(r.status, 'failed');
      assert.equal(r.reply, 'Sorry, disk_usage needs the Operator role, and you are a User.');
      assert.equal(r.error, denied);
    });
  });

  describe('http step', () => {
    const evil = 'x&admin=1#frag/../"}, "role": "admin';

    it('URL-encodes values in the URL, JSON-encodes them in a mapping body, and returns the body', async () => {
      const seen: [HttpRequestSpec, { timeoutMs: number }][] = [];
      const spec = wf({
        steps: [
          {
            name: 'call',
            timeout: '5s',
            http: {
              method: 'POST',
              url: 'https://api.example.com/users/{{input}}?q={{input}}',
              headers: { 'X-User': '{{user.id}}' },
              body: { name: '{{input}}', tags: ['{{user.id}}', 2], nested: { ok: true } },
              expect_status: [200, 201],
            },
          },
        ],
      });
      const r = await run(spec, fake({ http: async (req, opts) => { seen.push([req, opts]); return { status: 201, body: '{"id":7}' }; } }), { input: evil });
      assert.equal(r.status, 'ok');
      assert.equal(r.reply, '{"id":7}');
      const [req, opts] = seen[0]!;
      const enc = encodeURIComponent(evil);
      assert.equal(req.url, `https://api.example.com/users/${enc}?q=${enc}`);
      const u = new URL(req.url);
      assert.equal(u.hostname, 'api.example.com');
      assert.deepEqual([...u.searchParams.keys()], ['q'], 'no parameter smuggled in');
      assert.equal(u.searchParams.get('q'), evil);
      assert.equal(u.hash, '');
      assert.deepEqual(req.body, { name: evil, tags: ['u1', 2], nested: { ok: true } });
      assert.deepEqual(JSON.parse(JSON.stringify(req.body)), { name: evil, tags: ['u1', 2], nested: { ok: true } }, 'the value stays one JSON string');
      assert.deepEqual(req.headers, { 'X-User': 'u1' });
      assert.equal(req.method, 'POST');
      assert.deepEqual(req.expectStatus, [200, 201]);
      assert.ok(opts.timeoutMs > 4000 && opts.timeoutMs <= 5000, `the step's time is handed on (${opts.timeoutMs})`);
    });

    it('a text body encodes values for its Content-Type: form by default, JSON when the header says so', async () => {
      const bodies: unknown[] = [];
      const http = async (req: HttpRequestSpec) => { bodies.push(req.body); return { status: 200, body: '' }; };
      await run(wf({ steps: [{ http: { method: 'POST', url: 'https://h.example/f', body: 'q={{input}}&lang=en' } }] }), fake({ http }), { input: evil });
      await run(wf({ steps: [{ http: { method: 'POST', url: 'https://h.example/j', headers: { 'Content-Type': 'application/json' }, body: '{"q": "{{input}}"}' } }] }), fake({ http }), { input: evil });
      assert.equal(bodies[0], `q=${encodeURIComponent(evil)}&lang=en`);
      assert.deepEqual(new URLSearchParams(bodies[0] as string).get('q'), evil);
      assert.deepEqual(JSON.parse(bodies[1] as string), { q: evil });
    });

    it('an unexpected status or a header value with a line break fails the step', async () => {
      const r = await run(wf({ on_error: 'reply', steps: [{ http: { url: 'https://h.example/' } }] }), fake({ http: async () => ({ status: 500, body: 'boom' }) }));
      assert.ok(r.error instanceof ExecError && r.error.code === 'UNEXPECTED_STATUS' && r.error.output === 'boom');
      assert.equal(r.reply, 'The service answered with an error.');
      const h = await run(wf({ steps: [{ http: { url: 'https://h.example/', headers: { 'X-Q': '{{input}}' } } }] }), fake({}), { input: 'a\r\nX-Admin: 1' });
      assert.ok(h.error instanceof ExecError && h.error.code === 'BAD_ARGUMENT');
    });

    it('a value that is a dot segment in the URL path is refused: it cannot climb to another path on the host', async () => {
      const urls: string[] = [];
      const http = async (req: HttpRequestSpec) => { urls.push(req.url); return { status: 200, body: 'ok' }; };
      const spec = wf({ steps: [{ http: { url: 'https://api.example.com/users/{{input}}/profile?q={{input}}' } }] });
      for (const input of ['..', '.', '%2e%2E']) {
        const r = await run(spec, fake({ http }), { input });
        if (input.startsWith('%')) continue; // encoded again: %252e%252E, an ordinary segment
        assert.ok(r.error instanceof ExecError && r.error.code === 'BAD_ARGUMENT', `${input}: ${r.error?.message}`);
      }
      assert.deepEqual(urls, ['https://api.example.com/users/%252e%252E/profile?q=%252e%252E']);
      // In the query a dot is only text.
      const q = await run(wf({ steps: [{ http: { url: 'https://api.example.com/search?q={{input}}' } }] }), fake({ http }), { input: '..' });
      assert.equal(q.status, 'ok');
      assert.equal(urls.at(-1), 'https://api.example.com/search?q=..');
    });
  });

  it('a cancel from the caller stops promptly, even when the service ignores its signal', async () => {
    const ac = new AbortController();
    const signals: AbortSignal[] = [];
    const pending = run(wf({ on_error: 'continue', steps: [{ name: 'ask', llm: 'q' }, { reply: 'never' }] }), fake({ llm: (_req, signal) => { signals.push(signal); return hang(); } }), { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const t = performance.now();
    const r = await pending;
    assert.ok(performance.now() - t < 500);
    assert.equal(r.status, 'failed');
    assert.ok(r.error instanceof WorkflowError && r.error.kind === 'aborted');
    assert.deepEqual(statuses(r), ['ask=failed']);
    assert.equal(signals[0]!.aborted, true, "the service's signal was aborted too");
    const before = await run(wf({ steps: [{ reply: 'x' }] }), fake({}), { signal: AbortSignal.abort() });
    assert.equal(before.status, 'failed');
    assert.equal(before.reply, '');
  });

  it("does not read the turn's lazy variables unless a template uses them", async () => {
    let reads = 0;
    const vars = { ...turnVars(), get date() { reads++; return '2026-11-25'; } };
    const spec = wf({ steps: [{ reply: '{{input}}' }] });
    assert.equal((await runWorkflow(spec, { vars, services: fake({}), signal: new AbortController().signal })).reply, 'hello');
    assert.equal(reads, 0);
    assert.equal((await runWorkflow(wf({ steps: [{ reply: '{{date}}' }] }), { vars, services: fake({}), signal: new AbortController().signal })).reply, '2026-11-25');
    assert.equal(reads, 1);
  });

  it('reports each step as it ends; formatStep makes one line of it', async () => {
    const events: StepEvent[] = [];
    await run(wf({
      on_error: 'continue',
      steps: [
        { name: 'check', if: { value: '{{input}}', not_empty: true }, then: [{ name: 'greet', reply: 'Hello\nthere, this is a rather long reply that goes on and on and on' }] },
        { name: 'cmd', command: 'x' },
      ],
    }), fake({ command: async () => { throw new ExecError('NONZERO_EXIT', 'x exited with 2'); } }), { events });
    assert.deepEqual(events.map((e) => [e.name, e.depth]), [['greet', 1], ['check', 0], ['cmd', 0]]);
    const lines = events.map(formatStep);
    assert.match(lines[0]!, /^ {2}greet \(reply\) ok \d+ ms {2}"Hello there, this is a rather long reply that goes on and o…"$/);
    assert.match(lines[1]!, /^check \(if → then\) ok \d+ ms {2}"Hello there/);
    assert.match(lines[2]!, /^cmd \(command\) failed \d+ ms {2}x exited with 2$/);
    const timeout = formatStep({ name: 'slow', kind: 'llm', status: 'failed', output: '', durationMs: 2500, depth: 0, branch: undefined, error: new WorkflowError('timeout', 'slow', 2500) });
    assert.equal(timeout, 'slow (llm) timeout 2.5 s  step slow timed out after 2500 ms');
  });
});
