// Bad configs: every problem is reported, each with file:line:col, the key path and what was expected.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigProblemsError, loadConfig } from '../src/core/config/load.ts';
import { ConfigError } from '../src/core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'clawdbot-config-err-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const load = (name: string, text: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ file: write(name, text), cwd: dir, env, home: dir });

/** The problems of a config that must fail to load. */
function problems(name: string, text: string, env?: NodeJS.ProcessEnv): readonly string[] {
  try {
    load(name, text, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    assert.ok(err instanceof ConfigProblemsError);
    assert.equal(err.message.split('\n').filter((l) => err.problems.includes(l)).length, err.problems.length, 'every problem is in the message');
    return err.problems;
  }
  assert.fail(`${name} loaded, but should not have`);
}

describe('config errors', () => {
  it('malformed YAML carries the parser position', () => {
    assert.deepEqual(problems('bad.yaml', 'system:\n  name: x\n    bad: y\n'), [
      'bad.yaml:2:9: invalid YAML: Nested mappings are not allowed in compact mappings',
      'bad.yaml:2:9: invalid YAML: Implicit keys need to be on a single line',
    ]);
    assert.match(problems('q.yaml', 'models:\n  default:\n    endpoint: "http://x\n')[0]!, /^q\.yaml:4:1: invalid YAML: Missing closing "quote/);
    assert.match(problems('dup.yaml', 'system: {}\nsystem: {}\n')[0]!, /^dup\.yaml:2:1: invalid YAML: Map keys must be unique/);
  });

  it('an unknown key says where and suggests the right one', () => {
    assert.deepEqual(problems('u.yaml', 'models:\n  default:\n    endpoint: "http://x:1"\n    temprature: 0.2\n'), [
      'u.yaml:4:5: models.default.temprature: unknown key, did you mean `temperature`? (expected one of: provider, endpoint, model, api_key, max_tokens, temperature, timeout)',
    ]);
    assert.match(problems('t.yaml', 'system:\n  nmae: x\n')[0]!, /^t\.yaml:2:3: system\.nmae: unknown key, did you mean `name`\?/);
    assert.match(problems('p.yaml', 'sys:\n  name: x\n')[0]!, /^p\.yaml:1:1: sys: unknown key, did you mean `system`\?/, 'a prefix is a hint too');
    const far = problems('f.yaml', 'telemetry: on\n')[0]!;
    assert.match(far, /^f\.yaml:1:1: telemetry: unknown key \(expected one of: system, security, models, adapters, sessions, routes, routes_file, actions, commands, workflows, schedules, metrics, audit, media_processors, memory\)$/);
  });

  it('wrong types name the expected form and the value given', () => {
    const p = problems('w.yaml', [
      'system:',
      '  timezone: Mars/Olympus',
      '  max_concurrency: 0',
      'security:',
      '  rate_limit: lots',
      'models:',
      '  default:',
      '    provider: llama',
      '    endpoint: ftp://x',
      '    temperature: hot',
      '    timeout: abc',
      'adapters:',
      '  websocket: { listen: "host:99999", enabled: "yes" }',
      'sessions: { ttl: 0 }',
      '',
    ].join('\n'));
    assert.deepEqual(p, [
      'w.yaml:2:13: system.timezone: expected an IANA time zone like Asia/Shanghai, Europe/Berlin or UTC, got "Mars/Olympus"',
      'w.yaml:3:20: system.max_concurrency: expected a whole number from 1 to 256, got 0',
      'w.yaml:5:15: security.rate_limit: expected a rate like 100/min, 5/s, 1000/hour (or "100 per minute"), got "lots"',
      'w.yaml:8:15: models.default.provider: expected one of ollama, openai, auto, got "llama"',
      'w.yaml:9:15: models.default.endpoint: expected an http(s) URL like http://127.0.0.1:11434 or http://localhost:8000/v1, got "ftp://x"',
      'w.yaml:10:18: models.default.temperature: expected a number from 0 to 2, got "hot"',
      'w.yaml:11:14: models.default.timeout: expected a duration like 30s, 500ms, 5m, 1h, 1d (or a number of seconds), got "abc"',
      'w.yaml:13:24: adapters.websocket.listen: expected an address like 127.0.0.1:8080, [::1]:8080, :8080 or a port number, got "host:99999"',
      'w.yaml:13:47: adapters.websocket.enabled: expected true or false, got "yes"',
      'w.yaml:14:18: sessions.ttl: expected a duration like 30s, 500ms, 5m, 1h, 1d (or a number of seconds), got 0',
    ]);
  });

  it('a section of the wrong shape, and a top level that is not a mapping', () => {
    assert.match(problems('s.yaml', 'system: 5\n')[0]!, /^s\.yaml:1:9: system: expected a mapping with keys name, timezone, .*, got 5$/);
    assert.match(problems('l.yaml', '- a\n- b\n')[0]!, /^l\.yaml:1:1: \(top level\): expected a mapping of settings .*, got a list$/);
  });

  it('all problems are reported at once, in file order, the first as `where`', () => {
    try {
      load('many.yaml', 'system:\n  max_concurrency: 999\n  colour: red\nmodels:\n  default: { temperature: 9 }\n');
      assert.fail('should not load');
    } catch (err) {
      assert.ok(err instanceof ConfigProblemsError);
      assert.deepEqual(err.problems.map((p) => p.split(': ')[0]), ['many.yaml:2:20', 'many.yaml:3:3', 'many.yaml:5:27']);
      assert.equal(err.where, 'many.yaml:2:20');
      assert.equal(err.path, 'system.max_concurrency');
      assert.match(err.message, /^3 problems in the configuration:\n/);
    }
  });

  it('a bad regular expression is reported at its position; (?i) sets the i flag', () => {
    const p = problems('re.yaml', 'routes:\n  - match: { content_regex: "(unclosed" }\n    action: x\n');
    assert.match(p[0]!, /^re\.yaml:2:29: routes\[0\]\.match\.content_regex: expected a regular expression.*Unterminated group.*, got "\(unclosed"$/);
    const c = load('ok.yaml', "routes:\n  - match: { content_regex: '(?i)^status\\b' }\n    action: process_with_llm\n");
    const re = c.routes[0]!.match!.contentRegex!;
    assert.equal(re.flags, 'i');
    assert.equal(re.source, '^status\\b');
    assert.ok(re.test('STATUS please'));
  });

  it('route rules: two defaults, no conditions, no action, unknown condition', () => {
    const p = problems('r.yaml', [
      'routes:',
      '  - match: {}',
      '    action: a',
      '  - default: { action: process_with_llm }',
      '  - match: { content: hi }',
      '  - default: { action: b }',
      '  - match: { contnet: hi }',
      '    action: c',
      '',
    ].join('\n'));
    assert.deepEqual(p, [
      'r.yaml:2:12: routes[0].match: expected at least one condition (platform, content, content_prefix, content_regex, role); for a catch-all rule write `default: { action: NAME }`, got an empty mapping',
      'r.yaml:5:5: routes[2].action: expected `action: NAME` next to `match:`, got nothing (the key is missing)',
      'r.yaml:6:5: routes[3].default: expected at most one default rule, got a second one (the first is routes[1] at r.yaml:4:5)',
      'r.yaml:7:14: routes[4].match.contnet: unknown key, did you mean `content`? (expected one of: platform, content, content_prefix, content_regex, role)',
    ]);
  });

  it('routes and routes_file together are an error; a missing routes_file is reported where it is named', () => {
    write('rules.yaml', 'routes:\n  - default: { action: process_with_llm }\n');
    assert.deepEqual(problems('both.yaml', 'routes_file: rules.yaml\nroutes:\n  - default: { action: process_with_llm }\n'), [
      'both.yaml:1:14: routes_file: expected either routes: (inline) or routes_file:, not both',
    ]);
    assert.match(problems('gone.yaml', 'system: { name: x }\nroutes_file: nope.yaml\n')[0]!, /^gone\.yaml:2:14: routes_file: expected a routing file, got "nope\.yaml" \(.*nope\.yaml does not exist\)$/);
  });

  it('problems inside the routes file name that file', () => {
    write('badrules.yaml', 'routes:\n  - match: { platform: slack, content: "!help" }\n    acton: x\n');
    const p = problems('main.yaml', 'routes_file: badrules.yaml\n');
    assert.equal(p.length, 2);
    assert.match(p[0]!, /^badrules\.yaml:2:5: routes\[0\]\.action: expected `action: NAME`/);
    assert.match(p[1]!, /^badrules\.yaml:3:5: routes\[0\]\.acton: unknown key, did you mean `action`\?/);
  });

  it('templates: an unknown variable fails the load at its position', () => {
    const p = problems('tpl.yaml', 'actions:\n  hello:\n    type: reply\n    text: "Hi {{ user.nmae }}"\n');
    assert.match(p[0]!, /^tpl\.yaml:4:11: actions\.hello\.text: unknown template variable "\{\{user\.nmae\}\}" \(did you mean \{\{user\.name\}\}\?\): expected one of system\.name, .*, got "Hi \{\{ user\.nmae \}\}"$/);
    assert.match(problems('ty.yaml', 'actions:\n  x: { type: shell }\n')[0]!, /^ty\.yaml:2:14: actions\.x\.type: expected `type: reply` .* or `type: llm`.*, got "shell"$/);
  });

  it('a broken ${...} reference is an error at its position', () => {
    assert.deepEqual(problems('env.yaml', 'security:\n  api_key: "${KEY"\n'), [
      'env.yaml:2:12: security.api_key: expected ${NAME} or ${NAME:-default} (write $${ for a literal ${), got "${KEY"',
    ]);
    assert.match(problems('flow.yaml', 'security: { api_key: ${KEY} }\n')[0]!, /quote values that use \$\{VAR\}/);
  });
});
