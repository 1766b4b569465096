// Exit codes: 0 ok, 1 the work failed, 2 usage or configuration error. Kept apart from the command
// modules so that main.ts loads nothing heavy before it knows which command runs.
import { ConfigError, UsageError } from '../core/errors.ts';

export function exitCodeFor(err: unknown): number {
  return err instanceof ConfigError || err instanceof UsageError ? 2 : 1;
}

export function reportFatal(err: unknown): void {
  const msg = err instanceof ConfigError || err instanceof UsageError ? err.message : `error: ${(err as Error)?.message ?? String(err)}`;
  process.stderr.write(`${msg}\n`);
  process.exitCode = exitCodeFor(err);
}
