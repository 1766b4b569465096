// `clawdbot init [file]`: writes the documented example config; never overwrites without --force.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../core/errors.ts';
import { loginName } from './context.ts';

// The bundle inlines the example at build time (scripts/build.ts defines it); from source it is read
// from the repository.
declare const __CLAWDBOT_EXAMPLE_YAML__: string | undefined;

export function exampleYaml(): string {
  return typeof __CLAWDBOT_EXAMPLE_YAML__ === 'string'
    ? __CLAWDBOT_EXAMPLE_YAML__
    : readFileSync(new URL('../../clawdbot.example.yaml', import.meta.url), 'utf8');
}

export async function runInit(file: string, opts: { force?: boolean }): Promise<number> {
  const path = resolve(file);
  try {
    // 'wx' fails when the file exists: no check-then-write race.
    // You, at this terminal, are the Admin of the assistant you just set up (see security.roles).
    const text = exampleYaml().replace('"cli:${USER:-admin}"', JSON.stringify(`cli:${loginName()}`));
    writeFileSync(path, text, { flag: opts.force ? 'w' : 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') throw new UsageError(`${path} exists; use --force to overwrite it`);
    // A mistyped destination is the user's to fix (exit 2), said plainly.
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`init: cannot write ${path}: the folder ${dirname(path)} does not exist`);
    if (code === 'EISDIR') throw new UsageError(`init: ${path} is a folder; give a file name (e.g. ${join(path, 'clawdbot.yaml')})`);
    throw err;
  }
  process.stdout.write(`wrote ${path}\nedit it, then check it with: clawdbot doctor --config ${file}\n`);
  return 0;
}
