// The one context object a turn carries through routing and actions.
import type { HistoryEntry, Identity, InboundMessage } from './types.ts';

export interface Turn {
  readonly message: InboundMessage;
  readonly identity: Identity;
  /** Earlier entries of this conversation, oldest first (empty when the session is new or expired). */
  readonly history: readonly HistoryEntry[];
  readonly signal: AbortSignal;
  /** Streams reply text as it is produced, when the adapter can show it. */
  readonly onDelta: ((text: string) => void) | undefined;
}

/** Variables a template may use; names are fixed so config can be checked at load time. */
export function templateVars(turn: Turn, system: { name: string; timezone: string }, now: Date): Record<string, unknown> {
  const fmt = (opts: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat('en-CA', { timeZone: system.timezone, ...opts }).format(now);
  return {
    system: { name: system.name, timezone: system.timezone },
    user: { id: turn.identity.id, name: turn.identity.name ?? turn.identity.id, role: turn.identity.role },
    chat: { id: turn.message.chat.id },
    platform: turn.message.platform,
    input: turn.message.text,
    date: fmt({ year: 'numeric', month: '2-digit', day: '2-digit' }),
    time: fmt({ hour: '2-digit', minute: '2-digit', hour12: false }),
  };
}
