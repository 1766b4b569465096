// The local runner against real processes: argv without a shell, the environment allow-list, the output
// cap, and timeouts / cancels that stop the whole process tree.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileCommands, commandEntry } from '../src/core/config/commands.ts';
import { KILL_GRACE_MS } from '../src/core/commands/local.ts';
import { bindParams } from '../src/core/commands/params.ts';
import { runCommand } from '../src/core/commands/run.ts';
import type { CommandSpec } from '../src/core/commands/types.ts';
import { failure } from './helpers/commands.ts';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'clawdbot-local-')));
after(() => rmSync(dir, { recursive: true, force: true }));

function command(raw: Record<string, unknown>): CommandSpec {
  return compileCommands({ t: commandEntry.parse({ runner: 'local', ...raw }) }, { dir, home: dir }).get('t')!;
}

const run = (spec: CommandSpec, args: Record<string, string> = {}, signal = new AbortController().signal) => runCommand(spec, args, signal);


/** Gone, or a zombie waiting for a parent that does not reap (as under some container inits). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function untilDead(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (!alive(pid)) return true;
  return !alive(pid);
}

describe('local runner', () => {
  it('runs argv without a shell; a placeholder inside an item keeps it one item', async () => {
    const spec = command({ argv: ['printf', '[%s]\\n', '{{a}}', '--since={{a}}', 'x{{b}}y'], params: { a: { pattern: '.' }, b: { required: false } } });
    const r = await run(spec, bindParams(spec, ['two words; $(id)']));
    assert.equal(r.output, '[two words; $(id)]\n[--since=two words; $(id)]\n[xy]\n');
    assert.equal(r.exitCode, 0);
    assert.equal(r.truncated, false);
    assert.ok(r.durationMs >= 0);
  });

  it('drops an item that is only a left-out optional parameter', async () => {
    const spec = command({ argv: ['printf', '<%s>', 'a', '{{opt}}', 'b'], params: { opt: { required: false } } });
    assert.equal((await run(spec, bindParams(spec, []))).output, '<a><b>');
    assert.equal((await run(spec, bindParams(spec, ['']))).output, '<a><><b>', 'given as "" it is an empty item');
  });

  it('runs in cwd with PATH, the allowed variables and the fixed ones only', async () => {
    process.env.CLAWDBOT_TEST_ALLOWED = 'yes';
    process.env.CLAWDBOT_TEST_SECRET = 'do-not-leak';
    try {
      const spec = command({ argv: ['sh', '-c', 'pwd; env | sort'], cwd: dir, env_allow: ['CLAWDBOT_TEST_ALLOWED', 'CLAWDBOT_TEST_UNSET'], env: { LANG: 'C' } });
      const lines = (await run(spec)).output.trim().split('\n');
      assert.equal(lines[0], dir);
      // sh itself adds PWD (and may add SHLVL, _); nothing of clawdbot's own environment is there.
      const names = lines.slice(1).map((l) => l.split('=')[0]).filter((n) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(n!));
      assert.deepEqual(names, ['CLAWDBOT_TEST_ALLOWED', 'LANG', 'PATH']);
      assert.ok(lines.includes(`PATH=${process.env.PATH}`));
    } finally {
      delete process.env.CLAWDBOT_TEST_ALLOWED;
      delete process.env.CLAWDBOT_TEST_SECRET;
    }
  });

  it('a process printing megabytes stays within the cap, and is read to the end', async () => {
    const spec = command({ argv: ['sh', '-c', 'head -c 5000000 /dev/zero | tr "\\0" x; echo done >&2'], output_cap: '1KB' });
    const r = await run(spec);
    assert.equal(r.output, 'x'.repeat(1024));
    assert.equal(r.truncated, true);
    assert.equal(r.exitCode, 0, 'the writer was never blocked or killed: it finished');
  });

  it('captures stdout and stderr together; a multi-byte character cut by the cap is left out', async () => {
    // Two pipes: lines arrive in each stream's order, the streams interleaved as they are read.
    const both = await run(command({ argv: ['sh', '-c', 'echo out; echo err >&2; echo out2'] }));
    assert.deepEqual(both.output.split('\n').filter((l) => l.startsWith('out')), ['out', 'out2']);
    assert.deepEqual(both.output.split('\n').sort(), ['', 'err', 'out', 'out2']);
    const cut = await run(command({ argv: ['printf', 'ab€'], output_cap: 4 }));
    assert.deepEqual([cut.output, cut.truncated], ['ab', true]);
  });

  it('a non-zero exit is NONZERO_EXIT with the exit code and the output', async () => {
    const err = await failure(run(command({ argv: ['sh', '-c', 'echo "disk full" >&2; exit 3'] })), 'NONZERO_EXIT');
    assert.equal(err.exitCode, 3);
    assert.equal(err.output, 'disk full\n');
    assert.equal(err.userText, 'The command failed.');
  });

  it('a missing program or folder is SPAWN_FAILED', async () => {
    const err = await failure(run(command({ argv: ['clawdbot-no-such-program'] })), 'SPAWN_FAILED');
    assert.match(err.message, /clawdbot-no-such-program: not found on PATH/);
    await failure(run(command({ argv: ['true'], cwd: join(dir, 'missing') })), 'SPAWN_FAILED');
  });

  it('a timeout stops the whole process tree, grandchildren included', async () => {
    const spec = command({ argv: ['sh', '-c', 'sleep 30 & echo $!; sleep 30'], timeout: '500ms' });
    const started = Date.now();
    const err = await failure(run(spec), 'TIMEOUT');
    assert.ok(Date.now() - started < 3000, `stopped in ${Date.now() - started} ms`);
    const grandchild = Number(err.output!.trim());
    assert.ok(grandchild > 0, `the grandchild's pid was printed: ${err.output}`);
    assert.ok(await untilDead(grandchild, 2000), `grandchild ${grandchild} still runs`);
  });

  it('a program that ignores SIGTERM is killed after the grace period', async () => {
    const spec = command({ argv: ['sh', '-c', 'trap "" TERM; echo $$; sleep 30'], timeout: '300ms' });
    const started = Date.now();
    const err = await failure(run(spec), 'TIMEOUT');
    const took = Date.now() - started;
    assert.ok(took >= 300 + KILL_GRACE_MS - 100 && took < 300 + KILL_GRACE_MS + 2000, `took ${took} ms`);
    assert.equal(alive(Number(err.output!.trim())), false);
  });

  it('a timeout also kills a grandchild that ignores SIGTERM and no longer holds the output', async () => {
    const spec = command({ argv: ['sh', '-c', '(trap "" TERM; exec sleep 30) >/dev/null 2>&1 & echo $!; sleep 30'], timeout: '300ms' });
    const err = await failure(run(spec), 'TIMEOUT');
    const grandchild = Number(err.output!.trim());
    assert.ok(grandchild > 0, `the grandchild's pid was printed: ${err.output}`);
    assert.ok(await untilDead(grandchild, KILL_GRACE_MS + 2000), `grandchild ${grandchild} still runs`);
  });

  it('what the program leaves running in the background is stopped when it exits', async () => {
    const r = await run(command({ argv: ['sh', '-c', 'sleep 30 & echo $!'], timeout: '20s' }));
    const pid = Number(r.output.trim());
    assert.ok(await untilDead(pid, 3000), `background ${pid} still runs`);
  });

  it('a cancel stops the tree and is ABORTED; an already cancelled signal starts nothing', async () => {
    const ac = new AbortController();
    const p = run(command({ argv: ['sh', '-c', 'echo $$; sleep 30'] }), {}, ac.signal);
    setTimeout(() => ac.abort(), 200);
    const err = await failure(p, 'ABORTED');
    assert.ok(await untilDead(Number(err.output!.trim()), 2000));
    await failure(run(command({ argv: ['sh', '-c', `touch ${join(dir, 'started')}`] }), {}, AbortSignal.abort()), 'ABORTED');
    assert.throws(() => readFileSync(join(dir, 'started')));
  });
});
