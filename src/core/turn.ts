// The one context object a turn carries through routing and actions.
import type { HistoryEntry, Identity, InboundMessage, OutboundMessage } from './types.ts';

export interface Turn {
  readonly message: InboundMessage;
  readonly identity: Identity;
  /**
   * Earlier entries of this conversation, oldest first (empty when the session is new or expired).
   * A function: only actions that use history (llm) pay for reading it. Asynchronous: the previous
   * turn of the conversation may still be committing its entries (see Gateway).
   */
  readonly history: () => Promise<readonly HistoryEntry[]>;
  readonly signal: AbortSignal;
  /** Streams reply text as it is produced, when the adapter can show it. */
  readonly onDelta: ((text: string) => void) | undefined;
  /** The conversation key (platform:chat), for audit records. */
  readonly conversation: string;
  /**
   * Sends a message to some chat through the durable outbox, outside this turn's reply (an approval
   * request for the admins, an approved command's result for its requester).
   */
  readonly announce: (m: OutboundMessage) => Promise<void>;
  /** The moment {{date}} and {{time}} show when it is not now (ms): a schedule's slot, also when caught up late. */
  readonly at?: number;
  /** The bytes of an attachment of this message, when its platform passes files on (see Adapter.download). */
  readonly download?: (ref: string, maxBytes: number, signal?: AbortSignal) => Promise<Buffer>;
}

// Building an Intl.DateTimeFormat costs ~50 µs; a static reply would spend most of its time there.
// One pair per time zone, made on first use.
const formats = new Map<string, { date: Intl.DateTimeFormat; time: Intl.DateTimeFormat }>();
function formatsFor(timeZone: string): { date: Intl.DateTimeFormat; time: Intl.DateTimeFormat } {
  let f = formats.get(timeZone);
  if (!f) {
    f = {
      date: new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }),
      time: new Intl.DateTimeFormat('en-CA', { timeZone, hour: '2-digit', minute: '2-digit', hour12: false }),
    };
    formats.set(timeZone, f);
  }
  return f;
}

/** Variables a template may use; names are fixed so config can be checked at load time. */
export function templateVars(turn: Turn, system: { name: string; timezone: string }, now: Date): Record<string, unknown> {
  return {
    system: { name: system.name, timezone: system.timezone },
    user: { id: turn.identity.id, name: turn.identity.name ?? turn.identity.id, role: turn.identity.role },
    chat: { id: turn.message.chat.id },
    platform: turn.message.platform,
    input: turn.message.text,
    // Formatted only when a template reads them: most replies never show the date, and the first
    // formatter of a process loads ICU's time-zone data (~10 ms, ~8 MB resident).
    get date() { return formatsFor(system.timezone).date.format(now); },
    get time() { return formatsFor(system.timezone).time.format(now); },
  };
}
