// The `ssh` runner (ssh2, loaded on first use: an idle gateway never pays for it). The server's host key
// is checked during the key exchange, before any authentication: a server that is not the pinned one
// never sees a login attempt or a command. The remote side always runs commands through the login
// user's shell, so each argv item is quoted for a POSIX shell as exactly one word.
import { readFile } from 'node:fs/promises';
import type { Client, ClientChannel } from 'ssh2';
import { ExecError } from '../errors.ts';
import { checkFingerprint, checkKnownHosts, type HostKeyVerdict } from './known-hosts.ts';
import { CappedOutput } from './output.ts';
import type { CommandResult, RunLimits, SshRunner } from './types.ts';

/** How long a timed-out connection may take to close politely before it is cut. */
const CLOSE_GRACE_MS = 1000;

/** `'a b' 'it'\''s'`: every item single-quoted (a quote inside becomes '\''), joined by spaces. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
}

export async function runSsh(r: SshRunner, argv: readonly string[], limits: RunLimits): Promise<CommandResult> {
  const started = performance.now();
  const where = `${r.user}@${r.host}:${r.port}`;
  if (limits.signal.aborted) throw new ExecError('ABORTED', `ssh ${where}: cancelled before it started`);
  if (r.knownHostsFile === undefined && r.fingerprint === undefined) throw new ExecError('HOST_KEY', `ssh ${where}: no known_hosts file or fingerprint to check the server against`);
  const knownHosts = r.knownHostsFile === undefined ? undefined : await readLocal(r.knownHostsFile, 'known_hosts file', 'HOST_KEY');
  const privateKey = r.privateKeyFile === undefined ? undefined : await readLocal(r.privateKeyFile, 'private key', 'SPAWN_FAILED');
  const { Client } = await import('ssh2');
  const client: Client = new Client();
  const out = new CappedOutput(limits.outputCap);

  return new Promise<CommandResult>((resolve, reject) => {
    let settled = false;
    let verdict: HostKeyVerdict | undefined;
    let channel: ClientChannel | undefined;
    let exit: { code: number | undefined; signal: string | undefined } | undefined;
    const finish = (err: ExecError | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve({ output: out.text(), truncated: out.truncated, exitCode: exit?.code, durationMs: Math.round(performance.now() - started) });
    };
    // Stopping: the remote program is asked to end with a `signal` request, then the connection closes.
    // OpenSSH honours the request for ordinary users, not for root logins ("session signalling requires
    // privilege separation"); without a terminal there is no SIGHUP either, so a program that neither
    // gets the signal nor writes (and so never meets the closed pipe) may finish on its own.
    const stop = (err: ExecError) => {
      finish(err);
      channel?.signal('TERM');
      client.end();
      setTimeout(() => client.destroy(), CLOSE_GRACE_MS).unref();
    };
    const timer = setTimeout(() => stop(new ExecError('TIMEOUT', `ssh ${where}: timed out after ${limits.timeoutMs} ms`, { output: out.text() })), limits.timeoutMs);
    const onAbort = () => stop(new ExecError('ABORTED', `ssh ${where}: cancelled`, { output: out.text() }));
    limits.signal.addEventListener('abort', onAbort, { once: true });

    client.on('ready', () => {
      client.exec(shellQuote(argv), (err, stream) => {
        if (err) return stop(new ExecError('CONNECT_FAILED', `ssh ${where}: the server refused to run the command: ${err.message}`, { cause: err }));
        channel = stream;
        stream.on('data', (c: Buffer) => out.push(c));
        stream.stderr.on('data', (c: Buffer) => out.push(c));
        stream.on('exit', (code: number | null, signal?: string) => (exit = { code: code ?? undefined, signal }));
        stream.on('close', () => {
          client.end();
          const output = out.text();
          if (exit?.code === 0) return finish(undefined);
          const how = exit === undefined ? 'ended without an exit status' : exit.code === undefined ? `was killed by SIG${exit.signal}` : `exited with code ${exit.code}`;
          finish(new ExecError('NONZERO_EXIT', `ssh ${where}: ${argv[0]} ${how}`, { output, ...(exit?.code !== undefined && { exitCode: exit.code }) }));
        });
      });
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (verdict && !verdict.ok) {
        finish(new ExecError('HOST_KEY', `ssh ${where}: ${verdict.message}; nothing was sent`, { cause: err }));
      } else if (err.level === 'client-authentication') {
        finish(new ExecError('CONNECT_FAILED', `ssh ${where}: authentication failed: ${err.message}`, { cause: err, userText: 'The server refused the login, so the command was not run.' }));
      } else {
        finish(new ExecError('CONNECT_FAILED', `ssh ${where}: ${err.message}`, { cause: err }));
      }
    });
    client.on('close', () => finish(new ExecError('CONNECT_FAILED', `ssh ${where}: the connection closed before the command finished`, { output: out.text() })));

    try {
      client.connect({
        host: r.host,
        port: r.port,
        username: r.user,
        ...(privateKey && { privateKey }),
        ...(r.passphrase !== undefined && { passphrase: r.passphrase }),
        ...(r.agent !== undefined && { agent: r.agent }),
        readyTimeout: limits.timeoutMs,
        hostVerifier: (key: Buffer) => {
          verdict = knownHosts !== undefined ? checkKnownHosts(knownHosts.toString('utf8'), r.host, r.port, key) : checkFingerprint(key, r.fingerprint!);
          return verdict.ok;
        },
      });
    } catch (err) {
      // ssh2 parses the private key synchronously: a wrong passphrase or a file that is no key ends here.
      finish(new ExecError('SPAWN_FAILED', `ssh ${where}: cannot use the private key ${r.privateKeyFile}: ${(err as Error).message}`, { cause: err }));
    }
  });
}

async function readLocal(file: string, what: string, code: 'HOST_KEY' | 'SPAWN_FAILED'): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ExecError(code, `cannot read the ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}
