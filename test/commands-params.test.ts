// Parameters: splitting chat words, binding them (or a tool call's named values) to a command's
// declared parameters, and the checks that hold whatever a pattern allows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileCommands, commandEntry } from '../src/core/config/commands.ts';
import { bindParams, splitArgs, usage } from '../src/core/commands/params.ts';
import type { CommandSpec } from '../src/core/commands/types.ts';
import { ExecError } from '../src/core/errors.ts';

/** A command as the config would declare it (through the real schema). */
function command(name: string, raw: unknown): CommandSpec {
  return compileCommands({ [name]: commandEntry.parse(raw) }, { dir: '/', home: '/root' }).get(name)!;
}

const disk = command('disk_usage', {
  runner: 'local',
  argv: ['df', '-h', '{{path}}', '--depth={{depth}}'],
  params: {
    path: { pattern: '^/[A-Za-z0-9/_.-]*$', description: 'an absolute folder' },
    depth: { type: 'integer', default: 1 },
  },
});

/** The BAD_ARGUMENT a call must throw; returns its userText. */
function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ExecError, String(err));
    assert.equal(err.code, 'BAD_ARGUMENT');
    return err.userText;
  }
  assert.fail('accepted, but should have been refused');
}

describe('splitArgs', () => {
  it('splits at whitespace; quotes group words; nothing else has a meaning', () => {
    assert.deepEqual(splitArgs('  /var   2 '), ['/var', '2']);
    assert.deepEqual(splitArgs('"my folder" \'it"s\' x'), ['my folder', 'it"s', 'x']);
    assert.deepEqual(splitArgs('a"b c"d'), ['ab cd']);
    assert.deepEqual(splitArgs('"" x'), ['', 'x']);
    assert.deepEqual(splitArgs('a\\ b $(id) `x` ${IFS}'), ['a\\', 'b', '$(id)', '`x`', '${IFS}']);
    assert.deepEqual(splitArgs('one\ttwo\nthree'), ['one', 'two', 'three']);
    assert.deepEqual(splitArgs(''), []);
  });

  it('refuses an unclosed quote', () => {
    assert.match(refused(() => splitArgs('"/var')), /quote \(".*not closed/);
  });
});

describe('usage', () => {
  it('lists required parameters in <> and optional ones in []', () => {
    assert.equal(usage(disk), 'disk_usage <path> [depth]');
  });
});

describe('bindParams', () => {
  it('fills parameters in order from chat words; a left-out optional one gets its default', () => {
    assert.deepEqual(bindParams(disk, ['/var', '3']), { path: '/var', depth: '3' });
    assert.deepEqual(bindParams(disk, ['/var']), { path: '/var', depth: '1' });
  });

  it('takes named values from a tool call, typed or as text', () => {
    assert.deepEqual(bindParams(disk, { path: '/srv', depth: 2 }), { path: '/srv', depth: '2' });
    assert.deepEqual(bindParams(disk, { path: '/srv', depth: null }), { path: '/srv', depth: '1' });
    assert.match(refused(() => bindParams(disk, { path: '/srv', colour: 'red' })), /^disk_usage has no parameter "colour"\.\nUsage: disk_usage <path> \[depth\]$/);
    assert.match(refused(() => bindParams(disk, { path: { nested: 1 } })), /^<path> must be text matching/);
  });

  it('names the parameter, what it expects and the usage line', () => {
    assert.equal(refused(() => bindParams(disk, ['var'])), '<path> must be text matching ^/[A-Za-z0-9/_.-]*$ (an absolute folder).\nUsage: disk_usage <path> [depth]');
    assert.equal(refused(() => bindParams(disk, [])), '<path> is missing (an absolute folder).\nUsage: disk_usage <path> [depth]');
    assert.equal(refused(() => bindParams(disk, ['/a', '1', 'extra'])), 'Too many arguments: disk_usage takes at most 2.\nUsage: disk_usage <path> [depth]');
    assert.equal(refused(() => bindParams(disk, ['/a', 'deep'])), '<depth> must be a whole number.\nUsage: disk_usage <path> [depth]');
  });

  it('checks types and returns a plain form', () => {
    const typed = command('t', {
      runner: 'local',
      argv: ['echo', '{{i}}', '{{n}}', '{{b}}'],
      params: { i: { type: 'integer' }, n: { type: 'number' }, b: { type: 'boolean' } },
    });
    assert.deepEqual(bindParams(typed, ['-5', '1e3', 'yes']), { i: '-5', n: '1000', b: 'true' });
    assert.deepEqual(bindParams(typed, ['+007', '-.5', 'OFF']), { i: '7', n: '-0.5', b: 'false' });
    assert.deepEqual(bindParams(typed, { i: -3, n: 2.5, b: false }), { i: '-3', n: '2.5', b: 'false' });
    refused(() => bindParams(typed, ['1.5', '1', 'true']));
    refused(() => bindParams(typed, ['99999999999999999999', '1', 'true']));
    refused(() => bindParams(typed, ['1', '0x10', 'true']));
    refused(() => bindParams(typed, ['1', 'Infinity', 'true']));
    refused(() => bindParams(typed, ['1', '1', 'maybe']));
  });

  it('checks the enum; an enum value may start with "-" (the author listed it)', () => {
    const ls = command('ls', { runner: 'local', argv: ['ls', '{{mode}}'], params: { mode: { enum: ['-l', '-a', 'plain'] } } });
    assert.deepEqual(bindParams(ls, ['-l']), { mode: '-l' });
    assert.equal(refused(() => bindParams(ls, ['-R'])), '<mode> must be one of -l, -a, plain.\nUsage: ls <mode>');
  });

  it('tests the pattern as written: an unanchored pattern matches any value containing a match', () => {
    const loose = command('grep', { runner: 'local', argv: ['echo', '{{w}}'], params: { w: { pattern: 'abc' } } });
    assert.deepEqual(bindParams(loose, ['xxabcxx']), { w: 'xxabcxx' });
    refused(() => bindParams(loose, ['ab']));
    const caseless = command('c', { runner: 'local', argv: ['echo', '{{w}}'], params: { w: { pattern: '(?i)^yes$' } } });
    assert.deepEqual(bindParams(caseless, ['YES']), { w: 'YES' });
  });

  it('refuses control characters, a leading "-" and ".." segments whatever the pattern allows', () => {
    const any = command('any', { runner: 'local', argv: ['echo', '{{v}}'], params: { v: { pattern: '^[\\s\\S]*$' } } });
    const num = command('num', { runner: 'local', argv: ['echo', '{{v}}'], params: { v: { type: 'integer' } } });
    for (const bad of ['a\nb', 'a\rb', 'nul\u0000', 'tab\there', 'esc\u001b[2J', 'del\u007f', 'line\u2028sep']) {
      assert.match(refused(() => bindParams(any, { v: bad })), /without control characters/, JSON.stringify(bad));
    }
    for (const bad of ['-rf', '--output=/etc/passwd', '-']) {
      assert.match(refused(() => bindParams(any, [bad])), /does not start with "-"/, bad);
    }
    for (const bad of ['..', '../etc', 'a/../../b', 'a/..', '..\\windows']) {
      assert.match(refused(() => bindParams(any, [bad])), /without "\.\." path segments/, bad);
    }
    assert.deepEqual(bindParams(num, ['-12']), { v: '-12' }, 'a negative number is not an option');
    assert.deepEqual(bindParams(any, ['a..b']), { v: 'a..b' }, '".." inside a name is not a segment');
    assert.deepEqual(bindParams(any, ['x-y']), { v: 'x-y' });
  });

  it('leaves a left-out optional parameter without a default out', () => {
    const opt = command('o', { runner: 'local', argv: ['ls', '{{path}}'], params: { path: { required: false } } });
    assert.deepEqual(bindParams(opt, []), {});
    assert.equal(usage(opt), 'o [path]');
  });
});
