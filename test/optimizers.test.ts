// The start-up hold on V8's compilers (src/optimizers.ts): while held, a hot function stays in the
// interpreter; once released, V8 optimizes it. Checked in a child Node with --allow-natives-syntax, which
// exposes V8's own view of a function (%GetOptimizationStatus). The hold and the release come from two
// instances of the module, as in the build (the entry and the program are bundled apart).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { MAIN, scratch } from './helpers/cli.ts';

const MODULE = new URL('../src/optimizers.ts', import.meta.url).href;
// V8's status bits (src/runtime/runtime.h, OptimizationStatus).
const OPTIMIZED = 1 << 4;
const INTERPRETED = 1 << 7;

const HOT = new URL('./fixtures/optimizers/hot.mjs', import.meta.url).href;

/** Runs `body` (module code; `probe()` from hot.mjs in scope) in a child Node that shows V8's view; returns what it prints. */
function inChild(body: string): unknown {
  const code = `const { probe } = await import(${JSON.stringify(HOT)});\n${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', code], { encoding: 'utf8' }));
}

describe('optimizers hold', () => {
  it('keeps a hot function interpreted while held, and lets V8 optimize it once released', () => {
    const { held, released } = inChild(`
      const entry = await import(${JSON.stringify(`${MODULE}?entry`)});
      const program = await import(${JSON.stringify(`${MODULE}?program`)});
      entry.holdOptimizers();
      const held = await probe();
      program.releaseOptimizers();
      console.log(JSON.stringify({ held, released: await probe() }));`) as { held: number; released: number };
    assert.equal(held & OPTIMIZED, 0, `optimized while held (status ${held.toString(2)})`);
    assert.notEqual(held & INTERPRETED, 0, `not interpreted while held (status ${held.toString(2)})`);
    assert.notEqual(released & OPTIMIZED, 0, `not optimized after release (status ${released.toString(2)})`);
  });
});

describe('optimizers busyWatch', () => {
  /** `ticks`: one letter per tick, B after 60 ms of CPU (CPU time: a loaded machine must not fake it), I without. */
  const run = (ticks: string) => inChild(`
      const m = await import(${JSON.stringify(MODULE)});
      m.holdOptimizers();
      const tick = m.busyWatch();
      const burn = (ms) => { const t0 = process.cpuUsage(); let d; do d = process.cpuUsage(t0); while (d.user + d.system < ms * 1000); };
      for (const t of ${JSON.stringify(ticks)}) { if (t === 'B') burn(60); tick(); }
      console.log(await probe());`) as number;
  it('releases after two consecutive seconds with 50 ms of CPU each, not after one, nor when idle', () => {
    assert.equal(run('II') & OPTIMIZED, 0, 'released while idle');
    assert.equal(run('BIB') & OPTIMIZED, 0, 'released by busy seconds that were not consecutive');
    assert.notEqual(run('BB') & OPTIMIZED, 0, 'still held after two busy seconds');
  });
});

/** The probe preloaded into the real command line (run from source) by clawdbot() below. */
const PROBE_FILE = new URL('./fixtures/optimizers/probe.mjs', import.meta.url).pathname;

function clawdbot(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const child = spawn(process.execPath, ['--allow-natives-syntax', '--import', PROBE_FILE, MAIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  /** The next probe line's status (after SIGUSR2, or at exit). */
  const status = async (signal = true): Promise<number> => {
    const seen = (err.match(/^probe \d+$/gm) ?? []).length;
    if (signal) child.kill('SIGUSR2');
    for (let i = 0; i < 500; i++) {
      const lines = err.match(/^probe (\d+)$/gm) ?? [];
      if (lines.length > seen) return Number(lines[seen]!.slice('probe '.length));
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no probe line; stderr:\n${err}`);
  };
  return { child, status, exited, stderr: () => err };
}

/** The URL of a `serve` started by clawdbot(), once its "ready" line is logged. */
async function readyUrl(stderr: () => string): Promise<string> {
  for (let i = 0; i < 1500; i++) {
    const url = /"msg":"ready"/.test(stderr()) ? /"url":"([^"]+)"/.exec(stderr())?.[1] : undefined;
    if (url) return url;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`serve not ready:\n${stderr()}`);
}

describe('optimizers release', () => {
  it('serve releases them under sustained work that never reaches the executor (health probes)', async () => {
    const s = scratch();
    const cfg = s.write('clawdbot.yaml', 'adapters: { websocket: { listen: "127.0.0.1:0" } }\n');
    const p = clawdbot(['serve', '--config', cfg], { ...s.env, CLAWDBOT_LOG_FORMAT: 'json' }, s.dir);
    try {
      const url = await readyUrl(p.stderr);
      let st = 0;
      for (let round = 0; round < 8 && (st & OPTIMIZED) === 0; round++) {
        const until = Date.now() + 1000;
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (Date.now() < until) await (await fetch(`${url}/healthz`)).text();
        }));
        st = await p.status();
      }
      assert.notEqual(st & OPTIMIZED, 0, `not optimized after probes kept serve busy (status ${st.toString(2)})`);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      s.cleanup();
    }
  });

  it('a command other than serve releases them when dispatched (doctor never runs the executor)', async () => {
    const s = scratch();
    try {
      const p = clawdbot(['doctor', '--offline'], s.env, s.dir);
      const st = await p.status(false);
      await p.exited;
      assert.notEqual(st & OPTIMIZED, 0, `probe not optimized in doctor (status ${st.toString(2)})`);
    } finally {
      s.cleanup();
    }
  });

  it('serve keeps them held while idle, and releases them at its first turn', async () => {
    const s = scratch();
    const cfg = s.write('clawdbot.yaml', [
      'adapters: { websocket: { listen: "127.0.0.1:0" } }',
      'routes: [ { default: { action: hi } } ]',
      'actions: { hi: { type: reply, text: "hi" } }',
      '',
    ].join('\n'));
    const p = clawdbot(['serve', '--config', cfg], { ...s.env, CLAWDBOT_LOG_FORMAT: 'json' }, s.dir);
    try {
      const url = await readyUrl(p.stderr);
      await new Promise((r) => setTimeout(r, 2500)); // past start-up's last collection (one busy second)
      const idle = await p.status();
      assert.equal(idle & OPTIMIZED, 0, `optimized while serve idles (status ${idle.toString(2)})`);
      const r = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hello', user: 'u1', chat: 'c1' }) });
      assert.equal(((await r.json()) as { reply: string }).reply, 'hi');
      const working = await p.status();
      assert.notEqual(working & OPTIMIZED, 0, `not optimized after a turn (status ${working.toString(2)})`);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      s.cleanup();
    }
  });
});
