// Runs of scheduled workflows, one row per slot (a time the cron expression named). The primary key
// (schedule, slot) is what makes "never twice" hold: a slot is claimed by inserting its row, and only
// the caller whose insert went in runs it, whichever process or restart that is.
import type { Db } from './db.ts';

export type RunStatus = 'running' | 'done' | 'failed' | 'skipped';

export interface ScheduleRun {
  readonly schedule: string;
  /** The slot's time, ms since epoch. */
  readonly slot: number;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly finishedAt?: number;
  readonly detail?: string;
}

interface RawRun { schedule: string; slot: number; status: RunStatus; started_at: number; finished_at: number | null; detail: string | null }

const toRun = (r: RawRun): ScheduleRun => ({
  schedule: r.schedule, slot: r.slot, status: r.status, startedAt: r.started_at,
  ...(r.finished_at === null ? {} : { finishedAt: r.finished_at }),
  ...(r.detail === null ? {} : { detail: r.detail }),
});

/** A workflow's result can be a whole report; the row keeps what a listing shows. */
export const MAX_DETAIL = 2000;

function cap(s: string): string {
  if (s.length <= MAX_DETAIL) return s;
  let end = MAX_DETAIL - 1;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--; // never keep half of a surrogate pair
  return `${s.slice(0, end)}…`;
}

export class ScheduleRuns {
  readonly #claim;
  readonly #finish;
  readonly #skip;
  readonly #skipAll: (schedule: string, slots: readonly number[], detail: string, now: number) => void;
  readonly #last;
  readonly #interrupt;
  readonly #recent;
  readonly #recentOf;
  readonly #prune;

  constructor(db: Db) {
    this.#claim = db.prepare(
      `INSERT INTO schedule_runs (schedule, slot, status, started_at) VALUES (?, ?, 'running', ?)
       ON CONFLICT (schedule, slot) DO NOTHING`,
    );
    // Not conditional on 'running': if another process marked this run interrupted while it was still
    // going (see interruptRunning), the real outcome replaces that guess.
    this.#finish = db.prepare(`UPDATE schedule_runs SET status = ?, finished_at = ?, detail = ? WHERE schedule = ? AND slot = ?`);
    this.#skip = db.prepare(
      `INSERT INTO schedule_runs (schedule, slot, status, started_at, finished_at, detail) VALUES (?, ?, 'skipped', ?, ?, ?)
       ON CONFLICT (schedule, slot) DO NOTHING`,
    );
    this.#skipAll = db.transaction((schedule: string, slots: readonly number[], detail: string, now: number) => {
      for (const slot of slots) this.#skip.run(schedule, slot, now, now, detail);
    });
    this.#last = db.prepare(`SELECT max(slot) AS slot FROM schedule_runs WHERE schedule = ?`);
    this.#interrupt = db.prepare(
      `UPDATE schedule_runs SET status = 'failed', finished_at = ?, detail = ? WHERE status = 'running'
       RETURNING schedule, slot, status, started_at, finished_at, detail`,
    );
    const cols = 'schedule, slot, status, started_at, finished_at, detail';
    this.#recent = db.prepare(`SELECT ${cols} FROM schedule_runs ORDER BY slot DESC, schedule LIMIT ?`);
    // The newest row of each schedule stays whatever its age: it is where the next start counts from.
    this.#prune = db.prepare(
      `DELETE FROM schedule_runs WHERE slot < ? AND status <> 'running'
         AND slot < (SELECT max(slot) FROM schedule_runs r WHERE r.schedule = schedule_runs.schedule)`,
    );
    this.#recentOf = db.prepare(`SELECT ${cols} FROM schedule_runs WHERE schedule = ? ORDER BY slot DESC LIMIT ?`);
  }

  /** Records the slot as running; true when this caller got it (false: it was claimed or recorded already). */
  claim(schedule: string, slot: number, now: number): boolean {
    return this.#claim.run(schedule, slot, now).changes === 1;
  }

  finish(schedule: string, slot: number, status: 'done' | 'failed', detail: string, now: number): void {
    this.#finish.run(status, now, cap(detail), schedule, slot);
  }

  /** Records slots that will not run (in one transaction); slots already recorded keep their row. */
  skip(schedule: string, slots: readonly number[], detail: string, now: number): void {
    this.#skipAll(schedule, slots, cap(detail), now);
  }

  /** The newest slot recorded for the schedule, whatever its status; undefined for a schedule never seen. */
  lastSlot(schedule: string): number | undefined {
    return (this.#last.get(schedule) as { slot: number | null }).slot ?? undefined;
  }

  /**
   * Marks every run still `running` as failed: at start-up these are runs a previous process did not
   * finish. They are not repeated (the workflow may have done part of its work). Returns them.
   */
  interruptRunning(detail: string, now: number): ScheduleRun[] {
    return (this.#interrupt.all(now, cap(detail)) as RawRun[]).map(toRun);
  }

  /** The newest runs, of one schedule or of all, newest slot first (for doctor and the CLI). */
  /** Deletes runs with slots before `before`, keeping each schedule's newest row; returns how many. */
  prune(before: number): number {
    return this.#prune.run(before).changes;
  }

  recent(limit: number, schedule?: string): ScheduleRun[] {
    const rows = schedule === undefined ? this.#recent.all(limit) : this.#recentOf.all(schedule, limit);
    return (rows as RawRun[]).map(toRun);
  }
}
