// Audit records from a turn: who (platform, user, role), where (conversation), what. The store keeps
// the chain (src/store/audit.ts); this file only shapes events so every caller fills the same fields.
import type { AuditEvent } from '../store/audit.ts';
import type { Store } from '../store/store.ts';
import type { Logger } from './log.ts';
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
 * Appends a record in the next group commit and waits for it: an action whose record cannot be
 * written is logged loudly, but the person still gets their answer (the failure is the store's, not theirs).
 */
export async function writeAudit(store: Store, log: Logger, e: AuditEvent): Promise<void> {
  try {
    await store.write(() => store.audit.append(e, Date.now()));
  } catch (err) {
    log.error({ err, event: e.eventType }, 'could not write an audit record');
  }
}
