// Runs the real command line (from source, on this Node) as a child process, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface RunResult { code: number | null; stdout: string; stderr: string }

/** A scratch folder with its own HOME and data dir, removed by `cleanup`. */
export function scratch(): { dir: string; env: NodeJS.ProcessEnv; write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'clawdbot-test-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
  };
  return {
    dir,
    env,
    write: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text, { mode: 0o600 });
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function runCli(args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; input?: string; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export interface Served { child: ChildProcess; url: string; stderr: () => string; stop(signal?: NodeJS.Signals): Promise<number | null> }

/** Starts `serve` and resolves once its "ready" log line gives the address. */
export function startServe(args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve', ...args], { env: { ...opts.env, CLAWDBOT_LOG_FORMAT: 'json' }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`serve not ready in time:\n${err}`)); }, 15_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      for (const line of err.split('\n')) {
        if (!line.includes('"ready"')) continue;
        try {
          const rec = JSON.parse(line) as { msg?: string; url?: string };
          if (rec.msg === 'ready' && rec.url) {
            clearTimeout(timer);
            resolve({
              child,
              url: rec.url,
              stderr: () => err,
              stop: async (signal = 'SIGTERM') => {
                if (child.exitCode === null && child.signalCode === null) child.kill(signal);
                return exited;
              },
            });
            return;
          }
        } catch { /* partial line */ }
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited (${code}) before ready:\n${err}`)); });
  });
}

/** A local port with nothing listening on it (bound once, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
