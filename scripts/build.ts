// Bundles the CLI into two CommonJS files with esbuild:
//   dist/clawdbot.cjs       tiny entry (src/cli/boot.ts): turns on Node's compile cache, then requires
//   dist/clawdbot.main.cjs  the whole program (src/cli/main.ts and every library it imports)
// `node dist/clawdbot.cjs` runs from the repo (native parts resolve from node_modules);
// scripts/build-binary.ts packs the same two files into the single executable.
//
// Usage: node scripts/build.ts [--entry FILE] [--outdir DIR] [--no-sourcemap] [--metafile]
//        (CLAWDBOT_BUILD_ENTRY=FILE overrides the entry too; the default is src/cli/main.ts)
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import type { BuildInfo, NativeFile } from '../src/store/native.ts';

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
  readonly native: { readonly dir: string; readonly addon: NativeSource; readonly vec0: NativeSource } | undefined;
  readonly mainBytes: number;
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
}

export const MAIN_NAME = 'clawdbot.main.cjs';
export const ENTRY_NAME = 'clawdbot.cjs';

/**
 * The two native files for this host (linux-x64 → better-sqlite3's prebuilds/linux-x64.node, a Node-API
 * addon, and sqlite-vec-linux-x64/vec0.so), found the way the packages find them themselves.
 */
export function nativeSources(version: string): BundleResult['native'] {
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
    const both = createHash('sha256').update(addon.sha256).update(vec0.sha256).digest('hex');
    return { dir: `${version}-${both.slice(0, 12)}`, addon, vec0 };
  } catch {
    return undefined;
  }
}

function describe(source: string, name: string): NativeSource {
  const body = readFileSync(source);
  return { name, source, size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
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
      return isBinary(r.path) ? { path: r.path, namespace: 'native-stub' } : r;
    });
    build.onLoad({ filter: /.*/, namespace: 'native-stub' }, (args) => ({
      contents: `const e = new Error(${JSON.stringify(`native addon not bundled: ${args.path}`)}); e.code = 'MODULE_NOT_FOUND'; throw e;`,
      loader: 'js',
    }));
  },
};

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
  const native = nativeSources(pkg.version);
  const info: BuildInfo = {
    version: pkg.version,
    ...(native ? { native: { dir: native.dir, addon: strip(native.addon), vec0: strip(native.vec0) } } : {}),
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
  const main = await run('the program', {
    ...common,
    entryPoints: [entry],
    outfile: mainFile,
    sourcemap: options.sourcemap === false ? false : 'external',
    metafile: options.metafile === true,
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
    plugins: [...(options.plugins ?? []), entryIsMain(entry), nativeAddonStub],
  });
  failOn(main, 'the program');
  // Anything else read from import.meta (import.meta.env, ...) would be silently undefined at run time.
  const metaWarnings = main.warnings.filter((w) => w.id === 'empty-import-meta');
  if (metaWarnings.length) {
    throw new Error(`import.meta used in a way the CommonJS bundle cannot provide:\n${format(metaWarnings)}`);
  }
  const quiet = new Set(['empty-import-meta', 'unsupported-require-call', 'unsupported-dynamic-import']);
  const shown = main.warnings.filter((w) => !quiet.has(w.id));
  if (shown.length) process.stderr.write(`esbuild warnings:\n${format(shown)}\n`);
  if (main.metafile) writeFileSync(join(outDir, 'meta.json'), JSON.stringify(main.metafile));

  const boot = await run('the entry', {
    ...common,
    entryPoints: [join(ROOT, 'src/cli/boot.ts')],
    outfile: entryFile,
    external: [`./${MAIN_NAME}`],
  });
  failOn(boot, 'the entry');
  chmodSync(entryFile, 0o755);

  assertStrict(mainFile);
  return {
    outDir,
    entryFile,
    mainFile,
    version: pkg.version,
    native,
    mainBytes: statSync(mainFile).size,
    ms: performance.now() - started,
  };
}

function strip(f: NativeSource): NativeFile {
  return { name: f.name, size: f.size, sha256: f.sha256 };
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
    },
  });
  try {
    const r = await buildBundle({
      ...(values.entry ? { entry: values.entry } : {}),
      ...(values.outdir ? { outDir: values.outdir } : {}),
      sourcemap: !values['no-sourcemap'],
      metafile: values.metafile === true,
    });
    const mb = (r.mainBytes / 1e6).toFixed(2);
    process.stdout.write(
      `bundle: ${relative(process.cwd(), r.entryFile)} + ${relative(process.cwd(), r.mainFile)} (${mb} MB) in ${Math.round(r.ms)} ms` +
        `${r.native ? `; native ${r.native.dir}` : '; no native parts for this host'}\n`,
    );
  } catch (err) {
    process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
