// The native parts in development (node_modules), and the private cache folders the executable unpacks into
// (the unpacking itself: test/payload.test.ts).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BetterSqlite3, buildInfo, explainLoadError, isPackaged, nativeParts } from '../src/store/native.ts';
import { ensureDir, privateDir, privateTmpRoot } from '../src/cache-dirs.ts';

const scratch = mkdtempSync(join(tmpdir(), 'clawdbot-native-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('from source, nativeParts() gives existing files in node_modules', () => {
  assert.equal(isPackaged(), false);
  assert.equal(buildInfo, undefined);
  const { addon, vec0 } = nativeParts();
  assert.ok(addon && existsSync(addon), `addon ${addon}`);
  assert.match(addon, /node_modules\/better-sqlite3\/(prebuilds|build)\//);
  assert.ok(existsSync(vec0), `vec0 ${vec0}`);
  assert.match(vec0, /node_modules\/sqlite-vec-[a-z]+-[a-z0-9]+\/vec0\.(so|dylib|dll)$/);
  assert.equal(nativeParts(), nativeParts(), 'computed once');
});

test('a database opened with them loads vec0 (v0.1.9) and answers a KNN query', () => {
  const { addon, vec0 } = nativeParts();
  const db = new BetterSqlite3(':memory:', { nativeBinding: addon });
  try {
    db.loadExtension(vec0);
    assert.equal(db.prepare('select vec_version() as v').pluck().get(), 'v0.1.9');
    db.exec('create virtual table v using vec0(embedding float[2])');
    const insert = db.prepare('insert into v(rowid, embedding) values (?, ?)');
    insert.run(1n, JSON.stringify([0, 1]));
    insert.run(2n, JSON.stringify([1, 0]));
    const nearest = db.prepare('select rowid from v where embedding match ? and k = 1').pluck().get(JSON.stringify([0.9, 0.1]));
    assert.equal(nearest, 2);
  } finally {
    db.close();
  }
});

test('privateTmpRoot is 0700 and refuses a folder others can write', { skip: process.platform === 'win32' }, () => {
  const saved = process.env.TMPDIR;
  const base = join(scratch, 'tmp');
  mkdirSync(base);
  process.env.TMPDIR = base;
  try {
    const root = privateTmpRoot();
    assert.equal(root, join(base, `clawdbot-${process.getuid!()}`));
    assert.equal((statSync(root).mode & 0o777).toString(8), '700');
    chmodSync(root, 0o777);
    assert.throws(() => privateTmpRoot(), /not private/);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});

test('ensureDir gives up where mkdir says ENOENT under an existing parent (Node 24 recursive mkdir spins)', { skip: process.platform !== 'linux', timeout: 5000 }, () => {
  assert.throws(() => ensureDir('/proc/clawdbot-no-home/.cache/clawdbot'), { code: 'ENOENT' });
  const deep = join(scratch, 'a', 'b', 'c');
  ensureDir(deep);
  ensureDir(deep); // exists: fine
  assert.equal((statSync(join(scratch, 'a')).mode & 0o777).toString(8), '700');
});

test('a native part on a noexec filesystem is explained, other load errors pass unchanged', () => {
  const mapped = new Error('/home/u/.cache/x.node: failed to map segment from shared object');
  const explained = explainLoadError(mapped, '/home/u/.cache/x.node') as Error;
  assert.match(explained.message, /mounted noexec: set XDG_CACHE_HOME/);
  assert.equal(explained.cause, mapped);
  const other = new Error('invalid ELF header');
  assert.equal(explainLoadError(other, '/x.node'), other);
});

test('privateDir makes our cache folder 0700 and refuses a symlink in its place', { skip: process.platform === 'win32' }, () => {
  const loose = join(scratch, 'compile-cache');
  mkdirSync(loose, { mode: 0o755 });
  chmodSync(loose, 0o755);
  assert.equal(privateDir(loose), true);
  assert.equal((statSync(loose).mode & 0o777).toString(8), '700');
  assert.equal(privateDir(join(scratch, 'fresh', 'compile-cache')), true);
  assert.equal((statSync(join(scratch, 'fresh', 'compile-cache')).mode & 0o777).toString(8), '700');
  const link = join(scratch, 'linked-cache');
  symlinkSync(loose, link);
  assert.equal(privateDir(link), false);
});
