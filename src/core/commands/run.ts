// Running one catalogue command with values from bindParams. The caller has already decided that the
// person may run it (src/core/policy.ts) and, for `approve: true`, that an Admin approved it.
import { ExecError } from '../errors.ts';
import { runHttpRequest } from './http.ts';
import { runLocal } from './local.ts';
import { fillArgv } from './placeholders.ts';
import { runSsh } from './ssh.ts';
import type { CommandResult, CommandSpec } from './types.ts';

export { runHttpRequest } from './http.ts';

/**
 * Resolves with the output when the command succeeded; rejects with ExecError otherwise (TIMEOUT,
 * NONZERO_EXIT, SPAWN_FAILED, HOST_KEY, CONNECT_FAILED, UNEXPECTED_STATUS, ABORTED, BAD_ARGUMENT), with
 * the capped output attached when there was some.
 */
export async function runCommand(spec: CommandSpec, args: Readonly<Record<string, string>>, signal: AbortSignal): Promise<CommandResult> {
  const declared = spec.params.map((p) => p.name);
  const limits = { timeoutMs: spec.timeoutMs, outputCap: spec.outputCap, signal };
  const r = spec.runner;
  try {
    switch (r.kind) {
      case 'local':
        return await runLocal(r, fillArgv(r.argv, args, declared), limits);
      case 'ssh':
        return await runSsh(r, fillArgv(r.argv, args, declared), limits);
      case 'http': {
        // Left-out optional parameters are empty in a URL, a header or a body.
        const values: Record<string, string> = {};
        for (const name of declared) values[name] = args[name] ?? '';
        return await runHttpRequest(r, values, limits);
      }
    }
  } catch (err) {
    if (err instanceof ExecError) throw err;
    // Not a failure of the command itself (e.g. a library that failed to load): it could not be started.
    throw new ExecError('SPAWN_FAILED', `${spec.name}: ${(err as Error).message}`, { cause: err });
  }
}
