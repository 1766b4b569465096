// An injection corpus against a command whose pattern lets almost anything through: every value is
// either refused by bindParams or reaches the program as one literal argument; a canary file that the
// payloads try to create never appears. Run through the local runner and, when sshd is there, through
// a real OpenSSH server (whose side does run a shell).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileCommands, commandEntry } from '../src/core/config/commands.ts';
import { bindParams, splitArgs } from '../src/core/commands/params.ts';
import { runCommand } from '../src/core/commands/run.ts';
import type { CommandSpec } from '../src/core/commands/types.ts';
import { ExecError } from '../src/core/errors.ts';
import { sshdMissing, startSshd, type TestSshd } from './helpers/sshd.ts';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'clawdbot-inject-')));
const CANARY = join(dir, 'CANARY');
// What `rm -rf` payloads aim at: a folder of ours, never `/`, should a runner ever regress.
const VICTIM = join(dir, 'victim');
mkdirSync(VICTIM);
after(() => rmSync(dir, { recursive: true, force: true }));

const touch = `touch ${CANARY}`;
const CORPUS = [
  `; ${touch}`,
  `; rm -rf ${VICTIM}`,
  `$(rm -rf ${VICTIM})`,
  `$(${touch})`,
  `\`${touch}\``,
  `&& ${touch}`,
  `|| ${touch}`,
  `| ${touch}`,
  `& ${touch} &`,
  `x\n${touch}`,
  `x\r\n${touch}`,
  `x\u0000${touch}`,
  `"; ${touch}; echo "`,
  `'; ${touch}; echo '`,
  `\\'; ${touch}; echo \\'`,
  `> ${CANARY}`,
  `< /etc/passwd`,
  `--output=${CANARY}`,
  '--flag',
  '-rf',
  '../../etc/passwd',
  '/tmp/../../etc/passwd',
  '*',
  '/*',
  '~',
  '$HOME',
  `\${IFS}${touch.replaceAll(' ', '${IFS}')}`,
  `$'\\x74ouch' ${CANARY}`,
  `{touch,${CANARY}}`,
  `%0a${touch}`,
  `a\u2028${touch}`,
];

/** The outcome of one value: refused (BAD_ARGUMENT) or exactly what the program printed. */
async function attempt(spec: CommandSpec, value: string): Promise<'refused' | string> {
  let args: Record<string, string>;
  try {
    args = bindParams(spec, { x: value });
  } catch (err) {
    assert.ok(err instanceof ExecError && err.code === 'BAD_ARGUMENT', String(err));
    return 'refused';
  }
  return (await runCommand(spec, args, new AbortController().signal)).output;
}

async function inert(spec: CommandSpec): Promise<void> {
  const outcomes = { refused: 0, literal: 0 };
  for (const value of CORPUS) {
    const out = await attempt(spec, value);
    if (out === 'refused') {
      outcomes.refused++;
    } else {
      assert.equal(out, `${value}\n`, `printed literally: ${JSON.stringify(value)}`);
      outcomes.literal++;
    }
    assert.equal(existsSync(CANARY), false, `the canary exists after ${JSON.stringify(value)}`);
    assert.equal(existsSync(VICTIM), true, `the victim folder is gone after ${JSON.stringify(value)}`);
  }
  // Both kinds happened: the corpus really exercised the checks and the runner.
  assert.ok(outcomes.refused >= 8 && outcomes.literal >= 15, JSON.stringify(outcomes));
  assert.deepEqual(readdirSync(dir), ['victim']);
}

const permissive = { x: { pattern: '^[\\s\\S]*$' } };

describe('injection corpus', () => {
  it('is inert through the local runner', async () => {
    const spec = compileCommands({ p: commandEntry.parse({ runner: 'local', argv: ['printf', '%s\\n', '{{x}}'], cwd: dir, params: permissive }) }, { dir, home: dir }).get('p')!;
    await inert(spec);
  });

  it('is inert when typed in chat (quotes group, nothing else is special)', async () => {
    const spec = compileCommands({ p: commandEntry.parse({ runner: 'local', argv: ['printf', '%s\\n', '{{x}}'], cwd: dir, params: permissive }) }, { dir, home: dir }).get('p')!;
    for (const text of [`"; ${touch}"`, `'$(${touch})'`, `\`${touch}\``, `"a" "b"`]) {
      let words: string[];
      try {
        words = splitArgs(text);
        const out = await runCommand(spec, bindParams(spec, words), new AbortController().signal);
        assert.equal(out.output, `${words[0]}\n`);
      } catch (err) {
        assert.ok(err instanceof ExecError && err.code === 'BAD_ARGUMENT', String(err));
      }
      assert.equal(existsSync(CANARY), false);
    }
  });

  describe('through ssh', { skip: sshdMissing() && `needs OpenSSH: ${sshdMissing()}` }, () => {
    let sshd: TestSshd;
    before(async () => (sshd = await startSshd()));
    after(() => sshd?.stop());

    it('is inert through the ssh runner (the remote side runs a shell)', async () => {
      const raw = commandEntry.parse({
        runner: 'ssh', host: sshd.host, port: sshd.port, user: sshd.user, private_key: sshd.userKey,
        host_key_fingerprint: sshd.hostFingerprint, argv: ['printf', '%s\\n', '{{x}}'], params: permissive,
      });
      await inert(compileCommands({ p: raw }, { dir, home: dir }).get('p')!);
    });
  });
});
