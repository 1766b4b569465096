// The `schedules:` list: cron triggers that run a workflow and deliver its result to a chat. Cron
// expressions are checked here, at load, with the same library (croner) that computes the run times, so
// an expression that loads is one the scheduler can use.
import { Cron } from 'croner';
import { array, lazy, nullish, superRefine, type output } from 'zod/mini';
import { ROLES, type Role } from '../policy.ts';
import { bool, intIn, nonEmpty, obj, oneOf, str, text, timezone, val } from './kit.ts';

export const CATCH_UP = ['none', 'latest', 'all'] as const;
export type CatchUp = (typeof CATCH_UP)[number];

/** Upper bound of `max_catch_up`: a schedule never starts more runs than this at once. */
export const MAX_CATCH_UP = 1000;

export interface ScheduleSpec {
  /** The key of its runs in the database: renaming a schedule starts it afresh. */
  readonly name: string;
  readonly cron: string;
  readonly workflow: string;
  /** What the workflow sees as {{input}}. */
  readonly input: string;
  /** The role the workflow runs with (policy checks apply as for a person with that role). */
  readonly role: Role;
  readonly deliver: { readonly platform: string; readonly chatId: string; readonly threadId?: string };
  /** IANA zone the cron expression is read in. */
  readonly timezone: string;
  readonly enabled: boolean;
  /** What to do with slots that passed while clawdbot was stopped (see scheduler.ts). */
  readonly catchUp: CatchUp;
  /** With catch_up: all, the most runs started for missed slots (the newest ones). */
  readonly maxCatchUp: number;
}

const EXPECTED_CRON = 'a cron expression: 5 fields (minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5"), 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly';

/** Parses a checked expression (croner's "5-or-6-parts" mode: no year field). Throws on a bad one. */
export function cronOf(expr: string, tz: string): Cron {
  return new Cron(expr, { timezone: tz, mode: '5-or-6-parts', paused: true });
}

/** The name a schedule is stored under: as written, else workflow@cron. */
const nameOf = (s: { name?: string | null; workflow: string; cron: string }) => s.name ?? `${s.workflow}@${s.cron}`;

/**
 * The same name as an earlier entry, read from what was written (the refinement runs even when some
 * entry has other problems, so the values here may be unchecked input).
 */
function duplicateNames(list: unknown, ctx: { addIssue(i: { code: 'custom'; path: (string | number)[]; message: string }): void }): void {
  if (!Array.isArray(list)) return;
  const seen = new Map<string, number>();
  list.forEach((entry: unknown, i) => {
    if (entry === null || typeof entry !== 'object') return;
    const e = entry as Record<string, unknown>;
    const written = e.name == null ? undefined : nonEmpty(e.name);
    const workflow = str(e.workflow)?.trim();
    const expr = str(e.cron)?.trim();
    if (written === undefined && (e.name != null || !workflow || !expr)) return;
    const name = written ?? nameOf({ workflow: workflow!, cron: expr! });
    const first = seen.get(name);
    if (first === undefined) {
      seen.set(name, i);
      return;
    }
    const hint = written === undefined ? ' (the default name is workflow@cron; add name: to tell them apart)' : '';
    ctx.addIssue({ code: 'custom', path: written === undefined ? [i] : [i, 'name'], message: `expected a unique schedule name, got ${JSON.stringify(name)} again, as in schedules[${first}]${hint}` });
  });
}

// The schemas are built on first use (lazy below): building them costs time at every start,
// which a config without `schedules:` should not pay.
function listSchema() {
  const cron = val(EXPECTED_CRON, (v) => {
    const expr = typeof v === 'string' ? v.trim() : '';
    if (!expr.startsWith('@') && ![5, 6].includes(expr.split(/\s+/).length)) return undefined;
    let c: Cron;
    try {
      c = cronOf(expr, 'UTC');
    } catch (err) {
      // croner says which field is wrong ("CronPattern: Invalid value for minute: 61"); keep that part.
      throw new Error(`expected ${EXPECTED_CRON}: ${(err as Error).message.replace(/^CronPattern: /, '')}`);
    }
    // "0 0 30 2 *" parses but never happens: a schedule that can never run is a mistake, not a plan.
    if (c.nextRun() === null) throw new Error(`expected ${EXPECTED_CRON} that matches some date; this one never does`);
    return expr;
  });

  // Same form as action names in schema.ts: the workflow is looked up by this name.
  const WORKFLOW_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
  const workflowRef = val('a workflow name (letters, digits, _ . -)', (v) => (typeof v === 'string' && WORKFLOW_NAME.test(v.trim()) ? v.trim() : undefined));

  // YAML reads an unquoted 1700000000.000100 (a Slack thread) as a number and drops its trailing zeros:
  // such an id would name another thread (or none), so only whole numbers may go unquoted.
  const id = (what: string) => val(what, (v) => {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`expected ${what} in quotes, got the number ${v} (YAML drops the trailing zeros of 1700000000.000100)`);
    return nonEmpty(v);
  });

  const schedule = obj({
    name: nullish(val('a schedule name', nonEmpty)),
    cron,
    workflow: workflowRef,
    input: nullish(text('the text the workflow sees as {{input}}')),
    role: nullish(oneOf(ROLES)),
    deliver: obj({
      platform: val('a platform id like slack or telegram', (v) => nonEmpty(v)?.toLowerCase()),
      chat: id('a chat id (a number or a string)'),
      thread: nullish(id('a thread id (a number or a string)')),
    }),
    timezone: nullish(timezone),
    enabled: nullish(bool),
    catch_up: nullish(oneOf(CATCH_UP)),
    max_catch_up: nullish(intIn(1, MAX_CATCH_UP)),
  }).check(superRefine((s, ctx) => {
    if (s.max_catch_up != null && s.catch_up !== 'all') {
      ctx.addIssue({ code: 'custom', path: ['max_catch_up'], message: `expected max_catch_up only with catch_up: all, got catch_up: ${s.catch_up ?? 'latest (the default)'}` });
    }
  }));

  return array(schedule, { error: 'expected a list of schedules (- { cron: "0 9 * * 1-5", workflow: NAME, deliver: { platform: slack, chat: "C123" } })' })
    .check(superRefine(duplicateNames, { when: () => true }));
}

export const schedulesList = lazy(listSchema);
export type RawSchedules = output<ReturnType<typeof listSchema>>;
export type RawSchedule = RawSchedules[number];

/** Defaults filled in: enabled, input "", role User (more only when the config says so), catch_up latest. */
export function compileSchedules(raw: RawSchedules, ctx: { readonly timezone: string }): ScheduleSpec[] {
  return raw.map((s) => ({
    name: nameOf(s),
    cron: s.cron,
    workflow: s.workflow,
    input: s.input ?? '',
    role: s.role ?? 'User',
    deliver: {
      platform: s.deliver.platform,
      chatId: s.deliver.chat,
      ...(s.deliver.thread != null && { threadId: s.deliver.thread }),
    },
    timezone: s.timezone ?? ctx.timezone,
    enabled: s.enabled ?? true,
    catchUp: s.catch_up ?? 'latest',
    maxCatchUp: s.max_catch_up ?? 10,
  }));
}
