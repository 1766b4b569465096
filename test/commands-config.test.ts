// The `commands:` section: the issue's fixed format loads as written, defaults and paths are filled in,
// and every mistake is reported with its place, the key path and what was expected. The top-level
// schema is wired by the config loader; here the entry schema runs under a `commands:` mapping the same
// way, through the same problem reporting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { record, string } from 'zod/mini';
import { compileCommands, commandEntry } from '../src/core/config/commands.ts';
import { parseYaml } from '../src/core/config/document.ts';
import { obj } from '../src/core/config/kit.ts';
import { issuesToProblems, sortByPosition } from '../src/core/config/problems.ts';
import type { CommandSpec } from '../src/core/commands/types.ts';

const schema = obj({ commands: record(string(), commandEntry) });
const ctx = { dir: '/etc/clawdbot', home: '/home/ops' };

function load(yaml: string): Map<string, CommandSpec> {
  const f = parseYaml(yaml, '/x/c.yaml', 'c.yaml', {});
  assert.deepEqual(f.problems, []);
  const r = schema.safeParse(f.source.data);
  assert.ok(r.success, r.success ? '' : sortByPosition(issuesToProblems(r.error.issues, f.source)).join('\n'));
  return compileCommands(r.data.commands, ctx);
}

function problems(yaml: string): string[] {
  const f = parseYaml(yaml, '/x/c.yaml', 'c.yaml', {});
  const r = schema.safeParse(f.source.data);
  assert.ok(!r.success, 'loaded, but should not have');
  return sortByPosition(issuesToProblems(r.error.issues, f.source));
}

describe('commands config', () => {
  it('the issue\'s example loads as written', () => {
    const c = load([
      'commands:',
      '  disk_usage:',
      '    runner: local              # local | ssh | http',
      '    argv: ["df", "-h", "{{path}}"]',
      '    params: { path: { pattern: "^/[A-Za-z0-9/_-]*$" } }',
      '    role: Operator',
      '    timeout: 10s',
      '    approve: false',
      '',
    ].join('\n'));
    const d = c.get('disk_usage')!;
    assert.deepEqual({ ...d, params: d.params.map((p) => ({ ...p, pattern: p.pattern?.source })) }, {
      name: 'disk_usage',
      description: undefined,
      runner: { kind: 'local', argv: ['df', '-h', '{{path}}'], cwd: undefined, envAllow: [], env: {} },
      params: [{ name: 'path', type: 'string', pattern: '^\\/[A-Za-z0-9/_-]*$', enum: undefined, required: true, default: undefined, description: undefined }],
      role: ['Operator'],
      approve: false,
      timeoutMs: 10_000,
      outputCap: 65_536,
    });
  });

  it('fills defaults: Admin only, 30 s, 64 KB, port 22, GET, 2xx; resolves ~ and relative paths', () => {
    const c = load([
      'commands:',
      '  a: { runner: local, argv: [uptime], cwd: work, env: { LANG: C, N: 5 }, env_allow: [HOME] }',
      '  b:',
      '    runner: ssh',
      '    host: db1',
      '    user: ops',
      '    private_key: ~/.ssh/id_ed25519',
      '    known_hosts: keys/known_hosts',
      '    argv: [uptime]',
      '  c: { runner: http, url: "https://api.example/x", body: "a=1", output_cap: 1KB, role: [Operator, Auditor] }',
      '',
    ].join('\n'));
    const a = c.get('a')!;
    assert.deepEqual(a.role, ['Admin']);
    assert.equal(a.timeoutMs, 30_000);
    assert.equal(a.outputCap, 64 * 1024);
    assert.deepEqual(a.runner, { kind: 'local', argv: ['uptime'], cwd: '/etc/clawdbot/work', envAllow: ['HOME'], env: { LANG: 'C', N: '5' } });
    assert.deepEqual(c.get('b')!.runner, {
      kind: 'ssh', host: 'db1', port: 22, user: 'ops', privateKeyFile: '/home/ops/.ssh/id_ed25519', passphrase: undefined, agent: undefined,
      knownHostsFile: '/etc/clawdbot/keys/known_hosts', fingerprint: undefined, argv: ['uptime'],
    });
    const h = c.get('c')!;
    assert.deepEqual(h.runner, { kind: 'http', method: 'GET', url: 'https://api.example/x', headers: {}, body: 'a=1', expectStatus: undefined });
    assert.equal(h.outputCap, 1024);
    assert.deepEqual(h.role, ['Operator', 'Auditor']);
  });

  it('http: method, headers, a mapping body and expected statuses', () => {
    const c = load([
      'commands:',
      '  deploy:',
      '    runner: http',
      '    method: post',
      '    url: "https://ci.example/api/{{app}}/deploy"',
      '    headers: { Authorization: "Bearer ${TOKEN:-t}", X-App: "{{app}}" }',
      '    body: { app: "{{app}}", version: "v{{version}}", dry: false, tags: [a, "{{app}}"] }',
      '    expect_status: [200, 202]',
      '    params:',
      '      app: { enum: [web, api] }',
      '      version: { pattern: "^[0-9.]+$", description: the version to ship }',
      '',
    ].join('\n'));
    const d = c.get('deploy')!;
    assert.deepEqual(d.runner, {
      kind: 'http', method: 'POST', url: 'https://ci.example/api/{{app}}/deploy',
      headers: { Authorization: 'Bearer t', 'X-App': '{{app}}' },
      body: { app: '{{app}}', version: 'v{{version}}', dry: false, tags: ['a', '{{app}}'] },
      expectStatus: [200, 202],
    });
    assert.deepEqual(d.params.map((p) => [p.name, p.enum, p.description]), [['app', ['web', 'api'], undefined], ['version', undefined, 'the version to ship']]);
  });

  it('placeholders must name declared params (with did-you-mean); every param must be used; the program is fixed', () => {
    assert.deepEqual(problems([
      'commands:',
      '  a:',
      '    runner: local',
      '    argv: ["{{prog}}", "{{pth}}", "{{ x y }}"]',
      '    params: { path: {}, prog: {}, unused: {} }',
      '  b:',
      '    runner: http',
      '    url: "http://h/{{q}}"',
      '    headers: { X-Q: "{{q}}" }',
      '    body: { a: ["{{z}}"] }',
      '',
    ].join('\n')), [
      'c.yaml:4:12: commands.a.argv[0]: expected a fixed program name: argv[0] cannot be a {{placeholder}}, got "{{prog}}"',
      'c.yaml:4:24: commands.a.argv[1]: unknown parameter {{pth}} (did you mean {{path}}?): expected one of {{path}}, {{prog}}, {{unused}}, got "{{pth}}"',
      'c.yaml:4:35: commands.a.argv[2]: expected {{name}} placeholders (letters, digits, _), got "{{ x y }}"',
      'c.yaml:5:21: commands.a.params.path: expected {{path}} to be used in argv, got a parameter that nothing uses',
      'c.yaml:5:43: commands.a.params.unused: expected {{unused}} to be used in argv, got a parameter that nothing uses',
      'c.yaml:8:10: commands.b.url: unknown parameter {{q}}: expected a parameter declared under params: (this command has none), got "http://h/{{q}}"',
      'c.yaml:9:21: commands.b.headers.X-Q: unknown parameter {{q}}: expected a parameter declared under params: (this command has none), got "{{q}}"',
      'c.yaml:10:17: commands.b.body.a[0]: unknown parameter {{z}}: expected a parameter declared under params: (this command has none), got "{{z}}"',
    ]);
  });

  it('a key of another runner, an unknown runner, a bad role or param are reported together', () => {
    assert.deepEqual(problems([
      'commands:',
      '  a:',
      '    runner: http',
      '    argv: [ls]',
      '    url: "http://h/"',
      '    role: Operater',
      '    params: { "9x": {}, p: { requird: true } }',
      '  b: { runner: shell, argv: [ls] }',
      '  c: { argv: [ls] }',
      '  d: { runner: local, argv: [] , timeout: soon, output_cap: 0 }',
      '  e: { runner: local, argv: [ls], timeout: 30d }',
      '',
    ].join('\n')), [
      'c.yaml:4:5: commands.a.argv: unknown key (expected one of: runner, description, params, role, timeout, approve, output_cap, method, url, headers, body, expect_status)',
      'c.yaml:6:11: commands.a.role: expected one of Admin, Operator, Auditor, User (or a list of them), got "Operater" (did you mean Operator?)',
      'c.yaml:7:21: commands.a.params.9x: expected a parameter name (letters, digits and _, not starting with a digit), got the name "9x"',
      'c.yaml:7:30: commands.a.params.p.requird: unknown key, did you mean `required`? (expected one of: type, pattern, enum, required, default, description)',
      'c.yaml:8:16: commands.b.runner: expected `runner: local` (argv, cwd, env, env_allow), `runner: ssh` (host, user, argv, known_hosts or host_key_fingerprint, ...) or `runner: http` (url, method, headers, body, ...), got "shell"',
      'c.yaml:9:6: commands.c.runner: expected `runner: local` (argv, cwd, env, env_allow), `runner: ssh` (host, user, argv, known_hosts or host_key_fingerprint, ...) or `runner: http` (url, method, headers, body, ...), got nothing (the key is missing)',
      'c.yaml:10:29: commands.d.argv: expected a list: the program, then its arguments (each may be or hold a {{param}}), got an empty list',
      'c.yaml:10:43: commands.d.timeout: expected a duration up to 24h like 30s, 500ms, 5m, 1h, 1d (or a number of seconds), got "soon"',
      'c.yaml:10:61: commands.d.output_cap: expected a size like 10MB, 512KB, 1GB (or a number of bytes), got 0',
      // Longer than a timer can wait would fire at once; nothing needs more than a day.
      'c.yaml:11:44: commands.e.timeout: expected a duration up to 24h like 30s, 500ms, 5m, 1h, 1d (or a number of seconds), got "30d"',
    ]);
  });

  it('ssh: exactly one way to check the host key, and a way to log in', () => {
    const p = problems([
      'commands:',
      '  a: { runner: ssh, host: h, user: u, argv: [ls] }',
      '  b: { runner: ssh, host: h, user: u, argv: [ls], agent: /s, known_hosts: k, host_key_fingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }',
      '  c: { runner: ssh, host: h, user: u, argv: [ls], agent: /s, host_key_fingerprint: "MD5:aa:bb", port: 70000 }',
      '',
    ].join('\n'));
    assert.deepEqual(p, [
      "c.yaml:2:6: commands.a: expected exactly one of known_hosts (a file) or host_key_fingerprint (SHA256:...) to check the server's host key, got neither",
      'c.yaml:2:6: commands.a: expected private_key (a key file) or agent (an ssh-agent socket) to log in with, got neither',
      "c.yaml:3:100: commands.b.host_key_fingerprint: expected exactly one of known_hosts (a file) or host_key_fingerprint (SHA256:...) to check the server's host key, got both",
      'c.yaml:4:84: commands.c.host_key_fingerprint: expected a fingerprint like SHA256:... as `ssh-keygen -lf` prints it, got "MD5:aa:bb"',
      'c.yaml:4:103: commands.c.port: expected a whole number from 1 to 65535, got 70000',
    ]);
  });

  it('params: defaults and enum values must be values the parameter accepts', () => {
    assert.deepEqual(problems([
      'commands:',
      '  a:',
      '    runner: local',
      '    argv: [echo, "{{n}}", "{{m}}", "{{r}}"]',
      '    params:',
      '      n: { type: integer, default: many }',
      '      m: { enum: [-l, x], pattern: "^-" }',
      '      r: { required: true, default: a }',
      '',
    ].join('\n')), [
      'c.yaml:6:36: commands.a.params.n.default: expected a whole number (a default must be a value the parameter accepts), got "many"',
      'c.yaml:7:23: commands.a.params.m.enum[1]: expected text matching ^-, got "x"',
      'c.yaml:8:22: commands.a.params.r.required: expected `required: true` or a default, not both (a parameter with a default may be left out), got true',
    ]);
  });
});
