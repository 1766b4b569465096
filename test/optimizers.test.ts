// The start-up hold on V8's compilers (src/optimizers.ts): while held, a hot function stays in the
// interpreter; once released, V8 optimizes it. Checked in a child Node with --allow-natives-syntax, which
// exposes V8's own view of a function (%GetOptimizationStatus). The hold and the release come from two
// instances of the module, as in the build (the entry and the program are bundled apart).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';

const MODULE = new URL('../src/optimizers.ts', import.meta.url).href;
// V8's status bits (src/runtime/runtime.h, OptimizationStatus).
const OPTIMIZED = 1 << 4;
const INTERPRETED = 1 << 7;

const PROBE = `
const entry = await import(${JSON.stringify(`${MODULE}?entry`)});
const program = await import(${JSON.stringify(`${MODULE}?program`)});
const hot = (n) => { let s = 0; for (let i = 0; i < n; i++) s += i * 3; return s; };
const work = async () => {
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100000; i++) hot(50);
    await new Promise((r) => setTimeout(r, 20)); // concurrent compiles finish between rounds
  }
  return %GetOptimizationStatus(hot);
};
entry.holdOptimizers();
const held = await work();
program.releaseOptimizers();
const released = await work();
console.log(JSON.stringify({ held, released }));
`;

describe('optimizers hold', () => {
  it('keeps a hot function interpreted while held, and lets V8 optimize it once released', () => {
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', PROBE], { encoding: 'utf8' });
    const { held, released } = JSON.parse(out) as { held: number; released: number };
    assert.equal(held & OPTIMIZED, 0, `optimized while held (status ${held.toString(2)})`);
    assert.notEqual(held & INTERPRETED, 0, `not interpreted while held (status ${held.toString(2)})`);
    assert.notEqual(released & OPTIMIZED, 0, `not optimized after release (status ${released.toString(2)})`);
  });
});
