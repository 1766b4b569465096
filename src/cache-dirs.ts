// Folders for caches (compile cache, the executable's unpacked program): mkdir -p that cannot hang, and a
// private fallback under $TMPDIR. A leaf module: the entries (src/cli/boot.ts, src/cli/sea.ts) share it.
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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
