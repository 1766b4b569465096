// GET /v1/audit: the audit trail over the API, for keys with the Auditor (or Admin) role. The answer is
// JSON lines (application/x-ndjson), byte for byte the lines of the audit file and of
// `clawdbot audit tail --json`, oldest first: a client can check each record's hash as `audit verify`
// does, and stream a large answer. Any other role gets 403 and the attempt is audited as a policy_denial;
// every read is audited too (admin_action), since who read the trail is part of it.
import type { Store } from '../../store/store.ts';
import { formatLine, toLine } from '../../store/audit.ts';
import { auditEvent, auditFilter, writeAudit } from '../audit.ts';
import type { Logger } from '../log.ts';
import { authorize, type Role } from '../policy.ts';
import { HttpError, type HttpGateway, type RequestContext } from './server.ts';

export const AUDIT_PATH = '/v1/audit';
const DEFAULT_LIMIT = 100;
const PARAMS = ['user', 'platform', 'event', 'since', 'limit'] as const;
/** The platform API callers are recorded under (as the REST adapter's messages are). */
const API_PLATFORM = 'api';

export interface AuditRouteDeps {
  readonly store: Store;
  readonly log: Logger;
  /** The role of the key the request authenticated with. */
  readonly roleOf: (ctx: RequestContext) => Role;
}

export function registerAuditRoute(http: HttpGateway, deps: AuditRouteDeps): void {
  http.route('GET', AUDIT_PATH, (ctx) => serveAudit(ctx, deps), { auth: true, limit: true });
}

async function serveAudit(ctx: RequestContext, deps: AuditRouteDeps): Promise<void> {
  const who = { platform: API_PLATFORM, id: ctx.principal, role: deps.roleOf(ctx) };
  const request = `GET ${ctx.url.pathname}${ctx.url.search}`;
  const d = authorize(who, ['Auditor'], 'reading the audit log');
  if (!d.allowed) {
    deps.log.info({ principal: who.id, role: who.role, reason: d.reason }, 'denied');
    await writeAudit(deps.store, deps.log, auditEvent(who, null, { eventType: 'policy_denial', decision: 'denied', input: request, output: d.reason }));
    throw new HttpError(403, d.reason);
  }
  const unknown = [...ctx.url.searchParams.keys()].filter((k) => !(PARAMS as readonly string[]).includes(k));
  if (unknown.length) throw new HttpError(400, `unknown query parameter ${unknown.join(', ')} (known: ${PARAMS.join(', ')})`);
  const param = (k: (typeof PARAMS)[number]) => ctx.url.searchParams.get(k) ?? undefined;
  const filter = auditFilter({ user: param('user'), platform: param('platform'), event: param('event'), since: param('since'), limit: param('limit') }, DEFAULT_LIMIT, Date.now());
  if ('error' in filter) throw new HttpError(400, filter.error);
  const records = deps.store.audit.tail(filter);
  await writeAudit(deps.store, deps.log, auditEvent(who, null, { eventType: 'admin_action', decision: 'allowed', input: request, output: `${records.length} record(s)` }));
  const body = records.map((r) => `${formatLine(toLine(r))}\n`).join('');
  ctx.res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  ctx.res.end(body);
}
