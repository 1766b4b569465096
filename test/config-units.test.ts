// The small parsers under the config: units, ${VAR} expansion, typographic quotes, "did you mean".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandEnv, retype, stripTypographicQuotes } from '../src/core/config/expand.ts';
import { describeValue, didYouMean, formatPath } from '../src/core/config/problems.ts';
import { parseDuration, parseHttpUrl, parseListen, parseRate, parseSize } from '../src/core/config/units.ts';

describe('units', () => {
  it('durations: numbers are seconds, strings carry a unit', () => {
    const cases: [unknown, number | undefined][] = [
      [30, 30_000], [0.5, 500], ['500ms', 500], ['10s', 10_000], ['5m', 300_000], ['1h', 3_600_000], ['1d', 86_400_000],
      ['1h30m', 5_400_000], ['1.5h', 5_400_000], ['90', 90_000], [' 2 min ', 120_000], ['3600s', 3_600_000],
      ['abc', undefined], ['10x', undefined], ['', undefined], [-1, undefined], [true, undefined], [null, undefined], ['s10', undefined],
    ];
    for (const [input, want] of cases) assert.equal(parseDuration(input), want, `parseDuration(${JSON.stringify(input)})`);
  });

  it('rates: N per second, minute, hour, day', () => {
    assert.deepEqual(parseRate('100/min'), { limit: 100, windowMs: 60_000, text: '100/min' });
    const cases: [string, number, number][] = [
      ['5/s', 5, 1000], ['5/sec', 5, 1000], ['100/m', 100, 60_000], ['1000/h', 1000, 3_600_000], ['1000/hour', 1000, 3_600_000],
      ['100 per minute', 100, 60_000], ['20 / minutes', 20, 60_000], ['7/day', 7, 86_400_000],
    ];
    for (const [text, limit, windowMs] of cases) {
      const r = parseRate(text);
      assert.deepEqual([r?.limit, r?.windowMs], [limit, windowMs], text);
    }
    for (const bad of ['100', '0/min', '-1/min', '1.5/min', '100/ms', '100/fortnight', 'lots', 100]) assert.equal(parseRate(bad), undefined, String(bad));
  });

  it('sizes: binary multiples', () => {
    assert.equal(parseSize('10MB'), 10 * 1024 * 1024);
    assert.equal(parseSize('512KB'), 512 * 1024);
    assert.equal(parseSize('1.5GB'), 1.5 * 1024 ** 3);
    assert.equal(parseSize('2 mib'), 2 * 1024 ** 2);
    assert.equal(parseSize(4096), 4096);
    assert.equal(parseSize('10 parsecs'), undefined);
    assert.equal(parseSize(-5), undefined);
  });

  it('listen addresses: host defaults to loopback', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseListen(':8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen(8080), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 });
    assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
    for (const bad of ['host:99999', '::1:8080', '[nope]:80', '999.1.1.1:80', 'a b:80', '127.0.0.1', -1, 'x']) assert.equal(parseListen(bad), undefined, String(bad));
  });

  it('endpoints: http(s) URLs only', () => {
    assert.equal(parseHttpUrl('http://localhost:8000/v1'), 'http://localhost:8000/v1');
    assert.equal(parseHttpUrl(' https://api.example.com '), 'https://api.example.com');
    for (const bad of ['ftp://x', 'localhost:8000', 'model-service:8000', '', 42]) assert.equal(parseHttpUrl(bad), undefined, String(bad));
  });
});

describe('${VAR} expansion', () => {
  const env = { A: 'alpha', EMPTY: '' };
  it('replaces variables, applies defaults, lists the unset', () => {
    assert.deepEqual(expandEnv('x-${A}-${B}-${B}', env), { ok: true, value: 'x-alpha--', unset: ['B'], changed: true });
    assert.deepEqual(expandEnv('${B:-fallback}/${EMPTY:-e}/${A:-no}', env), { ok: true, value: 'fallback/e/alpha', unset: [], changed: true });
    assert.deepEqual(expandEnv('${EMPTY}', env), { ok: true, value: '', unset: [], changed: true }, 'set but empty is not unset');
    assert.deepEqual(expandEnv('${B:-}', env), { ok: true, value: '', unset: [], changed: true });
  });
  it('$${ is a literal, a lone $ stays', () => {
    assert.equal((expandEnv('$${A} costs $5', env) as { value: string }).value, '${A} costs $5');
    assert.deepEqual(expandEnv('no vars $HOME', env), { ok: true, value: 'no vars $HOME', unset: [], changed: false });
  });
  it('malformed references are errors', () => {
    for (const bad of ['${A', '${}', '${1A}', '${A B}', '${A:=x}']) assert.equal(expandEnv(bad, env).ok, false, bad);
  });
  it('plain scalars are retyped only when nothing is lost', () => {
    assert.equal(retype('1024'), 1024);
    assert.equal(retype('0.7'), 0.7);
    assert.equal(retype('true'), true);
    assert.equal(retype('007'), '007');
    assert.equal(retype('1e3'), '1e3');
    assert.equal(retype('sk-1'), 'sk-1');
  });
});

describe('helpers', () => {
  it('typographic quotes', () => {
    assert.equal(stripTypographicQuotes('“MyAIAssistant”'), 'MyAIAssistant');
    assert.equal(stripTypographicQuotes('‘x’'), 'x');
    assert.equal(stripTypographicQuotes('„x“'), 'x');
    assert.equal(stripTypographicQuotes('“unbalanced'), undefined);
    assert.equal(stripTypographicQuotes('plain'), undefined);
    assert.equal(stripTypographicQuotes('say “hi”'), undefined, 'only a whole wrapped value');
  });
  it('did you mean', () => {
    const keys = ['name', 'timezone', 'max_concurrency', 'data_dir'];
    assert.equal(didYouMean('nmae', keys), 'name');
    assert.equal(didYouMean('timzone', keys), 'timezone');
    assert.equal(didYouMean('max', keys), 'max_concurrency');
    assert.equal(didYouMean('Name', keys), 'name');
    assert.equal(didYouMean('colour', keys), undefined);
  });
  it('paths and values in messages', () => {
    assert.equal(formatPath(['routes', 2, 'match', 'platform']), 'routes[2].match.platform');
    assert.equal(formatPath([]), '(top level)');
    assert.equal(describeValue('x'), '"x"');
    assert.equal(describeValue(undefined), 'nothing (the key is missing)');
    assert.equal(describeValue([1]), 'a list');
    assert.equal(describeValue('y'.repeat(100)).length, 62);
  });
});
