// `clawdbot route explain` as a user runs it: the matched rule, what it points at (an action, a catalogue
// command, a workflow, or nothing), the sender's role from security.roles, and chat commands, which are
// answered before any route.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { runCli, scratch } from './helpers/cli.ts';

describe('route explain', () => {
  const s = scratch();
  after(() => s.cleanup());
  const cfg = s.write('clawdbot.yaml', [
    'security: { roles: { Admin: ["cli:alice"], Operator: ["slack:U42"] } }',
    'commands:',
    '  disk_usage: { runner: local, argv: ["df", "-h"], role: Operator }',
    'routes:',
    '  - { match: { content_prefix: "/disk" }, action: disk_usage }',
    '  - { match: { content: "typo" }, action: no_such_action }',
    '  - default: { action: process_with_llm }',
    '',
  ].join('\n'));
  const explain = async (...args: string[]) => {
    const r = await runCli(['route', 'explain', '--config', cfg, ...args], { env: s.env, cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  it('a route to a catalogue command names the command and whether the sender may run it', async () => {
    const out = await explain('--user', 'bob', '/disk /var');
    assert.match(out, /from cli:bob, role User\n/);
    assert.match(out, /→ rule 1 .*disk_usage {3}MATCHED/);
    assert.match(out, /command disk_usage; needs Operator: role User is refused/);
    assert.doesNotMatch(out, /NOT DEFINED/);
  });

  it('the role comes from security.roles for platform:user, as in a turn; --role plays another', async () => {
    assert.match(await explain('--user', 'alice', '/disk'), /role Admin\n[\s\S]*role Admin may use it/);
    assert.match(await explain('--platform', 'slack', '--user', 'U42', '/disk'), /from slack:U42, role Operator\n[\s\S]*role Operator may use it/);
    assert.match(await explain('--user', 'alice', '--role', 'Auditor', '/disk'), /role Auditor \(--role\)[\s\S]*role Auditor is refused/);
  });

  it('an undefined action is said; a chat command is answered before the routes', async () => {
    assert.match(await explain('typo'), /no_such_action: NOT DEFINED/);
    const chat = await explain('--user', 'bob', '/pending');
    assert.match(chat, /chat command \/pending, handled before the routes .*needs Admin: role User is refused/);
    assert.doesNotMatch(chat, /rule 1/);
  });
});
