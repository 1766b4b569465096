// Where the two native pieces come from: the better-sqlite3 addon and the sqlite-vec extension.
//
// - Development, tests and `node dist/clawdbot.cjs`: both resolve from node_modules (the bundle's
//   `import.meta.url` is shimmed to the bundle's own file, so resolution starts from dist/).
// - The packaged executable (detected with node:sea `isSea()`): the program runs from the folder its
//   entry unpacked it into (src/payload.ts, src/cli/sea.ts), and the two pieces are real files in that
//   folder's native/, checked there by size.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { reunpack } from '../reunpack.ts';

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
  /** File name inside the unpacked program folder's `native/`. */
  readonly name: string;
  readonly size: number;
}

/** What scripts/build.ts bakes into the bundle (a banner variable `__CLAWDBOT_BUILD__`; absent when run from source). No time stamp: same sources, same bytes. */
export interface BuildInfo {
  readonly version: string;
  /** Native files for the executable; undefined when the build host had none for its platform. */
  readonly native?: {
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
  // import.meta.url is the program's own file in the unpacked folder; the native parts sit beside it.
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'native');
  const path = (f: NativeFile, again = true): string => {
    const p = join(dir, f.name);
    let size: number | undefined;
    try {
      size = statSync(p).size;
    } catch {
      // reported below
    }
    if (size === f.size) return p;
    const problem = new Error(`${p} is ${size === undefined ? 'missing' : `${size} bytes, not ${f.size}`}: delete ${dirname(dir)} and start again to unpack the program anew`);
    // Removed (a cache cleaner) since the executable checked its folder at start: unpacked once more.
    let repaired: boolean;
    try {
      repaired = again && reunpack();
    } catch (err) {
      throw new Error(`${problem.message} (unpacking it again failed: ${(err as Error).message})`, { cause: err });
    }
    if (repaired) return path(f, false);
    throw problem;
  };
  return { addon: path(native.addon), vec0: path(native.vec0) };
}

/**
 * A native part that exists but cannot be mapped: on Linux that is a filesystem mounted noexec (a cache
 * or temporary folder some systems mount so). The loader only says "failed to map segment"; say where.
 */
export function explainLoadError(err: unknown, file: string | undefined): unknown {
  const msg = err instanceof Error ? err.message : String(err);
  if (!file || !/failed to map segment/i.test(msg)) return err;
  return new Error(`${msg} (${file} is on a filesystem mounted noexec: set XDG_CACHE_HOME to a folder where programs may run, then start again)`, { cause: err });
}
