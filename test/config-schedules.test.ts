// The `schedules:` section: the issue's format loads as written, defaults are filled in, and each
// mistake is reported the way `clawdbot doctor` shows it (file:line:col, key path, what was expected).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nullish } from 'zod/mini';
import { parseYaml } from '../src/core/config/document.ts';
import { obj } from '../src/core/config/kit.ts';
import { issuesToProblems, sortByPosition } from '../src/core/config/problems.ts';
import { compileSchedules, schedulesList, type ScheduleSpec } from '../src/core/config/schedules.ts';

// The section as the top-level schema will hold it (`schedules: nullish(schedulesList)`).
const section = obj({ schedules: nullish(schedulesList) });

function parse(text: string) {
  const f = parseYaml(text, '/cfg/c.yaml', 'c.yaml', {});
  assert.deepEqual(f.problems, [], 'the YAML itself is fine');
  return { f, r: section.safeParse(f.source.data) };
}

function problems(text: string): string[] {
  const { f, r } = parse(text);
  assert.equal(r.success, false, 'the config should not load');
  return r.success ? [] : sortByPosition(issuesToProblems(r.error.issues, f.source));
}

function compile(text: string, timezone = 'Asia/Shanghai'): ScheduleSpec[] {
  const { f, r } = parse(text);
  assert.ok(r.success, r.success ? '' : issuesToProblems(r.error.issues, f.source).join('\n'));
  return compileSchedules(r.data.schedules ?? [], { timezone });
}

describe('config: schedules', () => {
  it("the issue's example loads as written, with the defaults filled in", () => {
    const specs = compile('schedules:\n  - { cron: "0 9 * * 1-5", workflow: daily_report, deliver: { platform: slack, chat: "C123" } }\n');
    assert.deepEqual(specs, [{
      name: 'daily_report@0 9 * * 1-5',
      cron: '0 9 * * 1-5',
      workflow: 'daily_report',
      input: '',
      role: 'User',
      deliver: { platform: 'slack', chatId: 'C123' },
      timezone: 'Asia/Shanghai',
      enabled: true,
      catchUp: 'latest',
      maxCatchUp: 10,
    }]);
  });

  it('every key, written out', () => {
    const specs = compile([
      'schedules:',
      '  - name: weekly',
      '    cron: "30 0 8 * * MON"', // 6 fields: seconds first
      '    workflow: weekly_digest',
      '    input: "last week"',
      '    role: Operator',
      '    deliver: { platform: Telegram, chat: -1001234, thread: 7 }',
      '    timezone: Europe/Berlin',
      '    enabled: false',
      '    catch_up: all',
      '    max_catch_up: 3',
      '  - { cron: "@hourly", workflow: ping, deliver: { platform: slack, chat: C9 }, catch_up: none }',
    ].join('\n'));
    assert.deepEqual(specs[0], {
      name: 'weekly', cron: '30 0 8 * * MON', workflow: 'weekly_digest', input: 'last week', role: 'Operator',
      deliver: { platform: 'telegram', chatId: '-1001234', threadId: '7' },
      timezone: 'Europe/Berlin', enabled: false, catchUp: 'all', maxCatchUp: 3,
    });
    assert.equal(specs[1]!.name, 'ping@@hourly');
    assert.equal(specs[1]!.catchUp, 'none');
  });

  it('a bad cron expression is reported at its key, with the expected form', () => {
    const expected = 'expected a cron expression: 5 fields (minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5"), 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly';
    assert.deepEqual(problems([
      'schedules:',
      '  - { cron: "0 9 * *", workflow: a, deliver: { platform: slack, chat: C1 } }',
      '  - { cron: "61 9 * * *", workflow: b, deliver: { platform: slack, chat: C1 } }',
      '  - { cron: "0 0 30 2 *", workflow: c, deliver: { platform: slack, chat: C1 } }',
      '  - { cron: "0 0 9 1 1 * 2027", workflow: d, deliver: { platform: slack, chat: C1 } }',
    ].join('\n')), [
      `c.yaml:2:13: schedules[0].cron: ${expected}, got "0 9 * *"`,
      `c.yaml:3:13: schedules[1].cron: ${expected}: Invalid value for minute: 61, got "61 9 * * *"`,
      `c.yaml:4:13: schedules[2].cron: ${expected} that matches some date; this one never does, got "0 0 30 2 *"`,
      `c.yaml:5:13: schedules[3].cron: ${expected}, got "0 0 9 1 1 * 2027"`,
    ]);
  });

  it('an unknown role, a missing deliver and a wrong catch_up say what is accepted', () => {
    assert.deepEqual(problems([
      'schedules:',
      '  - cron: "0 9 * * *"',
      '    workflow: report',
      '    role: Root',
      '    catch_up: sometimes',
    ].join('\n')), [
      'c.yaml:2:5: schedules[0].deliver: expected a mapping with keys platform, chat, thread, got nothing (the key is missing)',
      'c.yaml:4:11: schedules[0].role: expected one of Admin, Operator, Auditor, User, got "Root"',
      'c.yaml:5:15: schedules[0].catch_up: expected one of none, latest, all, got "sometimes"',
    ]);
  });

  it('two schedules with one name are an error, whether the name is written or the default', () => {
    assert.deepEqual(problems([
      'schedules:',
      '  - { name: daily, cron: "0 9 * * *", workflow: a, deliver: { platform: slack, chat: C1 } }',
      '  - { name: daily, cron: "0 10 * * *", workflow: b, deliver: { platform: slack, chat: C1 } }',
      '  - { cron: "0 9 * * *", workflow: a, deliver: { platform: slack, chat: C1 } }',
      '  - { cron: "0 9 * * *", workflow: a, deliver: { platform: telegram, chat: 42 }, role: Root }',
    ].join('\n')), [
      'c.yaml:3:13: schedules[1].name: expected a unique schedule name, got "daily" again, as in schedules[0]',
      // Reported even though this entry has another problem: each mistake is shown at once.
      'c.yaml:5:5: schedules[3]: expected a unique schedule name, got "a@0 9 * * *" again, as in schedules[2] (the default name is workflow@cron; add name: to tell them apart)',
      'c.yaml:5:88: schedules[3].role: expected one of Admin, Operator, Auditor, User, got "Root"',
    ]);
  });

  it('an unknown key suggests the right one; max_catch_up belongs to catch_up: all', () => {
    assert.deepEqual(problems([
      'schedules:',
      '  - cron: "0 9 * * *"',
      '    workflow: report',
      '    catchup: none',
      '    deliver: { platform: slack, chat: C1, thred: T1 }',
      '  - cron: "0 9 * * *"',
      '    workflow: other',
      '    deliver: { platform: slack, chat: C1 }',
      '    max_catch_up: 5',
    ].join('\n')), [
      'c.yaml:4:5: schedules[0].catchup: unknown key, did you mean `catch_up`? (expected one of: name, cron, workflow, input, role, deliver, timezone, enabled, catch_up, max_catch_up)',
      'c.yaml:5:43: schedules[0].deliver.thred: unknown key, did you mean `thread`? (expected one of: platform, chat, thread)',
      'c.yaml:9:19: schedules[1].max_catch_up: expected max_catch_up only with catch_up: all, got catch_up: latest (the default)',
    ]);
  });

  it('a Slack thread written as a bare number is refused (YAML would drop its trailing zeros); whole numbers load', () => {
    assert.deepEqual(problems('schedules:\n  - { cron: "0 9 * * *", workflow: a, deliver: { platform: slack, chat: C1, thread: 1700000000.000100 } }\n'), [
      'c.yaml:2:85: schedules[0].deliver.thread: expected a thread id (a number or a string) in quotes, got the number 1700000000.0001 (YAML drops the trailing zeros of 1700000000.000100)',
    ]);
    const [s] = compile('schedules:\n  - { cron: "0 9 * * *", workflow: a, deliver: { platform: telegram, chat: -1001234567890, thread: 42 } }\n');
    assert.deepEqual(s!.deliver, { platform: 'telegram', chatId: '-1001234567890', threadId: '42' });
  });

  it('schedules must be a list', () => {
    assert.deepEqual(problems('schedules:\n  daily: { cron: "0 9 * * *" }\n'), [
      'c.yaml:2:3: schedules: expected a list of schedules (- { cron: "0 9 * * 1-5", workflow: NAME, deliver: { platform: slack, chat: "C123" } }), got a mapping',
    ]);
  });
});
