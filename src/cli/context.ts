// What every command starts from: the config (with ConfigError mapped to exit code 2) and a logger.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../core/config/load.ts';
import { LOG_LEVELS } from '../core/config/schema.ts';
import type { Config } from '../core/config/types.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { RedactingStream, Redactor } from '../core/redact.ts';
import type { Memory } from '../core/memory/retrieve.ts';
import type { Store } from '../store/store.ts';

export interface GlobalOptions {
  readonly config?: string;
}

/** Who runs a terminal command (exec, workflow run): the login name, as roles name it ("cli:alice"). */
export function loginName(): string {
  try {
    return userInfo().username || 'cli';
  } catch {
    return 'cli';
  }
}

export function databasePath(config: Config): string {
  return join(config.system.dataDir, 'clawdbot.db');
}

export interface CommandContext {
  readonly config: Config;
  readonly log: Logger;
  /** Hides the config's secrets (and anything that looks like a credential) in logs, audit records and replies. */
  readonly redactor: Redactor;
  /** The log destination's redacting stream: `use()` a new redactor after a config reload. */
  readonly redacting: RedactingStream | undefined;
}

export async function commandContext(opts: GlobalOptions, levelFloor?: 'warn'): Promise<CommandContext> {
  const config = loadConfig({ file: opts.config });
  const level = levelFloor && severity(config.system.logLevel) < severity(levelFloor) ? levelFloor : config.system.logLevel;
  const redactor = Redactor.fromConfig(config);
  let redacting: RedactingStream | undefined;
  const log = await createLogger({ level, wrap: (d) => (redacting = new RedactingStream(redactor, d)) });
  for (const w of config.warnings) log.warn(w);
  return { config, log, redactor, redacting };
}

const severity = (l: string) => (LOG_LEVELS as readonly string[]).indexOf(l);

/** How long after `ready` serve waits before {@link releaseStartupMemory}: start-up is over by then. */
export const STARTUP_GC_DELAY_MS = 1000;

/**
 * Runs {@link releaseStartupMemory} once the server has been up for STARTUP_GC_DELAY_MS with no turn
 * running; while turns are running it looks again a little later (a few times, then gives up: a busy
 * server grows its heap again anyway). The timer is unref'd; clearing it cancels the collection.
 */
export function startupMemoryTimer(busy: () => boolean): NodeJS.Timeout {
  let tries = 10;
  const timer = setTimeout(() => {
    if (busy() && --tries > 0) timer.refresh();
    else if (tries > 0) void releaseStartupMemory();
  }, STARTUP_GC_DELAY_MS);
  return timer.unref();
}

/**
 * Gives the garbage of start-up back to the OS, once. Loading the config, the store and the program leaves
 * dead objects behind, and V8 grows the young generation from 1 to 4 MB resident while start-up
 * allocates; an idle server then never collects again, so all of it stays resident. A last-resort
 * collection (what V8 itself does under memory pressure: full GCs that also shrink the young generation
 * and release empty pages) takes ~15 ms here and lowers idle RSS by ~4 MB (measured on idle `serve`: V8
 * heap 15.3 → 10.8 MB resident, RssAnon −4.5 MB). Under load the young generation grows again as V8 sees
 * fit; this runs once, after `ready`, not on any request path.
 *
 * Node exposes no "collect now" call without --expose-gc; the flag is set only long enough to fetch the
 * gc function from a fresh context and is cleared again at once: V8 checks the flag set against Node's
 * built-in code cache and the compile cache, so a flag left set would make every later module load
 * compile from source. node:v8 and node:vm are loaded before the flag is set for the same reason. Any
 * failure is ignored: this is an optimisation only.
 */
export async function releaseStartupMemory(): Promise<void> {
  try {
    let collect = globalThis.gc; // started with --expose-gc: use it, leave the flags alone
    if (!collect) {
      const [{ setFlagsFromString }, { runInNewContext }] = await Promise.all([import('node:v8'), import('node:vm')]);
      setFlagsFromString('--expose-gc');
      try {
        collect = runInNewContext('gc') as NodeJS.GCFunction;
      } finally {
        setFlagsFromString('--no-expose-gc');
      }
    }
    collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } catch {
    // no collection: the memory is merely released later, by V8's own heuristics
  }
}

/** Context memory over the store when `memory.enabled` (its modules load only then). */
export async function openMemory(config: Config, store: Store): Promise<Memory | undefined> {
  if (!config.memory.enabled) return undefined;
  const [{ Memory }, { createEmbedder }] = await Promise.all([import('../core/memory/retrieve.ts'), import('../core/memory/embed.ts')]);
  return new Memory(store.memory, createEmbedder(config.models.embedding));
}
