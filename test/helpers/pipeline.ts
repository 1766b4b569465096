// The in-process pipeline tests assemble around one adapter: store, executor with a scripted model,
// gateway, and serve's retry timer. Shared by the adapter contract suite and the adapter tests.
import { Writable } from 'node:stream';
import type { Adapter, AdapterHost } from '../../src/adapters/contract.ts';
import { AdapterRegistry } from '../../src/adapters/registry.ts';
import { defaultConfig } from '../../src/core/config/load.ts';
import type { Config } from '../../src/core/config/types.ts';
import { Executor } from '../../src/core/executor.ts';
import { Gateway } from '../../src/core/gateway.ts';
import { ApiKeyAuth } from '../../src/core/http/auth.ts';
import { HttpGateway } from '../../src/core/http/server.ts';
import { createLogger, type Logger } from '../../src/core/log.ts';
import type { ModelClient } from '../../src/core/models/types.ts';
import { Store } from '../../src/store/store.ts';

export const quietLog = (): Promise<Logger> => createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

/** An HTTP gateway on 127.0.0.1 without API key or rate limit (listen() it when the test needs a port). */
export const testHttp = (log: Logger): HttpGateway =>
  new HttpGateway({ listen: { host: '127.0.0.1', port: 0 }, auth: new ApiKeyAuth(undefined), limiter: undefined, log });

/** Answers at once: `reply: <text>` gets exactly <text>, anything else `echo: <text>`. */
export const echoModel: ModelClient = {
  provider: 'ollama',
  endpoint: 'scripted',
  chat: async (req) => {
    const last = req.messages.at(-1)!.content;
    const m = /^reply: ([\s\S]*)$/.exec(last);
    return { text: m ? m[1]! : `echo: ${last}`, toolCalls: [], model: 'scripted', promptTokens: 1, completionTokens: 1 };
  },
  listModels: async () => ['scripted'],
};

export interface Pipeline {
  readonly gateway: Gateway;
  readonly store: Store;
  readonly stop: AbortController;
  /** Stops the adapter and the gateway, closes the store. */
  close(): Promise<void>;
}

/**
 * Starts `adapter` on a fresh pipeline (in memory, or on `store`, which it then closes); `wrapHost`
 * lets a test watch what the adapter submits.
 */
export async function pipeline(adapter: Adapter, opts: { log: Logger; config?: Config; model?: ModelClient; wrapHost?: (h: AdapterHost) => AdapterHost; store?: Store }): Promise<Pipeline> {
  const config = opts.config ?? defaultConfig();
  const store = opts.store ?? Store.open(':memory:');
  const adapters = new AdapterRegistry();
  adapters.add(adapter);
  const gateway = new Gateway({ config, store, executor: new Executor({ config, store, log: opts.log, model: opts.model ?? echoModel }), adapters, log: opts.log });
  const stop = new AbortController();
  const host = gateway.host(adapter.platform);
  await adapter.start(opts.wrapHost ? opts.wrapHost(host) : host, stop.signal);
  // Retries are driven by serve's timer; tests drive them the same way.
  const timer = setInterval(() => gateway.flushDue(), 50);
  return {
    gateway,
    store,
    stop,
    close: async () => {
      clearInterval(timer);
      stop.abort();
      await gateway.close(1000);
      store.close();
    },
  };
}

export async function until(what: string, pred: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
