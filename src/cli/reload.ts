// `/reload` and SIGHUP in serve: the config file is read again; routes, actions, commands, workflows,
// roles and approvals take effect for the next turn. What is bound at start-up (listeners, adapters,
// the data folder, the API key) is compared and named when it changed, since it needs a restart.
import { loadConfig } from '../core/config/load.ts';
import type { Config } from '../core/config/types.ts';
import { keyIdOf } from '../store/crypto.ts';

/** Settings read once at start-up, by where they are written. */
const BOUND_AT_START: readonly [string, (c: Config) => unknown][] = [
  ['adapters', (c) => c.adapters],
  ['system.data_dir', (c) => c.system.dataDir],
  ['system.max_concurrency', (c) => c.system.maxConcurrency],
  ['system.log_level', (c) => c.system.logLevel],
  ['security.api_key', (c) => c.security.apiKey],
  ['security.rate_limit(s).key', (c) => c.security.rateLimits.key?.text],
  // The certificate files are re-read on SIGHUP; their paths and the TLS settings need a restart.
  ['security.tls', (c) => c.security.tls],
  ['security.encryption_key', (c) => c.security.encryptionKey && keyIdOf(c.security.encryptionKey)],
  // Timers are armed at start; a changed list is picked up by the next start (runs are in the database).
  ['schedules', (c) => c.schedules],
  // The endpoint is registered at start.
  ['metrics', (c) => c.metrics],
];

export interface Reloaded {
  readonly config: Config;
  readonly summary: string;
}

/** Loads the file `current` came from; throws ConfigError (nothing changes) when it has problems. */
export function reloadConfig(current: Config): Reloaded {
  const config = loadConfig(current.file ? { file: current.file } : {});
  const restart = BOUND_AT_START.filter(([, get]) => JSON.stringify(get(config)) !== JSON.stringify(get(current))).map(([k]) => k);
  const counts = `${config.routes.length} route(s), ${config.commands.size} command(s), ${config.workflows.size} workflow(s)`;
  const summary = `Reloaded ${config.file ?? 'built-in defaults'}: ${counts}.${restart.length ? ` Restart to apply: ${restart.join(', ')}.` : ''}`;
  return { config, summary };
}
