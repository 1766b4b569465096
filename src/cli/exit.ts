// Exit codes: 0 ok, 1 the work failed, 2 usage or configuration error. Kept apart from the command
// modules so that main.ts loads nothing heavy before it knows which command runs.
import { ConfigError, UsageError } from '../core/errors.ts';

export function exitCodeFor(err: unknown): number {
  return isUserFixable(err) ? 2 : 1;
}

/**
 * A config or usage mistake: the message says what to change. That includes a database encrypted with a
 * key the config does not give (none, or another one: set security.encryption_key). Matched by name and
 * kind so that this module does not load the store's crypto code.
 */
function isUserFixable(err: unknown): err is Error {
  if (err instanceof ConfigError || err instanceof UsageError) return true;
  if (!(err instanceof Error) || err.name !== 'EncryptionError') return false;
  const kind = (err as Error & { kind?: unknown }).kind;
  return kind === 'no_key' || kind === 'wrong_key';
}

export function reportFatal(err: unknown): void {
  const msg = isUserFixable(err) ? err.message : `error: ${(err as Error)?.message ?? String(err)}`;
  process.stderr.write(`${msg}\n`);
  process.exitCode = exitCodeFor(err);
}
