// Replies to their adapters: one at a time per conversation and in order, each reserved from its
// commit on so that the retry timer (due) and a reconnect (online) never send it ahead or twice; a
// platform's refusal is retried with backoff, waited out (an offline recipient) or given up.
import type { Adapter } from '../adapters/contract.ts';
import type { AdapterRegistry } from '../adapters/registry.ts';
import type { OutboxRow } from '../store/outbox.ts';
import type { Store } from '../store/store.ts';
import { AdapterError } from './errors.ts';
import type { Logger } from './log.ts';
import type { MetricsSink } from './metrics-sink.ts';
import type { DeliveryReceipt, OutboundMessage } from './types.ts';

/** Retries of a reply the platform refused for a transient reason, before it is given up. */
const MAX_ATTEMPTS = 12;
/** A reply whose recipient is offline waits this long before it is looked at again (online() is sooner). */
const OFFLINE_RECHECK_MS = 10 * 60_000;

export type Delivery = 'sent' | 'queued' | 'dead';

/** A conversation's key: platform and chat (Gateway's conversationKey is this, for an inbound message). */
export const chatKey = (platform: string, chatId: string): string => `${platform}:${chatId}`;

export class Deliveries {
  readonly #store: Store;
  readonly #adapters: AdapterRegistry;
  readonly #log: Logger;
  readonly #metrics: MetricsSink | undefined;
  readonly #signal: AbortSignal;
  /** Tail of each conversation's replies: a reply is handed to the adapter after the one before it. */
  readonly #chains = new Map<string, Promise<unknown>>();
  readonly #sending = new Set<number>();
  /**
   * Conversations whose reply `id` waits for a retry (a 429, a network error) until `until`: the replies
   * behind it wait too (their rows are not due before it), so a new one cannot overtake it.
   */
  readonly #held = new Map<string, { readonly id: number; readonly until: number }>();

  constructor(deps: { store: Store; adapters: AdapterRegistry; log: Logger; metrics: MetricsSink | undefined; signal: AbortSignal }) {
    this.#store = deps.store;
    this.#adapters = deps.adapters;
    this.#log = deps.log;
    this.#metrics = deps.metrics;
    this.#signal = deps.signal;
  }

  /** Settles when the replies of `conversation` now on their way have been handed over (undefined: none). */
  previous(conversation: string): Promise<unknown> | undefined {
    return this.#chains.get(conversation);
  }

  /** Sends every queued reply whose retry time has come, for the platforms hosted here. */
  due(now: number): void {
    // A hold whose reply is no longer pending (given up, erased by another process) holds nothing.
    for (const [conversation, h] of this.#held) {
      if (h.until <= now && !this.#sending.has(h.id) && !this.#store.outbox.get(h.id)) this.#held.delete(conversation);
    }
    for (const row of this.#store.outbox.due(now)) {
      if (this.#adapters.has(row.platform)) this.#resend(row);
    }
  }

  /** A recipient became reachable: sends what waits for it. */
  online(platform: string, chatId: string): void {
    for (const row of this.#store.outbox.pendingFor(platform, chatId)) this.#resend(row);
  }

  /**
   * Sends a queued row again, in its conversation's order: reserved now (so nothing else picks it up),
   * handed to the adapter after the replies of that chat already on their way, including the rows
   * before it in the same due()/online() (an adapter's send is asynchronous: two at once could arrive
   * swapped, or a split reply's parts interleaved with the next reply).
   */
  #resend(row: OutboxRow): void {
    if (this.#sending.has(row.id)) return;
    this.#sending.add(row.id);
    const conversation = chatKey(row.platform, row.chatId);
    const prev = this.#chains.get(conversation) ?? Promise.resolve();
    const tail = prev.then(() => {
      // The reply before it in this flush may have failed again: it holds this one (its row was
      // put back behind it by holdAfter), which due() sends after it.
      const held = this.#held.get(conversation);
      if (held !== undefined && held.id < row.id) {
        this.#sending.delete(row.id);
        return;
      }
      return this.#send(row, true);
    }).then(() => undefined, () => undefined);
    this.#chains.set(conversation, tail);
    void tail.then(() => {
      if (this.#chains.get(conversation) === tail) this.#chains.delete(conversation);
    });
  }

  /**
   * Hands a reply to its adapter once it is committed and the conversation's previous reply has been
   * handed over. `committed` gives the reply's outbox id, or null when nothing was queued (the turn's
   * message was a duplicate).
   */
  inOrder(conversation: string, committed: Promise<number | null>, reply: OutboundMessage): Promise<Delivery | 'none'> {
    const prev = this.#chains.get(conversation) ?? Promise.resolve();
    // Reserved from its commit on: flushDue()/online() must not send it ahead of the reply before it, nor twice.
    const reserved = committed.then((id) => { if (id !== null) this.#sending.add(id); return id; });
    const mine = Promise.all([reserved, prev]).then(([id]) => {
      if (id === null) return 'none' as const;
      const held = this.#held.get(conversation);
      return held ? this.#waitBehind(id, reply, held) : this.#send({ id, attempts: 0, partsSent: 0, ...reply }, true);
    });
    const tail = mine.then(() => undefined, () => undefined);
    this.#chains.set(conversation, tail);
    void tail.then(() => {
      if (this.#chains.get(conversation) === tail) this.#chains.delete(conversation);
    });
    return mine;
  }

  /**
   * Settles when the sends now on their way (a reply, a resend, an announcement) have finished;
   * undefined: none. Every send goes through a conversation's chain, so the chains' tails are all of
   * them (no bookkeeping per send on the reply's path).
   */
  inFlight(): Promise<unknown> | undefined {
    return this.#chains.size === 0 ? undefined : Promise.allSettled([...this.#chains.values()]);
  }

  /** A new reply in a conversation whose earlier reply waits for a retry: it is sent after that one (by due()). */
  async #waitBehind(id: number, m: OutboundMessage, held: { readonly id: number; readonly until: number }): Promise<Delivery> {
    try {
      await this.#store.write(() => this.#store.outbox.holdAfter(m.platform, m.chatId, held.id, held.until));
    } finally {
      this.#sending.delete(id);
    }
    return 'queued';
  }

  async #send(row: OutboxRow, reserved = false): Promise<Delivery> {
    const adapter: Adapter | undefined = this.#adapters.get(row.platform);
    if (!adapter) {
      if (reserved) this.#sending.delete(row.id);
      return 'queued';
    }
    if (!reserved && this.#sending.has(row.id)) return 'queued';
    // The id stays in #sending until the row's new state is committed, so flushDue() or online() can
    // never pick the same reply up again in between.
    this.#sending.add(row.id);
    let receipt: DeliveryReceipt;
    try {
      receipt = await adapter.send(row, {
        signal: this.#signal,
        partsSent: row.partsSent,
        // Each accepted part is recorded (group-committed) so a retry or a restart resumes after it.
        onPart: (parts) => void this.#store.write(() => this.#store.outbox.partSent(row.id, parts)).catch((err: unknown) => {
          this.#log.error({ err, outbox: row.id }, 'could not record a sent part');
        }),
      });
    } catch (err) {
      return await this.#failed(row, err).finally(() => this.#sending.delete(row.id));
    }
    // Not awaited: the conversation's next turn may start as soon as the platform has this reply (send
    // order is what matters); the mark commits with the next batch. A crash in between means this one
    // reply is sent again on restart — the window the outbox design accepts (docs/ARCHITECTURE.md).
    this.#metrics?.message(row.platform, 'out');
    if (this.#held.size > 0) this.#release(row.id, chatKey(row.platform, row.chatId));
    this.#store.writeOne(() => this.#store.outbox.markSent(row.id, receipt))
      .catch((err: unknown) => this.#log.error({ err, outbox: row.id }, 'could not mark a reply sent; it may be sent again after a restart'))
      .finally(() => this.#sending.delete(row.id));
    return 'sent';
  }

  async #failed(row: OutboxRow, err: unknown): Promise<'queued' | 'dead'> {
    const e = err instanceof AdapterError ? err : new AdapterError(row.platform, 'network', String((err as Error)?.message ?? err), { cause: err });
    this.#metrics?.error('delivery');
    const where = { platform: row.platform, chat: row.chatId, outbox: row.id };
    // An offline recipient is waited for (online() resends) until serve's prune gives the reply up with
    // its turn (or alone, for a message that answered no turn), after 30 days; other transient failures are given up after MAX_ATTEMPTS.
    if (!e.retryable || (e.kind !== 'unavailable' && row.attempts + 1 >= MAX_ATTEMPTS)) {
      await this.#store.write(() => this.#store.outbox.markDead(row.id, e.message));
      this.#release(row.id, chatKey(row.platform, row.chatId));
      this.#log.error({ ...where, err: e }, 'reply could not be delivered; given up');
      return 'dead';
    }
    const wait = e.kind === 'unavailable' ? OFFLINE_RECHECK_MS : (e.retryAfterMs ?? backoff(row.attempts));
    const until = Date.now() + wait;
    await this.#store.write(() => {
      this.#store.outbox.retryAt(row.id, until, e.message);
      // The chat's replies behind this one wait for it (an offline chat's all fail alike, and online()
      // sends them in order: no hold needed there).
      if (e.kind !== 'unavailable') this.#store.outbox.holdAfter(row.platform, row.chatId, row.id, until);
    });
    const conversation = chatKey(row.platform, row.chatId);
    if (e.kind !== 'unavailable') this.#held.set(conversation, { id: row.id, until });
    else this.#release(row.id, conversation); // it waits for online() now, not for a time
    this.#log.warn({ ...where, err: e.message, retryInMs: wait }, 'reply not delivered yet; will retry');
    return 'queued';
  }

  /** The reply a conversation's hold waits for has left (or was given up): what is behind it is free. */
  #release(id: number, conversation: string): void {
    if (this.#held.get(conversation)?.id === id) this.#held.delete(conversation);
  }
}

/** Exponential backoff with full jitter: 1 s, 2 s, 4 s ... capped at 5 min. */
export function backoff(attempt: number): number {
  const cap = Math.min(300_000, 1000 * 2 ** attempt);
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}
