// Bundles the CLI into two CommonJS files with esbuild:
//   dist/clawdbot.cjs       tiny entry (src/cli/boot.ts): turns on Node's compile cache, then requires
//   dist/clawdbot.main.cjs  the whole program (src/cli/main.ts and every library it imports)
// `node dist/clawdbot.cjs` runs from the repo (native parts resolve from node_modules);
// scripts/build-binary.ts packs the same two files into the single executable.
//
//   dist/clawdbot.lib.*.cjs (split builds: the default of this script's command line) the libraries
//                           that are only reached through a dynamic import() below the command level,
//                           loaded when first imported (see "split builds" below)
// Usage: node scripts/build.ts [--entry FILE] [--outdir DIR] [--no-sourcemap] [--metafile] [--no-split]
//        (CLAWDBOT_BUILD_ENTRY=FILE overrides the entry too; the default is src/cli/main.ts)
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import type { BuildInfo, NativeFile } from '../src/store/native.ts';
import { REUNPACK_KEY } from '../src/reunpack.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(ROOT, 'package.json'));

export interface NativeSource extends NativeFile {
  /** Where the file is in node_modules. */
  readonly source: string;
}

export interface BundleResult {
  readonly outDir: string;
  /** dist/clawdbot.cjs: the entry (boot). */
  readonly entryFile: string;
  /** dist/clawdbot.main.cjs: the program. */
  readonly mainFile: string;
  readonly version: string;
  readonly native: { readonly addon: NativeSource; readonly vec0: NativeSource } | undefined;
  readonly mainBytes: number;
  /** dist/clawdbot.lib.*.cjs written by a split build (empty otherwise); they must ship next to the main file. */
  readonly chunks: readonly string[];
  /** Data files the program reads at run time, relative to outDir (dist/cmaps/: see copyCMaps); they ship too. */
  readonly assets: readonly string[];
  readonly ms: number;
}

export interface BundleOptions {
  /** Program entry (default src/cli/main.ts). */
  readonly entry?: string;
  /** Output folder (default dist). */
  readonly outDir?: string;
  /** Write dist/clawdbot.main.cjs.map (default true). */
  readonly sourcemap?: boolean;
  /** Write dist/meta.json for esbuild's analyzer (default false). */
  readonly metafile?: boolean;
  /** Extra esbuild plugins for the program (tests, experiments); they run before the built-in ones. */
  readonly plugins?: readonly esbuild.Plugin[];
  /**
   * Libraries reached only through a dynamic import() below the command level go to their own files
   * (default false: one program file; scripts/build.ts's command line turns it on).
   */
  readonly split?: boolean;
}

export const MAIN_NAME = 'clawdbot.main.cjs';
export const ENTRY_NAME = 'clawdbot.cjs';
/** dist/clawdbot.lib.<package>.cjs: one lazily loaded npm package of a split build. */
export const CHUNK_PATTERN = /^clawdbot\.lib\..+\.cjs$/;

/**
 * The two native files for this host (linux-x64 → better-sqlite3's prebuilds/linux-x64.node, a Node-API
 * addon, and sqlite-vec-linux-x64/vec0.so), found the way the packages find them themselves.
 */
export function nativeSources(): BundleResult['native'] {
  try {
    const bsDir = dirname(require.resolve('better-sqlite3/package.json'));
    const binding = require(join(bsDir, 'lib', 'binding.js')) as { getPrebuildPath(): string | null };
    const addonPath = binding.getPrebuildPath();
    const os = process.platform === 'win32' ? 'windows' : process.platform;
    const ext = process.platform === 'win32' ? 'dll' : process.platform === 'darwin' ? 'dylib' : 'so';
    const vecPath = require.resolve(`sqlite-vec-${os}-${process.arch}/vec0.${ext}`);
    if (!addonPath) return undefined;
    const addon = describe(addonPath, 'better_sqlite3.node');
    const vec0 = describe(vecPath, `vec0.${ext}`);
    return { addon, vec0 };
  } catch {
    return undefined;
  }
}

function describe(source: string, name: string): NativeSource {
  return { name, source, size: statSync(source).size };
}

/** Stubs native addons (ELF/Mach-O/PE `.node` files) so optional-native code falls back to JS; JS files named `*.node` pass. */
const nativeAddonStub: esbuild.Plugin = {
  name: 'native-addon-stub',
  setup(build) {
    // Optional native speed-ups required outside a try/catch (ssh2 → cpu-features): stubbed, JS path used.
    build.onResolve({ filter: /^cpu-features$/ }, (args) => ({ path: args.path, namespace: 'native-stub' }));
    build.onResolve({ filter: /\.node$/ }, async (args) => {
      if (args.pluginData === 'native-stub') return undefined;
      const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'native-stub' });
      if (r.errors.length || !r.path || !existsSync(r.path)) return { path: args.path, namespace: 'native-stub' };
      // Relative: the stub's module key and message must not carry the checkout's path (same sources, same bytes).
      return isBinary(r.path) ? { path: relative(ROOT, r.path), namespace: 'native-stub' } : r;
    });
    build.onLoad({ filter: /.*/, namespace: 'native-stub' }, (args) => ({
      contents: `const e = new Error(${JSON.stringify(`native addon not bundled: ${args.path}`)}); e.code = 'MODULE_NOT_FOUND'; throw e;`,
      loader: 'js',
    }));
  },
};

/**
 * Built-in modules that cost resident memory as soon as they are loaded but that `serve` only uses after
 * start-up (measured on idle `serve`, 2.5 s after start): node:crypto ~0.8 MB RSS (OpenSSL is set up on
 * load; first used by randomUUID on the first REST/WebSocket message, by the API-key check, or when the
 * executable unpacks its native parts), node:assert ~0.3 MB (sonic-boom asserts only when a log stream
 * closes). In the bundle every top-level `import ... from 'node:crypto'` of every module becomes a
 * `require` at module load, so the module is replaced by a stand-in with one getter per export that
 * requires the real module on first use. Call sites read a property each time (esbuild emits
 * `(0, import_node_crypto.randomUUID)()`), so the stand-in is transparent; an export read at module load
 * (undici's `require("node:crypto").randomInt`) simply loads the module then, as before.
 */
export const LAZY_BUILTINS = ['crypto', 'assert'] as const;

function lazyBuiltins(names: readonly string[]): esbuild.Plugin {
  const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
  return {
    name: 'lazy-builtins',
    setup(build) {
      // The stand-in's own require of the real module resolves normally (an external built-in).
      build.onResolve({ filter }, (args) => (args.namespace === 'lazy-builtin' ? undefined : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' }));
      build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
        // Export names from the Node that builds; the bundle targets the same major (scripts/toolchain.sh).
        const real = require(`node:${args.path}`) as Record<string, unknown> | ((...a: unknown[]) => unknown);
        const keys = Object.keys(real).filter((k) => k !== 'default');
        const callable = typeof real === 'function'; // node:assert is itself the assert function
        return {
          loader: 'js',
          contents: [
            '"use strict";',
            'let real;',
            `const load = () => real ??= require("node:${args.path}");`,
            `module.exports = ${callable ? 'function (...a) { return Reflect.apply(load(), this, a); }' : '{}'};`,
            `for (const k of ${JSON.stringify(keys)}) Object.defineProperty(module.exports, k, { get: () => load()[k], enumerable: true, configurable: true });`,
          ].join('\n'),
        };
      });
    },
  };
}

/**
 * pino in the bundle logs through in-process streams only: its transports run in worker threads that load
 * files by path, which the bundle and the executable do not have (see src/core/log.ts). pino still loads
 * their machinery at start-up (thread-stream, and node:worker_threads for `isMainThread`): ~0.5 MB RSS
 * on idle `serve`. thread-stream becomes a stub that explains itself if a transport is ever asked for,
 * and pino's `isMainThread` is answered without loading worker_threads: clawdbot starts no workers, and
 * pino only uses the flag to register a flush of async log streams at exit, which is harmless anywhere.
 */
const pinoInProcess: esbuild.Plugin = {
  name: 'pino-in-process',
  setup(build) {
    build.onResolve({ filter: /^thread-stream$/ }, () => ({ path: 'thread-stream', namespace: 'pino-stub' }));
    build.onResolve({ filter: /^(node:)?worker_threads$/ }, (args) =>
      /[\\/]node_modules[\\/]pino[\\/]lib[\\/]tools\.js$/.test(args.importer) ? { path: 'worker_threads', namespace: 'pino-stub' } : undefined);
    build.onLoad({ filter: /^thread-stream$/, namespace: 'pino-stub' }, () => ({
      loader: 'js',
      contents: 'module.exports = class ThreadStream { constructor() { throw new Error("pino transports (worker threads) are not available in the clawdbot bundle; log through an in-process stream"); } };',
    }));
    build.onLoad({ filter: /^worker_threads$/, namespace: 'pino-stub' }, () => ({ loader: 'js', contents: 'module.exports = { isMainThread: true };' }));
  },
};

// ---- split builds: lazily imported libraries in their own files ---------------------------------------
//
// Why (measured on idle `serve`, `node dist/clawdbot.cjs`): V8 keeps the whole source text of a loaded
// file for as long as any function in it lives, so every library in a one-file bundle stays resident as
// text although it never runs: undici (the OpenAI client, 1 MB), grammy, Slack's bolt + express,
// iconv-lite, tr46, mime-db ... made the program 3.7 MB of source, of which `serve` runs ~0.7 MB at
// start. Reading that file also leaves its size in malloc'd memory behind (glibc raises its mmap
// threshold to the largest buffer freed). Those libraries in their own files: idle RSS 66.8 → 60.0 MB,
// and each start compiles and hashes less.
//
// What goes: the modules of every npm package none of whose modules is reachable by static imports from
// the entry or from a command module (main.ts imports each command with import()). Such a package is
// only reached through a dynamic import() further down (an adapter, a model provider, pino-pretty), so
// its file is loaded when that import runs. Modules are grouped by the set of those import() targets
// that reach them (esbuild's own splitting rule): bolt and socket-mode share web-api, so web-api sits in
// one shared file, and every module exists exactly once, as in node_modules. A chunk exports each of its
// modules that is imported from outside it through a getter: loading the file runs no module code.
// Imports across files go through a small wrapper that reads the chunk's export (for an ES module: its
// named exports re-exported and its default taken as such, not Node's CommonJS default).

interface SplitPlan {
  /** Module (path relative to ROOT, as in the metafile) → the chunk file it goes to. */
  readonly chunkOf: ReadonlyMap<string, string>;
  /** Chunk file → its modules imported from outside it. */
  readonly exportsOf: ReadonlyMap<string, ReadonlySet<string>>;
  /** Module → 'esm' | 'cjs' (how importers across files must see it). */
  readonly formatOf: ReadonlyMap<string, string | undefined>;
  /** ES modules imported across files → their export names (filled by esmExports). */
  readonly exportNames: Map<string, readonly string[]>;
}

/** `node_modules/a/node_modules/@s/b/lib/x.js` → `node_modules/a/node_modules/@s/b`; undefined outside node_modules or for virtual modules. */
function packageKey(file: string): string | undefined {
  if (file.includes(':')) return undefined;
  const i = file.lastIndexOf('node_modules/');
  if (i < 0) return undefined;
  const at = i + 'node_modules/'.length;
  const rest = file.slice(at).split('/');
  const n = rest[0]?.startsWith('@') ? 2 : 1;
  return rest.length > n ? file.slice(0, at) + rest.slice(0, n).join('/') : undefined;
}

/** From the metafile of a one-file build of `entry` (relative to ROOT): which modules go to which chunk. */
export function splitPlan(meta: esbuild.Metafile, entry: string): SplitPlan {
  const inputs = meta.inputs;
  const edges = (f: string) => (inputs[f]?.imports ?? []).filter((i) => !i.external && inputs[i.path]);
  // Start-up: the entry and the commands it imports, and everything they import statically.
  const startup = new Set<string>();
  const stack = [entry, ...edges(entry).filter((i) => i.kind === 'dynamic-import').map((i) => i.path)];
  while (stack.length) {
    const f = stack.pop()!;
    if (startup.has(f)) continue;
    startup.add(f);
    for (const i of edges(f)) if (i.kind !== 'dynamic-import') stack.push(i.path);
  }
  const byPackage = new Map<string, string[]>();
  for (const f of Object.keys(inputs)) {
    const k = packageKey(f);
    if (k) byPackage.set(k, [...(byPackage.get(k) ?? []), f]);
  }
  const lazy = new Set<string>();
  for (const files of byPackage.values()) if (!files.some((f) => startup.has(f))) for (const f of files) lazy.add(f);
  // Roots: lazy modules imported from outside the lazy set; each lazy module is tagged with the roots reaching it.
  const roots = new Set<string>();
  for (const f of Object.keys(inputs)) if (!lazy.has(f)) for (const i of edges(f)) if (lazy.has(i.path)) roots.add(i.path);
  const reachedBy = new Map<string, string[]>();
  for (const root of [...roots].sort()) {
    const seen = new Set<string>();
    for (const todo = [root]; todo.length; ) {
      const f = todo.pop()!;
      if (seen.has(f) || !lazy.has(f)) continue;
      seen.add(f);
      reachedBy.set(f, [...(reachedBy.get(f) ?? []), root]);
      for (const i of edges(f)) todo.push(i.path);
    }
  }
  const chunkOf = new Map<string, string>();
  const names = new Map<string, string>();
  for (const [f, rs] of reachedBy) {
    const key = rs.join('\n');
    let name = names.get(key);
    if (!name) {
      const label = [...new Set(rs.map((r) => packageKey(r)!.replace(/^.*node_modules\/@?/, '')))].join('+').replace(/[^A-Za-z0-9.+_-]+/g, '-');
      const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
      name = `clawdbot.lib.${label.length <= 48 ? label : `${label.slice(0, 40)}-${hash}`}.cjs`;
      if ([...names.values()].includes(name)) name = name.replace(/\.cjs$/, `-${hash}.cjs`);
      names.set(key, name);
    }
    chunkOf.set(f, name);
  }
  const exportsOf = new Map<string, Set<string>>();
  const formatOf = new Map<string, string | undefined>();
  for (const f of Object.keys(inputs)) {
    for (const i of edges(f)) {
      const target = chunkOf.get(i.path);
      if (!target || chunkOf.get(f) === target) continue;
      exportsOf.set(target, (exportsOf.get(target) ?? new Set()).add(i.path));
      formatOf.set(i.path, inputs[i.path]!.format);
    }
  }
  return { chunkOf, exportsOf, formatOf, exportNames: new Map() };
}

/** Export names of the ES modules imported across files (esbuild's own analysis, from a throw-away ESM bundle of each). */
async function esmExports(plan: SplitPlan, plugins: esbuild.Plugin[]): Promise<void> {
  const esm = [...plan.formatOf].filter(([, f]) => f === 'esm').map(([m]) => m);
  await Promise.all(esm.map(async (m) => {
    const r = await run(`the exports of ${m}`, { bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', absWorkingDir: ROOT, entryPoints: [join(ROOT, m)], plugins });
    plan.exportNames.set(m, Object.values(r.metafile!.outputs).flatMap((o) => o.exports ?? []));
  }));
}

const PROBE = Symbol('chunk-imports probe');

/** Imports of modules that live in another chunk (`self`: the chunk being built; undefined: the program) become wrappers. */
function chunkImports(plan: SplitPlan, self: string | undefined): esbuild.Plugin {
  return {
    name: 'chunk-imports',
    setup(build) {
      build.onResolve({ filter: /^\.\/clawdbot\.lib\..+\.cjs$/ }, (args) => (args.namespace.startsWith('chunk-') ? { path: args.path, external: true } : undefined));
      // `.raw.cjs`: esbuild infers the module format from the path's extension, also in a virtual
      // namespace, and this one is CommonJS even when the module it reads is an .mjs file.
      build.onResolve({ filter: /^chunk-raw:/ }, (args) => (args.namespace === 'chunk-ref' ? { path: `${args.path.slice('chunk-raw:'.length)}.raw.cjs`, namespace: 'chunk-raw' } : undefined));
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === PROBE || args.namespace !== 'file' || args.kind === 'entry-point') return undefined;
        // Built-ins, and our own relative imports, never lead into a chunk (chunks hold node_modules only).
        if (args.path.startsWith('node:') || builtinModules.includes(args.path)) return undefined;
        if (args.path.startsWith('.') && !args.importer.includes('/node_modules/')) return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: PROBE });
        if (r.errors.length || r.external || r.namespace !== 'file') return undefined;
        const rel = relative(ROOT, r.path).split('\\').join('/');
        const chunk = plan.chunkOf.get(rel);
        return chunk && chunk !== self ? { path: rel, namespace: 'chunk-ref' } : undefined;
      });
      // Inside the executable a library file is a plain file in the unpacked folder (src/payload.ts); one
      // a cache cleaner removed since start is unpacked again once (src/reunpack.ts), then required again.
      const load = (file: string) => `(() => { try { return require(${file}); } catch (e) { const again = e && e.code === "MODULE_NOT_FOUND" && globalThis[Symbol.for(${JSON.stringify(REUNPACK_KEY)})]; if (!again) throw e; again(); return require(${file}); } })()`;
      const read = (path: string) => `${load(JSON.stringify(`./${plan.chunkOf.get(path)}`))}[${JSON.stringify(path)}]`;
      build.onLoad({ filter: /.*/, namespace: 'chunk-raw' }, (args) => ({ loader: 'js', contents: `module.exports = ${read(args.path.slice(0, -'.raw.cjs'.length))};` }));
      build.onLoad({ filter: /.*/, namespace: 'chunk-ref' }, (args) => ({
        loader: 'js',
        // An ES module's names are re-exported by name (read from the chunk at each use, like live
        // bindings); its default is its own default export. A CommonJS module is its module.exports.
        contents: plan.formatOf.get(args.path) === 'esm'
          ? [
            `export { ${(plan.exportNames.get(args.path) ?? []).filter((n) => n !== 'default').map((n) => JSON.stringify(n)).join(', ')} } from ${JSON.stringify(`chunk-raw:${args.path}`)};`,
            ...((plan.exportNames.get(args.path) ?? []).includes('default') ? [`export default ${read(args.path)}.default;`] : []),
          ].join('\n')
          : `module.exports = ${read(args.path)};`,
      }));
    },
  };
}

/** The chunk's entry: one getter per exported module; a module runs when first read. */
function chunkEntry(plan: SplitPlan, chunk: string): string {
  return ['"use strict";', ...[...(plan.exportsOf.get(chunk) ?? [])].sort().map((m) =>
    `Object.defineProperty(exports, ${JSON.stringify(m)}, { enumerable: true, get: () => require(${JSON.stringify(join(ROOT, m))}) });`)].join('\n');
}

function isBinary(file: string): boolean {
  const head = readFileSync(file).subarray(0, 4);
  if (head.length < 4) return false;
  return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) /* ELF */ || [0xfeedface, 0xfeedfacf, 0xcafebabe].includes(head.readUInt32BE(0)) ||
    [0xfeedface, 0xfeedfacf].includes(head.readUInt32LE(0)) /* Mach-O */ || head.subarray(0, 2).toString('latin1') === 'MZ' /* PE */;
}

/** `import.meta.main` is true in the entry module only (esbuild's define is global, so the entry is rewritten). */
function entryIsMain(entry: string): esbuild.Plugin {
  return {
    name: 'entry-is-main',
    setup(build) {
      const exact = new RegExp(`^${entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
      build.onLoad({ filter: exact }, (args) => {
        const ext = args.path.slice(args.path.lastIndexOf('.') + 1);
        const loader = (['ts', 'mts', 'cts'].includes(ext) ? 'ts' : 'js') as esbuild.Loader;
        return { contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.main', 'true'), loader };
      });
    },
  };
}

export async function buildBundle(options: BundleOptions = {}): Promise<BundleResult> {
  const started = performance.now();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const outDir = resolve(ROOT, options.outDir ?? 'dist');
  const entry = resolve(ROOT, options.entry ?? process.env.CLAWDBOT_BUILD_ENTRY ?? 'src/cli/main.ts');
  const native = nativeSources();
  const info: BuildInfo = {
    version: pkg.version,
    ...(native ? { native: { addon: strip(native.addon), vec0: strip(native.vec0) } } : {}),
  };
  mkdirSync(outDir, { recursive: true });
  const mainFile = join(outDir, MAIN_NAME);
  const entryFile = join(outDir, ENTRY_NAME);
  rmSync(`${mainFile}.map`, { force: true });

  const common: esbuild.BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    // grammy's node-fetch checks AbortSignal's constructor.name: class and function names must survive.
    keepNames: true,
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'silent',
    absWorkingDir: ROOT,
  };
  const program: esbuild.BuildOptions = {
    ...common,
    sourcemap: options.sourcemap === false ? false : 'external',
    // import.meta is empty in CommonJS: map url/filename/dirname/resolve onto the bundle's own file
    // (`new URL('./x', import.meta.url)` therefore points next to the bundle, not the source). The
    // banner STARTS with "use strict": placed before esbuild's own directive, anything else would
    // make the whole bundle sloppy-mode code.
    banner: {
      js: [
        '"use strict";',
        'var __import_meta_url = require("node:url").pathToFileURL(__filename).href;',
        'var __import_meta_resolve = (s) => require("node:url").pathToFileURL(require.resolve(s)).href;',
        // Read by src/store/native.ts (a free identifier there; undefined when running from source).
        // A banner variable, not a `define`: esbuild turns an object-valued define into an init call
        // at the top of every bundled module.
        `var __CLAWDBOT_BUILD__ = ${JSON.stringify(info)};`,
      ].join('\n'),
    },
    define: {
      'import.meta.url': '__import_meta_url',
      'import.meta.filename': '__filename',
      'import.meta.dirname': '__dirname',
      'import.meta.resolve': '__import_meta_resolve',
      'import.meta.main': 'false',
      // `clawdbot init` writes this text; the bundle carries it (src/cli/init.ts reads the file from source).
      __CLAWDBOT_EXAMPLE_YAML__: JSON.stringify(readFileSync(join(ROOT, 'clawdbot.example.yaml'), 'utf8')),
    },
  };
  const plugins = [...(options.plugins ?? []), entryIsMain(entry), nativeAddonStub, lazyBuiltins(LAZY_BUILTINS), pinoInProcess];
  // A split build first bundles everything into memory to read the import graph (see splitPlan).
  const plan = options.split
    ? splitPlan((await run('the program (import graph)', { ...program, entryPoints: [entry], write: false, sourcemap: false, metafile: true, plugins })).metafile!, relative(ROOT, entry).split('\\').join('/'))
    : undefined;
  if (plan) await esmExports(plan, plugins);
  for (const f of readdirSync(outDir)) if (CHUNK_PATTERN.test(f.replace(/\.map$/, ''))) rmSync(join(outDir, f), { force: true });
  const main = await run('the program', {
    ...program,
    entryPoints: [entry],
    outfile: mainFile,
    metafile: options.metafile === true,
    plugins: plan ? [...plugins, chunkImports(plan, undefined)] : plugins,
  });
  checkProgram(main, 'the program');
  if (main.metafile) writeFileSync(join(outDir, 'meta.json'), JSON.stringify(main.metafile));
  const chunks = plan ? [...new Set(plan.chunkOf.values())].sort() : [];
  await Promise.all(chunks.map(async (chunk) => {
    const r = await run(chunk, {
      ...program,
      stdin: { contents: chunkEntry(plan!, chunk), resolveDir: ROOT, sourcefile: chunk.replace(/\.cjs$/, '.entry.js'), loader: 'js' },
      outfile: join(outDir, chunk),
      plugins: [...plugins, chunkImports(plan!, chunk)],
    });
    checkProgram(r, chunk);
    assertStrict(join(outDir, chunk));
  }));

  const boot = await run('the entry', {
    ...common,
    entryPoints: [join(ROOT, 'src/cli/boot.ts')],
    outfile: entryFile,
    external: [`./${MAIN_NAME}`],
  });
  failOn(boot, 'the entry');
  chmodSync(entryFile, 0o755);

  assertStrict(mainFile);
  const assets = copyCMaps(outDir);
  return {
    outDir,
    entryFile,
    mainFile,
    version: pkg.version,
    native,
    mainBytes: statSync(mainFile).size,
    chunks: chunks.map((c) => join(outDir, c)),
    assets,
    ms: performance.now() - started,
  };
}

/**
 * Adobe's predefined CMaps as pdf.js reads them (pdfjs-dist's cmaps/, packed .bcmap files, ~1.7 MB) into
 * outDir/cmaps/: text of PDFs whose fonts are not embedded but named by a predefined CMap (UniGB-UCS2-H
 * with STSong-Light, as many Chinese, Japanese and Korean PDFs are written) cannot be read without them,
 * and unpdf ships none (src/core/media/extract.ts). Returns the files' names relative to outDir.
 */
function copyCMaps(outDir: string): string[] {
  const from = join(dirname(require.resolve('pdfjs-dist/package.json')), 'cmaps');
  const to = join(outDir, 'cmaps');
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  const names = readdirSync(from).filter((f) => f.endsWith('.bcmap') || f === 'LICENSE').sort();
  for (const f of names) copyFileSync(join(from, f), join(to, f));
  return names.map((f) => `cmaps/${f}`);
}

/** Fails on errors and on import.meta uses the CommonJS output cannot provide; prints other warnings. */
function checkProgram(r: esbuild.BuildResult, what: string): void {
  failOn(r, what);
  // Anything else read from import.meta (import.meta.env, ...) would be silently undefined at run time.
  const metaWarnings = r.warnings.filter((w) => w.id === 'empty-import-meta');
  if (metaWarnings.length) {
    throw new Error(`import.meta used in a way the CommonJS bundle cannot provide (${what}):\n${format(metaWarnings)}`);
  }
  const quiet = new Set(['empty-import-meta', 'unsupported-require-call', 'unsupported-dynamic-import']);
  const shown = r.warnings.filter((w) => !quiet.has(w.id));
  if (shown.length) process.stderr.write(`esbuild warnings (${what}):\n${format(shown)}\n`);
}

function strip(f: NativeSource): NativeFile {
  return { name: f.name, size: f.size };
}

function failOn(r: esbuild.BuildResult, what: string): void {
  if (r.errors.length) throw new Error(`esbuild failed on ${what}:\n${format(r.errors)}`);
}

/** esbuild throws on errors (logLevel silent): re-throw with every message and a hint for the usual ones. */
async function run(what: string, options: esbuild.BuildOptions & { metafile?: boolean }): Promise<esbuild.BuildResult> {
  try {
    return await esbuild.build(options);
  } catch (err) {
    const errors = (err as { errors?: esbuild.Message[] }).errors;
    if (!errors) throw err;
    const hints = errors.some((e) => e.text.includes('Top-level await'))
      ? '\n  hint: the bundle is CommonJS (pkg, compile cache): no top-level await anywhere; in the entry use' +
        '\n        `main().catch(...)` / `void program.parseAsync(argv).catch(...)` instead'
      : '';
    throw new Error(`esbuild failed on ${what}:\n${format(errors)}${hints}`);
  }
}

function format(msgs: esbuild.Message[]): string {
  return msgs
    .map((m) => `  ${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`)
    .join('\n');
}

/** The bundle must open with the "use strict" directive (see the banner note). */
function assertStrict(file: string): void {
  const head = readFileSync(file, 'utf8').slice(0, 200).replace(/^#!.*\n/, '');
  if (!/^["']use strict["']/.test(head)) throw new Error(`${file} does not start with "use strict": the bundle would run in sloppy mode`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      entry: { type: 'string' },
      outdir: { type: 'string' },
      'no-sourcemap': { type: 'boolean' },
      metafile: { type: 'boolean' },
      'no-split': { type: 'boolean' },
    },
  });
  try {
    const r = await buildBundle({
      ...(values.entry ? { entry: values.entry } : {}),
      ...(values.outdir ? { outDir: values.outdir } : {}),
      sourcemap: !values['no-sourcemap'],
      metafile: values.metafile === true,
      // `node dist/clawdbot.cjs` finds the chunk files next to the program. scripts/build-binary.ts calls
      // buildBundle() without `split` (its stage holds the entry and the program only) and so still
      // packs one program file.
      split: !values['no-split'],
    });
    const mb = (r.mainBytes / 1e6).toFixed(2);
    const lazy = r.chunks.reduce((n, c) => n + statSync(c).size, 0);
    process.stdout.write(
      `bundle: ${relative(process.cwd(), r.entryFile)} + ${relative(process.cwd(), r.mainFile)} (${mb} MB)` +
        `${r.chunks.length ? ` + ${r.chunks.length} lazily loaded library files (${(lazy / 1e6).toFixed(2)} MB)` : ''} in ${Math.round(r.ms)} ms` +
        `${r.native ? `; native ${r.native.addon.name} + ${r.native.vec0.name}` : '; no native parts for this host'}\n`,
    );
  } catch (err) {
    process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
