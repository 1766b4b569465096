// Cron schedules that run a workflow: timers for the next slot of each schedule, catch-up after
// downtime, and every run recorded in schedule_runs so that no slot runs twice and none is skipped
// without a trace.
//
// Each schedule is handled by one serial loop: wake (timer), take every slot due since the last one
// handled (claimed or recorded, in this process or another on the same database), run or skip them per
// catch_up (scheduler-slots.ts; a slot less than a minute late is on time and runs under every policy),
// then arm a timer for the next slot. A run is claimed in the database
// before `fire` is called; only the caller whose claim went in runs it. So two processes on one
// database, or a restart, never run a slot twice.
//
// The first start of a schedule (no row under its name) records a baseline: a `skipped` row whose slot
// is the moment of that start (not a cron time), detail "baseline". Slots before it are never run (the
// schedule did not exist then); downtime after it is caught up on the next start. Renaming a schedule
// (or changing the cron of one without a `name:`) makes a new schedule with its own baseline.
//
// A run still `running` at start-up was cut off by a crash or a stop that could not wait for it: it is
// marked failed ("interrupted") and not repeated, since the workflow may have done part of its work. (A
// second process started while the first is mid-run marks that run so too; the first one's outcome
// replaces the mark when it finishes.)
//
// A disabled schedule does nothing and records nothing; when it is enabled again, the slots that passed
// meanwhile are handled by catch_up like downtime.
import type { Cron } from 'croner';
import { cronOf, type ScheduleSpec } from './config/schedules.ts';
import { dueSlots, planSlots, skipDetail } from './scheduler-slots.ts';
import type { ScheduleRuns } from '../store/schedules.ts';

export interface FireResult {
  readonly ok: boolean;
  /** Stored with the run (capped): what was delivered, or why it failed. */
  readonly detail: string;
}

/** Runs the schedule's workflow for `slot` (policy checks included) and queues the result for delivery. */
export type Fire = (spec: ScheduleSpec, slot: Date, signal: AbortSignal) => Promise<FireResult>;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The part of a pino Logger used here. */
export interface SchedulerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SchedulerDeps {
  readonly schedules: readonly ScheduleSpec[];
  readonly runs: ScheduleRuns;
  readonly fire: Fire;
  readonly log: SchedulerLog;
  /** ms since epoch (tests move it). */
  readonly now?: () => number;
  readonly timers?: Timers;
  /** How long stop() waits for runs in flight after aborting them (default 10 s, as serve's shutdown). */
  readonly stopTimeoutMs?: number;
}

/** setTimeout fires at once for longer delays; a far slot is reached in steps of at most this. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const BASELINE_DETAIL = 'baseline: first start of this schedule; slots before it are not run';
export const INTERRUPTED_DETAIL = 'interrupted: clawdbot stopped during this run; not repeated';

const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface Entry {
  readonly spec: ScheduleSpec;
  readonly cron: Cron;
  /** Newest slot handled (run, skipped, or found claimed by another process), ms. */
  last: number;
  timer: unknown;
  /** The serial loop, while it is working. */
  busy: Promise<void> | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class Scheduler {
  readonly #entries: readonly Entry[];
  readonly #runs: ScheduleRuns;
  readonly #fire: Fire;
  readonly #log: SchedulerLog;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #stopTimeoutMs: number;
  readonly #abort = new AbortController();
  #state: 'new' | 'started' | 'stopped' = 'new';

  constructor(deps: SchedulerDeps) {
    this.#runs = deps.runs;
    this.#fire = deps.fire;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#timers = deps.timers ?? nodeTimers;
    this.#stopTimeoutMs = deps.stopTimeoutMs ?? 10_000;
    this.#entries = deps.schedules
      .filter((s) => s.enabled)
      .map((spec) => ({ spec, cron: cronOf(spec.cron, spec.timezone), last: 0, timer: undefined, busy: undefined }));
  }

  /**
   * Marks runs left `running` by a previous process as failed, records baselines, then starts each
   * schedule's loop (catch-up runs proceed in the background). Throws only if the database does.
   */
  start(): void {
    if (this.#state !== 'new') throw new Error(`the scheduler was already ${this.#state}`);
    this.#state = 'started';
    const now = this.#now();
    for (const r of this.#runs.interruptRunning(INTERRUPTED_DETAIL, now)) {
      this.#log.warn({ schedule: r.schedule, slot: iso(r.slot) }, 'scheduled run was cut off when clawdbot last stopped; marked failed, not repeated');
    }
    for (const e of this.#entries) {
      const last = this.#runs.lastSlot(e.spec.name);
      if (last === undefined) {
        this.#runs.skip(e.spec.name, [now], BASELINE_DETAIL, now);
        this.#log.info({ schedule: e.spec.name, cron: e.spec.cron, timezone: e.spec.timezone }, 'new schedule: runs from now on');
      }
      e.last = last ?? now;
    }
    for (const e of this.#entries) this.#wake(e);
  }

  /** Clears the timers, aborts runs in flight and waits for them, at most stopTimeoutMs. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    for (const e of this.#entries) this.#disarm(e);
    this.#abort.abort();
    const busy = this.#entries.flatMap((e) => (e.busy ? [e.busy] : []));
    if (busy.length === 0) return;
    let timer: unknown;
    const timedOut = await Promise.race([
      Promise.allSettled(busy).then(() => false),
      new Promise<boolean>((resolve) => { timer = this.#timers.setTimeout(() => resolve(true), this.#stopTimeoutMs); }),
    ]);
    this.#timers.clearTimeout(timer);
    if (timedOut) this.#log.warn({ runs: busy.length, waitedMs: this.#stopTimeoutMs }, 'scheduled runs still going at stop; unless they finish, the next start marks them interrupted');
  }

  /** Resolves once no schedule is working (every run started so far has been recorded). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = this.#entries.flatMap((e) => (e.busy ? [e.busy] : []));
      if (busy.length === 0) return;
      await Promise.allSettled(busy);
    }
  }

  #wake(e: Entry): void {
    e.timer = undefined;
    if (this.#state !== 'started' || e.busy) return;
    e.busy = this.#drain(e).then(() => {
      e.busy = undefined;
      this.#arm(e);
    });
  }

  #arm(e: Entry): void {
    if (this.#state !== 'started') return;
    const next = e.cron.nextRun(new Date(e.last));
    if (!next) {
      this.#log.info({ schedule: e.spec.name }, 'schedule has no further slots');
      return;
    }
    // A slot already due (it came while the loop was finishing) gives a delay of 0: handled at once.
    const delay = Math.min(Math.max(next.getTime() - this.#now(), 0), MAX_TIMER_MS);
    e.timer = this.#timers.setTimeout(() => this.#wake(e), delay);
  }

  #disarm(e: Entry): void {
    if (e.timer !== undefined) this.#timers.clearTimeout(e.timer);
    e.timer = undefined;
  }

  /** Handles due slots until none is left. Never rejects: a failure is logged and the slots passed over. */
  async #drain(e: Entry): Promise<void> {
    while (this.#state === 'started') {
      const now = this.#now();
      try {
        if (!(await this.#pass(e, now))) return;
      } catch (err) {
        // The database failed. Passing over the slots due so far (the log says which) and waiting for the
        // next one keeps the loop from retrying them at once, again and again.
        e.last = Math.max(e.last, now);
        this.#log.error({ schedule: e.spec.name, err, upTo: iso(now) }, 'schedule bookkeeping failed; slots due until now are passed over');
        return;
      }
    }
  }

  /** Runs or skips the slots due at `now`; false when none was due (or the scheduler stopped). */
  async #pass(e: Entry, now: number): Promise<boolean> {
    const { name } = e.spec;
    // The database is asked too: another process on it may have handled newer slots.
    e.last = Math.max(e.last, this.#runs.lastSlot(name) ?? e.last);
    const due = dueSlots(e.cron, e.last, now);
    if (due.slots.length === 0) return false;
    const { run, skip } = planSlots(due.slots, now, e.spec);
    if (skip.length > 0) {
      this.#runs.skip(name, skip, skipDetail(e.spec, run), now);
      this.#log.warn(
        { schedule: name, catchUp: e.spec.catchUp, skipped: skip.length, more: due.more, from: iso(skip[0]!), to: iso(skip.at(-1)!), running: run.length },
        due.more ? 'scheduled slots missed (and more before them); recorded as skipped' : 'scheduled slots missed; recorded as skipped',
      );
    }
    for (const slot of run) {
      if (this.#state !== 'started') return false;
      await this.#runSlot(e, slot);
    }
    e.last = Math.max(e.last, due.slots.at(-1)!);
    return true;
  }

  async #runSlot(e: Entry, slot: number): Promise<void> {
    const { name } = e.spec;
    if (!this.#runs.claim(name, slot, this.#now())) {
      this.#log.info({ schedule: name, slot: iso(slot) }, 'slot already claimed (another process on this database); not run here');
      return;
    }
    let result: FireResult;
    try {
      result = await this.#fire(e.spec, new Date(slot), this.#abort.signal);
    } catch (err) {
      result = { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
    const detail = !result.ok && this.#abort.signal.aborted ? `stopped by shutdown: ${result.detail}` : result.detail;
    this.#runs.finish(name, slot, result.ok ? 'done' : 'failed', detail, this.#now());
    if (result.ok) this.#log.info({ schedule: name, slot: iso(slot), workflow: e.spec.workflow }, 'scheduled run done');
    else this.#log.warn({ schedule: name, slot: iso(slot), workflow: e.spec.workflow, detail }, 'scheduled run failed');
  }
}
