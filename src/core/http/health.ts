// /healthz: the process is alive (no key needed). /readyz: each component with detail, behind the API key
// since it names endpoints; 503 when one is not ready.
// The model is probed at most every 15 s, in the background after the first /readyz.
import type { AdapterRegistry } from '../../adapters/registry.ts';
import type { Store } from '../../store/store.ts';
import type { Executor } from '../executor.ts';
import type { Gateway } from '../gateway.ts';
import { sendJson, type HttpGateway } from './server.ts';

const MODEL_PROBE_MS = 15_000;

interface Component { readonly ok: boolean; readonly detail: string }

export function registerHealth(http: HttpGateway, deps: { store: Store; executor: Executor; adapters: AdapterRegistry; gateway: Gateway }): void {
  let model: Component = { ok: false, detail: 'not checked yet' };
  let probedAt = 0;
  let probing: Promise<void> | undefined;
  // Not at start-up: the first probe loads the HTTP client (~10 MB resident) that a gateway answering
  // only static replies never needs. The first /readyz waits for it; later ones use the last result
  // and refresh it in the background.
  const probe = (): Promise<void> => {
    if (probing || Date.now() - probedAt < MODEL_PROBE_MS) return probing ?? Promise.resolve();
    probing = (async () => {
      try {
        const client = await deps.executor.model();
        const names = await client.listModels();
        // An endpoint that answers but lacks the model the config names (or lists none when none is
        // named) fails every turn: not ready. Matched as `clawdbot doctor` does.
        const wanted = deps.executor.config.models.default.model;
        const offered = wanted ? names.some((n) => n === wanted || n === `${wanted}:latest`) : names.length > 0;
        model = offered
          ? { ok: true, detail: `${client.provider} at ${client.endpoint}, ${names.length} model(s)` }
          : { ok: false, detail: wanted ? `"${wanted}" is not offered by ${client.endpoint} (${names.length} model(s))` : `no model configured and ${client.endpoint} lists none` };
      } catch (err) {
        model = { ok: false, detail: (err as Error).message };
      } finally {
        probedAt = Date.now();
        probing = undefined;
      }
    })();
    return probing;
  };

  http.route('GET', '/healthz', ({ res }) => sendJson(res, 200, { status: 'ok' }), { auth: false });
  http.route('GET', '/readyz', async ({ res }) => {
    if (probedAt === 0) await probe();
    else void probe();
    let database: Component;
    try {
      const pending = deps.store.pendingTurns();
      database = { ok: true, detail: `sqlite ${deps.store.info.sqliteVersion}, sqlite-vec ${deps.store.info.vecVersion}, ${pending} turn(s) pending` };
    } catch (err) {
      database = { ok: false, detail: (err as Error).message };
    }
    const adapters = Object.fromEntries(deps.adapters.all().map((a) => {
      const h = a.health();
      return [a.platform, { ok: h.connected, detail: h.detail, last_event_at: h.lastEventAt, last_error: h.lastError }];
    }));
    const ready = database.ok && model.ok && Object.values(adapters).every((a) => a.ok);
    sendJson(res, ready ? 200 : 503, { ready, in_flight: deps.gateway.busy, components: { database, model, adapters } });
  }, { auth: true });
}
