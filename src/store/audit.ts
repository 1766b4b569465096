// The audit trail in SQLite. Each record carries the hash of the record before it, so an edit or a
// deletion in the middle breaks the chain at that point (tamper evidence; `verifyChain` finds it).
// The previous hash is read inside the writing transaction: two processes on one database (serve and
// an `exec`) still build one chain.
import { createHash } from 'node:crypto';
import type { Db } from './db.ts';

/** What happened; the seed's fields plus who, where and the policy decision. */
export interface AuditEvent {
  /** model_invocation, command_execution, policy_denial, approval_request, admin_action, config_reload, ... */
  readonly eventType: string;
  readonly userId: string | null;
  readonly platform: string | null;
  readonly role: string | null;
  readonly conversation: string | null;
  readonly decision: 'allowed' | 'denied' | null;
  readonly input: string | null;
  readonly output: string | null;
  readonly durationMs: number | null;
  readonly modelVersion: string | null;
}

export interface AuditRecord extends AuditEvent {
  readonly id: number;
  /** ms since epoch. */
  readonly timestamp: number;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditFilter {
  readonly userId?: string;
  readonly platform?: string;
  readonly eventType?: string;
  readonly since?: number;
  readonly limit: number;
}

export const GENESIS_HASH = '0'.repeat(64);
/** Input and output are kept to this many characters: the trail says what happened, it is not a transcript. */
const FIELD_CAP = 4000;

const cap = (s: string | null) => (s !== null && s.length > FIELD_CAP ? `${s.slice(0, FIELD_CAP)}…` : s);

/** The hashed form: fixed field order, so the same record always hashes the same. */
export function recordHash(prevHash: string, r: Omit<AuditRecord, 'hash' | 'prevHash'>): string {
  const body = JSON.stringify([
    r.id, r.timestamp, r.eventType, r.userId, r.platform, r.role, r.conversation, r.decision, r.input, r.output, r.durationMs, r.modelVersion,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

interface RawRow {
  id: number; timestamp: number; event_type: string; user_id: string | null; platform: string | null; role: string | null;
  conversation: string | null; decision: 'allowed' | 'denied' | null; input: string | null; output: string | null;
  duration_ms: number | null; model_version: string | null; prev_hash: string; hash: string;
}

const toRecord = (r: RawRow): AuditRecord => ({
  id: r.id, timestamp: r.timestamp, eventType: r.event_type, userId: r.user_id, platform: r.platform, role: r.role,
  conversation: r.conversation, decision: r.decision, input: r.input, output: r.output, durationMs: r.duration_ms,
  modelVersion: r.model_version, prevHash: r.prev_hash, hash: r.hash,
});

export class AuditLog {
  readonly #last;
  readonly #insert;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.#last = db.prepare('SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1');
    this.#insert = db.prepare(
      `INSERT INTO audit (id, timestamp, event_type, user_id, platform, role, conversation, decision, input, output,
                          duration_ms, model_version, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Appends one record; must run inside a write transaction (Store.write). */
  append(e: AuditEvent, now: number): AuditRecord {
    const last = this.#last.get() as { id: number; hash: string } | undefined;
    const base = { ...e, input: cap(e.input), output: cap(e.output), id: (last?.id ?? 0) + 1, timestamp: now };
    const prevHash = last?.hash ?? GENESIS_HASH;
    const hash = recordHash(prevHash, base);
    this.#insert.run(base.id, now, e.eventType, e.userId, e.platform, e.role, e.conversation, e.decision, base.input, base.output,
      e.durationMs, e.modelVersion, prevHash, hash);
    return { ...base, prevHash, hash };
  }

  /** The newest records matching `f`, oldest first. */
  tail(f: AuditFilter): AuditRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.userId !== undefined) { where.push('user_id = ?'); args.push(f.userId); }
    if (f.platform !== undefined) { where.push('platform = ?'); args.push(f.platform); }
    if (f.eventType !== undefined) { where.push('event_type = ?'); args.push(f.eventType); }
    if (f.since !== undefined) { where.push('timestamp >= ?'); args.push(f.since); }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, f.limit) as RawRow[]).map(toRecord).reverse();
  }

  /** Records since `since`, counted by event and decision (the Auditor's report). */
  summary(since: number): { eventType: string; decision: string | null; count: number; users: number }[] {
    return this.#db.prepare(
      `SELECT event_type AS eventType, decision, count(*) AS count, count(DISTINCT platform || ':' || user_id) AS users
       FROM audit WHERE timestamp >= ? GROUP BY event_type, decision ORDER BY count DESC`,
    ).all(since) as { eventType: string; decision: string | null; count: number; users: number }[];
  }

  /** Walks the whole chain; the first record whose link or hash is wrong, or null when all hold. */
  verifyChain(): { brokenAt: number; reason: string } | null {
    let prev = GENESIS_HASH;
    for (const raw of this.#db.prepare('SELECT * FROM audit ORDER BY id').iterate() as IterableIterator<RawRow>) {
      const r = toRecord(raw);
      if (r.prevHash !== prev) return { brokenAt: r.id, reason: 'does not link to the record before it' };
      if (recordHash(r.prevHash, r) !== r.hash) return { brokenAt: r.id, reason: 'its content does not match its hash' };
      prev = r.hash;
    }
    return null;
  }
}
