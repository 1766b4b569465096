// The `audit:` section: where the JSON-lines copy of the audit trail goes and how it rotates. Without
// `file` the trail is kept in the database only.
//   audit: { file: /var/log/clawdbot/audit.jsonl, max_size: 10MB, keep: 5 }
import { isAbsolute, join, resolve } from 'node:path';
import { nullish, type output } from 'zod/mini';
import { intIn, nonEmpty, obj, val } from './kit.ts';
import { EXPECTED_SIZE, parseSize } from './units.ts';

export const AUDIT_DEFAULTS = { maxSize: 10 * 1024 * 1024, keep: 5 } as const;
/** Smaller would rotate at nearly every record (one can be ~50 KB): the kept parts would hold almost nothing. */
const MIN_SIZE = 64 * 1024;

export interface AuditConfig {
  /** Absolute path of the JSON-lines file; undefined: no file. */
  readonly file: string | undefined;
  /** Bytes; the file is rotated before a line would take it past this. */
  readonly maxSize: number;
  /** Rotated files kept (file.1 … file.keep); 0 drops the full file. */
  readonly keep: number;
}

export const auditSection = obj({
  file: nullish(val('a file path (relative to this config file, or ~/...)', nonEmpty)),
  max_size: nullish(val(`${EXPECTED_SIZE}, at least 64KB`, (v) => {
    const n = parseSize(v);
    return n !== undefined && n >= MIN_SIZE ? n : undefined;
  })),
  keep: nullish(intIn(0, 1000)),
});

export type RawAudit = output<typeof auditSection>;

export function compileAudit(raw: RawAudit | null | undefined, ctx: { dir: string; home: string }): AuditConfig {
  const file = raw?.file;
  return {
    file: file === undefined || file === null ? undefined : absolute(file, ctx),
    maxSize: raw?.max_size ?? AUDIT_DEFAULTS.maxSize,
    keep: raw?.keep ?? AUDIT_DEFAULTS.keep,
  };
}

function absolute(p: string, ctx: { dir: string; home: string }): string {
  if (p === '~' || p.startsWith('~/')) return join(ctx.home, p.slice(1));
  return isAbsolute(p) ? p : resolve(ctx.dir, p);
}
