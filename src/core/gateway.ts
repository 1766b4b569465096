// The pipeline: inbox → session → router → executor → outbox → adapter.send. One turn per conversation
// at a time, in arrival order; different conversations run in parallel (model calls are bounded by the
// executor). Every state change is committed before the step that depends on it, so a killed process
// resumes: pending turns are redone, queued replies are sent.
//
// A conversation's next turn starts as soon as the previous one has queued its completion, not once
// that has committed: writes commit in groups (Store.write), and a conversation whose messages arrive
// back to back would otherwise pay one commit per turn. Replies still leave after their commit and in
// turn order (Deliveries, src/core/delivery.ts); history() waits for the queued commit (Store.settled).
//
// Likewise a turn starts as soon as its message's record is queued. Until the record has committed it
// may only decide its route and build a fixed reply (Executor.isInstant), whose completion is queued
// behind the record: an instant reply commits in the same group as its message (one commit, not two,
// before the answer leaves). Anything with an effect beyond its reply (a model call, a command, a
// typing indicator) first waits for the record, and a duplicate ends there; so does a per-user or
// per-chat rate limit, which a duplicate must not use up.
import type { AdapterHost, Submitted, TurnOutcome } from '../adapters/contract.ts';
import type { AdapterRegistry } from '../adapters/registry.ts';
import type { Store } from '../store/store.ts';
import type { RecordResult } from '../store/inbox.ts';
import type { MediaConfig } from './config/media.ts';
import type { Config } from './config/types.ts';
import { chatKey, Deliveries } from './delivery.ts';
import { AdapterError, ExecError, ModelError } from './errors.ts';
import { MediaError } from './media/errors.ts';
import type { Executor } from './executor.ts';
import type { Logger } from './log.ts';
import { adminCommandOf } from './admin.ts';
import type { MetricsSink } from './metrics-sink.ts';
import type { Role, RoleMap } from './policy.ts';
import { ChatLimits } from './ratelimit.ts';
import { StreamRedactor, type TextRedactor } from './redact.ts';
import { matchRoute } from './router.ts';
import type { ActionResult, Identity, InboundMessage, OutboundMessage } from './types.ts';

/** A turn in this process's queue. `record` is filled when its inbox row is written (in the batch that commits it). */
interface QueuedTurn {
  readonly conversation: string;
  readonly message: InboundMessage;
  readonly record: { result?: RecordResult | undefined; ended?: boolean };
  /** Settles once the record has committed: the inbox id, or null for a duplicate. */
  readonly recorded: Promise<number | null>;
}

/** The longest wait before a turn whose completion failed is redone (see #redoAt). */
const REDO_MAX_WAIT_MS = 60_000;
const DUPLICATE: TurnOutcome = { duplicate: true };

export function conversationKey(m: { readonly platform: string; readonly chat: Pick<InboundMessage['chat'], 'id'> }): string {
  return chatKey(m.platform, m.chat.id);
}

export class Gateway {
  #config: Config;
  readonly #store: Store;
  readonly #executor: Executor;
  readonly #adapters: AdapterRegistry;
  readonly #log: Logger;
  /** Tail of each conversation's queue: the next turn chains onto it (settles when the turn before has queued its completion). */
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #deliveries: Deliveries;
  /** Inbox ids of turns queued or running in this process, so recover() never starts one a second time. */
  readonly #queued = new Set<number>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  #accepting = true;
  /**
   * A turn's completion failed to commit (a full disk, a lock held too long): flushDue() redoes it from
   * `#redoAt` on. Each failure in a row doubles the wait (up to a minute): a disk that stays full must
   * not have the model asked again every second.
   */
  #redoAt: number | undefined;
  #redoWaitMs = 0;

  readonly #metrics: MetricsSink | undefined;
  #chatLimits: ChatLimits;

  /** Secrets of the config (and credential look-alikes) never leave in a reply, nor sit in the outbox. */
  #redactor: TextRedactor | undefined;

  constructor(deps: { config: Config; store: Store; executor: Executor; adapters: AdapterRegistry; log: Logger; metrics?: MetricsSink; redactor?: TextRedactor }) {
    this.#metrics = deps.metrics;
    this.#redactor = deps.redactor;
    this.#chatLimits = new ChatLimits(deps.config.security.rateLimits);
    this.#config = deps.config;
    this.#store = deps.store;
    this.#executor = deps.executor;
    this.#adapters = deps.adapters;
    this.#log = deps.log;
    this.#deliveries = new Deliveries({ store: deps.store, adapters: deps.adapters, log: deps.log, metrics: deps.metrics, signal: this.#abort.signal });
  }

  /**
   * Takes a reloaded configuration: turns that start from now on route and run with it (a turn in
   * flight finishes with what it started with). Adapters keep running as they are.
   */
  reconfigure(config: Config, redactor?: TextRedactor): void {
    this.#config = config;
    if (redactor) this.#redactor = redactor;
    this.#chatLimits = new ChatLimits(config.security.rateLimits);
    this.#executor.reconfigure(config);
  }

  /** The host an adapter talks to. */
  host(platform: string): AdapterHost {
    return {
      receive: (m, onDelta) => this.receive(m, onDelta),
      submit: (m, onDelta) => this.submit(m, onDelta),
      online: (chatId) => this.#deliveries.online(platform, chatId),
      failed: () => this.#metrics?.error('adapter'),
    };
  }

  get busy(): number {
    return this.#inFlight.size;
  }

  /** Turns accepted and not finished yet: waiting for their conversation, or running (clawdbot_queue_depth). */
  get queued(): number {
    return this.#queued.size;
  }

  async receive(message: InboundMessage, onDelta?: (text: string) => void): Promise<TurnOutcome> {
    const s = await this.submit(message, onDelta);
    return s.duplicate ? { duplicate: true } : s.outcome;
  }

  /**
   * Records the message durably and queues its turn; resolves as soon as the record is committed, with
   * the turn's outcome still to come. For adapters that must acknowledge the platform before the
   * (possibly slow) answer: a polling offset or a webhook's 200 after this point loses nothing.
   */
  async submit(message: InboundMessage, onDelta?: (text: string) => void): Promise<Submitted> {
    if (!this.#accepting) throw new AdapterError(message.platform, 'unavailable', 'shutting down');
    const conversation = conversationKey(message);
    // Records of one event-loop turn commit together, in arrival order, so per-conversation order is kept.
    const record: QueuedTurn['record'] = {};
    const committed = this.#store.writeOne(() => {
      const r = this.#store.inbox.record(message, conversation, Date.now());
      record.result = r;
      // Not when the turn already ended (it threw before its record ran): nothing would remove the id.
      if (!r.duplicate && !record.ended) this.#queued.add(r.inboxId);
      return r;
    });
    const recorded = committed.then((r) => (r.duplicate ? null : r.inboxId), (err: unknown) => {
      // Rolled back with its batch: nothing may be written against it, and its id may be reused.
      if (record.result && !record.result.duplicate) this.#queued.delete(record.result.inboxId);
      record.result = undefined;
      this.#metrics?.error('store');
      throw err;
    });
    recorded.catch(() => undefined); // an instant turn never waits for it: the failure is reported below
    // Queued now, before the commit (see the top of this file).
    const outcome = this.#enqueue({ conversation, message, record, recorded }, onDelta);
    let rec: RecordResult;
    try {
      rec = await committed;
    } catch (err) {
      outcome.catch(() => undefined); // the same failure, reported here
      throw err;
    }
    if (rec.duplicate) {
      this.#log.info({ platform: message.platform, id: message.id }, 'duplicate message ignored');
      return { duplicate: true };
    }
    this.#metrics?.message(message.platform, 'in');
    return { duplicate: false, outcome };
  }

  /**
   * Queues a message that answers no turn (a scheduled report, an approval notice, a result for the
   * person who asked) in the durable outbox and tries to send it. Resolves once it is queued.
   */
  async announce(message: OutboundMessage): Promise<void> {
    const m = this.#redactor ? { ...message, text: this.#redactor.redact(message.text) } : message;
    const committed = this.#store.writeOne(() => this.#store.queueMessage(m, Date.now()));
    // In that chat's order: behind a reply to it that is still on its way.
    void this.#deliveries.inOrder(chatKey(m.platform, m.chatId), committed, m).catch(() => undefined);
    await committed;
  }

  readonly #announce = (m: OutboundMessage): Promise<void> => this.announce(m);

  /** Redoes turns a previous process accepted but did not finish, for the platforms hosted here, and sends queued replies. */
  recover(): void {
    this.#resume();
    this.flushDue();
  }

  /** Enqueues the unfinished turns of the platforms hosted here that this process is not running. */
  #resume(): void {
    const pending = this.#store.inbox.pending().filter((t) => this.#adapters.has(t.message.platform) && !this.#queued.has(t.inboxId));
    if (pending.length > 0) this.#log.info({ turns: pending.length }, 'resuming unfinished turns');
    for (const t of pending) {
      this.#queued.add(t.inboxId);
      void this.#enqueue({ conversation: t.conversation, message: t.message, record: { result: { duplicate: false, inboxId: t.inboxId } }, recorded: Promise.resolve(t.inboxId) });
    }
  }

  /**
   * Sends every queued reply whose retry time has come (called on a timer by serve), and redoes the
   * turns whose completion could not be committed: their messages are acknowledged, and would otherwise
   * wait for the next start.
   */
  flushDue(): void {
    if (this.#redoAt !== undefined && Date.now() >= this.#redoAt && this.#accepting) {
      this.#redoAt = undefined;
      try {
        this.#resume();
      } catch (err) {
        this.#redoAt = Date.now() + REDO_MAX_WAIT_MS;
        this.#log.warn({ err: (err as Error).message }, 'could not read unfinished turns; tried again');
      }
    }
    this.#deliveries.due(Date.now());
  }

  /**
   * Stops accepting; waits for turns in flight up to `deadlineMs`, then aborts what is left and gives it
   * one more second (a model or platform call that ignores the abort must not keep the process alive).
   */
  async close(deadlineMs: number): Promise<void> {
    this.#accepting = false;
    // Sends outside a turn too (a resend by flushDue()/online(), an announcement): one the platform
    // accepts after the store has closed could not be marked sent, and would be sent again on restart.
    // Until nothing is left: a reply chained behind one in flight starts when that one is done.
    const idle = () => this.#inFlight.size === 0 && this.#deliveries.inFlight() === undefined;
    const settled = async () => {
      while (!idle()) {
        await Promise.allSettled([...this.#inFlight, this.#deliveries.inFlight()]);
        await new Promise((r) => setImmediate(r));
      }
    };
    await raceTimeout(settled(), deadlineMs);
    if (idle()) return;
    this.#abort.abort(new Error('shutdown deadline'));
    await raceTimeout(settled(), 1000);
  }

  #enqueue(t: QueuedTurn, onDelta?: (text: string) => void): Promise<TurnOutcome> {
    const prev = this.#queues.get(t.conversation) ?? Promise.resolve();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const run = prev.then(() => this.#process(t, release, onDelta));
    const tail = run.then(() => undefined, () => undefined);
    this.#queues.set(t.conversation, gate);
    this.#inFlight.add(tail);
    void tail.then(() => {
      release(); // a turn that ended without queueing a completion (no route, failure, shutdown)
      t.record.ended = true;
      if (t.record.result && !t.record.result.duplicate) this.#queued.delete(t.record.result.inboxId);
      this.#inFlight.delete(tail);
      if (this.#queues.get(t.conversation) === gate) this.#queues.delete(t.conversation);
    });
    return run;
  }

  async #process(t: QueuedTurn, release: () => void, onDelta?: (text: string) => void): Promise<TurnOutcome> {
    const { message } = t;
    const started = Date.now();
    const { sessions } = this.#config;
    const identity: Identity = {
      platform: message.platform, id: message.sender.id, role: roleOf(message, this.#config.security.roles),
      ...(message.sender.name === undefined ? {} : { name: message.sender.name }),
    };
    const history = async () => {
      await this.#store.settled(); // the previous turn's entries may still be in the commit queue
      return this.#store.sessions.history(t.conversation, started, sessions.ttlMs, sessions.maxHistory);
    };
    // Fields for log lines of this turn; not a child logger: pino copies and redacts a child's bindings
    // when it is made, which costs more than the whole turn of a static reply.
    const where = { platform: message.platform, chat: message.chat.id, message_id: message.id };
    const log = this.#log;
    // Per-user and per-chat limits for senders a platform vouches for (clients with an API key are
    // limited per key at the HTTP door): one polite notice per window, then silence. Taken once the
    // record has committed: a redelivered duplicate must not use up a token, nor the one notice.
    const limits = message.authority ? undefined : this.#chatLimits;
    if (limits?.any && (await t.recorded) === null) return DUPLICATE;
    const limit = limits?.take(message.platform, identity.id, message.chat.id, started);
    let notice: ActionResult | undefined;
    if (limit && !limit.ok) {
      if (!limit.notify) {
        if ((await this.#afterRecord(t, (id) => this.#store.completeTurnWithoutReply(id, Date.now()))) === null) return DUPLICATE;
        log.info(where, 'rate limited: not answered');
        return { duplicate: false, route: null, result: null, delivery: 'none' };
      }
      const secs = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
      notice = { status: 'denied', text: `You're sending messages faster than allowed here; please wait ${secs} s before the next one.`, reason: 'rate limit' };
    }
    // Chat commands (/run, /approve, ...) come before the rules: a route cannot shadow them. The cheap
    // first-character test keeps ordinary messages off the parser.
    const chatCommand = !notice && message.text.trimStart().startsWith('/') ? adminCommandOf(message.text) : null;
    // A message with an image or a document goes to its media processor's handler (media_processors).
    const media = notice || chatCommand ? undefined : mediaHandler(message, this.#config.media);
    const route = notice
      ? { index: -1, match: null, action: 'rate_limit', source: 'security.rate_limits' }
      : chatCommand
        ? { index: -1, match: null, action: chatCommand.command.name, source: 'built-in chat command' }
        : media
          ? { index: -1, match: null, action: media.handler, source: media.source }
          : matchRoute(this.#config.routes, { platform: message.platform, text: message.text, role: identity.role });
    if (!route) {
      if ((await this.#afterRecord(t, (id) => this.#store.completeTurnWithoutReply(id, Date.now()))) === null) return DUPLICATE;
      log.info(where, 'no route matched and no default rule: not answered');
      return { duplicate: false, route: null, result: null, delivery: 'none' };
    }
    // A fixed reply (or a rate-limit notice) has no effect but its reply: it goes on without waiting for
    // the record's commit (see the top of this file).
    const instant = notice !== undefined || (!chatCommand && !media && this.#executor.isInstant(route.action, identity));
    if (!instant && (await t.recorded) === null) return DUPLICATE;
    const adapter = this.#adapters.get(message.platform);
    // Nobody needs to be told to wait for an instant reply.
    const typing = instant ? undefined : adapter?.startTyping?.(message);
    // A caller that shows deltas itself (WebSocket, terminal) passes onDelta; otherwise the adapter may
    // stream a preview into the chat.
    const streams = !instant && !onDelta && adapter?.startStream !== undefined;
    // A preview is a message in the chat: it must not appear before the previous turn's reply, which
    // may still be on its way (the next turn starts before that send, see Deliveries.inOrder).
    if (streams) await this.#deliveries.previous(t.conversation);
    const stream = streams ? adapter.startStream!(message) : undefined;
    const sink = onDelta ?? stream?.push.bind(stream);
    const redactor = this.#redactor;
    // Streamed text leaves before the reply is complete: it is redacted on the way (the reply itself
    // below). Made at the first delta: a static reply streams nothing.
    let deltas: StreamRedactor | undefined;
    const result: ActionResult = notice ?? await this.#executor
      .run(route.action, {
        message, identity, history, signal: this.#abort.signal,
        onDelta: sink && redactor ? (text: string) => (deltas ??= new StreamRedactor(redactor, sink)).push(text) : sink,
        conversation: t.conversation, announce: this.#announce,
        ...(adapter?.download ? { download: adapter.download.bind(adapter) } : {}),
      })
      .catch((err: unknown) => ({ status: 'failed', text: 'Something went wrong while answering.', error: err as Error }) as const)
      .finally(() => typing?.stop());
    deltas?.end();
    const preview = await stream?.end();
    if (this.#abort.signal.aborted) {
      if (instant && (await t.recorded.catch(() => null)) === null) return DUPLICATE;
      // Cut off by the shutdown deadline: the turn stays pending and is redone by the next start.
      log.warn({ ...where, action: route.action }, 'turn interrupted by shutdown; will be redone on restart');
      return { duplicate: false, route, result: null, delivery: 'none' };
    }
    const now = Date.now();
    const text = this.#redactor ? this.#redactor.redact(result.text) : result.text;
    const remember = result.status === 'ok'
      ? [{ role: 'user' as const, text: message.text, at: message.sentAt }, { role: 'assistant' as const, text, at: now }]
      : [];
    const reply: OutboundMessage = {
      platform: message.platform, chatId: message.chat.id, inReplyTo: message.id, text,
      ...(message.threadId === undefined ? {} : { threadId: message.threadId }),
      ...(preview === undefined ? {} : { editOf: preview }),
    };
    const committed = this.#afterRecord(t, (inboxId) => this.#store.completeTurn({ inboxId, conversation: t.conversation, reply, remember, sessionTtlMs: sessions.ttlMs }, now));
    const delivered = this.#deliveries.inOrder(t.conversation, committed, reply);
    release(); // the conversation's next turn may start: it commits (and is delivered) after this one
    let id: number | null;
    try {
      id = await committed;
    } catch (err) {
      // The message was acknowledged (its record committed) but its turn could not be finished: the
      // row stays pending, and flushDue() redoes it once this turn has left the queue.
      if (t.record.result && !t.record.result.duplicate) {
        this.#redoAt ??= Date.now() + this.#redoWaitMs;
        this.#redoWaitMs = Math.min(Math.max(1000, this.#redoWaitMs * 2), REDO_MAX_WAIT_MS);
      }
      // A record that failed (the same batch, or before it) was counted by submit(): once per failure.
      if (t.record.result) this.#metrics?.error('store');
      throw err;
    }
    if (id === null) return DUPLICATE;
    this.#redoWaitMs = 0; // commits go through again
    const ms = now - started;
    // A mistyped argument is the person's to fix, not a fault: no warning, no stack.
    if (result.status === 'failed' && result.error instanceof ExecError && result.error.code === 'BAD_ARGUMENT') log.info({ ...where, action: route.action, err: result.error.message, ms }, 'argument refused');
    // A file that cannot be read (unsupported, too large, empty, encrypted, corrupt) is the sender's: no stack.
    else if (result.status === 'failed' && result.error instanceof MediaError) log.info({ ...where, action: route.action, err: result.error.message, ms }, 'file refused');
    // A model that is down or lacks the model is an outage the message names in full: no stack.
    else if (result.status === 'failed' && result.error instanceof ModelError) log.warn({ ...where, action: route.action, err: result.error.message, kind: result.error.kind, ms }, 'turn failed');
    else if (result.status === 'failed') log.warn({ ...where, action: route.action, err: result.error, ms }, 'turn failed');
    else if (log.isLevelEnabled('info')) log.info({ ...where, action: route.action, route: route.source, ms }, 'turn done');
    if (result.status === 'ok') this.#remember(message, text, now);
    return { duplicate: false, route, result, delivery: await delivered };
  }

  /**
   * Queues a write of the turn against its inbox row, in the commit queue behind the record: the row
   * is known when the write runs, even when the record has not committed yet at queue time. Null when
   * the message was a duplicate (nothing written); rejects when the record failed.
   */
  #afterRecord<T>(t: QueuedTurn, write: (inboxId: number) => T): Promise<T | null> {
    return this.#store.writeOne(() => {
      const r = t.record.result;
      if (!r) throw new Error('the message could not be recorded');
      return r.duplicate ? null : write(r.inboxId);
    });
  }

  /** Context memory learns from a finished turn after its reply is committed; nobody waits for the embedding. */
  #remember(m: InboundMessage, answer: string, now: number): void {
    const memory = this.#executor.memory;
    const c = this.#config.memory;
    if (!memory || !c.enabled) return;
    // In flight like a turn: close() (and exec, before it closes the store) waits for it.
    const work = import('./memory/retrieve.ts')
      .then(({ turnItems }) => memory.add(turnItems(c, { platform: m.platform, userId: m.sender.id, chatId: m.chat.id }, { question: m.text, answer, at: now }), now))
      .then((r) => { if (r.error) this.#log.warn({ err: r.error.message }, 'memory: stored without vectors (embedding failed); `clawdbot memory reindex` adds them'); })
      .catch((err: unknown) => this.#log.error({ err }, 'memory: could not store the turn'));
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

}

/** The handler for a message's first attachment: images to image_analysis, documents (and files whose type only the bytes can tell) to document_processing. */
function mediaHandler(m: InboundMessage, media: MediaConfig): { handler: string; source: string } | undefined {
  const kind = m.attachments[0]?.kind;
  if (kind === 'image' && media.image.enabled) return { handler: media.image.handler, source: 'media_processors.image_analysis' };
  if ((kind === 'document' || kind === 'file') && media.document.enabled) return { handler: media.document.handler, source: 'media_processors.document_processing' };
  return undefined;
}

/** The sender's role: security.roles, bounded by the API key a self-naming client came in with (see InboundMessage.authority). */
export function roleOf(m: Pick<InboundMessage, 'platform' | 'sender' | 'authority'>, roles: RoleMap): Role {
  const a = m.authority;
  if (!a) return roles.roleOf(m.platform, m.sender.id);
  if (a.role !== 'Admin') return a.role;
  return m.sender.id === a.principal ? 'Admin' : roles.roleOf(m.platform, m.sender.id);
}

function raceTimeout(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((r) => { timer = setTimeout(r, ms); })]).finally(() => clearTimeout(timer));
}
