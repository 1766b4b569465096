// `memory forget` for the audit file (audit.file) and its rotated parts: the input and output of a
// person's records become their erased marks, as in the database (AuditLog.erase). A record's hash
// covers the digests of its texts, so each record still hashes the same and the chain still verifies.
//
// Every part with something to erase is first copied, line by line, to a temporary file beside it
// (same mode and owner, flushed, its size checked); only when all copies are complete are they renamed
// over their parts. A failure (a full disk, a permission) therefore changes no part. The caller holds
// the database's write transaction, under which every process appends and rotates (AuditFile.catchUp):
// no line can be appended or rotated away meanwhile. The file gets a new inode, as at a rotation.
import { closeSync, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { syncFolder } from '../sync-folder.ts';
import { erasedMark, formatLine, type AuditLine } from '../store/audit.ts';

export interface Person {
  readonly userId: string;
  readonly platform?: string;
}

export interface EraseReport {
  /** Records whose text was erased. */
  readonly erased: number;
  /** Lines that are not records (torn by a power loss, or foreign): left as they are; `audit verify` names them. */
  readonly unreadable: number;
}

/** Reads at most this much of a part at a time: a part may be larger than the longest string V8 makes. */
const CHUNK = 1 << 20;

export function eraseInParts(parts: readonly string[], person: Person, parse: (line: string) => AuditLine): EraseReport {
  const copies: { part: string; tmp: string }[] = [];
  let erased = 0;
  let unreadable = 0;
  try {
    for (const part of parts) {
      const r = copyErased(part, person, parse);
      unreadable += r.unreadable;
      if (r.tmp === undefined) continue;
      copies.push({ part, tmp: r.tmp });
      erased += r.erased;
    }
  } catch (err) {
    for (const c of copies) rmSync(c.tmp, { force: true });
    throw err;
  }
  for (const c of copies) renameSync(c.tmp, c.part);
  if (copies.length > 0) syncFolder(dirname(copies[0]!.part));
  return { erased, unreadable };
}

/** Copies `part` with the person's texts erased; no copy (tmp undefined) when nothing of theirs is in it. */
function copyErased(part: string, person: Person, parse: (line: string) => AuditLine): { tmp: string | undefined; erased: number; unreadable: number } {
  const tmp = `${part}.erase-${process.pid}`;
  const src = openSync(part, 'r');
  let out: number | undefined;
  let erased = 0;
  let unreadable = 0;
  let written = 0;
  try {
    const st = fstatSync(src);
    out = openSync(tmp, 'wx', 0o600);
    // The file keeps its owner and mode: serve may run as another user than the one who forgets.
    if (st.uid !== process.getuid?.() || st.gid !== process.getgid?.()) fchownSync(out, st.uid, st.gid);
    fchmodSync(out, st.mode & 0o777);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = () => {
      writeFileSync(out!, Buffer.concat(pending, pendingBytes)); // loops until every byte is written, or throws (ENOSPC, EFBIG)
      written += pendingBytes;
      pending = [];
      pendingBytes = 0;
    };
    const put = (b: Buffer) => {
      pending.push(b);
      pendingBytes += b.length;
      if (pendingBytes >= CHUNK) flush();
    };
    const line = (bytes: Buffer, newline: boolean) => {
      let l: AuditLine | undefined;
      if (bytes.length > 0) {
        try {
          l = parse(bytes.toString('utf8'));
        } catch {
          unreadable++;
        }
      }
      const mine = l !== undefined && l.user_id === person.userId && (person.platform === undefined || l.platform === person.platform);
      const input = mine && l!.input !== null ? erasedMark(l!.input) : l?.input;
      const output = mine && l!.output !== null ? erasedMark(l!.output) : l?.output;
      if (mine && (input !== l!.input || output !== l!.output)) {
        erased++;
        put(Buffer.from(formatLine({ ...l!, input: input!, output: output! }), 'utf8'));
      } else {
        put(bytes); // byte for byte as it was
      }
      if (newline) put(NEWLINE);
    };
    const buf = Buffer.alloc(CHUNK);
    let carry = Buffer.alloc(0);
    for (let pos = 0; ;) {
      const n = readSync(src, buf, 0, CHUNK, pos);
      if (n === 0) break;
      pos += n;
      let data = Buffer.concat([carry, buf.subarray(0, n)]);
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
        line(data.subarray(0, nl), true);
        data = data.subarray(nl + 1);
      }
      carry = Buffer.from(data);
    }
    if (carry.length > 0) line(carry, false); // a last line without its newline (torn) stays so
    flush();
    if (erased === 0) {
      closeSync(out);
      out = undefined;
      rmSync(tmp, { force: true });
      return { tmp: undefined, erased, unreadable };
    }
    fsyncSync(out);
    const size = fstatSync(out).size;
    if (size !== written) throw new Error(`${tmp}: ${size} bytes on disk, ${written} written`);
    return { tmp, erased, unreadable };
  } catch (err) {
    if (out !== undefined) rmSync(tmp, { force: true }); // ours: made above
    throw err;
  } finally {
    closeSync(src);
    if (out !== undefined) closeSync(out);
  }
}

const NEWLINE = Buffer.from('\n');
