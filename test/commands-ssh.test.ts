// The ssh runner against a real OpenSSH server on 127.0.0.1 (test/helpers/sshd.ts): argv arrives item by
// item, the host key is pinned (known_hosts, hashed known_hosts, fingerprint) and a server with another
// key gets no login and runs nothing.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileCommands, commandEntry } from '../src/core/config/commands.ts';
import { bindParams } from '../src/core/commands/params.ts';
import { runCommand } from '../src/core/commands/run.ts';
import { shellQuote } from '../src/core/commands/ssh.ts';
import type { CommandSpec } from '../src/core/commands/types.ts';
import { closedPort } from './helpers/cli.ts';
import { fingerprintOfFile, keygen, sshdMissing, startSshd, type TestSshd } from './helpers/sshd.ts';
import { failure } from './helpers/commands.ts';

const missing = sshdMissing();
const never = new AbortController().signal;


describe('shellQuote', () => {
  it('single-quotes every item; a quote inside becomes \'\\\'\'', () => {
    assert.equal(shellQuote(['printf', '%s\n', "it's", '']), "'printf' '%s\n' 'it'\\''s' ''");
  });
});

// Without sshd the suite is reported as skipped, with the reason.
describe('ssh runner', { skip: missing && `needs OpenSSH: ${missing}` }, () => {
  let sshd: TestSshd;
  let knownHosts: string;
  before(async () => {
    sshd = await startSshd();
    knownHosts = join(sshd.dir, 'known_hosts');
    writeFileSync(knownHosts, `# test\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9ubHkgYSB0ZXN0IGtleSwgbm90IGEgcmVhbCBvbmU=\n[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
  });
  after(() => sshd?.stop());

  /** A command on the test server; `extra` overrides the ssh keys. */
  function command(argv: unknown[], extra: Record<string, unknown> = {}, params: Record<string, unknown> = {}): CommandSpec {
    const raw = commandEntry.parse({
      runner: 'ssh', host: sshd.host, port: sshd.port, user: sshd.user, private_key: sshd.userKey, known_hosts: knownHosts,
      argv, params, timeout: '10s', ...extra,
    });
    return compileCommands({ remote: raw }, { dir: sshd.dir, home: sshd.dir }).get('remote')!;
  }

  it('runs the command; argv items with spaces, quotes and shell syntax arrive intact', async () => {
    const spec = command(['printf', '[%s]\\n', '{{a}}', '{{b}}', 'fixed arg'], {}, { a: { pattern: '.' }, b: { pattern: '.' } });
    const r = await runCommand(spec, bindParams(spec, { a: `it's a "test"`, b: '$(echo no) `echo no` ; echo no \\' }), never);
    assert.equal(r.output, `[it's a "test"]\n[$(echo no) \`echo no\` ; echo no \\]\n[fixed arg]\n`);
    assert.equal(r.exitCode, 0);
  });

  it('a hashed known_hosts entry and a pinned fingerprint work too', async () => {
    const hashed = join(sshd.dir, 'known_hosts_hashed');
    writeFileSync(hashed, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
    assert.doesNotMatch(readFileSync(hashed, 'utf8'), /127\.0\.0\.1/, 'the name is hashed');
    assert.equal((await runCommand(command(['echo', 'hashed'], { known_hosts: hashed }), {}, never)).output, 'hashed\n');
    const pinned = command(['echo', 'pinned'], { known_hosts: null, host_key_fingerprint: sshd.hostFingerprint });
    assert.equal((await runCommand(pinned, {}, never)).output, 'pinned\n');
  });

  it('another host key (known_hosts or fingerprint) is HOST_KEY: no login, nothing run', async () => {
    const other = keygen(sshd.dir, `other_${Date.now()}`);
    const otherLine = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const changed = join(sshd.dir, 'known_hosts_changed');
    writeFileSync(changed, `[127.0.0.1]:${sshd.port} ${otherLine}\n`);
    const unknown = join(sshd.dir, 'known_hosts_unknown');
    writeFileSync(unknown, `127.0.0.1 ${sshd.hostKeyLine}\n`); // port 22's entry, not this port's
    const marker = join(sshd.dir, 'marker');
    const logins = () => sshd.log().split('\n').filter((l) => l.startsWith('Accepted')).length;
    const before = logins();
    for (const extra of [
      { known_hosts: changed },
      { known_hosts: unknown },
      { known_hosts: null, host_key_fingerprint: fingerprintOfFile(`${other}.pub`) },
    ]) {
      const err = await failure(runCommand(command(['touch', marker], extra), {}, never), 'HOST_KEY');
      assert.equal(err.userText, 'The server could not be verified, so the command was not run.');
    }
    assert.equal(existsSync(marker), false);
    assert.equal(logins(), before, 'no login was accepted');
    const reason = await failure(runCommand(command(['true'], { known_hosts: changed }), {}, never), 'HOST_KEY');
    assert.match(reason.message, /host key of \[127\.0\.0\.1\]:\d+ changed: the server offers SHA256:/);
    const missingFile = await failure(runCommand(command(['true'], { known_hosts: join(sshd.dir, 'nope') }), {}, never), 'HOST_KEY');
    assert.match(missingFile.message, /cannot read the known_hosts file/);
  });

  it('exit codes, the output cap and the timeout', async () => {
    const err = await failure(runCommand(command(['sh', '-c', 'echo oops >&2; exit 4']), {}, never), 'NONZERO_EXIT');
    assert.deepEqual([err.exitCode, err.output], [4, 'oops\n']);
    const big = await runCommand(command(['head', '-c', '3000000', '/dev/zero'], { output_cap: 1000 }), {}, never);
    assert.deepEqual([big.output.length, big.truncated, big.exitCode], [1000, true, 0]);
    const started = Date.now();
    // Short: as root the remote sleep does not get the stop signal (see ssh.ts) and runs out on its own.
    await failure(runCommand(command(['sleep', '4'], { timeout: '500ms' }), {}, never), 'TIMEOUT');
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  it('logs in through an ssh-agent, and with a passphrase-protected key', async () => {
    const socket = join(sshd.dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', [sshd.userKey], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
      const viaAgent = command(['echo', 'agent'], { private_key: null, agent: socket });
      assert.equal((await runCommand(viaAgent, {}, never)).output, 'agent\n');
    } finally {
      agent.kill();
    }
    // The same key, encrypted: ssh-keygen -p rewrites a copy with a passphrase.
    const locked = join(sshd.dir, 'id_locked');
    writeFileSync(locked, readFileSync(sshd.userKey), { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'sesame', '-f', locked], { stdio: 'ignore' });
    assert.equal((await runCommand(command(['echo', 'locked'], { private_key: locked, passphrase: 'sesame' }), {}, never)).output, 'locked\n');
    const wrong = await failure(runCommand(command(['true'], { private_key: locked, passphrase: 'wrong' }), {}, never), 'SPAWN_FAILED');
    assert.match(wrong.message, /cannot use the private key/);
  });

  it('a key the server does not accept, and a port nobody listens on, are CONNECT_FAILED', async () => {
    const stranger = keygen(sshd.dir, `stranger_${Date.now()}`);
    const refused = await failure(runCommand(command(['true'], { private_key: stranger }), {}, never), 'CONNECT_FAILED');
    assert.equal(refused.userText, 'The server refused the login, so the command was not run.');
    const down = await failure(runCommand(command(['true'], { port: await closedPort() }), {}, never), 'CONNECT_FAILED');
    assert.match(down.message, /ECONNREFUSED/);
  });
});
