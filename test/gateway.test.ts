// The gateway pipeline in-process: ordering per conversation, parallelism bounded by max_concurrency,
// dedupe, session history, typed delivery failures, model failures, routing misses, recovery and close.
// The model and the adapter are scripted implementations of our own interfaces (ModelClient, Adapter);
// every wait is on an event or a deferred promise, so the tests neither race nor sleep for long.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import type { Adapter, AdapterHealth, TurnOutcome } from '../src/adapters/contract.ts';
import { AdapterRegistry } from '../src/adapters/registry.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import type { Config } from '../src/core/config/types.ts';
import { AdapterError, ModelError } from '../src/core/errors.ts';
import { Executor } from '../src/core/executor.ts';
import type { MetricsSink } from '../src/core/metrics-sink.ts';
import { recordingMetrics } from './helpers/metrics.ts';
import { Gateway } from '../src/core/gateway.ts';
import { createLogger } from '../src/core/log.ts';
import type { ChatMessage, ChatRequest, ChatResult, ModelClient } from '../src/core/models/types.ts';
import type { DeliveryReceipt, InboundMessage, OutboundMessage, Route } from '../src/core/types.ts';
import { openDb } from '../src/store/db.ts';
import { Store } from '../src/store/store.ts';

// ---------------------------------------------------------------------------------------------------
// Helpers

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Wakes waiters whenever the scripted model or adapter does something. */
class Watch {
  readonly #checks = new Set<() => void>();

  notify(): void {
    for (const c of [...this.#checks]) c();
  }

  until(pred: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#checks.delete(check);
      };
      const check = () => {
        if (pred()) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.#checks.add(check);
    });
  }
}

/** For state nothing notifies about (store rows): checks on every turn of the event loop. */
async function poll(pred: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Gives the pipeline time to do something it must not do (it is all in-process: a few ms is plenty). */
const settle = () => new Promise((r) => setTimeout(r, 20));

interface Call {
  readonly req: ChatRequest;
  /** The text of the last (user) message. */
  readonly user: string;
  resolve(text?: string): void;
  reject(err: Error): void;
}

/** Our ModelClient, scripted: answers "echo: <text>" at once, or holds each call until the test releases it. */
class ScriptedModel implements ModelClient {
  readonly provider = 'ollama' as const;
  readonly endpoint = 'scripted:';
  /** When true, each call waits for calls[i].resolve()/reject(). */
  hold = false;
  /** When true, the call ignores its abort signal (a misbehaving client). */
  ignoreAbort = false;
  /** The next calls fail with these, in order. */
  readonly failures: Error[] = [];
  readonly calls: Call[] = [];
  /** Runs as each call starts (for checks of the state at that moment). */
  onCall: ((c: Call) => void) | undefined;
  active = 0;
  maxActive = 0;
  readonly #events: string[];
  readonly #watch: Watch;

  constructor(events: string[], watch: Watch) {
    this.#events = events;
    this.#watch = watch;
  }

  async chat(req: ChatRequest): Promise<ChatResult> {
    const user = req.messages.at(-1)?.content ?? '';
    const d = deferred<ChatResult>();
    const call: Call = {
      req,
      user,
      resolve: (text = `echo: ${user}`) => d.resolve({ text, toolCalls: [], model: 'scripted', promptTokens: undefined, completionTokens: undefined }),
      reject: (err) => d.reject(err),
    };
    this.calls.push(call);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.#events.push(`model:start:${user}`);
    this.onCall?.(call);
    const onAbort = () => d.reject(new ModelError('aborted', 'request aborted'));
    if (!this.ignoreAbort) {
      if (req.signal?.aborted) onAbort();
      else req.signal?.addEventListener('abort', onAbort, { once: true });
    }
    const failure = this.failures.shift();
    if (failure) call.reject(failure);
    else if (!this.hold) call.resolve();
    this.#watch.notify();
    try {
      return await d.promise;
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      this.active--;
      this.#events.push(`model:end:${user}`);
      this.#watch.notify();
    }
  }

  listModels(): Promise<string[]> {
    return Promise.resolve(['scripted']);
  }
}

/** Our Adapter, scripted: records every send; can be told to throw. */
class ScriptedAdapter implements Adapter {
  readonly platform: string;
  readonly limits = { maxTextLength: 4096 };
  /** Every call of send(), failed or not. */
  readonly attempts: OutboundMessage[] = [];
  /** Replies the "platform" accepted. */
  readonly sent: OutboundMessage[] = [];
  /** The next sends throw these, in order. */
  readonly failures: unknown[] = [];
  /** Every send throws this (after `failures` is used up). */
  failAlways: unknown;
  /** When set, sends wait for this before the platform accepts them. */
  gate: Promise<void> | undefined;
  /** Runs as each send starts (for checks of the state at that moment). */
  onSend: ((m: OutboundMessage) => void) | undefined;
  readonly #events: string[];
  readonly #watch: Watch;

  constructor(platform: string, events: string[], watch: Watch) {
    this.platform = platform;
    this.#events = events;
    this.#watch = watch;
  }

  async start(): Promise<void> {}

  async send(m: OutboundMessage): Promise<DeliveryReceipt> {
    const out = { platform: m.platform, chatId: m.chatId, inReplyTo: m.inReplyTo, text: m.text };
    this.attempts.push(out);
    this.onSend?.(m);
    this.#events.push(`send:${m.inReplyTo}`);
    const failure = this.failures.length > 0 ? this.failures.shift() : this.failAlways;
    if (failure !== undefined) {
      this.#watch.notify();
      throw failure;
    }
    if (this.gate) {
      this.#watch.notify();
      await this.gate;
    }
    this.sent.push(out);
    this.#events.push(`sent:${m.inReplyTo}`);
    this.#watch.notify();
    return { platformMessageIds: [`${this.platform}-${this.sent.length}`], sentAt: Date.now() };
  }

  health(): AdapterHealth {
    return { connected: true, lastEventAt: null, lastError: null, detail: 'scripted' };
  }
}

/** A ScriptedAdapter that shows a preview (a message it edits) while a turn runs, like Telegram's. */
class StreamingScriptedAdapter extends ScriptedAdapter {
  readonly #log: string[];
  constructor(platform: string, events: string[], watch: Watch) {
    super(platform, events, watch);
    this.#log = events;
  }

  startStream(m: InboundMessage): { push(text: string): void; end(): Promise<string | undefined> } {
    this.#log.push(`preview:${m.id}`);
    return { push: () => {}, end: async () => undefined };
  }
}

const msg = (id: string, text: string, chat = 'c1', platform = 'test'): InboundMessage => ({
  platform, id, chat: { id: chat, type: 'dm' }, sender: { id: 'u1', name: 'Ada' }, text, sentAt: Date.now(), attachments: [],
});

/** The conversation messages of a model call, without the system prompt. */
const dialogue = (c: Call): ChatMessage[] => c.req.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content }) as ChatMessage);

const sentState = (o: TurnOutcome) => (o.duplicate ? 'duplicate' : o.delivery);

interface HarnessOptions {
  maxConcurrency?: number;
  routes?: readonly Route[];
  platforms?: readonly string[];
  store?: Store;
  /** The adapters show stream previews (StreamingScriptedAdapter). */
  streaming?: boolean;
  metrics?: MetricsSink;
}

/** A store on a file, and a second connection to read what was committed. */
function fileStore(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'clawdbot-gw-'));
  const opened = openDb(join(dir, 'x.db'));
  const store = new Store(opened);
  const other = openDb(join(dir, 'x.db'));
  t.after(() => {
    other.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const seen = (sql: string, ...args: unknown[]) => other.db.prepare(sql).pluck().get(...args);
  return { opened, store, seen };
}

/** Makes the commit of the batch now being queued fail (a foreign key checked at COMMIT); resolves to its rejection. */
function failNextCommit(f: ReturnType<typeof fileStore>): Promise<unknown> {
  return f.store.write(() => {
    f.opened.db.pragma('defer_foreign_keys = ON');
    f.opened.db.prepare("INSERT INTO outbox (inbox_id, platform, chat_id, text, next_attempt_at, created_at) VALUES (999, 'test', 'c1', 'x', 1, 1)").run();
  });
}

async function harness(t: TestContext, opts: HarnessOptions = {}) {
  const d = defaultConfig();
  const config: Config = {
    ...d,
    system: { ...d.system, maxConcurrency: opts.maxConcurrency ?? 4 },
    routes: opts.routes ?? d.routes,
  };
  const store = opts.store ?? Store.open(':memory:');
  const watch = new Watch();
  const events: string[] = [];
  const model = new ScriptedModel(events, watch);
  const registry = new AdapterRegistry();
  const adapters = new Map<string, ScriptedAdapter>();
  for (const p of opts.platforms ?? ['test']) {
    const a = opts.streaming ? new StreamingScriptedAdapter(p, events, watch) : new ScriptedAdapter(p, events, watch);
    registry.add(a);
    adapters.set(p, a);
  }
  const lines: string[] = [];
  const log = await createLogger({
    level: 'debug',
    destination: new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }),
  });
  const gateway = new Gateway({ config, store, executor: new Executor({ config, store, log, model }), adapters: registry, log, ...(opts.metrics ? { metrics: opts.metrics } : {}) });
  t.after(async () => {
    model.ignoreAbort = false;
    for (const c of model.calls) c.reject(new Error('test over'));
    await gateway.close(20);
    if (!opts.store) store.close();
  });
  return {
    config, store, model, gateway, events, watch, registry,
    adapter: adapters.get((opts.platforms ?? ['test'])[0]!)!,
    adapters,
    logs: () => lines.map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown }),
  };
}

// ---------------------------------------------------------------------------------------------------

describe('gateway: ordering and concurrency', () => {
  it('runs the turns of one conversation one at a time, in arrival order, replies in order', async (t) => {
    const h = await harness(t);
    h.model.hold = true;
    const pendingAtStart: [string, number][] = [];
    h.model.onCall = (c) => pendingAtStart.push([c.user, h.store.pendingTurns()]);
    const p = ['first', 'second', 'third'].map((text, i) => h.gateway.receive(msg(`m${i + 1}`, text)));

    for (let i = 0; i < 3; i++) {
      await h.watch.until(() => h.model.calls.length === i + 1, `model call ${i + 1}`);
      await settle();
      assert.equal(h.model.calls.length, i + 1, `turn ${i + 2} must wait until turn ${i + 1} is finished`);
      h.model.calls[i]!.resolve();
    }
    const outcomes = await Promise.all(p);

    assert.deepEqual(outcomes.map(sentState), ['sent', 'sent', 'sent']);
    assert.deepEqual(h.model.calls.map((c) => c.user), ['first', 'second', 'third']);
    assert.equal(h.model.maxActive, 1);
    assert.deepEqual(h.adapter.sent.map((m) => [m.inReplyTo, m.text]), [
      ['m1', 'echo: first'], ['m2', 'echo: second'], ['m3', 'echo: third'],
    ]);
    // Each model call starts only after the previous turn was completed (committed): its history waits for that.
    assert.deepEqual(pendingAtStart, [['first', 3], ['second', 2], ['third', 1]]);
    assert.deepEqual(h.events, [
      'model:start:first', 'model:end:first', 'send:m1', 'sent:m1',
      'model:start:second', 'model:end:second', 'send:m2', 'sent:m2',
      'model:start:third', 'model:end:third', 'send:m3', 'sent:m3',
    ]);
    assert.equal(h.store.pendingTurns(), 0);
  });

  it("a conversation's next turn does not wait for the previous reply's send; replies leave one at a time, in order", async (t) => {
    const h = await harness(t, { routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    const platform = deferred<void>();
    h.adapter.gate = platform.promise;
    const p = ['m1', 'm2', 'm3'].map((id) => h.gateway.receive(msg(id, 'hi')));
    await h.watch.until(() => h.adapter.attempts.length === 1, 'the first send');
    // Turns 2 and 3 ran and committed while the platform holds reply 1...
    await poll(() => h.store.pendingTurns() === 0 && h.store.outbox.due(Date.now()).length === 3, 'all turns completed');
    await settle();
    // ...and their replies wait behind it.
    assert.deepEqual(h.adapter.attempts.map((m) => m.inReplyTo), ['m1']);
    h.adapter.gate = undefined;
    platform.resolve();
    assert.deepEqual((await Promise.all(p)).map(sentState), ['sent', 'sent', 'sent']);
    assert.deepEqual(h.events, ['send:m1', 'sent:m1', 'send:m2', 'sent:m2', 'send:m3', 'sent:m3']);
    await h.store.settled(); // the marks commit with the next batch
    assert.equal(h.store.outbox.due(Date.now()).length, 0);
  });

  it('a reply committed while the previous one is still being sent waits for it: flushDue() neither sends it early nor twice', async (t) => {
    const h = await harness(t, { routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    const platform = deferred<void>();
    h.adapter.gate = platform.promise;
    const p = ['m1', 'm2'].map((id) => h.gateway.receive(msg(id, 'hi')));
    await h.watch.until(() => h.adapter.attempts.length === 1, 'the first send');
    await poll(() => h.store.pendingTurns() === 0 && h.store.outbox.due(Date.now()).length === 2, 'both committed');
    h.adapter.gate = undefined;
    h.gateway.flushDue(); // serve's timer: m2 is due, but it is the delivery chain's to send
    h.gateway.host('test').online('c1');
    await settle();
    platform.resolve();
    await Promise.all(p);
    await h.store.settled();
    await settle();
    assert.deepEqual(h.events, ['send:m1', 'sent:m1', 'send:m2', 'sent:m2']);
  });

  it("a message announced to a chat (an approval notice, a scheduled result) waits behind a reply to it that is still being sent", async (t) => {
    const h = await harness(t, { routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    const platform = deferred<void>();
    h.adapter.gate = platform.promise;
    const reply = h.gateway.receive(msg('m1', 'hi'));
    await h.watch.until(() => h.adapter.attempts.length === 1, 'the reply is being sent');
    await h.gateway.announce({ platform: 'test', chatId: 'c1', text: 'report' });
    await settle();
    assert.equal(h.adapter.attempts.length, 1, 'the notice waits behind the reply');
    h.adapter.gate = undefined;
    platform.resolve();
    await reply;
    await h.watch.until(() => h.adapter.sent.length === 2, 'both sent');
    assert.deepEqual(h.adapter.sent.map((m) => m.inReplyTo ?? m.text), ['m1', 'report']);
  });

  it("the next turn's preview waits for the previous reply to be sent (a preview is a message in the chat)", async (t) => {
    const h = await harness(t, { streaming: true }); // the model's answer: an instant reply has no preview
    const platform = deferred<void>();
    h.adapter.gate = platform.promise;
    const p = ['m1', 'm2'].map((id) => h.gateway.receive(msg(id, 'hi')));
    await h.watch.until(() => h.adapter.attempts.length === 1, 'the first send');
    await settle();
    const turn = (id: string) => [`preview:${id}`, 'model:start:hi', 'model:end:hi', `send:${id}`];
    assert.deepEqual(h.events, turn('m1'));
    h.adapter.gate = undefined;
    platform.resolve();
    await Promise.all(p);
    assert.deepEqual(h.events, [...turn('m1'), 'sent:m1', ...turn('m2'), 'sent:m2']);
  });

  it('runs different conversations in parallel, never more model calls at once than max_concurrency', async (t) => {
    const h = await harness(t, { maxConcurrency: 2 });
    h.model.hold = true;
    const chats = ['a', 'b', 'c', 'd', 'e'];
    const p = chats.map((c) => h.gateway.receive(msg(`m-${c}`, `hello ${c}`, `chat-${c}`)));
    const started = () => h.model.calls.map((c) => c.user);

    await h.watch.until(() => h.model.calls.length === 2, 'two model calls');
    await settle();
    assert.deepEqual(started(), ['hello a', 'hello b'], 'two slots, the rest wait');
    assert.equal(h.model.active, 2);

    // b finishes first: its reply goes out while a is still thinking; c takes the free slot.
    h.model.calls[1]!.resolve();
    await h.watch.until(() => h.adapter.sent.length === 1 && h.model.calls.length === 3, 'b answered and c started');
    assert.equal(h.adapter.sent[0]!.chatId, 'chat-b');
    assert.equal(h.model.active, 2);
    await settle();
    assert.equal(h.model.calls.length, 3);

    h.model.calls[0]!.resolve();
    await h.watch.until(() => h.model.calls.length === 4, 'd started');
    assert.equal(h.model.active, 2);
    h.model.calls[2]!.resolve();
    await h.watch.until(() => h.model.calls.length === 5, 'e started');
    assert.equal(h.model.active, 2);
    h.model.calls[3]!.resolve();
    h.model.calls[4]!.resolve();
    const outcomes = await Promise.all(p);

    assert.deepEqual(outcomes.map(sentState), ['sent', 'sent', 'sent', 'sent', 'sent']);
    assert.equal(h.model.maxActive, 2, 'parallel (2 at once) but never more than max_concurrency');
    assert.deepEqual(h.adapter.sent.map((m) => m.chatId), ['chat-b', 'chat-a', 'chat-c', 'chat-d', 'chat-e']);
    for (const m of h.adapter.sent) assert.equal(m.text, `echo: hello ${m.chatId.slice(5)}`);
  });

  it('a duplicate (same platform + message id) is acknowledged but neither answered nor sent again', async (t) => {
    const h = await harness(t, { platforms: ['test', 'other'] });
    h.model.hold = true;
    const first = h.gateway.receive(msg('d1', 'once'));
    // Redelivered while the first copy is still being answered...
    assert.deepEqual(await h.gateway.receive(msg('d1', 'once')), { duplicate: true });
    await h.watch.until(() => h.model.calls.length === 1, 'model call');
    h.model.calls[0]!.resolve();
    assert.equal(sentState(await first), 'sent');
    // ...and after it was answered.
    assert.deepEqual(await h.gateway.receive(msg('d1', 'once, again')), { duplicate: true });
    await settle();
    assert.equal(h.model.calls.length, 1);
    assert.equal(h.adapter.attempts.length, 1);

    // The same id on another platform is another message.
    h.model.hold = false;
    const other = await h.gateway.receive(msg('d1', 'elsewhere', 'c1', 'other'));
    assert.equal(sentState(other), 'sent');
    assert.equal(h.model.calls.length, 2);
    assert.deepEqual(h.adapters.get('other')!.sent.map((m) => m.text), ['echo: elsewhere']);
    assert.equal(h.adapter.sent.length, 1);
  });
});

describe('gateway: sessions', () => {
  it("turn 2 of a chat sees turn 1's message and reply; another chat does not", async (t) => {
    const h = await harness(t);
    await h.gateway.receive(msg('s1', 'my name is Ada', 'chat-1'));
    await h.gateway.receive(msg('s2', 'what is my name?', 'chat-1'));
    await h.gateway.receive(msg('s3', 'what is my name?', 'chat-2'));

    const [c1, c2, c3] = h.model.calls;
    assert.equal(c1!.req.messages[0]!.role, 'system');
    assert.deepEqual(dialogue(c1!), [{ role: 'user', content: 'my name is Ada' }]);
    assert.deepEqual(dialogue(c2!), [
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'echo: my name is Ada' },
      { role: 'user', content: 'what is my name?' },
    ]);
    assert.deepEqual(dialogue(c3!), [{ role: 'user', content: 'what is my name?' }]);
  });

  it('turn 2 sees turn 1 also when both arrive at once (its history waits for turn 1 to commit)', async (t) => {
    const h = await harness(t);
    await Promise.all([h.gateway.receive(msg('s1', 'my name is Ada', 'chat-1')), h.gateway.receive(msg('s2', 'what is my name?', 'chat-1'))]);
    assert.deepEqual(dialogue(h.model.calls[1]!), [
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'echo: my name is Ada' },
      { role: 'user', content: 'what is my name?' },
    ]);
  });
});

describe('gateway: delivery', () => {
  it("rate_limited with retry-after: queued, not retried early, sent by flushDue once due", async (t) => {
    const h = await harness(t);
    h.adapter.failures.push(new AdapterError('test', 'rate_limited', 'slow down', { retryAfterMs: 50 }));
    const t0 = Date.now();
    const outcome = await h.gateway.receive(msg('r1', 'hello'));
    assert.equal(outcome.duplicate, false);
    assert.equal(outcome.duplicate === false && outcome.delivery, 'queued');
    assert.equal(outcome.duplicate === false && outcome.result?.status, 'ok');
    assert.equal(h.store.pendingTurns(), 0, 'the turn is done; only the reply waits');
    assert.equal(h.store.outbox.due(t0 + 45).length, 0, 'not due before the retry-after');
    assert.equal(h.store.outbox.due(t0 + 1e9).length, 1);

    h.gateway.flushDue();
    await settle();
    if (Date.now() < t0 + 50) assert.equal(h.adapter.attempts.length, 1, 'flushDue before the time does not resend');

    await poll(() => h.store.outbox.due(Date.now()).length === 1, 'the reply to become due');
    h.gateway.flushDue();
    await h.watch.until(() => h.adapter.sent.length === 1, 'the retry');
    await poll(() => h.store.outbox.due(Date.now() + 1e9).length === 0, 'the row to be marked sent');
    assert.deepEqual(h.adapter.sent.map((m) => m.text), ['echo: hello']);
    assert.equal(h.adapter.attempts.length, 2);
    assert.equal(h.model.calls.length, 1, 'a retry resends the stored reply; the model is not asked again');

    h.gateway.flushDue();
    await settle();
    assert.equal(h.adapter.attempts.length, 2, 'a sent reply is not sent again');
  });

  it('a reply waiting for a retry (429) holds the replies behind it in its chat: they leave after it, in order', async (t) => {
    const h = await harness(t);
    h.adapter.failures.push(new AdapterError('test', 'rate_limited', 'slow down', { retryAfterMs: 150 }));
    const first = await h.gateway.receive(msg('h1', 'one'));
    assert.equal(first.duplicate === false && first.delivery, 'queued');
    const second = await h.gateway.receive(msg('h2', 'two'));
    assert.equal(second.duplicate === false && second.delivery, 'queued', 'not sent ahead of the reply that waits');
    const other = await h.gateway.receive(msg('h3', 'elsewhere', 'c9'));
    assert.equal(other.duplicate === false && other.delivery, 'sent', 'another chat is not held');
    assert.deepEqual(h.adapter.sent.map((m) => m.text), ['echo: elsewhere']);
    await poll(() => { h.gateway.flushDue(); return h.adapter.sent.length === 3; }, 'both replies of c1 sent');
    assert.deepEqual(h.adapter.sent.map((m) => m.text), ['echo: elsewhere', 'echo: one', 'echo: two']);
    // Once the held reply has left, the chat is free again: the next reply goes at once.
    await poll(() => h.store.outbox.due(Date.now() + 1e9).length === 0, 'both marked sent');
    const third = await h.gateway.receive(msg('h4', 'three'));
    assert.equal(third.duplicate === false && third.delivery, 'sent');
  });

  it('a held reply that fails again when retried keeps holding the replies resent behind it in the same flush', async (t) => {
    const h = await harness(t);
    h.adapter.failures.push(new AdapterError('test', 'rate_limited', 'slow down', { retryAfterMs: 100 }));
    h.adapter.failures.push(new AdapterError('test', 'rate_limited', 'slow down', { retryAfterMs: 300 }));
    assert.equal(sentState(await h.gateway.receive(msg('r1', 'one'))), 'queued');
    assert.equal(sentState(await h.gateway.receive(msg('r2', 'two'))), 'queued');
    await new Promise((r) => setTimeout(r, 120));
    h.gateway.flushDue(); // both due: one is retried (and refused again), two is chained behind it
    await poll(() => h.adapter.attempts.length >= 2, 'the retry of one');
    await settle();
    assert.deepEqual(h.adapter.sent.map((m) => m.text), [], 'two does not overtake one, which waits for its second retry');
    await poll(() => { h.gateway.flushDue(); return h.adapter.sent.length === 2; }, 'both sent');
    assert.deepEqual(h.adapter.sent.map((m) => m.text), ['echo: one', 'echo: two']);
  });

  it('an unexpected error from send counts as a network failure: queued with backoff', async (t) => {
    const h = await harness(t);
    h.adapter.failures.push(new Error('socket hang up'));
    const t0 = Date.now();
    const outcome = await h.gateway.receive(msg('n1', 'hello'));
    assert.equal(sentState(outcome), 'queued');
    assert.equal(h.store.outbox.due(t0 + 450).length, 0, 'first backoff is at least 500 ms');
    assert.equal(h.store.outbox.due(t0 + 1e9).length, 1);
  });

  it("rejected: 'dead', never retried", async (t) => {
    const h = await harness(t);
    h.adapter.failures.push(new AdapterError('test', 'rejected', 'message too long'));
    const outcome = await h.gateway.receive(msg('x1', 'hello'));
    assert.equal(sentState(outcome), 'dead');
    assert.equal(h.store.outbox.due(Date.now() + 1e9).length, 0, 'a dead reply is not pending');
    h.gateway.flushDue();
    h.gateway.host('test').online('c1');
    h.gateway.recover();
    await settle();
    assert.equal(h.adapter.attempts.length, 1);
    assert.equal(h.adapter.sent.length, 0);
    assert.equal(h.store.pendingTurns(), 0);
    assert.ok(h.logs().some((l) => l.level === 50 && /given up/.test(l.msg)), 'the loss is logged as an error');
  });

  it("unavailable: queued until the recipient comes online, then sent once", async (t) => {
    const h = await harness(t);
    h.adapter.failures.push(new AdapterError('test', 'unavailable', 'no client connected for chat c1'));
    const outcome = await h.gateway.receive(msg('u1', 'hello'));
    assert.equal(sentState(outcome), 'queued');

    h.gateway.flushDue();
    h.gateway.host('test').online('someone-else');
    await settle();
    assert.equal(h.adapter.attempts.length, 1, 'neither the timer nor another chat coming online resends it');

    h.gateway.host('test').online('c1');
    await h.watch.until(() => h.adapter.sent.length === 1, 'the reply after online()');
    await poll(() => h.store.outbox.due(Date.now() + 1e9).length === 0, 'the row to be marked sent');
    assert.deepEqual(h.adapter.sent, [{ platform: 'test', chatId: 'c1', inReplyTo: 'u1', text: 'echo: hello' }]);

    h.gateway.host('test').online('c1');
    await settle();
    assert.equal(h.adapter.attempts.length, 2, 'sent once');
  });

  it('a reply being sent is not sent again meanwhile by online() or flushDue()', async (t) => {
    const h = await harness(t);
    h.adapter.failures.push(new AdapterError('test', 'rate_limited', 'slow down', { retryAfterMs: 0 }));
    assert.equal(sentState(await h.gateway.receive(msg('g1', 'hello'))), 'queued');
    await poll(() => h.store.outbox.due(Date.now()).length === 1, 'the reply to be due');
    const gate = deferred<void>();
    h.adapter.gate = gate.promise;
    h.gateway.flushDue();
    await h.watch.until(() => h.adapter.attempts.length === 2, 'the retry to start');
    h.gateway.host('test').online('c1');
    h.gateway.flushDue();
    h.gateway.recover();
    await settle();
    assert.equal(h.adapter.attempts.length, 2, 'one send of a row at a time');
    gate.resolve();
    await h.watch.until(() => h.adapter.sent.length === 1, 'the send to finish');
    await poll(() => h.store.outbox.due(Date.now() + 1e9).length === 0, 'the row to be marked sent');
    h.gateway.flushDue();
    await settle();
    assert.equal(h.adapter.sent.length, 1);
  });

  it('a reply that keeps failing transiently is given up after 12 attempts', async (t) => {
    const h = await harness(t);
    h.adapter.failAlways = new AdapterError('test', 'rate_limited', 'slow down', { retryAfterMs: 0 });
    const outcome = await h.gateway.receive(msg('f1', 'hello'));
    assert.equal(sentState(outcome), 'queued');
    const row = () => h.store.outbox.due(Date.now() + 1e9)[0];
    for (let n = 2; n <= 12; n++) {
      await poll(() => row()?.attempts === n - 1, `attempt ${n - 1} recorded`);
      h.gateway.flushDue();
      await h.watch.until(() => h.adapter.attempts.length === n, `attempt ${n}`);
    }
    await poll(() => row() === undefined, 'the row to be given up');
    h.gateway.flushDue();
    await settle();
    assert.equal(h.adapter.attempts.length, 12);
  });
});

describe('gateway: failures and routing', () => {
  it('a model failure gives a failed result with the short user text, delivered, and not remembered', async (t) => {
    const h = await harness(t);
    const err = new ModelError('unreachable', 'connect ECONNREFUSED 127.0.0.1:11434');
    h.model.failures.push(err);
    const outcome = await h.gateway.receive(msg('e1', 'are you there?'));
    assert.equal(outcome.duplicate, false);
    if (outcome.duplicate) return;
    assert.equal(outcome.result?.status, 'failed');
    assert.equal(outcome.result.text, err.userText);
    assert.equal(outcome.result.status === 'failed' && outcome.result.error, err);
    assert.equal(outcome.delivery, 'sent');
    assert.deepEqual(h.adapter.sent.map((m) => m.text), [err.userText]);
    assert.ok(!h.adapter.sent[0]!.text.includes('ECONNREFUSED'), 'internals are not shown to the user');
    assert.equal(h.store.pendingTurns(), 0, 'a failed turn is finished, not redone');

    await h.gateway.receive(msg('e2', 'hello again'));
    assert.deepEqual(dialogue(h.model.calls[1]!), [{ role: 'user', content: 'hello again' }], 'the failed turn is not history');
  });

  it('no route and no default rule: nothing answered, nothing sent, the turn is done', async (t) => {
    const routes: Route[] = [{ index: 0, match: { content: '!ping' }, action: 'send_welcome_message', source: 'test:1:1' }];
    const h = await harness(t, { routes });
    const outcome = await h.gateway.receive(msg('n1', 'hello'));
    assert.deepEqual(outcome, { duplicate: false, route: null, result: null, delivery: 'none' });
    assert.equal(h.store.pendingTurns(), 0);
    assert.equal(h.store.outbox.due(Date.now() + 1e9).length, 0);
    await settle();
    assert.equal(h.adapter.attempts.length, 0);
    assert.equal(h.model.calls.length, 0);

    // The rule itself works: a matching message is answered by its action.
    const hit = await h.gateway.receive(msg('n2', '!ping'));
    assert.equal(hit.duplicate === false && hit.route?.source, 'test:1:1');
    assert.equal(h.adapter.sent.length, 1);
    assert.match(h.adapter.sent[0]!.text, /clawdbot/);
    assert.equal(h.model.calls.length, 0);
  });
});

describe('gateway: group commit', () => {
  /** A store in a file, and what another process sees of it. */

  it('a reply leaves only once its turn is durable', async (t) => {
    const f = fileStore(t);
    const h = await harness(t, { store: f.store, routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    const atSend: unknown[] = [];
    h.adapter.onSend = (m) => atSend.push(f.seen("SELECT status FROM inbox WHERE message_id = ?", m.inReplyTo), f.seen('SELECT count(*) FROM outbox'));
    const outcome = await h.gateway.receive(msg('w1', 'hello'));
    assert.equal(sentState(outcome), 'sent');
    assert.deepEqual(atSend, ['done', 1], 'another process sees the finished turn and its reply when the reply leaves');
  });

  it('an action beyond a fixed reply (a model call) starts only once its message is durable', async (t) => {
    const f = fileStore(t);
    const h = await harness(t, { store: f.store });
    const atCall: unknown[] = [];
    h.model.onCall = () => atCall.push(f.seen("SELECT status FROM inbox WHERE message_id = 'l1'"));
    const outcome = await h.gateway.receive(msg('l1', 'hello'));
    assert.equal(sentState(outcome), 'sent');
    assert.deepEqual(atCall, ['pending']);
  });

  it('a fixed reply commits in the same group as its message: once submit() resolves, the reply is queued too', async (t) => {
    const f = fileStore(t);
    const h = await harness(t, { store: f.store, routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    const s = await h.gateway.submit(msg('f1', 'hello'));
    assert.equal(s.duplicate, false);
    assert.deepEqual([f.seen("SELECT status FROM inbox WHERE message_id = 'f1'"), f.seen('SELECT count(*) FROM outbox'), f.seen('SELECT count(*) FROM messages')], ['done', 1, 2]);
    if (!s.duplicate) assert.equal(sentState(await s.outcome), 'sent');
  });

  it('a fixed reply to a message delivered twice at once is written and sent once', async (t) => {
    const f = fileStore(t);
    const h = await harness(t, { store: f.store, routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    const outcomes = await Promise.all([h.gateway.receive(msg('f2', 'hello')), h.gateway.receive(msg('f2', 'hello'))]);
    assert.deepEqual(outcomes.map(sentState).sort(), ['duplicate', 'sent']);
    await h.store.settled();
    assert.deepEqual([f.seen('SELECT count(*) FROM inbox'), f.seen('SELECT count(*) FROM outbox'), f.seen('SELECT count(*) FROM messages')], [1, 1, 2]);
    assert.equal(h.adapter.attempts.length, 1);
  });

  it('a fixed reply to a message whose record fails is neither written nor sent', async (t) => {
    const f = fileStore(t);
    const h = await harness(t, { store: f.store, routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    const record = f.store.inbox.record.bind(f.store.inbox);
    f.store.inbox.record = () => { throw new Error('disk full'); };
    await assert.rejects(h.gateway.receive(msg('f4', 'hello')), /disk full/);
    await h.store.settled();
    await settle();
    assert.deepEqual([h.adapter.attempts.length, f.seen('SELECT count(*) FROM outbox'), f.seen('SELECT count(*) FROM messages')], [0, 0, 0]);
    f.store.inbox.record = record;
    assert.equal(sentState(await h.gateway.receive(msg('f4', 'hello'))), 'sent');
  });

  it("a redelivered duplicate uses up neither the sender's rate limit nor its one notice", async (t) => {
    const h = await harness(t, { routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    h.gateway.reconfigure({ ...h.config, security: { ...h.config.security, rateLimits: { ...h.config.security.rateLimits, user: { limit: 2, windowMs: 60_000, text: '2/min' } } } });
    assert.equal(sentState(await h.gateway.receive(msg('d1', 'hi'))), 'sent');
    assert.equal(sentState(await h.gateway.receive(msg('d1', 'hi'))), 'duplicate');
    assert.equal(sentState(await h.gateway.receive(msg('d1', 'hi'))), 'duplicate');
    assert.equal(sentState(await h.gateway.receive(msg('d2', 'hi again'))), 'sent', 'the second real message is answered');
    const third = await h.gateway.receive(msg('d3', 'and again'));
    assert.ok(!third.duplicate && third.result?.status === 'denied', 'the third gets the notice');
  });

  it('a turn that fails before its record has run is not left counted as queued', async (t) => {
    const h = await harness(t, { routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    // A message the pipeline cannot handle (no text): the turn throws at once, before the batch runs.
    const s = await h.gateway.submit({ ...msg('b1', 'x'), text: undefined as unknown as string });
    if (!s.duplicate) await assert.rejects(s.outcome);
    await settle();
    assert.equal(h.gateway.queued, 0);
  });

  it('a message whose record fails to commit counts as one store error, not two (its turn fails with it)', async (t) => {
    const f = fileStore(t);
    const { sink: metrics, errors } = recordingMetrics();
    const h = await harness(t, { store: f.store, metrics, routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    const doomed = failNextCommit(f);
    await assert.rejects(h.gateway.receive(msg('x1', 'hello')), /FOREIGN KEY/);
    await assert.rejects(doomed, /FOREIGN KEY/);
    await settle();
    assert.deepEqual(errors, ['store']);
  });

  it('a fixed reply shows no preview (nothing to wait for)', async (t) => {
    const h = await harness(t, { streaming: true, routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    assert.equal(sentState(await h.gateway.receive(msg('f3', 'hello'))), 'sent');
    assert.deepEqual(h.events.filter((e) => e.startsWith('preview:')), []);
  });

  it('when the commit of a message fails, nothing is answered and the sender gets the error', async (t) => {
    const f = fileStore(t);
    const h = await harness(t, { store: f.store, routes: [{ index: 0, match: null, action: 'send_welcome_message', source: 'test' }] });
    // Another write of the same batch makes its commit fail (a foreign key checked at COMMIT).
    const doomed = failNextCommit(f);
    await assert.rejects(h.gateway.receive(msg('x1', 'hello')), /FOREIGN KEY/);
    await assert.rejects(doomed, /FOREIGN KEY/);
    await settle();
    assert.deepEqual(h.adapter.attempts, [], 'nothing was sent');
    assert.equal(h.gateway.queued, 0, 'no turn is left counted as queued');
    assert.equal(f.seen('SELECT count(*) FROM inbox'), 0);
    assert.equal(f.seen('SELECT count(*) FROM outbox'), 0);
    // The same message, sent again, is a new message (the failed one was never acknowledged) and is answered.
    assert.equal(sentState(await h.gateway.receive(msg('x1', 'hello'))), 'sent');
  });

  it('a turn whose completion fails to commit (a full disk for a moment) is redone by the retry timer, not left unanswered until a restart', async (t) => {
    const f = fileStore(t);
    const { sink: metrics, errors } = recordingMetrics();
    const h = await harness(t, { store: f.store, metrics });
    h.model.hold = true;
    const turn = h.gateway.receive(msg('d1', 'hello'));
    await h.watch.until(() => h.model.calls.length === 1, 'the model call');
    assert.equal(f.seen('SELECT count(*) FROM inbox'), 1, 'the message is acknowledged');
    const db = f.opened.db;
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.pragma(`max_page_count = ${pages}`); // the disk is full: the long reply cannot be written
    h.model.calls[0]!.resolve('x'.repeat(200_000));
    await assert.rejects(turn, /full/);
    assert.deepEqual(errors, ['store'], 'counted as a store error (clawdbot_errors_total)');
    assert.equal(f.seen("SELECT count(*) FROM inbox WHERE status = 'pending'"), 1, 'the turn is still unfinished');
    db.pragma('max_page_count = 1073741823'); // space again
    h.model.hold = false;
    h.gateway.flushDue(); // serve's timer, every second
    await h.watch.until(() => h.adapter.sent.length === 1, 'the redone turn\'s reply');
    assert.deepEqual(h.adapter.sent.map((m) => m.inReplyTo), ['d1']);
    await poll(() => f.seen("SELECT count(*) FROM inbox WHERE status = 'pending'") === 0, 'the turn to be done');
    h.gateway.flushDue();
    await settle();
    assert.equal(h.model.calls.length, 2, 'redone once');
    assert.equal(h.adapter.attempts.length, 1, 'answered once');
  });
});

describe('gateway: a disk that stays full', () => {
  it('a turn whose completion keeps failing is redone with a growing wait, not every second', async (t) => {
    const { opened, store } = fileStore(t);
    const h = await harness(t, { store });
    h.model.hold = true;
    const turn = h.gateway.receive(msg('f1', 'hello'));
    await h.watch.until(() => h.model.calls.length === 1, 'the model call');
    opened.db.pragma(`max_page_count = ${Number(opened.db.pragma('page_count', { simple: true }))}`);
    // Every answer is too long for the full disk: each completion fails.
    h.model.onCall = (c) => queueMicrotask(() => c.resolve('x'.repeat(200_000)));
    h.model.calls[0]!.resolve('x'.repeat(200_000));
    await assert.rejects(turn, /full/);
    h.gateway.flushDue(); // the first redo comes at once
    await h.watch.until(() => h.model.calls.length === 2, 'the first redo');
    await poll(() => h.gateway.busy === 0, 'the redone turn to fail too');
    h.gateway.flushDue();
    await settle();
    assert.equal(h.model.calls.length, 2, 'not redone again at once: the wait has grown');
    await new Promise((r) => setTimeout(r, 1100));
    h.gateway.flushDue();
    await h.watch.until(() => h.model.calls.length === 3, 'redone after the wait');
    opened.db.pragma('max_page_count = 1073741823');
  });
});

describe('gateway: recovery and shutdown', () => {
  it('recover() redoes a turn a previous process accepted, once; leaves platforms it does not host alone', async (t) => {
    const store = Store.open(':memory:');
    t.after(() => store.close());
    const now = Date.now();
    store.inbox.record(msg('r1', 'left over', 'c7'), 'test:c7', now);
    store.inbox.record(msg('g1', 'for another process', 'c8', 'gone'), 'gone:c8', now);
    assert.equal(store.pendingTurns(), 2);

    const h = await harness(t, { store });
    h.gateway.recover();
    await h.watch.until(() => h.adapter.sent.length === 1, 'the recovered reply');
    await poll(() => h.store.pendingTurns() === 1, 'the recovered turn to be done');
    assert.deepEqual(h.adapter.sent, [{ platform: 'test', chatId: 'c7', inReplyTo: 'r1', text: 'echo: left over' }]);
    assert.deepEqual(h.store.inbox.pending().map((p) => p.message.id), ['g1']);

    h.gateway.recover();
    await settle();
    assert.equal(h.model.calls.length, 1);
    assert.equal(h.adapter.attempts.length, 1, 'answered once');
    assert.deepEqual(h.store.inbox.pending().map((p) => p.message.platform), ['gone']);
  });

  it('recover() sends a reply a previous process queued, without asking the model again', async (t) => {
    const store = Store.open(':memory:');
    t.after(() => store.close());
    const now = Date.now();
    const rec = store.inbox.record(msg('q1', 'queued one', 'c3'), 'test:c3', now);
    assert.equal(rec.duplicate, false);
    if (rec.duplicate) return;
    store.completeTurn({
      inboxId: rec.inboxId, conversation: 'test:c3', sessionTtlMs: 3600_000,
      reply: { platform: 'test', chatId: 'c3', inReplyTo: 'q1', text: 'the stored reply' }, remember: [],
    }, now);

    const h = await harness(t, { store });
    h.gateway.recover();
    await h.watch.until(() => h.adapter.sent.length === 1, 'the queued reply');
    await poll(() => h.store.outbox.due(Date.now() + 1e9).length === 0, 'the row to be marked sent');
    assert.deepEqual(h.adapter.sent.map((m) => m.text), ['the stored reply']);
    assert.equal(h.model.calls.length, 0);
  });

  it('recover() sends two replies a previous process queued for one chat one at a time, in order', async (t) => {
    const store = Store.open(':memory:');
    t.after(() => store.close());
    const now = Date.now();
    for (const id of ['o1', 'o2']) {
      const rec = store.inbox.record(msg(id, 'queued', 'c4'), 'test:c4', now);
      if (rec.duplicate) throw new Error('unexpected duplicate');
      store.completeTurn({
        inboxId: rec.inboxId, conversation: 'test:c4', sessionTtlMs: 3600_000,
        reply: { platform: 'test', chatId: 'c4', inReplyTo: id, text: `reply to ${id}` }, remember: [],
      }, now);
    }
    const h = await harness(t, { store });
    const platform = deferred<void>();
    h.adapter.gate = platform.promise;
    h.gateway.recover();
    await h.watch.until(() => h.adapter.attempts.length >= 1, 'the first send');
    h.gateway.flushDue();
    h.gateway.host('test').online('c4');
    await settle();
    assert.deepEqual(h.adapter.attempts.map((m) => m.inReplyTo), ['o1'], 'the second reply waits for the first');
    h.adapter.gate = undefined;
    platform.resolve();
    await h.watch.until(() => h.adapter.sent.length === 2, 'both sent');
    await poll(() => h.store.outbox.due(Date.now() + 1e9).length === 0, 'both marked sent');
    h.gateway.flushDue();
    await settle();
    assert.deepEqual(h.events, ['send:o1', 'sent:o1', 'send:o2', 'sent:o2']);
  });

  // recover() re-reads every pending inbox row; turns this process already queued or is running must not
  // be enqueued again (the model would be asked twice and two replies sent). serve calls recover() once,
  // before any message can arrive, but an adapter that receives during start() (polling) would hit it.
  it('recover() does not enqueue again a turn already queued or running in this process', async (t) => {
    const h = await harness(t);
    h.model.hold = true;
    const turn = h.gateway.receive(msg('p1', 'in flight'));
    await h.watch.until(() => h.model.calls.length === 1, 'the model call');
    h.gateway.recover();
    h.model.hold = false;
    h.model.calls[0]!.resolve();
    await turn;
    await settle();
    assert.equal(h.model.calls.length, 1, 'the model is asked once');
    assert.equal(h.adapter.sent.length, 1, 'one reply');
  });

  it('close(deadline) cuts off a hanging turn: not completed, nothing sent, redone by the next start', async (t) => {
    const store = Store.open(':memory:');
    t.after(() => store.close());
    const h = await harness(t, { store });
    h.model.hold = true;
    const turn = h.gateway.receive(msg('h1', 'take your time'));
    await h.watch.until(() => h.model.calls.length === 1, 'the model call');

    const t0 = Date.now();
    await h.gateway.close(50);
    const took = Date.now() - t0;
    assert.ok(took >= 40 && took < 400, `close waited for the deadline, then returned (${took} ms)`);
    assert.equal(h.model.calls[0]!.req.signal?.aborted, true, 'the model call was aborted');
    assert.deepEqual(await turn, { duplicate: false, route: h.config.routes[0], result: null, delivery: 'none' });
    assert.equal(store.pendingTurns(), 1, 'the turn stays pending');
    assert.equal(store.outbox.due(Date.now() + 1e9).length, 0);
    assert.equal(h.adapter.attempts.length, 0, 'nothing sent');
    assert.ok(h.logs().some((l) => /interrupted by shutdown/.test(l.msg)));

    await assert.rejects(h.gateway.receive(msg('h2', 'too late')), (e: unknown) => e instanceof AdapterError && e.kind === 'unavailable');
    assert.equal(store.pendingTurns(), 1, 'a message refused during shutdown is not recorded');

    // The next process answers it.
    const next = await harness(t, { store });
    next.gateway.recover();
    await next.watch.until(() => next.adapter.sent.length === 1, 'the redone turn');
    await poll(() => store.pendingTurns() === 0, 'the redone turn to be done');
    assert.deepEqual(next.adapter.sent.map((m) => m.text), ['echo: take your time']);
  });

  it('close(deadline) waits for a queued reply being resent (flushDue): it is marked sent before the store closes, not sent again', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'clawdbot-gw-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'clawdbot.db');
    const store = Store.open(file);
    const rec = store.inbox.record(msg('z1', 'queued', 'c5'), 'test:c5', Date.now());
    if (rec.duplicate) throw new Error('unexpected duplicate');
    store.completeTurn({
      inboxId: rec.inboxId, conversation: 'test:c5', sessionTtlMs: 3600_000,
      reply: { platform: 'test', chatId: 'c5', inReplyTo: 'z1', text: 'the stored reply' }, remember: [],
    }, Date.now());
    const h = await harness(t, { store });
    const platform = deferred<void>();
    h.adapter.gate = platform.promise;
    h.gateway.recover();
    await h.watch.until(() => h.adapter.attempts.length === 1, 'the resend');
    const closed = h.gateway.close(2000);
    await settle();
    platform.resolve(); // the platform accepts it during the shutdown grace
    await closed;
    store.close(); // as serve does once the gateway has closed
    assert.equal(h.adapter.sent.length, 1);
    const again = Store.open(file);
    t.after(() => again.close());
    assert.deepEqual(again.outbox.due(Date.now() + 1e9), [], 'the next start does not send it a second time');
  });

  it('close(deadline) lets a turn that finishes in time complete and deliver', async (t) => {
    const h = await harness(t);
    h.model.hold = true;
    const turn = h.gateway.receive(msg('k1', 'quick'));
    await h.watch.until(() => h.model.calls.length === 1, 'the model call');
    const closed = h.gateway.close(2000);
    await settle();
    h.model.calls[0]!.resolve();
    await closed;
    assert.equal(sentState(await turn), 'sent');
    assert.deepEqual(h.adapter.sent.map((m) => m.text), ['echo: quick']);
    assert.equal(h.store.pendingTurns(), 0);
  });
});
