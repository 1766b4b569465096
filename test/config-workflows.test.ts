// The `workflows:` section: the seed's entry loads; bad steps and bad variable references are reported
// with file:line:col, the key path, what was expected and (for typos) a did-you-mean.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { record, string } from 'zod/mini';
import { parseYaml } from '../src/core/config/document.ts';
import { obj } from '../src/core/config/kit.ts';
import { issuesToProblems } from '../src/core/config/problems.ts';
import { commandRefs, compileWorkflows, workflowEntry } from '../src/core/config/workflows.ts';
import { runWorkflow } from '../src/core/workflows/engine.ts';
import type { WorkflowServices, WorkflowSpec } from '../src/core/workflows/types.ts';

const schema = obj({ workflows: record(string(), workflowEntry) });

function load(yaml: string): { problems: string[]; specs: Map<string, WorkflowSpec> | undefined } {
  const { source, problems } = parseYaml(yaml, '/cfg/w.yaml', 'w.yaml', {});
  assert.deepEqual(problems, [], 'the YAML itself parses');
  const r = schema.safeParse(source.data);
  if (!r.success) return { problems: issuesToProblems(r.error.issues, source), specs: undefined };
  return { problems: [], specs: compileWorkflows(r.data.workflows) };
}

function specOf(yaml: string, name: string): WorkflowSpec {
  const { problems, specs } = load(yaml);
  assert.deepEqual(problems, []);
  const spec = specs!.get(name);
  assert.ok(spec, `workflow ${name} compiled`);
  return spec;
}

function problemsOf(yaml: string): string[] {
  const { problems } = load(yaml);
  assert.ok(problems.length > 0, 'the config is refused');
  return problems;
}

const refuse = (): never => assert.fail('no service is called');
const noServices: WorkflowServices = { llm: refuse, command: refuse, http: refuse };

describe('workflows config', () => {
  it("loads the seed's trigger_help_workflow as written, with the defaults", async () => {
    const spec = specOf([
      'workflows:',
      '  trigger_help_workflow:',
      '    steps:',
      '      - { name: hello, reply: "Help for {{user.id}}" }',
      '    on_error: reply',
    ].join('\n'), 'trigger_help_workflow');
    assert.equal(spec.onError, 'reply');
    assert.equal(spec.timeoutMs, 5 * 60_000);
    assert.deepEqual(spec.role, ['User']);
    assert.deepEqual(spec.steps.map((s) => [s.name, s.kind]), [['hello', 'reply']]);
    const r = await runWorkflow(spec, { vars: { user: { id: 'u1' } }, services: noServices, signal: new AbortController().signal });
    assert.equal(r.status, 'ok');
    assert.equal(r.reply, 'Help for u1');
  });

  it('reads every key: timeouts, roles, step options, default and nested names', () => {
    const spec = specOf(`
workflows:
  triage:
    description: Sort a request
    timeout: 30s
    role: [Operator, Auditor]
    steps:
      - llm: "Classify: {{input}}"
        system: Answer with one word.
        max_tokens: 5
        temperature: 0
        timeout: 10s
        on_error: continue
      - if: { value: "{{steps.step1.output}}", matches: "(?i)^disk" }
        then:
          - { command: disk_usage, args: { path: /var } }
          - { reply: "{{steps.step2_then1.output}}" }
        else:
          - { command: uptime, args: ["{{input}}"] }
      - wait: 1s
`, 'triage');
    assert.equal(spec.description, 'Sort a request');
    assert.equal(spec.timeoutMs, 30_000);
    assert.deepEqual(spec.role, ['Operator', 'Auditor']);
    const [llm, branch, wait] = spec.steps;
    assert.ok(llm?.kind === 'llm' && branch?.kind === 'if' && wait?.kind === 'wait');
    assert.deepEqual([llm.name, llm.maxTokens, llm.temperature, llm.timeoutMs, llm.onError], ['step1', 5, 0, 10_000, 'continue']);
    assert.equal(llm.system?.render({}), 'Answer with one word.');
    assert.ok(branch.test.op === 'matches' && branch.test.re.test('DISK full'));
    assert.deepEqual(branch.then.map((s) => s.name), ['step2_then1', 'step2_then2']);
    assert.deepEqual(branch.else.map((s) => s.name), ['step2_else1']);
    assert.equal(wait.ms, 1000);
    assert.deepEqual(commandRefs(spec), ['disk_usage', 'uptime']);
  });

  it('a step with two kinds, or none, says where and what a step is', () => {
    const p = problemsOf([
      'workflows:',
      '  w:',
      '    steps:',
      '      - reply: hi',
      '        llm: hello',
      '      - name: empty',
      '        timeout: 5s',
    ].join('\n'));
    assert.equal(p.length, 2, p.join('\n'));
    assert.match(p[0]!, /^w\.yaml:4:16: workflows\.w\.steps\[0\]\.reply: expected exactly one kind of step, got both llm and reply/);
    assert.match(p[1]!, /^w\.yaml:6:9: workflows\.w\.steps\[1\]: expected a step: exactly one of llm, reply, command, http, set, if, wait/);
  });

  it('an unknown key in a step gets a did-you-mean', () => {
    const [p] = problemsOf('workflows:\n  w:\n    steps:\n      - { reply: hi, on_eror: continue }\n');
    assert.match(p!, /^w\.yaml:4:22: workflows\.w\.steps\[0\]\.on_eror: unknown key, did you mean `on_error`\?/);
  });

  it('a step may not read a step that runs later (or itself)', () => {
    const p = problemsOf([
      'workflows:',
      '  w:',
      '    steps:',
      '      - { name: first, reply: "{{steps.second.output}}" }',
      '      - { name: second, llm: "{{steps.second.output}}" }',
    ].join('\n'));
    assert.equal(p.length, 2, p.join('\n'));
    assert.match(p[0]!, /^w\.yaml:4:31: workflows\.w\.steps\[0\]\.reply: \{\{steps\.second\.output\}\} reads step "second" \(steps\[1\]\), which has not run at this point: expected a step before this one/);
    assert.match(p[1]!, /^w\.yaml:5:30: workflows\.w\.steps\[1\]\.llm: \{\{steps\.second\.output\}\} reads step "second"/);
  });

  it("a branch's steps are readable inside it, not after the if nor from the other branch", () => {
    const p = problemsOf(`
workflows:
  w:
    steps:
      - name: check
        if: { value: "{{input}}", empty: true }
        then:
          - { name: a, reply: one }
          - { name: b, reply: "{{steps.a.output}} {{steps.check.status}}" }
        else:
          - { name: c, reply: "{{steps.a.output}}" }
      - { reply: "{{steps.b.output}}" }
      - { reply: "{{steps.check.output}}" }
`);
    assert.equal(p.length, 3, p.join('\n'));
    assert.match(p[0]!, /workflows\.w\.steps\[0\]\.then\[1\]\.reply: \{\{steps\.check\.status\}\} reads step "check" \(steps\[0\]\), which has not run/);
    assert.match(p[1]!, /workflows\.w\.steps\[0\]\.else\[0\]\.reply: \{\{steps\.a\.output\}\} reads step "a" \(steps\[0\]\.then\[0\]\)/);
    assert.match(p[2]!, /workflows\.w\.steps\[1\]\.reply: \{\{steps\.b\.output\}\} reads step "b"/);
  });

  it('an unknown variable is an error with a did-you-mean; vars must be set before they are read', () => {
    const p = problemsOf([
      'workflows:',
      '  w:',
      '    steps:',
      '      - { name: hello, reply: "Hi {{user.nmae}}" }',
      '      - { reply: "{{steps.helo.output}}" }',
      '      - { reply: "{{steps.hello.outptu}}" }',
      '      - { reply: "{{vars.topic}}" }',
      '      - { set: { topic: "{{input}}" } }',
    ].join('\n'));
    assert.equal(p.length, 4, p.join('\n'));
    assert.match(p[0]!, /^w\.yaml:4:31: workflows\.w\.steps\[0\]\.reply: unknown template variable "\{\{user\.nmae\}\}" \(did you mean \{\{user\.name\}\}\?\)/);
    assert.match(p[1]!, /steps\[1\]\.reply: unknown template variable "\{\{steps\.helo\.output\}\}" \(did you mean \{\{steps\.hello\.output\}\}\?\)/);
    assert.match(p[2]!, /steps\[2\]\.reply: unknown template variable "\{\{steps\.hello\.outptu\}\}": expected \{\{steps\.hello\.output\}\} or \{\{steps\.hello\.status\}\}/);
    assert.match(p[3]!, /steps\[3\]\.reply: \{\{vars\.topic\}\} is set only later \(steps\[4\]\.set\.topic\): expected a variable set before this step/);
  });

  it('duplicate step names, written or default, are refused with the first place', () => {
    const p = problemsOf([
      'workflows:',
      '  w:',
      '    steps:',
      '      - { name: x, reply: a }',
      '      - { name: x, reply: b }',
      '      - { name: step4, reply: c }',
      '      - { reply: d }',
    ].join('\n'));
    assert.equal(p.length, 2, p.join('\n'));
    assert.match(p[0]!, /^w\.yaml:5:17: workflows\.w\.steps\[1\]\.name: expected step names used once in a workflow, got "x" again: steps\[0\] has it already/);
    assert.match(p[1]!, /^w\.yaml:7:9: workflows\.w\.steps\[3\]: expected step names used once in a workflow, got "step4" again \(the default name of this step; give it a name: key\): steps\[2\] has it already/);
  });

  it('refuses bad values: role, on_error, empty steps, an if without then, a test too many, a bad step name', () => {
    const p = problemsOf(`
workflows:
  a:
    role: Root
    on_error: retry
    steps: []
  b:
    steps:
      - if: { value: "{{input}}", equals: x, empty: true }
      - { name: "my step", reply: x }
      - { if: { value: "{{input}}", not_empty: true } }
      - { reply: x, args: [y] }
`);
    const want = [
      /workflows\.a\.role: expected one of Admin, Operator, Auditor, User or a list of them, got "Root"/,
      /workflows\.a\.on_error: expected one of stop, continue, reply, got "retry"/,
      /workflows\.a\.steps: expected at least one step, got an empty list/,
      /workflows\.b\.steps\[0\]\.if\.empty: expected exactly one test next to value: \(equals, contains, matches, empty, not_empty\), got equals and empty/,
      /workflows\.b\.steps\[1\]\.name: expected a step name/,
      /workflows\.b\.steps\[2\]\.if: expected `then:` \(a list of steps\) next to `if:`/,
      /workflows\.b\.steps\[3\]\.args: expected args only in a command step/,
    ];
    for (const re of want) assert.ok(p.some((x) => re.test(x)), `${re} in:\n${p.join('\n')}`);
  });

  it('a timeout or wait longer than a timer can hold (24.8 days) is refused, not ended at once', () => {
    const p = problemsOf(`
workflows:
  a:
    timeout: 30d
    steps:
      - { wait: 25d, timeout: 25d }
`);
    assert.ok(p.some((x) => /workflows\.a\.timeout: expected a duration of at most 24d, got "30d"/.test(x)), p.join('\n'));
    assert.ok(p.some((x) => /workflows\.a\.steps\[0\]\.wait: expected a duration of at most 24d/.test(x)), p.join('\n'));
    assert.ok(p.some((x) => /workflows\.a\.steps\[0\]\.timeout: expected a duration of at most 24d/.test(x)), p.join('\n'));
    assert.equal(specOf('workflows:\n  b: { timeout: 24d, steps: [{ wait: 1d }] }\n', 'b').timeoutMs, 24 * 86_400_000);
  });

  it('an http step: the host is written out, a body needs a method that takes one, headers are names', () => {
    const p = problemsOf(`
workflows:
  w:
    steps:
      - http: { url: "{{input}}/x" }
      - http: { url: "https://{{input}}.example.com/" }
      - http: { url: "https://api.example.com/q", body: { q: "{{input}}" } }
      - http: { method: post, url: "https://api.example.com/q", headers: { "Bad Header": x } }
`);
    const want = [
      /steps\[0\]\.http\.url: expected an http\(s\) URL with the scheme and host written out/,
      /steps\[1\]\.http\.url: expected an http\(s\) URL with the scheme and host written out/,
      /steps\[2\]\.http\.method: expected POST, PUT, PATCH or DELETE with a body, got GET \(the default\)/,
      /steps\[3\]\.http\.headers: expected header names without spaces or separators, got "Bad Header"/,
    ];
    assert.equal(p.length, want.length, p.join('\n'));
    want.forEach((re, i) => assert.match(p[i]!, re));
  });

  it('compiles http and set steps into finished parts', () => {
    const spec = specOf(`
workflows:
  w:
    steps:
      - set: { who: "{{user.id}}" }
      - http:
          method: post
          url: "https://api.example.com/users/{{vars.who}}"
          headers: { Authorization: "Bearer t" }
          body: { name: "{{vars.who}}", n: 1, tags: [a, "{{input}}"], on: true, none: null }
          expect_status: 201
      - http: { method: PUT, url: "https://api.example.com/f", body: "a={{input}}", expect_status: [200, 204] }
`, 'w');
    const [set, post, put] = spec.steps;
    assert.ok(set?.kind === 'set' && post?.kind === 'http' && put?.kind === 'http');
    assert.deepEqual(set.values.map(([k]) => k), ['who']);
    assert.equal(post.method, 'POST');
    assert.deepEqual(post.expectStatus, [201]);
    assert.equal(post.body?.type, 'json');
    assert.deepEqual(put.expectStatus, [200, 204]);
    assert.ok(put.body?.type === 'text' && put.body.encoding === 'form');
  });
});
