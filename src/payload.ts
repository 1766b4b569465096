// The program files the single executable carries (scripts/build-binary.ts writes them, the executable's
// entry src/cli/sea.ts reads them): the bundle (entry, program, library chunks) and the two native parts,
// appended after the Node executable that pkg built, with an index and a footer at the very end.
//
//   [ Node + SEA blob (pkg) ][ file ][ file ] ... [ index: JSON ][ footer: magic (16) | index offset (8) | index length (8) ]
//
// At first start they are unpacked as real files into `${XDG_CACHE_HOME:-$HOME/.cache}/clawdbot/app/
// <version>-<id>/` (or, when that is not writable, not ours, or HOME is unset, `$TMPDIR/clawdbot-<uid>/
// app/...`): into a temporary folder, each file checked against its sha256 and synced, then renamed into
// place, so two first runs at once, or a crash in the middle, never leave half a program behind. Later
// starts check what they are about to run without hashing it: every file and folder must be a real file
// or folder (no symlink), owned by this user, writable by nobody else, and of the recorded size. The id is
// a hash of the whole payload: a new build unpacks next to the old one, never over files a running older
// version may still load.
//
// Why not pkg's virtual file system: it kept a second copy of its 400 KB bootstrap in memory, served the
// program from pages of the executable that then stayed resident, and hooked every fs call. Plain files
// run exactly like `node dist/clawdbot.cjs` (same compile cache, same native loading): the executable
// idles at the bundle's RSS (docs/benchmarks.md).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, readSync, renameSync, rmSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { cacheRoots, ensureDir } from './cache-dirs.ts';
import { syncFolder } from './sync-folder.ts';

export const PAYLOAD_MAGIC = 'CLAWDBOT-PAYLOAD'; // 16 bytes
const FOOTER_BYTES = 32;
/** A leftover temporary folder older than this is a crashed unpack, whatever its pid says. */
const STALE_TMP_MS = 10 * 60_000;
/**
 * Another build's copy not started for longer than this is removed when a new build unpacks: upgrades do
 * not pile up 9 MB each. A process of that build still running loses nothing it has loaded (its native
 * parts are mapped, on a local filesystem) and unpacks a file it loads later again (Unpacked.repair).
 */
const OLD_COPY_MS = 7 * 24 * 3600_000;
/** In temporary folder names: whose process id it is (letters, digits and dashes only, so names parse). */
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'host';

export interface PayloadFile {
  /** Path inside the unpacked folder: a name, or `folder/name` (e.g. `native/vec0.so`). */
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

/** The executable itself is unusable (unreadable, truncated, damaged): trying another folder cannot help. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

const NAME = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*(\/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)?$/; // no leading dot: no `..`, no hidden files
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]*$/;

/** Appends `files` (name inside the folder → bytes) and the index to the open file `fd`, whose current size is `start`. */
export function writePayload(fd: number, start: number, version: string, files: readonly { readonly name: string; readonly body: Buffer }[]): PayloadIndex {
  if (!VERSION.test(version)) throw new PayloadError(`payload version not allowed: ${version}`);
  let offset = start;
  const records: PayloadFile[] = [];
  for (const f of files) {
    if (!NAME.test(f.name)) throw new PayloadError(`payload file name not allowed: ${f.name}`);
    writeAll(fd, f.body, offset);
    records.push({ name: f.name, offset, size: f.body.length, sha256: sha256(f.body) });
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

/** The index at the end of `file` (the executable), checked: names, sizes and offsets can only point inside. */
export function readPayloadIndex(file: string): PayloadIndex {
  const fd = openExecutable(file);
  try {
    return indexOf(fd, file);
  } finally {
    closeSync(fd);
  }
}

export interface Unpacked {
  /** The folder the program runs from. */
  readonly dir: string;
  /**
   * Unpacks into that folder again what is missing or damaged, from the executable this process started
   * from (its file stays open: an upgrade that has since replaced or deleted it changes nothing here).
   */
  repair(): void;
}

/**
 * The folder holding the unpacked files of `file`'s payload: an existing complete one, else one unpacked
 * now. Tries the user's cache folder, then the private temporary one. Throws PayloadError when the
 * executable itself is unusable, an Error naming every folder tried when no folder works.
 */
export function unpackedPayload(file: string): Unpacked {
  // One descriptor for the index and the files, kept for repair(): an upgrade cannot mix two builds.
  const fd = openExecutable(file);
  let kept = false;
  try {
    const index = indexOf(fd, file);
    const failures: string[] = [];
    for (const root of cacheRoots()) {
      try {
        const parent = join(root(), 'app');
        const dir = unpackInto(fd, file, index, parent);
        kept = true;
        return { dir, repair: () => void unpackInto(fd, file, index, parent) };
      } catch (err) {
        if (err instanceof PayloadError) throw err;
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
    throw new Error(`cannot unpack the program files to a cache folder: ${failures.join('; ')}`);
  } finally {
    if (!kept) closeSync(fd);
  }
}

/** `<parent>/<version>-<id>`, unpacked from the open executable `fd` unless a complete copy is there already. */
export function unpackInto(fd: number, file: string, index: PayloadIndex, parent: string): string {
  const dir = join(parent, `${index.version}-${index.id}`);
  // The parent too: whoever may write it may swap the copy in it at any time.
  if (ours(parent, 'dir') && complete(dir, index)) {
    touch(dir); // its age says when it was last started (removeOldCopies)
    return dir;
  }
  ensureDir(parent);
  if (!ours(parent, 'dir')) throw new Error(`${parent} is not a folder of this user's that only it can write`);
  removeStaleTemporaries(parent);
  const tmp = join(parent, `.${index.version}-${index.id}.${HOST}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const old = `${tmp}.old`;
  try {
    unpackAll(fd, file, index, tmp);
    try {
      renameSync(tmp, dir); // atomic: others see no folder or the whole one
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'ENOTDIR') throw err;
      // Another first run finished before us (keep theirs), or a damaged copy is in the way: moved
      // aside, not deleted in place, so a concurrent repair cannot delete a folder someone just installed.
      if (!complete(dir, index)) {
        try {
          renameSync(dir, old);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
        try {
          renameSync(tmp, dir);
        } catch (e) {
          if (!complete(dir, index)) throw e; // a concurrent repair installed a good one: fine
        }
      }
    }
    syncFolder(parent);
    removeOldCopies(parent, dir);
  } finally {
    // Best effort: a leftover is removed by a later unpack (removeStaleTemporaries), and a failure here
    // must neither fail an install that worked nor hide the error that brought us here.
    for (const p of [tmp, old]) {
      try {
        rmSync(p, { recursive: true, force: true });
      } catch {
        // left for later
      }
    }
  }
  return dir;
}

function openExecutable(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' ? 'it must be readable by the user running it (chmod a+r), it carries the program' : (err as Error).message;
    throw new PayloadError(`cannot read ${file}: ${why}`, { cause: err });
  }
}

function indexOf(fd: number, file: string): PayloadIndex {
  const size = fstatSync(fd).size;
  const footer = size >= FOOTER_BYTES ? readAt(fd, size - FOOTER_BYTES, FOOTER_BYTES) : Buffer.alloc(0);
  if (footer.toString('latin1', 0, 16) !== PAYLOAD_MAGIC) throw new PayloadError(`${file} carries no program files: truncated, or not a clawdbot executable`);
  const at = Number(footer.readBigUInt64LE(16));
  const length = Number(footer.readBigUInt64LE(24));
  if (at + length + FOOTER_BYTES !== size) throw new PayloadError(`${file}: its payload index is out of place (truncated, or appended to?)`);
  let index: PayloadIndex;
  try {
    index = JSON.parse(readAt(fd, at, length).toString('utf8')) as PayloadIndex;
  } catch (err) {
    throw new PayloadError(`${file}: its payload index is damaged (${(err as Error).message})`, { cause: err });
  }
  const bad = (what: string) => new PayloadError(`${file}: its payload index is damaged (${what})`);
  if (typeof index !== 'object' || index === null || !Array.isArray(index.files)) throw bad('no file list');
  if (typeof index.version !== 'string' || !VERSION.test(index.version)) throw bad('version');
  if (typeof index.id !== 'string' || !/^[0-9a-f]{16}$/.test(index.id)) throw bad('id');
  for (const f of index.files) {
    if (typeof f?.name !== 'string' || !NAME.test(f.name)) throw bad(`file name ${JSON.stringify(f?.name)}`);
    if (!Number.isSafeInteger(f.offset) || !Number.isSafeInteger(f.size) || f.offset < 0 || f.size < 0 || f.offset + f.size > at) throw bad(`${f.name} lies outside the payload`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) throw bad(`${f.name} has no sha256`);
  }
  return index;
}

/** Every folder and file of the unpacked copy is ours, writable only by us, and files have their recorded size. */
function complete(dir: string, index: PayloadIndex): boolean {
  const folders = new Set(index.files.flatMap((f) => (f.name.includes('/') ? [f.name.slice(0, f.name.indexOf('/'))] : [])));
  return ours(dir, 'dir') && [...folders].every((d) => ours(join(dir, d), 'dir')) && index.files.every((f) => ours(join(dir, f.name), 'file', f.size));
}

/** A real file or folder (lstat: a symlink is not), owned by this process's user, not group- or world-writable. */
function ours(path: string, kind: 'dir' | 'file', size?: number): boolean {
  let s;
  try {
    s = lstatSync(path);
  } catch {
    return false;
  }
  const uid = process.getuid?.();
  return (kind === 'dir' ? s.isDirectory() : s.isFile()) && (uid === undefined || s.uid === uid) && (s.mode & 0o022) === 0 && (size === undefined || s.size === size);
}

function unpackAll(fd: number, file: string, index: PayloadIndex, dir: string): void {
  ensureDir(dir);
  for (const f of index.files) {
    const body = readAt(fd, f.offset, f.size);
    if (sha256(body) !== f.sha256) throw new PayloadError(`${file}: embedded ${f.name} does not match its recorded hash (damaged executable?)`);
    const slash = f.name.indexOf('/');
    if (slash > 0) ensureDir(join(dir, f.name.slice(0, slash)));
    // Executable bits for the native parts' sake (some loaders want them); the folder itself is 0700.
    const out = openSync(join(dir, f.name), 'wx', 0o755);
    try {
      writeAll(out, body, 0);
      fsyncSync(out); // once, at first start: a crash later cannot leave a right-sized file of zeros behind the rename
    } finally {
      closeSync(out);
    }
  }
  for (const d of new Set(index.files.flatMap((f) => (f.name.includes('/') ? [join(dir, f.name.slice(0, f.name.indexOf('/')))] : [])))) syncFolder(d);
  syncFolder(dir);
}

/** Temporary folders of unpacks that died (their process is gone, or they are old): nobody else removes them. */
function removeStaleTemporaries(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\..+\.([A-Za-z0-9-]+)\.(\d+)\.[0-9a-f]{8}\.tmp(\.old)?$/.exec(name);
    if (!m) continue;
    const path = join(parent, name);
    try {
      // A process id means something only on its own host (a home folder on NFS is shared by several).
      const dead = m[1] === HOST && !alive(Number(m[2]));
      if (dead || Date.now() - lstatSync(path).mtimeMs > STALE_TMP_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove: harmless
    }
  }
}

/**
 * Copies of other builds in `parent` not started for more than OLD_COPY_MS: real folders of this user
 * only. Moved aside first, like a damaged copy in unpackInto, so that a repair of that build which
 * installs a fresh copy under the name meanwhile is not emptied by the delete (a leftover of a crash is
 * a stale temporary, removed by a later unpack).
 */
function removeOldCopies(parent: string, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const path = join(parent, name);
    if (path === keep || !/^[0-9A-Za-z.+_-]+-[0-9a-f]{16}$/.test(name)) continue;
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || Date.now() - st.mtimeMs <= OLD_COPY_MS) continue;
      const aside = join(parent, `.${name}.${HOST}.${process.pid}.${randomBytes(4).toString('hex')}.tmp.old`);
      renameSync(path, aside);
      rmSync(aside, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove: harmless
    }
  }
}

function touch(dir: string): void {
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    // a read-only copy still runs; it may be removed a week after its unpack instead
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
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

/**
 * Writes `body` at `position`, 64 KiB at a time: one huge write() leaves the file in the page cache as
 * large folios, which a mapped executable then faults in whole (see appendPayload in
 * scripts/build-binary.ts, which writes the executable itself with this too).
 */
export function writeAll(fd: number, body: Buffer, position: number): void {
  const CHUNK = 64 * 1024;
  for (let off = 0; off < body.length;) off += writeSync(fd, body, off, Math.min(CHUNK, body.length - off), position + off);
}
