// Folders for caches (compile cache, the executable's unpacked program): mkdir -p that cannot hang, and a
// private fallback under $TMPDIR. A leaf module: the entries (src/cli/boot.ts, src/cli/sea.ts) share it.
import { chmodSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * `$TMPDIR/clawdbot-<uid>`, created 0700. /tmp is shared: another user could create that folder first and
 * plant a library there that we would then dlopen, so it must be a real directory owned by us and closed
 * to others.
 */
export function privateTmpRoot(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const root = join(tmpdir(), `clawdbot-${uid ?? process.env.USERNAME ?? 'user'}`);
  ensureDir(root);
  const st = lstatSync(root);
  if (!st.isDirectory()) throw new Error(`${root} is not a directory`);
  if (uid !== undefined && (st.uid !== uid || (st.mode & 0o077) !== 0)) {
    throw new Error(`${root} is not private to this user (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`);
  }
  return root;
}

/**
 * mkdir -p with mode 0700 for what it creates. Not `mkdirSync(dir, { recursive: true })`: Node 24's
 * recursive mkdir spins forever when mkdir answers ENOENT under an existing parent (HOME=/proc/x,
 * measured), and so does module.enableCompileCache(); this one gives up after one retry per level.
 */
export function ensureDir(dir: string, depth = 0): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!statSync(dir).isDirectory()) throw err;
      return;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth > 64) throw err;
    ensureDir(parent, depth + 1);
    mkdirSync(dir, { mode: 0o700 }); // a second ENOENT throws: no loop
  }
}

/**
 * `dir` (created 0700 when missing) as a folder only this user can enter: a real folder (not a symlink)
 * owned by this user; a looser mode on our own folder is tightened to 0700. False when it is not ours, so
 * the caller falls back. What sits inside is then out of other users' reach, whatever modes it has (Node
 * creates the compile cache's subfolders with the umask's mode, group-writable under umask 002).
 */
export function privateDir(dir: string): boolean {
  ensureDir(dir);
  const st = lstatSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) return false;
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return true;
}

/**
 * clawdbot's cache folders, best first: `${XDG_CACHE_HOME:-$HOME/.cache}/clawdbot`, then the private
 * `$TMPDIR/clawdbot-<uid>` (HOME unset or not writable). Thunks: the fallback costs nothing when the
 * first works; each may throw (privateTmpRoot refuses a folder that is not private).
 */
export function cacheRoots(): Array<() => string> {
  const roots: Array<() => string> = [];
  const xdg = process.env.XDG_CACHE_HOME;
  const home = process.env.HOME;
  if (xdg && isAbsolute(xdg)) roots.push(() => join(xdg, 'clawdbot'));
  else if (home && isAbsolute(home)) roots.push(() => join(home, '.cache', 'clawdbot'));
  roots.push(privateTmpRoot);
  return roots;
}
