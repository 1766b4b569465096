// The one contract every platform adapter implements. An adapter only translates: platform events into
// InboundMessage for the host, OutboundMessage into platform calls. It never routes or calls a model.
import type { ActionResult, DeliveryReceipt, InboundMessage, OutboundMessage, Route } from '../core/types.ts';

export interface AdapterHealth {
  readonly connected: boolean;
  /** ms epoch of the last inbound event, or null. */
  readonly lastEventAt: number | null;
  readonly lastError: string | null;
  /** A short human-readable state ("3 clients", "polling", ...). */
  readonly detail: string;
}

/** What happened to one inbound message. */
export type TurnOutcome =
  | { readonly duplicate: true }
  | {
      readonly duplicate: false;
      readonly route: Route | null;
      /** null when no rule matched and there is no default rule: nothing is answered. */
      readonly result: ActionResult | null;
      /** sent: the platform accepted the reply; queued: it will be retried; dead: it cannot be delivered. */
      readonly delivery: 'sent' | 'queued' | 'dead' | 'none';
    };

export interface AdapterHost {
  /**
   * Hands a message to the gateway. It is durably recorded before this returns control to the event
   * loop; the promise settles when the turn is processed and its reply delivered (or queued).
   * `onDelta` receives the reply text as the model produces it, for adapters that can show that.
   */
  receive(message: InboundMessage, onDelta?: (text: string) => void): Promise<TurnOutcome>;
  /** A recipient became reachable (e.g. a WebSocket client for this chat connected): send what waits for it. */
  online(chatId: string): void;
}

export interface Adapter {
  readonly platform: string;
  readonly limits: { readonly maxTextLength: number };
  /** Starts receiving; resolves once ready. Stops when `signal` aborts. */
  start(host: AdapterHost, signal: AbortSignal): Promise<void>;
  /** Delivers one reply; throws AdapterError (its kind decides retry) when the platform refuses. */
  send(message: OutboundMessage, signal?: AbortSignal): Promise<DeliveryReceipt>;
  health(): AdapterHealth;
}
