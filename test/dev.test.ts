// ./dev as README describes it, in a copy of the script whose toolchain puts a recording `node` and `npm`
// first on PATH (nothing is installed or built for real).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'clawdbot-dev-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** A project copy with ./dev; every file dated `ages` seconds ago (default: installed and built, up to date). */
function project(ages: Record<string, number> = {}): string {
  const dir = join(scratch, `p${n++}`);
  const bin = join(dir, 'fakebin');
  for (const d of ['scripts', 'src', 'dist', 'node_modules', 'fakebin']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(join(ROOT, 'dev'), join(dir, 'dev'));
  writeFileSync(join(dir, 'scripts', 'toolchain.sh'), `export PATH="${bin}:$PATH"\n`);
  // Each fake appends its argv to calls.log; `npm ci` installs (touches the install marker).
  writeFileSync(join(bin, 'node'), `#!/bin/sh\necho "node $*" >> "${dir}/calls.log"\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\necho "npm $*" >> "${dir}/calls.log"\n[ "$1" = ci ] && touch node_modules/.package-lock.json\nexit 0\n`, { mode: 0o755 });
  const files: Record<string, number> = {
    'package.json': 300, 'package-lock.json': 300, 'clawdbot.example.yaml': 300, 'src/main.ts': 300, 'scripts/build.ts': 300,
    'node_modules/.package-lock.json': 200, 'dist/clawdbot.main.cjs': 100, ...ages,
  };
  const now = Date.now() / 1000;
  for (const [f, age] of Object.entries(files)) {
    writeFileSync(join(dir, f), '');
    utimesSync(join(dir, f), now - age, now - age);
  }
  for (const d of ['src', 'scripts']) utimesSync(join(dir, d), now - 300, now - 300);
  return dir;
}

function dev(dir: string, ...args: string[]): string[] {
  const r = spawnSync(join(dir, 'dev'), args, { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  try {
    return readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

describe('./dev', () => {
  it('start with ARGS serves with them (README: `clawdbot serve`, built-in defaults or ARGS)', () => {
    assert.deepEqual(dev(project(), 'start'), ['node dist/clawdbot.cjs serve']);
    assert.deepEqual(dev(project(), 'start', '--config', 'my.yaml'), ['node dist/clawdbot.cjs serve --config my.yaml']);
    assert.deepEqual(dev(project(), 'start', 'serve', '-c', 'my.yaml'), ['node dist/clawdbot.cjs serve -c my.yaml']);
  });

  it('run rebuilds the bundle after the dependencies changed (it carries them) or the build script did', () => {
    // A pull that changed package-lock.json: npm ci installs, and the bundle made from the old node_modules is stale.
    assert.deepEqual(dev(project({ 'package-lock.json': 50 }), 'run', '--version'), ['npm ci --no-audit --no-fund', 'npm run --silent build', 'node dist/clawdbot.cjs --version']);
    assert.deepEqual(dev(project({ 'scripts/build.ts': 50 }), 'run', '--version'), ['npm run --silent build', 'node dist/clawdbot.cjs --version']);
    assert.deepEqual(dev(project(), 'run', '--version'), ['node dist/clawdbot.cjs --version'], 'up to date: neither');
  });
});
