// What a schedule's slot does: the named workflow runs through the executor as the schedule (its
// `role`, policy-checked and audited like anyone), and the result — or why there is none — goes to the
// configured chat through the durable outbox.
import { splitArgs } from './commands/params.ts';
import type { ScheduleSpec } from './config/schedules.ts';
import { ExecError } from './errors.ts';
import type { Executor } from './executor.ts';
import type { Gateway } from './gateway.ts';
import type { Fire } from './scheduler.ts';
import type { Turn } from './turn.ts';
import type { ActionResult } from './types.ts';

/** The platform name schedules act under in roles, audit records and logs. */
export const SCHEDULE_PLATFORM = 'schedule';

export function scheduledRun(executor: Executor, gateway: Pick<Gateway, 'announce'>): Fire {
  return async (s: ScheduleSpec, slot: Date, signal: AbortSignal) => {
    const { platform, chatId, threadId } = s.deliver;
    const announce = (m: Parameters<Turn['announce']>[0]) => gateway.announce(m);
    const turn: Turn = {
      message: {
        platform, id: `schedule:${s.name}:${slot.getTime()}`, chat: { id: chatId, type: 'channel' }, sender: { id: s.name },
        text: s.input, sentAt: slot.getTime(), attachments: [], ...(threadId === undefined ? {} : { threadId }),
      },
      identity: { platform: SCHEDULE_PLATFORM, id: s.name, role: s.role },
      history: async () => [],
      signal,
      onDelta: undefined,
      conversation: `${platform}:${chatId}`,
      announce,
      at: slot.getTime(),
    };
    // A command takes the input's words as its arguments (as if typed after its name); for a workflow or
    // an action the input is only {{input}} (and may hold an apostrophe splitArgs would refuse).
    let result: ActionResult;
    try {
      const args = executor.catalogue.get(s.workflow)?.kind === 'command' ? splitArgs(s.input) : [];
      result = await executor.run(s.workflow, turn, args);
    } catch (err) {
      // An unclosed quote in the input: said in the chat like any argument the command refuses.
      if (!(err instanceof ExecError)) throw err;
      result = { status: 'failed', text: err.userText, error: err };
    }
    if (signal.aborted) return { ok: false, detail: String((signal.reason as Error | undefined)?.message ?? 'aborted') };
    if (result.status !== 'ok') executor.metrics?.error('scheduler');
    await announce({ platform, chatId, text: result.text, ...(threadId === undefined ? {} : { threadId }) });
    const detail = result.status === 'ok' ? `delivered ${result.text.length} characters` : `${result.status}: ${result.status === 'denied' ? result.reason : result.error.message}`;
    return { ok: result.status === 'ok', detail };
  };
}
