// Slot arithmetic of the scheduler, kept free of timers and the database: which slots are due, and which
// of them run or are skipped under a schedule's catch-up policy.
import type { Cron } from 'croner';
import { MAX_CATCH_UP, type ScheduleSpec } from './config/schedules.ts';

/**
 * A slot handled at most this long after its time is on time: it runs whatever the catch-up policy
 * (a restart during the minute of a slot, or a timer that fired a little late, loses nothing). Older
 * slots are "missed", and catch_up decides.
 */
export const LATE_AFTER_MS = 60_000;

/**
 * Most slots looked at in one pass (as many as catch_up: all may run). Far more can pass while clawdbot
 * is down (a per-second schedule over a weekend); only the newest can run, and recording every older one
 * as skipped would only fill the table, so the warning reports those as "more".
 */
export const MAX_SLOTS_PER_PASS = MAX_CATCH_UP;

export interface Due {
  /** Slot times (ms), oldest first. */
  readonly slots: readonly number[];
  /** Older due slots exist beyond `slots` (more than MAX_SLOTS_PER_PASS were due). */
  readonly more: boolean;
}

/** The slots after `after` and at or before `now`: all of them, or the newest MAX_SLOTS_PER_PASS when there are more. */
export function dueSlots(cron: Cron, after: number, now: number): Due {
  const slots: number[] = [];
  let t = after;
  // Walk forward from the last slot handled: the usual case is zero or one slot, found in one step.
  while (slots.length <= MAX_SLOTS_PER_PASS) {
    const next = cron.nextRun(new Date(t))?.getTime();
    if (next === undefined || next > now) return { slots, more: false };
    slots.push(next);
    t = next;
  }
  // More than MAX_SLOTS_PER_PASS slots passed; walk back from now instead of through all of them. croner counts a
  // run earlier in the same second as the reference, so now + 1 includes a slot at exactly now.
  return { slots: cron.previousRuns(MAX_SLOTS_PER_PASS, new Date(now + 1)).map((d) => d.getTime()).reverse(), more: true };
}

export interface Plan {
  /** Slots to run, oldest first. */
  readonly run: readonly number[];
  /** Slots recorded as skipped. */
  readonly skip: readonly number[];
}

/**
 * none: only on-time slots run; latest: the newest due slot runs; all: the newest max_catch_up run (in
 * order). Everything else is skipped. `latest` is `all` with max_catch_up 1: when not every slot can
 * run, the newest ones are the ones that matter.
 */
export function planSlots(due: readonly number[], now: number, spec: Pick<ScheduleSpec, 'catchUp' | 'maxCatchUp'>): Plan {
  const wanted =
    spec.catchUp === 'none' ? due.filter((s) => now - s <= LATE_AFTER_MS).length
    : spec.catchUp === 'latest' ? 1
    : spec.maxCatchUp;
  const cut = due.length - Math.min(wanted, due.length);
  return { run: due.slice(cut), skip: due.slice(0, cut) };
}

/** The detail stored with skipped slots: why they did not run. */
export function skipDetail(spec: Pick<ScheduleSpec, 'catchUp' | 'maxCatchUp'>, run: readonly number[]): string {
  switch (spec.catchUp) {
    case 'none': return `missed: more than ${LATE_AFTER_MS / 1000} s late (clawdbot was stopped or busy); catch_up: none runs no missed slot`;
    case 'latest': return `missed (clawdbot was stopped or busy); catch_up: latest ran only the newest, ${new Date(run[0]!).toISOString()}`;
    case 'all': return `missed (clawdbot was stopped or busy); catch_up: all runs at most the newest ${spec.maxCatchUp} (max_catch_up)`;
  }
}
