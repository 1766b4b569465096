// The chat platforms clawdbot can run, keyed by platform id. serve and doctor walk this list; each
// entry loads its module (and its client library) only when that platform is enabled.
import type { Config } from '../core/config/types.ts';
import type { HttpGateway } from '../core/http/server.ts';
import type { Logger } from '../core/log.ts';
import type { Adapter } from './contract.ts';

export interface AdapterDeps {
  readonly config: Config;
  readonly http: HttpGateway;
  readonly log: Logger;
}

export interface CatalogEntry {
  readonly id: string;
  /** Platform ids its adapters serve (what routes, roles and schedules name). */
  readonly platforms: readonly string[];
  enabled(config: Config): boolean;
  create(deps: AdapterDeps): Promise<Adapter[]>;
}

export const CATALOG: readonly CatalogEntry[] = [
  {
    id: 'websocket',
    platforms: ['websocket', 'api'],
    enabled: (c) => c.adapters.websocket.enabled,
    // The web chat and the REST endpoint share the gateway's HTTP server and its config.
    create: async ({ config, http, log }) => {
      const [{ WebSocketAdapter }, { RestAdapter }] = await Promise.all([import('./websocket.ts'), import('./rest.ts')]);
      return [new WebSocketAdapter({ http, path: config.adapters.websocket.path, log }), new RestAdapter({ http })];
    },
  },
  {
    id: 'telegram',
    platforms: ['telegram'],
    enabled: (c) => c.adapters.telegram.enabled,
    create: async ({ config, http, log }) => {
      const { TelegramAdapter } = await import('./telegram/adapter.ts');
      return [new TelegramAdapter({ config: config.adapters.telegram, http, log })];
    },
  },
  {
    id: 'slack',
    platforms: ['slack'],
    enabled: (c) => c.adapters.slack.enabled,
    create: async ({ config, http, log }) => {
      const { SlackAdapter } = await import('./slack/adapter.ts');
      return [new SlackAdapter({ config: config.adapters.slack, http, log })];
    },
  },
];

/** Platform ids served with this config. */
export function enabledPlatforms(config: Config): string[] {
  return CATALOG.filter((e) => e.enabled(config)).flatMap((e) => e.platforms);
}
