// The `local` runner: one program started with an argv array (no shell), in its own process group so
// that a timeout or a cancel stops everything it started, grandchildren included. Its environment is
// PATH, the variables the config lets through and the config's fixed ones: clawdbot's own secrets
// (tokens, API keys in its environment) never reach a command unless the config names them.
import { spawn, type ChildProcess } from 'node:child_process';
import { ExecError } from '../errors.ts';
import { CappedOutput } from './output.ts';
import type { CommandResult, LocalRunner, RunLimits } from './types.ts';

/** Between SIGTERM and SIGKILL: time for a program to clean up after being asked to stop. */
export const KILL_GRACE_MS = 2000;
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment a command gets (see the top of this file). */
export function commandEnv(r: LocalRunner, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: from.PATH || FALLBACK_PATH };
  for (const name of r.envAllow) {
    const v = from[name];
    if (v !== undefined) env[name] = v;
  }
  return { ...env, ...r.env };
}

/** Runs `argv` (placeholders already filled) under the runner's cwd and environment. */
export function runLocal(r: LocalRunner, argv: readonly string[], limits: RunLimits): Promise<CommandResult> {
  const started = performance.now();
  const program = argv[0]!;
  if (limits.signal.aborted) return Promise.reject(new ExecError('ABORTED', `${program}: cancelled before it started`));
  let child: ChildProcess;
  try {
    child = spawn(program, argv.slice(1), { shell: false, detached: true, cwd: r.cwd, env: commandEnv(r), stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return Promise.reject(spawnFailed(program, r.cwd, err));
  }
  const out = new CappedOutput(limits.outputCap);
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => out.push(c));

  return new Promise<CommandResult>((resolve, reject) => {
    let stopped: 'timeout' | 'abort' | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch { /* ESRCH: the whole group is gone already */ }
    };
    const stop = (why: 'timeout' | 'abort') => {
      if (stopped || child.pid === undefined) return;
      stopped = why;
      group('SIGTERM');
      killTimer = setTimeout(() => group('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), limits.timeoutMs);
    const onAbort = () => stop('abort');
    limits.signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      limits.signal.removeEventListener('abort', onAbort);
      // Something in the group that ignores SIGTERM and let go of the pipes outlives the close: its
      // SIGKILL stays due (without holding clawdbot open).
      if (groupAlive(child.pid)) {
        killTimer?.unref();
        drainTimer?.unref();
      } else {
        clearTimeout(killTimer);
        clearTimeout(drainTimer);
      }
    };

    child.on('error', (err) => {
      // Also emitted when a kill fails; only a process that never started is a spawn failure.
      if (child.pid !== undefined) return;
      cleanup();
      reject(spawnFailed(program, r.cwd, err));
    });
    // The command is over when its program exits. Whatever it left running in its group (`cmd &`) is
    // stopped too: it would keep the output pipes, and so the command, open for as long as it runs.
    child.on('exit', () => {
      group('SIGTERM');
      drainTimer = setTimeout(() => {
        group('SIGKILL');
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, KILL_GRACE_MS);
    });
    child.on('close', (code, signal) => {
      if (child.pid === undefined) return;
      cleanup();
      const durationMs = Math.round(performance.now() - started);
      const output = out.text();
      if (stopped === 'timeout') {
        reject(new ExecError('TIMEOUT', `${program} timed out after ${limits.timeoutMs} ms and was stopped`, { output }));
      } else if (stopped === 'abort') {
        reject(new ExecError('ABORTED', `${program} was cancelled and stopped`, { output }));
      } else if (code === 0) {
        resolve({ output, truncated: out.truncated, exitCode: 0, durationMs });
      } else {
        const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(new ExecError('NONZERO_EXIT', `${program} ${how}`, { output, ...(code !== null && { exitCode: code }) }));
      }
    });
  });
}

function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function spawnFailed(program: string, cwd: string | undefined, err: unknown): ExecError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? (cwd ? `not found on PATH, or the folder ${cwd} does not exist` : 'not found on PATH') : (e.message ?? String(err));
  return new ExecError('SPAWN_FAILED', `cannot start ${program}: ${why}`, { cause: err });
}
