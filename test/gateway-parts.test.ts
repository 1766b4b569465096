// A reply split into several platform messages survives a failure between parts: the retry resumes
// after the parts already accepted. Also: thread ids travel to the reply; typing is shown while working.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { Adapter, AdapterHealth, SendContext, Typing } from '../src/adapters/contract.ts';
import { AdapterRegistry } from '../src/adapters/registry.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import { AdapterError } from '../src/core/errors.ts';
import { Executor } from '../src/core/executor.ts';
import { Gateway } from '../src/core/gateway.ts';
import { createLogger } from '../src/core/log.ts';
import type { ModelClient } from '../src/core/models/types.ts';
import type { DeliveryReceipt, InboundMessage, OutboundMessage } from '../src/core/types.ts';
import { Store } from '../src/store/store.ts';

/** Sends a reply as one platform message per line; fails once on the part named by `failAtPart`. */
class PartsAdapter implements Adapter {
  readonly platform = 'parts';
  readonly limits = { maxTextLength: 100 };
  readonly delivered: string[] = [];
  readonly contexts: { partsSent: number; threadId: string | undefined }[] = [];
  readonly typing: string[] = [];
  failAtPart: number | undefined;
  async start(): Promise<void> {}
  async send(m: OutboundMessage, ctx: SendContext): Promise<DeliveryReceipt> {
    this.contexts.push({ partsSent: ctx.partsSent, threadId: m.threadId });
    const parts = m.text.split('\n');
    const ids: string[] = [];
    for (let i = ctx.partsSent; i < parts.length; i++) {
      if (this.failAtPart === i) {
        this.failAtPart = undefined;
        throw new AdapterError(this.platform, 'rate_limited', '429', { retryAfterMs: 10 });
      }
      this.delivered.push(parts[i]!);
      ids.push(String(i));
      ctx.onPart(i + 1, String(i));
    }
    return { platformMessageIds: ids, sentAt: Date.now() };
  }
  startTyping(m: InboundMessage): Typing {
    this.typing.push(`start:${m.id}`);
    return { stop: () => this.typing.push(`stop:${m.id}`) };
  }
  health(): AdapterHealth {
    return { connected: true, lastEventAt: null, lastError: null, detail: '' };
  }
}

const model: ModelClient = {
  provider: 'ollama',
  endpoint: 'test',
  chat: async () => ({ text: 'one\ntwo\nthree', toolCalls: [], model: 'm', promptTokens: 1, completionTokens: 3 }),
  listModels: async () => ['m'],
};

async function setup() {
  const config = defaultConfig();
  const store = Store.open(':memory:');
  const adapter = new PartsAdapter();
  const registry = new AdapterRegistry();
  registry.add(adapter);
  const log = await createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const gateway = new Gateway({ config, store, executor: new Executor({ config, store, log, model }), adapters: registry, log });
  return { store, adapter, gateway };
}

const message = (id: string, threadId?: string): InboundMessage => ({
  platform: 'parts', id, chat: { id: 'c', type: 'group' }, sender: { id: 'u' }, text: 'hi', sentAt: Date.now(), attachments: [],
  ...(threadId ? { threadId } : {}),
});

describe('gateway: multi-part replies, threads, typing', () => {
  it('a retry after a failure between parts resumes after the accepted ones', async () => {
    const { store, adapter, gateway } = await setup();
    adapter.failAtPart = 1;
    const out = await gateway.receive(message('m1'));
    assert.equal(!out.duplicate && out.delivery, 'queued');
    assert.deepEqual(adapter.delivered, ['one']);
    await new Promise((r) => setTimeout(r, 30));
    gateway.flushDue();
    for (let i = 0; i < 50 && adapter.delivered.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(adapter.delivered, ['one', 'two', 'three'], 'no part twice, none lost');
    assert.deepEqual(adapter.contexts.map((c) => c.partsSent), [0, 1]);
    await gateway.close(50);
    store.close();
  });

  it('the reply goes to the thread of the message; typing runs while the turn works', async () => {
    const { store, adapter, gateway } = await setup();
    await gateway.receive(message('m2', 'T-42'));
    assert.equal(adapter.contexts[0]?.threadId, 'T-42');
    assert.deepEqual(adapter.typing, ['start:m2', 'stop:m2']);
    await gateway.close(50);
    store.close();
  });
});
