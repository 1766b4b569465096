// `clawdbot audit tail | search | verify`: the audit trail from the terminal. tail and search read the
// database (one line per record, or --json: the audit file's lines); verify walks the chain in the
// database and in the JSON-lines file (the configured one with its rotated parts, or --file F) and names
// the first broken record. The database and the file are readable only by the account that runs
// clawdbot (0700 folder, 0600 files); on top of that, reading records (tail, search) takes the Auditor
// role (or Admin) like every other path: the login name counts as "cli:NAME" in security.roles.
// verify shows no record's content and is open to whoever can read the files.
import { fileParts, verifyFile, type FileReport } from '../core/audit-file.ts';
import { auditEvent, auditFilter, writeAudit, type AuditQuery } from '../core/audit.ts';
import { authorize } from '../core/policy.ts';
import { UsageError } from '../core/errors.ts';
import { formatLine, toLine, type AuditRecord, type ChainReport } from '../store/audit.ts';
import { Store } from '../store/store.ts';
import { commandContext, databasePath, loginName, type GlobalOptions } from './context.ts';

export type AuditSubcommand = 'tail' | 'search' | 'verify';

export interface AuditOptions extends GlobalOptions, AuditQuery {
  readonly json?: boolean;
  /** verify: check this copy (with its rotated parts) instead of the configured audit.file. */
  readonly file?: string;
}

const DEFAULT_LIMIT = { tail: 20, search: 100 } as const;
/** Input and output are cut to this many characters in the one-line text form (--json has them whole). */
const TEXT_PREVIEW = 60;

export async function runAudit(sub: AuditSubcommand, opts: AuditOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { config, log } = await commandContext(opts, 'warn');
  const store = Store.open(databasePath(config), { key: config.security.encryptionKey });
  try {
    if (sub === 'verify') return verify(store, opts.file ?? config.audit.file, opts.file !== undefined, out);
    const user = loginName();
    const who = { platform: 'cli', id: user, role: config.security.roles.roleOf('cli', user) };
    const d = authorize(who, ['Auditor'], 'reading the audit log');
    if (!d.allowed) {
      await writeAudit(store, log, auditEvent(who, null, { eventType: 'policy_denial', decision: 'denied', input: `audit ${sub}`, output: d.reason }));
      process.stderr.write(`clawdbot: ${d.userText} Add "cli:${user}" under security.roles.Auditor (or Admin).\n`);
      return 1;
    }
    // tail shows the newest records; search narrows them. Both print oldest first.
    const q: AuditQuery = sub === 'tail' ? { limit: opts.limit } : opts;
    const filter = auditFilter(q, DEFAULT_LIMIT[sub], Date.now());
    if ('error' in filter) throw new UsageError(`audit ${sub}: ${filter.error.replace(/^limit:/, '-n:').replace(/^since:/, '--since:').replace(/^event:/, '--event:')}`);
    for (const r of store.audit.tail(filter)) out.write(`${opts.json ? formatLine(toLine(r)) : textLine(r)}\n`);
    return 0;
  } finally {
    store.close();
  }
}

/** `#57 2026-01-31T08:00:00.123Z command_execution allowed telegram:1001 (Admin) 12ms "in" → "out"` */
export function textLine(r: AuditRecord): string {
  const preview = (s: string | null) => (s === null ? '-' : JSON.stringify(s.length > TEXT_PREVIEW ? `${s.slice(0, TEXT_PREVIEW)}…` : s));
  return [
    `#${r.id}`,
    new Date(r.timestamp).toISOString(),
    r.eventType,
    r.decision ?? '-',
    `${r.platform ?? '-'}:${r.userId ?? '-'}${r.role ? ` (${r.role})` : ''}`,
    r.durationMs === null ? '-' : `${r.durationMs}ms`,
    ...(r.modelVersion ? [`model=${r.modelVersion}`] : []),
    `${preview(r.input)} → ${preview(r.output)}`,
  ].join(' ');
}

function verify(store: Store, file: string | undefined, given: boolean, out: NodeJS.WritableStream): number {
  const dbPath = store.info.path;
  const db = store.audit.walk();
  out.write(`${databaseLine(dbPath, db)}\n`);
  let ok = db.broken === null;
  if (file === undefined) {
    out.write('file: none (set audit.file, or give --file F)\n');
  } else if (fileParts(file).length === 0) {
    if (given) throw new UsageError(`audit verify: no such file: ${file}`);
    out.write(`file ${file}: nothing written yet\n`);
  } else {
    const f = verifyFile(file, store.audit);
    out.write(`${fileLine(file, f, store.audit.lastId())}\n`);
    ok &&= f.broken === null;
  }
  return ok ? 0 : 1;
}

const span = (r: { records: number; firstId: number | null; lastId: number | null }) =>
  r.records === 0 ? 'no records' : `${r.records} record${r.records === 1 ? '' : 's'} (#${r.firstId}–#${r.lastId})`;

/** After a break: how much of the chain before it was checked and holds. */
const heldBefore = (r: { records: number; firstId: number | null; lastId: number | null }) =>
  r.records === 0 ? '' : r.records === 1 ? ` (the record before it holds: #${r.firstId})` : ` (the ${r.records} records before it hold: #${r.firstId}–#${r.lastId})`;

function databaseLine(path: string, r: ChainReport): string {
  if (r.broken) return `database ${path}: BROKEN at record ${r.broken.brokenAt}: ${r.broken.reason}${heldBefore(r)}`;
  return `database ${path}: ${span(r)}, chain intact`;
}

function fileLine(path: string, r: FileReport, dbLast: number): string {
  const parts = r.parts.length > 1 ? ` (+${r.parts.length - 1} rotated)` : '';
  if (r.broken) {
    const b = r.broken;
    return `file ${b.file} line ${b.line}: BROKEN${b.id === null ? '' : ` at record ${b.id}`}: ${b.reason}${heldBefore(r)}`;
  }
  const behind = r.lastId !== null && r.lastId < dbLast
    ? `; the database goes on to #${dbLast} (copied with the next record; a failed copy is in the log)`
    : '';
  return `file ${path}${parts}: ${span(r)}, chain intact, matches the database${behind}`;
}
