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

/** A message durably recorded: either a redelivery of one already seen, or a turn on its way. */
export type Submitted = { readonly duplicate: true } | { readonly duplicate: false; readonly outcome: Promise<TurnOutcome> };

export interface AdapterHost {
  /**
   * Hands a message to the gateway. It is durably recorded before this returns control to the event
   * loop; the promise settles when the turn is processed and its reply delivered (or queued).
   * `onDelta` receives the reply text as the model produces it, for adapters that can show that.
   */
  receive(message: InboundMessage, onDelta?: (text: string) => void): Promise<TurnOutcome>;
  /**
   * Like receive, but settles as soon as the message is durably recorded (the outcome comes later):
   * for platforms that must be acknowledged quickly (a polling offset, a webhook's 200). The caller
   * must handle a rejection of `outcome` (shutdown).
   */
  submit(message: InboundMessage, onDelta?: (text: string) => void): Promise<Submitted>;
  /** A recipient became reachable (e.g. a WebSocket client for this chat connected): send what waits for it. */
  online(chatId: string): void;
  /**
   * The platform connection failed (a poll, a dropped socket, an update the adapter could not handle):
   * counted as clawdbot_errors_total{component="adapter"}. Not for sends (delivery counts those) nor for
   * a message the gateway could not record (store).
   */
  failed(): void;
}

/**
 * What the gateway hands `send` besides the message. A long reply becomes several platform messages;
 * `partsSent` says how many of them an earlier attempt already delivered (skip those), and `onPart`
 * records each one as it is accepted, so a retry after a 429 or a crash never sends a part twice.
 */
export interface SendContext {
  readonly signal: AbortSignal;
  readonly partsSent: number;
  onPart(partsSent: number, platformMessageId: string): void;
}

/**
 * A reply shown while the model writes it, by editing one platform message (throttled to the platform's
 * edit rate). The final reply is still delivered through the outbox, replacing the preview.
 */
export interface ReplyStream {
  push(text: string): void;
  /** Stops updating; resolves with the platform id of the preview message, when one was posted. */
  end(): Promise<string | undefined>;
}

/** A "working on it" signal shown while the model thinks (Telegram chat action, Slack reaction). */
export interface Typing {
  stop(): void;
}

export interface Adapter {
  readonly platform: string;
  readonly limits: { readonly maxTextLength: number };
  /** Starts receiving; resolves once ready. Stops when `signal` aborts. */
  start(host: AdapterHost, signal: AbortSignal): Promise<void>;
  /** Delivers one reply; throws AdapterError (its kind decides retry) when the platform refuses. */
  send(message: OutboundMessage, ctx: SendContext): Promise<DeliveryReceipt>;
  /** Checks the credentials against the platform without starting (doctor); returns the bot identity. */
  verify?(signal: AbortSignal): Promise<string>;
  /** Starts a streamed preview of the reply to `message`, or undefined when streaming is off. Never throws. */
  startStream?(message: InboundMessage): ReplyStream | undefined;
  /** Shows the platform's typing signal for this message until stop(); optional. Never throws. */
  startTyping?(message: InboundMessage): Typing;
  /**
   * The bytes of an attachment (`Attachment.ref`), reading no further than `maxBytes` (AdapterError
   * 'rejected' past it). Platforms without files leave it out.
   */
  download?(ref: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
  health(): AdapterHealth;
}
