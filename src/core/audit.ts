// Audit records from a turn: who (platform, user, role), where (conversation), what. The store keeps
// the chain (src/store/audit.ts) and redacts secrets from input and output as it appends; this file
// shapes events so every caller fills the same fields, copies committed records to the JSON-lines file,
// and holds what the CLI and the REST endpoint share (filters, `--since`).
import type { AuditEvent, AuditFilter } from '../store/audit.ts';
import type { Store } from '../store/store.ts';
import { AuditFile } from './audit-file.ts';
import type { AuditConfig } from './config/audit.ts';
import { parseDuration } from './config/units.ts';
import type { Logger } from './log.ts';
import type { Redactor } from './redact.ts';
import type { Identity } from './types.ts';

export type AuditDetails = Pick<AuditEvent, 'eventType'> & Partial<Omit<AuditEvent, 'eventType' | 'userId' | 'platform' | 'role'>>;

export function auditEvent(who: Identity, conversation: string | null, d: AuditDetails): AuditEvent {
  return {
    eventType: d.eventType,
    userId: who.id,
    platform: who.platform,
    role: who.role,
    conversation: d.conversation ?? conversation,
    decision: d.decision ?? null,
    input: d.input ?? null,
    output: d.output ?? null,
    durationMs: d.durationMs ?? null,
    modelVersion: d.modelVersion ?? null,
  };
}

/**
 * Points the store's audit log at the config: its secrets redacted, records copied to `audit.file`
 * when set. Called once the store is open, and again after a config reload.
 */
export function attachAudit(store: Store, audit: AuditConfig, redactor: Redactor): void {
  store.audit.attach({ redact: (s) => redactor.redact(s), sink: AuditFile.fromConfig(audit) });
}

/**
 * Appends a record in the next group commit and waits for it, then has it copied to the audit file. An
 * action whose record cannot be written is logged loudly, but the person still gets their answer (the
 * failure is the store's, not theirs); a failed copy is made good by the next record's.
 */
export async function writeAudit(store: Store, log: Logger, e: AuditEvent): Promise<void> {
  let id: number;
  try {
    id = (await store.write(() => store.audit.append(e, Date.now()))).id;
  } catch (err) {
    log.error({ err, event: e.eventType }, 'could not write an audit record');
    return;
  }
  if (!store.audit.mirrored) return;
  try {
    // A transaction of its own, after the commit: the file never holds a record the database rolled
    // back, and the write lock orders the appends of every process sharing the database.
    await store.write(() => store.audit.mirror(id));
  } catch (err) {
    log.error({ err: (err as Error).message, record: id }, 'could not copy audit records to the audit file');
  }
}

const AUDIT_QUERY_MAX = 1000;

/** `--since` and `since=`: a duration back from now (30m, 1h, 2d) or an ISO 8601 date/time; ms since epoch. */
export function parseSince(text: string, now: number): number | undefined {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const at = Date.parse(t);
    return Number.isNaN(at) ? undefined : at;
  }
  const ms = parseDuration(t);
  return ms === undefined ? undefined : now - ms;
}

/** Every event_type a record can have (what `--event` / `?event=` may name). */
export const AUDIT_EVENT_TYPES = [
  'model_invocation', 'command_execution', 'policy_denial', 'approval_request', 'admin_action', 'config_reload', 'workflow_run',
  'key_change', 'media_processing',
] as const;

const SINCE_EXPECTED = 'a duration back from now (30m, 1h, 7d) or an ISO date like 2026-01-31 or 2026-01-31T08:00:00Z';

/** What the CLI's options and the REST endpoint's query say, as written. */
export interface AuditQuery {
  readonly user?: string;
  readonly platform?: string;
  readonly event?: string;
  readonly since?: string;
  readonly limit?: string;
}

/** The store's filter for `q`, or what is wrong with it (named as the CLI and the endpoint call it). */
export function auditFilter(q: AuditQuery, defaultLimit: number, now: number): AuditFilter | { error: string } {
  let since: number | undefined;
  if (q.since !== undefined) {
    since = parseSince(q.since, now);
    if (since === undefined) return { error: `since: expected ${SINCE_EXPECTED}, got ${JSON.stringify(q.since)}` };
  }
  // A misspelt event type would match nothing and look like "no such records".
  if (q.event !== undefined && !(AUDIT_EVENT_TYPES as readonly string[]).includes(q.event)) {
    return { error: `event: expected one of ${AUDIT_EVENT_TYPES.join(', ')}, got ${JSON.stringify(q.event)}` };
  }
  const limit = q.limit === undefined ? defaultLimit : Number(q.limit);
  if (!/^\d+$/.test(q.limit ?? '1') || !Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_QUERY_MAX) {
    return { error: `limit: expected a whole number from 1 to ${AUDIT_QUERY_MAX}, got ${JSON.stringify(q.limit)}` };
  }
  return {
    ...(q.user !== undefined ? { userId: q.user } : {}),
    ...(q.platform !== undefined ? { platform: q.platform } : {}),
    ...(q.event !== undefined ? { eventType: q.event } : {}),
    ...(since !== undefined ? { since } : {}),
    limit,
  };
}
