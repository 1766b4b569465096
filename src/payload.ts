// The program files the single executable carries (scripts/build-binary.ts writes them, the executable's
// entry src/cli/sea.ts reads them): the bundle (entry, program, library chunks) and the two native parts,
// appended after the Node executable that pkg built, with an index and a footer at the very end.
//
//   [ Node + SEA blob (pkg) ][ file ][ file ] ... [ index: JSON ][ footer: magic (16) | index offset (8) | index length (8) ]
//
// At first start they are unpacked as real files into `${XDG_CACHE_HOME:-$HOME/.cache}/clawdbot/app/
// <version>-<id>/` (or, when that is not writable or HOME is unset, `$TMPDIR/clawdbot-<uid>/app/...`):
// into a temporary folder renamed into place when complete, so two first runs at once, or a crash in
// the middle, never leave half a program behind. Each file's sha256 is checked as it is unpacked; later
// starts only compare sizes (one stat per file). The id is a hash of the whole payload: a new build
// unpacks next to the old one, never over files a running older version may still load.
//
// Why not pkg's virtual file system: it keeps a second copy of its 400 KB bootstrap in memory, serves
// the program from pages of the executable that then stay resident, and hooks every fs call. Plain files
// run exactly like `node dist/clawdbot.cjs` (same compile cache, same native loading): the executable
// idles at the bundle's RSS (docs/benchmarks.md).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ensureDir, privateTmpRoot } from './cache-dirs.ts';

export const PAYLOAD_MAGIC = 'CLAWDBOT-PAYLOAD'; // 16 bytes
const FOOTER_BYTES = 32;

export interface PayloadFile {
  /** Path inside the unpacked folder, `/`-separated (e.g. `native/vec0.so`). */
  readonly name: string;
  /** Byte offset in the executable. */
  readonly offset: number;
  readonly size: number;
  readonly sha256: string;
}

export interface PayloadIndex {
  readonly version: string;
  /** First 16 hex digits of the sha256 over every file's name and hash: names the unpacked folder. */
  readonly id: string;
  readonly files: readonly PayloadFile[];
}

export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

/** Appends `files` (name inside the folder → bytes) and the index to the open file `fd`, whose current size is `start`. */
export function writePayload(fd: number, start: number, version: string, files: readonly { readonly name: string; readonly body: Buffer }[]): PayloadIndex {
  let offset = start;
  const records: PayloadFile[] = [];
  for (const f of files) {
    if (!/^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)?$/.test(f.name) || f.name.split('/').some((p) => p === '.' || p === '..')) {
      throw new PayloadError(`payload file name not allowed: ${f.name}`);
    }
    writeAll(fd, f.body, offset);
    records.push({ name: f.name, offset, size: f.body.length, sha256: createHash('sha256').update(f.body).digest('hex') });
    offset += f.body.length;
  }
  const id = createHash('sha256').update(records.map((r) => `${r.name}:${r.sha256}`).join('\n')).digest('hex').slice(0, 16);
  const index: PayloadIndex = { version, id, files: records };
  const json = Buffer.from(JSON.stringify(index));
  writeAll(fd, json, offset);
  const footer = Buffer.alloc(FOOTER_BYTES);
  footer.write(PAYLOAD_MAGIC, 0, 'latin1');
  footer.writeBigUInt64LE(BigInt(offset), 16);
  footer.writeBigUInt64LE(BigInt(json.length), 24);
  writeAll(fd, footer, offset + json.length);
  return index;
}

/** The index at the end of `file` (the executable). */
export function readPayloadIndex(file: string): PayloadIndex {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < FOOTER_BYTES) throw new PayloadError(`${file} carries no program files (too small)`);
    const footer = readAt(fd, size - FOOTER_BYTES, FOOTER_BYTES);
    if (footer.toString('latin1', 0, 16) !== PAYLOAD_MAGIC) throw new PayloadError(`${file} carries no program files (no payload footer): was it built by scripts/build-binary.ts?`);
    const at = Number(footer.readBigUInt64LE(16));
    const length = Number(footer.readBigUInt64LE(24));
    if (at + length + FOOTER_BYTES !== size) throw new PayloadError(`${file}: the payload index is out of place (truncated or appended to?)`);
    const index = JSON.parse(readAt(fd, at, length).toString('utf8')) as PayloadIndex;
    for (const f of index.files) {
      if (f.offset < 0 || f.offset + f.size > at) throw new PayloadError(`${file}: payload entry ${f.name} lies outside the payload`);
    }
    return index;
  } finally {
    closeSync(fd);
  }
}

/**
 * The folder holding the unpacked files of `file`'s payload: an existing complete one, else one unpacked
 * now. Tries the user's cache folder, then the private temporary one; throws when neither works.
 */
export function unpackedPayload(file: string, index: PayloadIndex = readPayloadIndex(file)): string {
  const failures: string[] = [];
  for (const root of cacheRoots()) {
    try {
      return unpackInto(file, index, join(root(), 'app'));
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new PayloadError(`cannot unpack the program files to a cache folder: ${failures.join('; ')}`);
}

/** `<parent>/<version>-<id>`, unpacked unless a complete copy is there already. */
export function unpackInto(file: string, index: PayloadIndex, parent: string): string {
  const dir = join(parent, `${index.version}-${index.id}`);
  if (complete(dir, index)) return dir;
  ensureDir(parent);
  const tmp = join(parent, `.${index.version}-${index.id}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    unpackAll(file, index, tmp);
    try {
      renameSync(tmp, dir); // atomic: others see no folder or the whole one
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
      // Another first run finished before us, or a damaged copy is in the way: keep a complete one, else replace it.
      if (!complete(dir, index)) {
        rmSync(dir, { recursive: true, force: true });
        renameSync(tmp, dir);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

function complete(dir: string, index: PayloadIndex): boolean {
  try {
    return index.files.every((f) => statSync(join(dir, f.name)).size === f.size);
  } catch {
    return false;
  }
}

function unpackAll(file: string, index: PayloadIndex, dir: string): void {
  ensureDir(dir);
  const fd = openSync(file, 'r');
  try {
    for (const f of index.files) {
      const body = readAt(fd, f.offset, f.size);
      if (createHash('sha256').update(body).digest('hex') !== f.sha256) {
        throw new PayloadError(`${file}: embedded ${f.name} does not match its recorded hash (damaged executable?)`);
      }
      const slash = f.name.lastIndexOf('/');
      if (slash > 0) ensureDir(join(dir, f.name.slice(0, slash)));
      // Executable bits for the native parts' sake (some loaders want them); the folder itself is 0700.
      writeFileSync(join(dir, f.name), body, { mode: 0o755, flag: 'wx' });
    }
  } finally {
    closeSync(fd);
  }
}

/** Where to unpack, best first. Each is a thunk so the fallback costs nothing when the first works. */
function cacheRoots(): Array<() => string> {
  const roots: Array<() => string> = [];
  const xdg = process.env.XDG_CACHE_HOME;
  const home = process.env.HOME;
  if (xdg && isAbsolute(xdg)) roots.push(() => join(xdg, 'clawdbot'));
  else if (home && isAbsolute(home)) roots.push(() => join(home, '.cache', 'clawdbot'));
  roots.push(privateTmpRoot);
  return roots;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new PayloadError('unexpected end of the executable while reading its payload');
    done += n;
  }
  return buf;
}

function writeAll(fd: number, body: Buffer, position: number): void {
  // 64 KiB at a time: one huge write() leaves the file in the page cache as large folios, which a
  // mapped executable then faults in whole (see rewriteInSmallWrites in scripts/build-binary.ts).
  const CHUNK = 64 * 1024;
  for (let off = 0; off < body.length;) {
    const len = Math.min(CHUNK, body.length - off);
    off += writeSync(fd, body, off, len, position + off);
  }
}
