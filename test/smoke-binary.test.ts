// scripts/smoke-binary.sh must be able to fail: run on a stand-in "executable" that prints the right
// version but whose every command crashes, it has to report failures, not skip its way to "all passed".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'clawdbot-smoke-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('smoke-binary.sh fails an executable whose commands (and --help) crash', () => {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const fake = join(scratch, 'clawdbot');
  writeFileSync(fake, `#!/bin/sh\ncase "$1" in --version) echo ${version} ;; *) echo "TypeError: boom" >&2; exit 1 ;; esac\n`, { mode: 0o755 });
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'smoke-binary.sh'), fake], { encoding: 'utf8', env: { ...process.env, SMOKE_RUNS: '1' }, timeout: 60_000 });
  assert.notEqual(r.status, 0, `the smoke test passed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /FAIL +doctor/, r.stdout);
  assert.doesNotMatch(r.stdout, /smoke: all passed/);
});
