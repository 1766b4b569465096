// doctor's checks of what the execution engine points at: each command's program, key and host-key
// files; where schedules and approval notices are delivered; who has which role.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { enabledPlatforms } from '../adapters/catalog.ts';
import type { CommandSpec } from '../core/commands/types.ts';
import { cronOf } from '../core/config/schedules.ts';
import type { Config } from '../core/config/types.ts';
import { ROLES } from '../core/policy.ts';

export type Add = (name: string, status: 'ok' | 'warn' | 'fail' | 'skip', detail: string) => void;

export function checkCatalogue(config: Config, add: Add): void {
  for (const c of config.commands.values()) {
    const problem = commandProblem(c);
    add(`command ${c.name}`, problem ? 'fail' : 'ok', problem ?? describe(c));
  }
  const served = enabledPlatforms(config);
  // `exec` and `workflow run` play any platform; a schedule needs one that serve keeps running.
  for (const s of config.schedules) {
    const name = `schedule ${s.name}`;
    if (!s.enabled) {
      add(name, 'skip', 'disabled');
    } else if (!served.includes(s.deliver.platform)) {
      add(name, 'fail', `delivers to ${s.deliver.platform}, which is not enabled (enabled: ${served.join(', ') || 'none'})`);
    } else {
      const next = cronOf(s.cron, s.timezone).nextRun();
      add(name, 'ok', `"${s.cron}" (${s.timezone}) runs ${s.workflow} as ${s.role}; next ${next?.toISOString() ?? 'never'} → ${s.deliver.platform}:${s.deliver.chatId}`);
    }
  }
  for (const n of config.security.approvals.notify) {
    if (!served.includes(n.platform)) add('approvals', 'fail', `security.approvals.notify names ${n.platform}, which is not enabled`);
  }
  const counts = ROLES.filter((r) => r !== 'User').map((r) => `${config.security.roles.members(r).length} ${r}`);
  add('roles', 'ok', `${counts.join(', ')}; everyone else is User`);
}

function describe(c: CommandSpec): string {
  const r = c.runner;
  const where = r.kind === 'local' ? r.argv[0] : r.kind === 'ssh' ? `ssh ${r.user}@${r.host}:${r.port}` : `${r.method} ${r.url}`;
  return `${r.kind}: ${where}; needs ${c.role.join(' or ')}${c.approve ? ', with approval' : ''}`;
}

function commandProblem(c: CommandSpec): string | undefined {
  const r = c.runner;
  if (r.kind === 'local') {
    const program = r.argv[0]!;
    if (!findProgram(program, process.env.PATH ?? '')) return `program "${program}" not found${program.includes('/') ? '' : ' on PATH'}`;
    if (r.cwd && !statSync(r.cwd, { throwIfNoEntry: false })?.isDirectory()) return `cwd ${r.cwd} is not a folder`;
    return undefined;
  }
  if (r.kind === 'ssh') {
    if (r.privateKeyFile && !readable(r.privateKeyFile)) return `private_key ${r.privateKeyFile} cannot be read`;
    if (r.knownHostsFile) {
      if (!readable(r.knownHostsFile)) return `known_hosts ${r.knownHostsFile} cannot be read`;
      const text = readFileSync(r.knownHostsFile, 'utf8');
      const plain = r.port === 22 ? r.host : `[${r.host}]:${r.port}`;
      // Hashed entries (|1|...) cannot be matched without the key; plain ones can be looked for.
      if (!text.includes('|1|') && !text.split('\n').some((l) => l.split(/\s/)[0]?.split(',').includes(plain))) {
        return `known_hosts ${r.knownHostsFile} has no entry for ${plain}: connecting would be refused`;
      }
    }
    if (r.agent && !statSync(r.agent, { throwIfNoEntry: false })?.isSocket()) return `agent socket ${r.agent} does not exist (is ssh-agent running?)`;
    return undefined;
  }
  return undefined;
}

function findProgram(program: string, path: string): boolean {
  const candidates = program.includes('/') ? [program] : path.split(delimiter).filter((d) => isAbsolute(d)).map((d) => join(d, program));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

function readable(p: string): boolean {
  try {
    accessSync(p, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
