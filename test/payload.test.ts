// The program files the executable carries after itself (src/payload.ts): written as the build does,
// read back from the end of the file, unpacked once (atomically, hash-checked), reused by size.
import assert from 'node:assert/strict';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PayloadError, readPayloadIndex, unpackedPayload, unpackInto as unpackIntoFd, writePayload, type PayloadIndex } from '../src/payload.ts';

function unpackInto(file: string, index: PayloadIndex, parent: string): string {
  const fd = openSync(file, 'r');
  try {
    return unpackIntoFd(fd, file, index, parent);
  } finally {
    closeSync(fd);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'clawdbot-payload-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const FILES = [
  { name: 'clawdbot.cjs', body: Buffer.from('require("./clawdbot.main.cjs");\n') },
  { name: 'clawdbot.main.cjs', body: Buffer.from('module.exports = 42;\n'.repeat(5000)) },
  { name: 'native/vec0.so', body: Buffer.from('pretend this is an ELF file') },
];

let n = 0;
/** A stand-in for pkg's output (some bytes) with the payload appended, as scripts/build-binary.ts does. */
function executable(files = FILES, version = '1.2.3'): { file: string; index: PayloadIndex } {
  const file = join(scratch, `exe-${n++}`);
  const head = Buffer.from('\x7fELF pretend node + SEA blob');
  writeFileSync(file, head);
  const fd = openSync(file, 'r+');
  try {
    return { file, index: writePayload(fd, head.length, version, files) };
  } finally {
    closeSync(fd);
  }
}

describe('payload', () => {
  it('reads back the index written after the executable', () => {
    const { file, index } = executable();
    assert.deepEqual(readPayloadIndex(file), index);
    assert.equal(index.version, '1.2.3');
    assert.match(index.id, /^[0-9a-f]{16}$/);
    assert.deepEqual(index.files.map((f) => [f.name, f.size]), FILES.map((f) => [f.name, f.body.length]));
    assert.notEqual(executable(FILES.map((f, i) => (i === 1 ? { ...f, body: Buffer.from('other') } : f))).index.id, index.id, 'another build: another id');
  });

  it('refuses a file without a payload, and a payload that was appended to', () => {
    const plain = join(scratch, 'plain');
    writeFileSync(plain, 'x'.repeat(100));
    assert.throws(() => readPayloadIndex(plain), (e: Error) => e instanceof PayloadError && /not a clawdbot executable/.test(e.message));
    const { file } = executable();
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('trailing')]));
    assert.throws(() => readPayloadIndex(file), PayloadError);
  });

  it('unpacks once into <parent>/<version>-<id> (0700), reuses a complete copy, and replaces a damaged one', () => {
    const { file, index } = executable();
    const parent = join(scratch, 'cache-a', 'app');
    const dir = unpackInto(file, index, parent);
    assert.equal(dir, join(parent, `1.2.3-${index.id}`));
    for (const f of FILES) assert.deepEqual(readFileSync(join(dir, f.name)), f.body);
    assert.equal((statSync(dir).mode & 0o777).toString(8), '700');
    const ino = statSync(join(dir, 'clawdbot.main.cjs')).ino;
    assert.equal(unpackInto(file, index, parent), dir);
    assert.equal(statSync(join(dir, 'clawdbot.main.cjs')).ino, ino, 'complete: reused, not rewritten');
    writeFileSync(join(dir, 'native/vec0.so'), 'trunc'); // damaged (e.g. power loss before the data hit the disk)
    unpackInto(file, index, parent);
    assert.deepEqual(readFileSync(join(dir, 'native/vec0.so')), FILES[2]!.body);
    assert.deepEqual(readdirSync(parent), [`1.2.3-${index.id}`], 'no temporary folder left');
  });

  it('refuses to unpack a file whose bytes do not match their recorded hash, leaving nothing behind', () => {
    const { file, index } = executable();
    const body = readFileSync(file);
    const at = index.files[1]!.offset + 10;
    body[at] = body[at]! ^ 0xff; // same size, other bytes
    writeFileSync(file, body);
    const parent = join(scratch, 'cache-bad', 'app');
    assert.throws(() => unpackInto(file, index, parent), /does not match its recorded hash/);
    assert.deepEqual(readdirSync(parent), []);
  });

  it('unpacks into the cache folder of XDG_CACHE_HOME, else into the private temporary folder', () => {
    const { file } = executable();
    const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR };
    try {
      process.env.XDG_CACHE_HOME = join(scratch, 'xdg');
      assert.ok(unpackedPayload(file).dir.startsWith(join(scratch, 'xdg', 'clawdbot', 'app') + '/'));
      process.env.XDG_CACHE_HOME = '/proc/clawdbot-no-cache'; // not writable, even for root
      delete process.env.HOME;
      process.env.TMPDIR = join(scratch, 'tmp');
      const { dir } = unpackedPayload(file);
      assert.ok(dir.startsWith(join(scratch, 'tmp', `clawdbot-${process.getuid!()}`, 'app') + '/'), dir);
      assert.ok(existsSync(join(dir, 'clawdbot.cjs')));
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('checks the index it reads: a crafted or damaged one is refused before anything is written', () => {
    const { file, index } = executable();
    const crafted = { ...index, files: [{ ...index.files[0]!, name: '../../escaped' }] };
    const body = readFileSync(file);
    const footerAt = body.length - 32;
    const indexAt = Number(body.readBigUInt64LE(footerAt + 16));
    const json = Buffer.from(JSON.stringify(crafted));
    const footer = Buffer.from(body.subarray(footerAt));
    footer.writeBigUInt64LE(BigInt(json.length), 24);
    writeFileSync(file, Buffer.concat([body.subarray(0, indexAt), json, footer]));
    assert.throws(() => readPayloadIndex(file), (e: Error) => e instanceof PayloadError && /file name/.test(e.message));
    const garbage = Buffer.from('{"not json');
    footer.writeBigUInt64LE(BigInt(garbage.length), 24);
    writeFileSync(file, Buffer.concat([body.subarray(0, indexAt), garbage, footer]));
    assert.throws(() => readPayloadIndex(file), (e: Error) => e instanceof PayloadError && e.message.startsWith(`${file}: its payload index is damaged`));
  });

  it('does not run a copy that another user could have written: a group-writable folder or a symlink is replaced by a real copy', () => {
    const { file, index } = executable();
    const parent = join(scratch, 'cache-untrusted', 'app');
    const dir = join(parent, `1.2.3-${index.id}`);
    mkdirSync(join(dir, 'native'), { recursive: true, mode: 0o770 });
    chmodSync(dir, 0o770);
    for (const f of FILES) writeFileSync(join(dir, f.name), Buffer.alloc(f.body.length, 0x41)); // planted, right sizes
    assert.equal(unpackInto(file, index, parent), dir);
    assert.deepEqual(readFileSync(join(dir, 'clawdbot.main.cjs')), FILES[1]!.body, 'planted copy replaced');
    assert.equal((statSync(dir).mode & 0o777).toString(8), '700');
    assert.deepEqual(readdirSync(parent), [`1.2.3-${index.id}`], 'the planted copy is gone, no temporary folder left');

    chmodSync(parent, 0o770); // a complete copy, in a folder others may write: not used
    assert.throws(() => unpackInto(file, index, parent), /not a folder of this user's/);
    chmodSync(parent, 0o700);

    const parent2 = join(scratch, 'cache-symlink', 'app');
    mkdirSync(parent2, { recursive: true, mode: 0o700 });
    const link = join(parent2, `1.2.3-${index.id}`);
    symlinkSync(dir, link); // complete and ours, but through a link: moved aside, a real copy unpacked
    assert.equal(unpackInto(file, index, parent2), link);
    assert.equal(lstatSync(link).isDirectory(), true, 'a real folder now, not the link');
    assert.deepEqual(readdirSync(parent2), [`1.2.3-${index.id}`]);
    assert.deepEqual(readFileSync(join(dir, 'clawdbot.main.cjs')), FILES[1]!.body, 'the link target is left alone');
  });

  it('removes temporary folders of unpacks that died: on this host by process id, from other hosts by age', () => {
    const { file, index } = executable();
    const parent = join(scratch, 'cache-stale', 'app');
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'host';
    const tmp = (h: string, pid: number) => join(parent, `.1.2.3-${index.id}.${h}.${pid}.0badc0de.tmp`);
    const dead = tmp(host, 999999999); // no such pid here
    const running = tmp(host, process.pid); // a live unpack: kept
    const elsewhere = tmp('other-host', 999999999); // its pid means nothing here: kept while fresh
    const elsewhereOld = tmp('another-host', 999999999);
    for (const d of [dead, running, elsewhere, elsewhereOld]) mkdirSync(d, { recursive: true });
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(elsewhereOld, hourAgo, hourAgo);
    unpackInto(file, index, parent);
    assert.equal(existsSync(dead), false);
    assert.equal(existsSync(running), true);
    assert.equal(existsSync(elsewhere), true);
    assert.equal(existsSync(elsewhereOld), false);
  });

  it("removes other builds' copies not started for more than a week when it unpacks, and nothing else", () => {
    const { file, index } = executable();
    const parent = join(scratch, 'cache-old', 'app');
    const copy = (name: string, daysAgo: number, where = parent) => {
      const d = join(where, name);
      mkdirSync(join(d, 'native'), { recursive: true });
      writeFileSync(join(d, 'clawdbot.cjs'), 'old');
      const t = new Date(Date.now() - daysAgo * 24 * 3600_000);
      utimesSync(d, t, t);
      return d;
    };
    const old = copy('1.2.1-0123456789abcdef', 8);
    const recent = copy('1.2.2-fedcba9876543210', 2); // maybe still run now and then: kept
    const unrelated = copy('notes', 30); // not a copy's name: kept
    const target = copy('1.1.0-1111111111111111', 30, join(scratch, 'cache-old'));
    const link = join(parent, '1.2.0-aaaaaaaaaaaaaaaa');
    symlinkSync(target, link); // a symlink named like a copy: neither it nor what it points at is touched
    unpackInto(file, index, parent);
    assert.equal(existsSync(old), false);
    for (const kept of [recent, unrelated, link, join(target, 'clawdbot.cjs')]) assert.equal(existsSync(kept), true, kept);
    assert.deepEqual(readdirSync(parent).filter((n) => n.startsWith('.')), [], 'moved aside, then removed: nothing left over');
    // Reusing a complete copy removes nothing (only an unpack does), and marks it as started now.
    const old2 = copy('1.2.0-bbbbbbbbbbbbbbbb', 8);
    const mine = join(parent, `1.2.3-${index.id}`);
    const longAgo = new Date(Date.now() - 8 * 24 * 3600_000);
    utimesSync(mine, longAgo, longAgo);
    unpackInto(file, index, parent);
    assert.equal(existsSync(old2), true);
    assert.ok(Date.now() - statSync(mine).mtimeMs < 60_000, 'started now: another build will not remove it for a week');
  });

  it('repairs its folder from the executable it started from, even after that file was replaced', () => {
    const { file, index } = executable();
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = join(scratch, 'xdg-repair');
    try {
      const unpacked = unpackedPayload(file);
      const upgrade = executable(FILES.map((f, i) => (i === 1 ? { ...f, body: Buffer.from('a newer program') } : f)), '1.2.4');
      renameSync(upgrade.file, file); // an upgrade in place while this process runs
      rmSync(join(unpacked.dir, 'clawdbot.main.cjs')); // a cache cleaner
      unpacked.repair();
      assert.equal(unpacked.dir.endsWith(`1.2.3-${index.id}`), true);
      assert.deepEqual(readFileSync(join(unpacked.dir, 'clawdbot.main.cjs')), FILES[1]!.body, 'the running version, not the upgrade');
      assert.deepEqual(readdirSync(join(scratch, 'xdg-repair', 'clawdbot', 'app')), [`1.2.3-${index.id}`]);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it('refuses file names that would leave the folder', () => {
    const fd = openSync(join(scratch, 'names'), 'w');
    try {
      for (const name of ['../x', 'a/../../x', '/etc/x', 'a/b/c', '.hidden', 'a/..']) {
        assert.throws(() => writePayload(fd, 0, '1', [{ name, body: Buffer.from('x') }]), PayloadError, name);
      }
    } finally {
      closeSync(fd);
    }
  });
});
