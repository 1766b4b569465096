// Where the two native pieces come from: the better-sqlite3 addon and the sqlite-vec extension.
//
// - Development, tests and `node dist/clawdbot.cjs`: both resolve from node_modules (the bundle's
//   `import.meta.url` is shimmed to the bundle's own file, so resolution starts from dist/).
// - The packaged executable (pkg, SEA mode; detected with node:sea `isSea()`): both travel inside as
//   pkg assets next to the bundle (`<bundle dir>/native/`). dlopen() needs a real file, so on first use
//   they are copied to `${XDG_CACHE_HOME:-$HOME/.cache}/clawdbot/native/<version>-<hash>/` (or, when
//   that is not writable or HOME is unset, `$TMPDIR/clawdbot-<uid>/native/<version>-<hash>/`). The
//   folder name carries a content hash computed at build time, so a later start only compares one
//   file size per piece: no hashing at start-up. Files are written under a temporary name and renamed,
//   so a crash or two concurrent first runs never leave a half file behind.
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { ensureDir, privateTmpRoot } from '../cache-dirs.ts';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export interface NativeParts {
  /**
   * Path of better_sqlite3.node to pass as `nativeBinding`. Always set by this module (inside a bundle the
   * package's own lookup, relative to its lib/ folder, finds nothing); `undefined` stays allowed by the type.
   */
  readonly addon: string | undefined;
  /** Path of the vec0 loadable extension. */
  readonly vec0: string;
}

/** One native file as the build recorded it. */
export interface NativeFile {
  /** File name inside the bundle's `native/` folder and inside the extraction folder. */
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/** What scripts/build.ts bakes into the bundle (a banner variable `__CLAWDBOT_BUILD__`; absent when run from source). No time stamp: same sources, same bytes. */
export interface BuildInfo {
  readonly version: string;
  /** Native files for the executable; undefined when the build host had none for its platform. */
  readonly native?: {
    /** `<version>-<first 12 hex of sha256(addon + vec0)>`: the extraction folder's name. */
    readonly dir: string;
    readonly addon: NativeFile;
    readonly vec0: NativeFile;
  };
}

declare const __CLAWDBOT_BUILD__: BuildInfo | undefined;

/** Build facts when running from the bundle (dist/clawdbot.main.cjs or the executable); undefined from source. */
export const buildInfo: BuildInfo | undefined = typeof __CLAWDBOT_BUILD__ === 'undefined' ? undefined : __CLAWDBOT_BUILD__;

/** True inside the single executable built by scripts/build-binary.ts (Node's own SEA flag). */
export function isPackaged(): boolean {
  return isSea();
}

export const BetterSqlite3: typeof Database = Database;

let cached: NativeParts | undefined;

/** Paths of the addon and of vec0. The first call inside the executable may extract them (~2.4 MB, once per version). */
export function nativeParts(): NativeParts {
  cached ??= isPackaged() ? fromExecutable() : fromNodeModules();
  return cached;
}

// ---- node_modules (dev, tests, `node dist/clawdbot.cjs`) -------------------------------------------------

function fromNodeModules(): NativeParts {
  const require = createRequire(import.meta.url);
  const vecExt = process.platform === 'win32' ? 'dll' : process.platform === 'darwin' ? 'dylib' : 'so';
  const vecOs = process.platform === 'win32' ? 'windows' : process.platform;
  let vec0: string;
  try {
    vec0 = require.resolve(`sqlite-vec-${vecOs}-${process.arch}/vec0.${vecExt}`);
  } catch (err) {
    throw new Error(`sqlite-vec has no loadable extension for ${process.platform}-${process.arch} in node_modules (is sqlite-vec-${vecOs}-${process.arch} installed?)`, { cause: err });
  }
  return { addon: addonFromNodeModules(require), vec0 };
}

/** Same order as better-sqlite3's own lookup: a locally compiled build/ wins, else the matching prebuild. */
function addonFromNodeModules(require: NodeJS.Require): string {
  const dir = dirname(require.resolve('better-sqlite3/package.json'));
  for (const kind of ['Debug', 'Release']) {
    const built = join(dir, 'build', kind, 'better_sqlite3.node');
    if (existsSync(built)) return built;
  }
  // lib/binding.js is not in the package's "exports"; an absolute path reaches it. It knows musl from glibc.
  const binding = require(join(dir, 'lib', 'binding.js')) as { getPrebuildPath(): string | null };
  const prebuild = binding.getPrebuildPath();
  if (!prebuild) throw new Error(`better-sqlite3 has no prebuilt addon for ${process.platform}-${process.arch} and none was compiled`);
  return prebuild;
}

// ---- the executable -----------------------------------------------------------------------------------

function fromExecutable(): NativeParts {
  const native = buildInfo?.native;
  if (!native) throw new Error('this executable was built without native parts (better-sqlite3 / sqlite-vec); rebuild with scripts/build-binary.ts');
  // import.meta.url is the bundle's own path inside pkg's snapshot; the assets sit beside it.
  const assets = join(dirname(fileURLToPath(import.meta.url)), 'native');
  const failures: string[] = [];
  for (const root of cacheRoots()) {
    try {
      const dir = join(root(), 'native', native.dir);
      return { addon: extractOnce(assets, dir, native.addon), vec0: extractOnce(assets, dir, native.vec0) };
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new Error(`cannot unpack the native parts (sqlite) to a cache folder: ${failures.join('; ')}`);
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

/** Returns `dir/file.name`, writing it from the snapshot unless a file of the expected size is already there. */
export function extractOnce(assets: string, dir: string, file: NativeFile): string {
  const dest = join(dir, file.name);
  try {
    if (statSync(dest).size === file.size) return dest;
  } catch {
    // not there yet
  }
  ensureDir(dir); // first: an unwritable cache root fails here, before any reading or hashing
  const body = readFileSync(join(assets, file.name));
  // Only on first use (or after damage): worth a hash, so a bad build never leaves a bad file behind.
  const sha = createHash('sha256').update(body).digest('hex');
  if (body.length !== file.size || sha !== file.sha256) {
    throw new Error(`embedded ${file.name} does not match the build record (size ${body.length}/${file.size})`);
  }
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, body, { mode: 0o755, flag: 'wx' });
    renameSync(tmp, dest); // atomic: readers see no file or the whole file; concurrent winners write the same bytes
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return dest;
}
