// What every command starts from: the config (with ConfigError mapped to exit code 2) and a logger.
import { join } from 'node:path';
import { loadConfig } from '../core/config/load.ts';
import type { Config } from '../core/config/types.ts';
import { createLogger, type Logger } from '../core/log.ts';

export interface GlobalOptions {
  readonly config?: string;
}

export function databasePath(config: Config): string {
  return join(config.system.dataDir, 'clawdbot.db');
}

export async function commandContext(opts: GlobalOptions, levelFloor?: 'warn'): Promise<{ config: Config; log: Logger }> {
  const config = loadConfig({ file: opts.config });
  const level = levelFloor && severity(config.system.logLevel) < severity(levelFloor) ? levelFloor : config.system.logLevel;
  const log = await createLogger({ level });
  for (const w of config.warnings) log.warn(w);
  return { config, log };
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const severity = (l: string) => LEVELS.indexOf(l);
