// A real OpenSSH server for the ssh runner's tests: Debian's /usr/sbin/sshd in the foreground on
// 127.0.0.1, a free port, with a host key and a user key generated for the run in a temp folder. It
// logs in the current user (root in CI) with the generated key only.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { closedPort } from './cli.ts';

export const SSHD = '/usr/sbin/sshd';

/** Why the ssh tests cannot run here, or undefined when they can. */
export function sshdMissing(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (apt-get install openssh-server; .ci/run does it in CI)`;
  return undefined;
}

export interface TestSshd {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The temp folder holding keys and config; removed by stop(). */
  readonly dir: string;
  /** The user's private key (no passphrase). */
  readonly userKey: string;
  /** The server's host public key line ("ssh-ed25519 AAAA..."). */
  readonly hostKeyLine: string;
  /** As `ssh-keygen -lf` prints it. */
  readonly hostFingerprint: string;
  /** What sshd has logged so far (-e: its log goes to stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** A fresh key pair in `dir`; returns the private key path. */
export function keygen(dir: string, name: string, opts: { passphrase?: string } = {}): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', opts.passphrase ?? '', '-C', name, '-f', file], { stdio: 'ignore' });
  return file;
}

export function fingerprintOfFile(pubFile: string): string {
  const line = execFileSync('ssh-keygen', ['-lf', pubFile], { encoding: 'utf8' });
  return /SHA256:\S+/.exec(line)![0];
}

export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'clawdbot-sshd-'));
  const hostKey = keygen(dir, 'host_ed25519');
  const userKey = keygen(dir, 'id_ed25519');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`), { mode: 0o600 });
  // As root, sshd insists on its privilege separation folder even in the foreground.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let lastError = '';
  // A free port is picked, then bound by sshd: another process may take it in between; try again then.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await closedPort();
    const config = join(dir, 'sshd_config');
    writeFileSync(config, [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      'PidFile none',
      'StrictModes no',
      'UsePAM no',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'LogLevel INFO',
      // The login shell reads ~/.bashrc (and the like) before the command; with HOME here it finds none,
      // so what the tests see is only what the command printed, whatever the machine's user has set up.
      `SetEnv HOME=${dir}`,
      '',
    ].join('\n'));
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    // A test process that dies before its after() hook must not leave a server behind.
    const killNow = () => child.kill('SIGKILL');
    process.once('exit', killNow);
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      const check = () => {
        if (log.includes('Server listening on')) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stderr.on('data', check);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!ready) {
      process.removeListener('exit', killNow);
      child.kill('SIGKILL');
      await exited;
      lastError = log;
      if (log.includes('Address already in use')) continue;
      break;
    }
    return {
      host: '127.0.0.1',
      port,
      user: userInfo().username,
      dir,
      userKey,
      hostKeyLine: readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' '),
      hostFingerprint: fingerprintOfFile(`${hostKey}.pub`),
      log: () => log,
      stop: async () => {
        process.removeListener('exit', killNow);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`sshd did not start:\n${lastError}`);
}
