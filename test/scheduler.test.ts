// The scheduler against a real SQLite file, with the clock and timers injected: slots fire at their
// time (time zones, DST, far-off slots), downtime is caught up per catch_up, and no slot ever runs twice
// (two schedulers on one database, two processes, a restart in the middle of a run).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { AdapterRegistry } from '../src/adapters/registry.ts';
import { loadConfig } from '../src/core/config/load.ts';
import type { ScheduleSpec } from '../src/core/config/schedules.ts';
import { recordingMetrics } from './helpers/metrics.ts';
import { Executor } from '../src/core/executor.ts';
import { Gateway } from '../src/core/gateway.ts';
import { scheduledRun } from '../src/core/scheduled-run.ts';
import { BASELINE_DETAIL, INTERRUPTED_DETAIL, MAX_TIMER_MS, Scheduler, type Fire, type FireResult, type Timers } from '../src/core/scheduler.ts';
import { MAX_SLOTS_PER_PASS } from '../src/core/scheduler-slots.ts';
import { openDb, type OpenedDb } from '../src/store/db.ts';
import { MAX_DETAIL, ScheduleRuns } from '../src/store/schedules.ts';
import { Store } from '../src/store/store.ts';
import { ChatAdapter } from './helpers/chat.ts';
import { scratch } from './helpers/cli.ts';
import { echoModel, quietLog } from './helpers/pipeline.ts';

const dir = mkdtempSync(join(tmpdir(), 'clawdbot-sched-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newDbFile = () => join(dir, `runs-${++files}.db`);

const iso = (ms: number) => new Date(ms).toISOString();
const settle = () => new Promise<void>((r) => setImmediate(r));

/** Virtual time: timers fire only when the test moves the clock, in time order. */
class FakeTime {
  now: number;
  readonly delays: number[] = [];
  readonly #pending = new Map<number, { at: number; fn: () => void }>();
  #seq = 0;
  constructor(start: string) {
    this.now = Date.parse(start);
  }
  readonly timers: Timers = {
    setTimeout: (fn, ms) => {
      // Node fires a timer longer than 2^31-1 ms after 1 ms: the scheduler must never ask for one.
      assert.ok(ms >= 0 && ms <= MAX_TIMER_MS, `timer delay ${ms} out of range`);
      this.delays.push(ms);
      this.#pending.set(++this.#seq, { at: this.now + ms, fn });
      return this.#seq;
    },
    clearTimeout: (h) => {
      this.#pending.delete(h as number);
    },
  };
  get pendingTimers(): number {
    return this.#pending.size;
  }
  /** Moves the clock to `to`, firing each due timer at its time and letting the work it starts settle. */
  async advanceTo(to: string): Promise<void> {
    const end = Date.parse(to);
    for (let fired = 0; ; fired++) {
      assert.ok(fired < 10_000, 'the scheduler keeps re-arming without moving on');
      await settle(); // timers are armed once the work before them has finished
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const t of this.#pending) if (t[1].at <= end && (!first || t[1].at < first[1].at)) first = t;
      if (!first) break;
      this.#pending.delete(first[0]);
      this.now = Math.max(this.now, first[1].at);
      first[1].fn();
    }
    this.now = end;
  }
}

const spec = (over: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  name: 'daily', cron: '0 9 * * *', workflow: 'daily_report', input: '', role: 'User',
  deliver: { platform: 'slack', chatId: 'C123' }, timezone: 'UTC', enabled: true, catchUp: 'latest', maxCatchUp: 10,
  ...over,
});

/** A fire that records "name slot" and succeeds (or answers what `result` says). */
function recorder(result?: (slot: Date) => FireResult | Promise<FireResult>) {
  const calls: string[] = [];
  const fire: Fire = async (s, slot) => {
    calls.push(`${s.name} ${slot.toISOString()}`);
    return result ? result(slot) : { ok: true, detail: `report for ${slot.toISOString()}` };
  };
  return { calls, fire };
}

interface LogLine { level: number; msg: string; [k: string]: unknown }

/** One scheduler "process": its own connection to the database file, a real pino logger into a list. */
function open(file: string, schedules: readonly ScheduleSpec[], time: FakeTime, fire: Fire, stopTimeoutMs?: number) {
  const db: OpenedDb = openDb(file);
  const runs = new ScheduleRuns(db.db);
  const lines: LogLine[] = [];
  const log = pino({ level: 'info', base: undefined }, { write: (s: string) => { lines.push(JSON.parse(s) as LogLine); } });
  const scheduler = new Scheduler({ schedules, runs, fire, log, now: () => time.now, timers: time.timers, ...(stopTimeoutMs !== undefined && { stopTimeoutMs }) });
  const warnings = () => lines.filter((l) => l.level === 40);
  return { db, runs, scheduler, lines, warnings };
}

/** Every row of schedule_runs as "schedule slot status", in slot order. */
function rows(db: OpenedDb): string[] {
  const all = db.db.prepare('SELECT schedule, slot, status FROM schedule_runs ORDER BY schedule, slot').all() as { schedule: string; slot: number; status: string }[];
  return all.map((r) => `${r.schedule} ${iso(r.slot)} ${r.status}`);
}

function detailOf(db: OpenedDb, schedule: string, slot: string): string | null {
  return (db.db.prepare('SELECT detail FROM schedule_runs WHERE schedule = ? AND slot = ?').get(schedule, Date.parse(slot)) as { detail: string | null }).detail;
}

/** Day one: first start at 08:00 (baseline), the 09:00 slot runs; then the process stops. */
async function dayOne(file: string, s: ScheduleSpec): Promise<void> {
  const time = new FakeTime('2026-01-05T08:00:00Z');
  const rec = recorder();
  const p = open(file, [s], time, rec.fire);
  p.scheduler.start();
  await time.advanceTo('2026-01-05T12:00:00Z');
  await p.scheduler.stop();
  p.db.close();
  assert.deepEqual(rec.calls, [`${s.name} 2026-01-05T09:00:00.000Z`]);
}

describe('scheduler', () => {
  it('a first start records a baseline and runs nothing before it; the next slot runs at its time', async () => {
    const time = new FakeTime('2026-01-05T10:00:00Z');
    const rec = recorder();
    const p = open(newDbFile(), [spec()], time, rec.fire);
    p.scheduler.start();
    await p.scheduler.idle();
    assert.deepEqual(rows(p.db), ['daily 2026-01-05T10:00:00.000Z skipped']);
    assert.equal(detailOf(p.db, 'daily', '2026-01-05T10:00:00Z'), BASELINE_DETAIL);
    assert.deepEqual(rec.calls, []);
    assert.deepEqual(time.delays, [23 * 3600_000], 'armed for 09:00 the next day');

    await time.advanceTo('2026-01-06T08:59:59.999Z');
    assert.deepEqual(rec.calls, [], 'not a millisecond early');
    await time.advanceTo('2026-01-06T09:00:00Z');
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, ['daily 2026-01-06T09:00:00.000Z']);
    assert.deepEqual(rows(p.db), ['daily 2026-01-05T10:00:00.000Z skipped', 'daily 2026-01-06T09:00:00.000Z done']);
    assert.equal(detailOf(p.db, 'daily', '2026-01-06T09:00:00Z'), 'report for 2026-01-06T09:00:00.000Z');
    assert.deepEqual(p.warnings(), []);
    await p.scheduler.stop();
    assert.equal(time.pendingTimers, 0, 'stop clears the timers');
    p.db.close();
  });

  it('restart after downtime, catch_up latest: one run for the newest missed slot, the others skipped', async () => {
    const file = newDbFile();
    await dayOne(file, spec());
    const time = new FakeTime('2026-01-08T12:00:00Z'); // 06, 07 and 08 at 09:00 were missed
    const rec = recorder();
    const p = open(file, [spec()], time, rec.fire);
    p.scheduler.start();
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, ['daily 2026-01-08T09:00:00.000Z']);
    assert.deepEqual(rows(p.db), [
      'daily 2026-01-05T08:00:00.000Z skipped',
      'daily 2026-01-05T09:00:00.000Z done',
      'daily 2026-01-06T09:00:00.000Z skipped',
      'daily 2026-01-07T09:00:00.000Z skipped',
      'daily 2026-01-08T09:00:00.000Z done',
    ]);
    assert.match(detailOf(p.db, 'daily', '2026-01-06T09:00:00Z')!, /catch_up: latest ran only the newest, 2026-01-08T09:00:00.000Z/);
    const w = p.warnings();
    assert.equal(w.length, 1, 'one warning for the skipped slots');
    assert.equal(w[0]!.msg, 'scheduled slots missed; recorded as skipped');
    assert.deepEqual([w[0]!.skipped, w[0]!.from, w[0]!.to], [2, '2026-01-06T09:00:00.000Z', '2026-01-07T09:00:00.000Z']);

    await time.advanceTo('2026-01-09T09:00:00Z');
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, ['daily 2026-01-08T09:00:00.000Z', 'daily 2026-01-09T09:00:00.000Z'], 'and on it goes');
    await p.scheduler.stop();
    p.db.close();
  });

  it('restart after downtime, catch_up all: the missed slots run in order, at most max_catch_up (the newest)', async () => {
    for (const [max, ran] of [[10, ['06', '07', '08']], [2, ['07', '08']]] as const) {
      const file = newDbFile();
      const s = spec({ catchUp: 'all', maxCatchUp: max });
      await dayOne(file, s);
      const time = new FakeTime('2026-01-08T12:00:00Z');
      const rec = recorder();
      const p = open(file, [s], time, rec.fire);
      p.scheduler.start();
      await p.scheduler.idle();
      assert.deepEqual(rec.calls, ran.map((d) => `daily 2026-01-${d}T09:00:00.000Z`), `max_catch_up ${max}`);
      const status = (d: string) => (ran.includes(d as never) ? 'done' : 'skipped');
      assert.deepEqual(rows(p.db), [
        'daily 2026-01-05T08:00:00.000Z skipped',
        'daily 2026-01-05T09:00:00.000Z done',
        ...['06', '07', '08'].map((d) => `daily 2026-01-${d}T09:00:00.000Z ${status(d)}`),
      ]);
      assert.equal(p.warnings().length, max === 2 ? 1 : 0, 'a warning only when something was skipped');
      await p.scheduler.stop();
      p.db.close();
    }
  });

  it('restart after downtime, catch_up none: every missed slot is recorded skipped, with one warning; a slot less than a minute old still runs', async () => {
    const file = newDbFile();
    const s = spec({ catchUp: 'none' });
    await dayOne(file, s);
    let time = new FakeTime('2026-01-08T12:00:00Z');
    let rec = recorder();
    let p = open(file, [s], time, rec.fire);
    p.scheduler.start();
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, []);
    assert.deepEqual(rows(p.db).slice(2), [
      'daily 2026-01-06T09:00:00.000Z skipped',
      'daily 2026-01-07T09:00:00.000Z skipped',
      'daily 2026-01-08T09:00:00.000Z skipped',
    ]);
    assert.match(detailOf(p.db, 'daily', '2026-01-08T09:00:00Z')!, /more than 60 s late .*catch_up: none/);
    assert.equal(p.warnings().length, 1);
    assert.equal(p.warnings()[0]!.skipped, 3);
    await p.scheduler.stop();
    p.db.close();

    // A restart 30 s after a slot: that slot is on time, not missed.
    time = new FakeTime('2026-01-09T09:00:30Z');
    rec = recorder();
    p = open(file, [s], time, rec.fire);
    p.scheduler.start();
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, ['daily 2026-01-09T09:00:00.000Z']);
    assert.deepEqual(p.warnings(), []);
    await p.scheduler.stop();
    p.db.close();
  });

  it('two schedulers on one database file: a slot runs once, even when both saw it due', async () => {
    const file = newDbFile();
    const time = new FakeTime('2026-01-05T08:00:00Z');
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const a = recorder(async (slot) => { await gate; return { ok: true, detail: `a ${slot.toISOString()}` }; });
    const b = recorder();
    const pa = open(file, [spec()], time, a.fire);
    const pb = open(file, [spec()], time, b.fire);
    pa.scheduler.start();
    pb.scheduler.start(); // sees a's baseline: no second one
    assert.deepEqual(rows(pa.db), ['daily 2026-01-05T08:00:00.000Z skipped']);

    await time.advanceTo('2026-01-05T09:00:00Z'); // both timers fire; a's run is still going
    release();
    await Promise.all([pa.scheduler.idle(), pb.scheduler.idle()]);
    assert.deepEqual([...a.calls, ...b.calls], ['daily 2026-01-05T09:00:00.000Z']);
    assert.deepEqual(rows(pb.db), ['daily 2026-01-05T08:00:00.000Z skipped', 'daily 2026-01-05T09:00:00.000Z done']);
    await Promise.all([pa.scheduler.stop(), pb.scheduler.stop()]);
    pa.db.close();
    pb.db.close();

    // Both restart after downtime at the same moment. b read the last slot before a claimed the newest
    // one (as a second process can): its claim must lose, and it must not run the slot.
    const later = new FakeTime('2026-01-08T12:00:00Z');
    const a2 = recorder();
    const b2 = recorder();
    const qa = open(file, [spec()], later, a2.fire);
    const qb = open(file, [spec()], later, b2.fire);
    const seenByB = qb.runs.lastSlot('daily');
    qb.runs.lastSlot = () => seenByB;
    qa.scheduler.start();
    qb.scheduler.start();
    await Promise.all([qa.scheduler.idle(), qb.scheduler.idle()]);
    assert.deepEqual(a2.calls, ['daily 2026-01-08T09:00:00.000Z']);
    assert.deepEqual(b2.calls, []);
    assert.ok(qb.lines.some((l) => l.msg.startsWith('slot already claimed')), 'b tried and lost the claim');
    assert.deepEqual(rows(qa.db).slice(2), [
      'daily 2026-01-06T09:00:00.000Z skipped',
      'daily 2026-01-07T09:00:00.000Z skipped',
      'daily 2026-01-08T09:00:00.000Z done',
    ]);
    await Promise.all([qa.scheduler.stop(), qb.scheduler.stop()]);
    qa.db.close();
    qb.db.close();
  });

  it('two processes starting together on one database run a due slot once', async () => {
    const file = newDbFile();
    const base = openDb(file);
    new ScheduleRuns(base.db).skip('daily', [Date.parse('2026-01-05T08:00:00Z')], BASELINE_DETAIL, 0);
    base.close();
    const url = (p: string) => pathToFileURL(join(import.meta.dirname, '..', p)).href;
    // Each process waits for "go" on stdin, so both are ready before either starts.
    const script = `
      import { openDb } from ${JSON.stringify(url('src/store/db.ts'))};
      import { ScheduleRuns } from ${JSON.stringify(url('src/store/schedules.ts'))};
      import { Scheduler } from ${JSON.stringify(url('src/core/scheduler.ts'))};
      const db = openDb(${JSON.stringify(file)});
      const quiet = { info() {}, warn() {}, error() {} };
      const spec = ${JSON.stringify(spec())};
      const s = new Scheduler({ schedules: [spec], runs: new ScheduleRuns(db.db), log: quiet, now: () => Date.parse('2026-01-05T09:00:10Z'),
        fire: async (_, slot) => { process.stdout.write('fired ' + slot.toISOString() + '\\n'); return { ok: true, detail: String(process.pid) }; } });
      process.stdout.write('ready\\n');
      process.stdin.once('data', async () => { s.start(); await s.idle(); await s.stop(); db.close(); process.exit(0); });
    `;
    const children = [0, 1].map(() => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const outputs = children.map((c) => {
      let out = '';
      c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      return {
        ready: new Promise<void>((r) => c.stdout.on('data', () => { if (out.includes('ready')) r(); })),
        done: new Promise<string>((r) => c.on('exit', () => r(out))),
      };
    });
    await Promise.all(outputs.map((o) => o.ready));
    for (const c of children) c.stdin.write('go\n');
    const outs = await Promise.all(outputs.map((o) => o.done));
    const fired = outs.flatMap((o) => o.split('\n').filter((l) => l.startsWith('fired')));
    assert.deepEqual(fired, ['fired 2026-01-05T09:00:00.000Z']);
    const check = openDb(file);
    assert.deepEqual(rows(check), ['daily 2026-01-05T08:00:00.000Z skipped', 'daily 2026-01-05T09:00:00.000Z done']);
    check.close();
  });

  it('a run that was going when the process died is marked failed at the next start, and not run again', async () => {
    const file = newDbFile();
    const time = new FakeTime('2026-01-05T08:00:00Z');
    const hung = recorder(() => new Promise<FireResult>(() => {})); // the process "dies" during this run
    const dead = open(file, [spec()], time, hung.fire);
    dead.scheduler.start();
    await time.advanceTo('2026-01-05T09:00:00Z');
    assert.deepEqual(hung.calls, ['daily 2026-01-05T09:00:00.000Z']);
    assert.deepEqual(rows(dead.db).at(-1), 'daily 2026-01-05T09:00:00.000Z running');
    dead.db.close();

    const later = new FakeTime('2026-01-07T12:00:00Z'); // 06 and 07 were missed too
    const rec = recorder();
    const p = open(file, [spec()], later, rec.fire);
    p.scheduler.start();
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, ['daily 2026-01-07T09:00:00.000Z'], 'the interrupted slot is not repeated');
    assert.deepEqual(rows(p.db), [
      'daily 2026-01-05T08:00:00.000Z skipped',
      'daily 2026-01-05T09:00:00.000Z failed',
      'daily 2026-01-06T09:00:00.000Z skipped',
      'daily 2026-01-07T09:00:00.000Z done',
    ]);
    assert.equal(detailOf(p.db, 'daily', '2026-01-05T09:00:00Z'), INTERRUPTED_DETAIL);
    assert.ok(p.warnings().some((l) => l.msg.startsWith('scheduled run was cut off') && l.slot === '2026-01-05T09:00:00.000Z'));
    await p.scheduler.stop();
    p.db.close();
  });

  it('a failing workflow is recorded failed, with its reason, and the schedule goes on', async () => {
    const time = new FakeTime('2026-01-05T08:00:00Z');
    let n = 0;
    const rec = recorder((slot) => {
      n++;
      if (n === 1) return { ok: false, detail: 'workflow daily_report: step fetch failed (HTTP 502)' };
      if (n === 2) throw new Error('model unreachable');
      return { ok: true, detail: `report for ${slot.toISOString()}` };
    });
    const p = open(newDbFile(), [spec()], time, rec.fire);
    p.scheduler.start();
    await time.advanceTo('2026-01-07T10:00:00Z');
    await p.scheduler.idle();
    assert.equal(rec.calls.length, 3);
    assert.deepEqual(rows(p.db).slice(1), [
      'daily 2026-01-05T09:00:00.000Z failed',
      'daily 2026-01-06T09:00:00.000Z failed',
      'daily 2026-01-07T09:00:00.000Z done',
    ]);
    assert.equal(detailOf(p.db, 'daily', '2026-01-05T09:00:00Z'), 'workflow daily_report: step fetch failed (HTTP 502)');
    assert.equal(detailOf(p.db, 'daily', '2026-01-06T09:00:00Z'), 'model unreachable');
    assert.deepEqual(p.warnings().map((l) => l.msg), ['scheduled run failed', 'scheduled run failed']);
    assert.deepEqual(p.runs.recent(2).map((r) => [iso(r.slot), r.status]), [['2026-01-07T09:00:00.000Z', 'done'], ['2026-01-06T09:00:00.000Z', 'failed']]);
    await p.scheduler.stop();
    p.db.close();
  });

  it('slots in Europe/Berlin across both DST changes', async () => {
    const cases: { cron: string; from: string; to: string; slots: string[] }[] = [
      // 02:30 does not exist on 29 March (02:00 → 03:00): it runs once, at 03:00 CEST.
      { cron: '30 2 * * *', from: '2026-03-27T12:00:00Z', to: '2026-03-31T00:00:00Z', slots: ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'] },
      // 09:00 local is 07:00Z in summer time and 08:00Z after 25 October.
      { cron: '0 9 * * *', from: '2026-10-23T12:00:00Z', to: '2026-10-27T00:00:00Z', slots: ['2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z', '2026-10-26T08:00:00.000Z'] },
      // 02:00-02:59 happens twice on 25 October: an every-30-minutes job runs in both.
      { cron: '*/30 2 * * *', from: '2026-10-24T12:00:00Z', to: '2026-10-25T12:00:00Z', slots: ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z'] },
    ];
    for (const c of cases) {
      const time = new FakeTime(c.from);
      const rec = recorder();
      const p = open(newDbFile(), [spec({ cron: c.cron, timezone: 'Europe/Berlin' })], time, rec.fire);
      p.scheduler.start();
      await time.advanceTo(c.to);
      await p.scheduler.idle();
      assert.deepEqual(rec.calls, c.slots.map((s) => `daily ${s}`), c.cron);
      await p.scheduler.stop();
      p.db.close();
    }
  });

  it('a slot further away than a timer can wait is reached in steps, and runs on time', async () => {
    const time = new FakeTime('2026-01-02T00:00:00Z');
    const rec = recorder();
    const p = open(newDbFile(), [spec({ name: 'new-year', cron: '0 0 1 1 *' })], time, rec.fire);
    p.scheduler.start();
    await time.advanceTo('2026-12-31T23:59:59Z');
    assert.deepEqual(rec.calls, []);
    assert.ok(time.delays.length >= 15, `woke ${time.delays.length} times on the way`);
    await time.advanceTo('2027-01-01T00:00:00Z');
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, ['new-year 2027-01-01T00:00:00.000Z']);
    await p.scheduler.stop();
    p.db.close();
  });

  it('stop aborts runs in flight and waits for them, but not longer than stopTimeoutMs', async () => {
    const time = new FakeTime('2026-01-05T08:00:00Z');
    let releaseStubborn!: () => void;
    const stubbornDone = new Promise<void>((r) => { releaseStubborn = r; });
    const fire: Fire = async (s, _slot, signal) => {
      if (s.name === 'polite') return new Promise<FireResult>((r) => signal.addEventListener('abort', () => r({ ok: false, detail: 'aborted' })));
      await stubbornDone; // ignores the signal
      return { ok: true, detail: 'finished late' };
    };
    const p = open(newDbFile(), [spec({ name: 'polite' }), spec({ name: 'stubborn' })], time, fire, 5000);
    p.scheduler.start();
    await time.advanceTo('2026-01-05T09:00:00Z');
    let stopped = false;
    const stopping = p.scheduler.stop().then(() => { stopped = true; });
    await settle();
    assert.equal(stopped, false, 'waits for the stubborn run');
    assert.deepEqual(rows(p.db).filter((r) => r.includes('09:00')), ['polite 2026-01-05T09:00:00.000Z failed', 'stubborn 2026-01-05T09:00:00.000Z running']);
    assert.equal(detailOf(p.db, 'polite', '2026-01-05T09:00:00Z'), 'stopped by shutdown: aborted');
    await time.advanceTo('2026-01-05T09:00:05Z');
    await stopping;
    assert.ok(p.warnings().some((l) => l.msg.startsWith('scheduled runs still going at stop')));
    assert.equal(time.pendingTimers, 0);
    // The late run still records its outcome while the database is open; nothing new starts.
    releaseStubborn();
    await p.scheduler.idle();
    assert.deepEqual(rows(p.db).filter((r) => r.includes('stubborn')).at(-1), 'stubborn 2026-01-05T09:00:00.000Z done');
    await time.advanceTo('2026-01-06T10:00:00Z');
    assert.equal(rows(p.db).filter((r) => r.includes('2026-01-06')).length, 0);
    p.db.close();
  });

  it('a database failure is logged, the slot passed over, and the schedule does not spin', async () => {
    const time = new FakeTime('2026-01-05T08:00:00Z');
    const rec = recorder();
    const p = open(newDbFile(), [spec()], time, rec.fire);
    p.scheduler.start();
    await p.scheduler.idle();
    p.db.close(); // every later read or write throws
    await time.advanceTo('2026-01-07T10:00:00Z');
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, [], 'nothing runs unclaimed');
    const errors = p.lines.filter((l) => l.level === 50);
    assert.deepEqual(errors.map((l) => l.upTo), ['2026-01-05T09:00:00.000Z', '2026-01-06T09:00:00.000Z', '2026-01-07T09:00:00.000Z']);
    assert.equal(time.delays.length, 4, 'one timer per slot, and one for the next');
    await p.scheduler.stop();
  });

  it('the runs table: a late outcome replaces an interrupted mark; recent runs per schedule; long details capped', () => {
    const db = openDb(newDbFile());
    const runs = new ScheduleRuns(db.db);
    assert.equal(runs.claim('a', 1000, 1), true);
    assert.equal(runs.claim('a', 1000, 2), false);
    assert.deepEqual(runs.interruptRunning(INTERRUPTED_DETAIL, 3).map((r) => [r.schedule, r.slot, r.status]), [['a', 1000, 'failed']]);
    runs.finish('a', 1000, 'done', 'x'.repeat(5000), 4); // the run was alive after all (another process)
    runs.skip('b', [500, 2000], 'missed', 5);
    assert.equal(runs.lastSlot('a'), 1000);
    assert.equal(runs.lastSlot('c'), undefined);
    const [a] = runs.recent(10, 'a');
    assert.deepEqual([a!.status, a!.startedAt, a!.finishedAt, a!.detail!.length, a!.detail!.at(-1)], ['done', 1, 4, MAX_DETAIL, '…']);
    assert.deepEqual(runs.recent(10).map((r) => `${r.schedule}:${r.slot}`), ['b:2000', 'a:1000', 'b:500']);
    db.close();
  });

  it('a disabled schedule does nothing and records nothing', async () => {
    const time = new FakeTime('2026-01-05T08:00:00Z');
    const rec = recorder();
    const p = open(newDbFile(), [spec({ name: 'off', enabled: false }), spec({ name: 'on' })], time, rec.fire);
    p.scheduler.start();
    await time.advanceTo('2026-01-05T10:00:00Z');
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, ['on 2026-01-05T09:00:00.000Z']);
    assert.deepEqual(rows(p.db), ['on 2026-01-05T08:00:00.000Z skipped', 'on 2026-01-05T09:00:00.000Z done']);
    await p.scheduler.stop();
    p.db.close();
  });

  it('far more missed slots than can run: the newest are handled, the rest summed up in the warning', async () => {
    const file = newDbFile();
    const s = spec({ name: 'minutely', cron: '* * * * *', catchUp: 'all', maxCatchUp: 3 });
    const seed = openDb(file);
    new ScheduleRuns(seed.db).skip('minutely', [Date.parse('2026-01-01T00:00:00Z')], BASELINE_DETAIL, 0);
    seed.close();
    const time = new FakeTime('2026-01-08T00:00:30Z'); // a week of minutes: 10080 slots
    const rec = recorder();
    const p = open(file, [s], time, rec.fire);
    p.scheduler.start();
    await p.scheduler.idle();
    assert.deepEqual(rec.calls, ['2026-01-07T23:58', '2026-01-07T23:59', '2026-01-08T00:00'].map((t) => `minutely ${t}:00.000Z`));
    const w = p.warnings();
    assert.equal(w.length, 1);
    assert.equal(w[0]!.msg, 'scheduled slots missed (and more before them); recorded as skipped');
    assert.equal(w[0]!.more, true);
    assert.equal(rows(p.db).length, 1 + MAX_SLOTS_PER_PASS, 'the baseline plus the newest slots looked at');
    assert.equal(rows(p.db)[1], `minutely ${iso(Date.parse('2026-01-08T00:00:00Z') - (MAX_SLOTS_PER_PASS - 1) * 60_000)} skipped`);
    await p.scheduler.stop();
    p.db.close();
  });
});

describe('scheduled runs through the executor', () => {
  /** A real executor and gateway on the config's catalogue; what the schedule delivers lands in `chat.sent`. */
  async function pipeline(yaml: string) {
    const s = scratch();
    const config = loadConfig({ file: s.write('clawdbot.yaml', yaml), env: {}, home: s.dir, cwd: s.dir });
    const store = Store.open(':memory:');
    const log = await quietLog();
    const { sink: metrics, errors } = recordingMetrics();
    const executor = new Executor({ config, store, log, model: echoModel, metrics });
    const chat = new ChatAdapter();
    const adapters = new AdapterRegistry();
    adapters.add(chat);
    const gateway = new Gateway({ config, store, executor, adapters, log });
    const fire = scheduledRun(executor, gateway);
    const delivered = async () => {
      await new Promise((r) => setTimeout(r, 20));
      return chat.sent.map((m) => m.text);
    };
    return { fire, delivered, errors, close: () => { store.close(); s.cleanup(); } };
  }

  it("a schedule that names a command passes its input as the command's arguments", async () => {
    const p = await pipeline([
      'commands:',
      '  disk_usage:',
      '    runner: local',
      '    argv: ["echo", "usage of", "{{path}}"]',
      '    params: { path: { pattern: "^/[A-Za-z0-9/_-]*$" } }',
      '    role: User',
      'workflows:',
      '  say: { steps: [{ reply: "about {{input}}" }] }',
    ].join('\n'));
    const res = await p.fire(spec({ workflow: 'disk_usage', input: '/var', deliver: { platform: 'chat', chatId: 'reports' } }), new Date(), new AbortController().signal);
    assert.equal(res.ok, true, res.detail);
    assert.match((await p.delivered())[0] ?? '', /usage of \/var/);
    // A workflow's input is its {{input}}, never split into words (an apostrophe is fine).
    const wf = await p.fire(spec({ workflow: 'say', input: "today's disks", deliver: { platform: 'chat', chatId: 'reports' } }), new Date(), new AbortController().signal);
    assert.equal(wf.ok, true, wf.detail);
    assert.equal((await p.delivered())[1], "about today's disks");
    p.close();
  });
  it("a command's input with an unclosed quote: a failed run whose reason reaches the chat, as a bad argument's does", async () => {
    const p = await pipeline([
      'commands:',
      '  disk_usage:',
      '    runner: local',
      '    argv: ["echo", "{{path}}"]',
      '    params: { path: { pattern: "^/[A-Za-z0-9/_-]*$" } }',
      '    role: User',
    ].join('\n'));
    const res = await p.fire(spec({ workflow: 'disk_usage', input: "/var's", deliver: { platform: 'chat', chatId: 'reports' } }), new Date(), new AbortController().signal);
    assert.equal(res.ok, false);
    assert.match(res.detail, /failed: .*unclosed/);
    assert.match((await p.delivered())[0] ?? '', /A quote \(\'\) is not closed/);
    assert.ok(p.errors.includes('scheduler'), `a failed slot is a scheduler error (clawdbot_errors_total): ${p.errors.join(', ')}`);
    p.close();
  });
});

describe('scheduled runs: the slot is the time the workflow is about', () => {
  it('{{date}} and {{time}} are those of the slot, also for a slot caught up later', async () => {
    const s = scratch();
    const yaml = ['system: { timezone: Asia/Shanghai }', 'workflows:', '  daily: { steps: [{ reply: "report for {{date}} {{time}}" }] }'].join('\n');
    const config = loadConfig({ file: s.write('clawdbot.yaml', yaml), env: {}, home: s.dir, cwd: s.dir });
    const store = Store.open(':memory:');
    const log = await quietLog();
    const executor = new Executor({ config, store, log, model: echoModel });
    const chat = new ChatAdapter();
    const adapters = new AdapterRegistry();
    adapters.add(chat);
    const fire = scheduledRun(executor, new Gateway({ config, store, executor, adapters, log }));
    const res = await fire(spec({ workflow: 'daily', deliver: { platform: 'chat', chatId: 'reports' } }), new Date('2026-01-05T01:00:00Z'), new AbortController().signal);
    assert.equal(res.ok, true, res.detail);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(chat.sent.map((m) => m.text), ['report for 2026-01-05 09:00']);
    store.close();
    s.cleanup();
  });
});
