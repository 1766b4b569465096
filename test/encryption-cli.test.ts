// Encryption at rest from the command line: exec with a data key leaves no message text in the
// database files; without the key the database is refused; rotate-data moves it to a new key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, scratch } from './helpers/cli.ts';

describe('encryption at rest (CLI)', () => {
  const s = scratch();
  after(() => s.cleanup());
  const cfg = s.write('clawdbot.yaml', [
    'system: { data_dir: ./data }',
    'security:',
    '  encryption_key: ${DATA_KEY}',
    'routes:',
    '  - default: { action: echo_back }',
    'actions:',
    '  echo_back: { type: reply, text: "you said {{input}}" }',
    '',
  ].join('\n'));
  const key1 = randomBytes(32).toString('base64');
  const key2 = randomBytes(32).toString('hex');
  const MARKER = 'zebra-quartz-7731';
  const dbBytes = () => Buffer.concat(readdirSync(join(s.dir, 'data')).map((f) => readFileSync(join(s.dir, 'data', f))));

  it('no clear text on disk; refused without the key or with another; rotate-data switches keys', async () => {
    const run = (args: string[], key?: string, extra: NodeJS.ProcessEnv = {}) =>
      runCli([...args, '--config', cfg], { env: { ...s.env, ...(key ? { DATA_KEY: key } : {}), ...extra }, cwd: s.dir });
    const first = await run(['exec', `remember ${MARKER}`], key1);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`you said remember ${MARKER}`));
    assert.equal(dbBytes().includes(MARKER), false, 'the marker is not in the database or its WAL');

    const plain = s.write('plain.yaml', readFileSync(cfg, 'utf8').replace('security:\n  encryption_key: ${DATA_KEY}\n', ''));
    const noKey = await runCli(['exec', 'hello', '--config', plain], { env: s.env, cwd: s.dir });
    assert.notEqual(noKey.code, 0);
    assert.match(noKey.stderr, /encrypted/i);
    assert.equal(dbBytes().includes('hello'), false, 'nothing was written in clear next to the encrypted data');
    const other = await run(['exec', 'hello'], key2);
    assert.notEqual(other.code, 0);

    const rotated = await run(['keys', 'rotate-data', '--new-key-env', 'NEW_KEY'], key1, { NEW_KEY: key2 });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.notEqual((await run(['exec', 'hello'], key1)).code, 0, 'the old key is refused now');
    const after2 = await run(['exec', 'again'], key2);
    assert.equal(after2.code, 0, after2.stderr);
    assert.equal(dbBytes().includes(MARKER), false);
    const doc = await run(['doctor', '--offline'], key2);
    assert.match(doc.stdout, /text encrypted \(key [0-9a-f]{8}\)/);
  });
});
