// The one contract every adapter passes, run against the platform's protocol-faithful fake with the
// adapter's real client library. A driver plays the platform's users; the suite checks what a user
// of that platform would see. Each adapter's test file calls runAdapterContract(driver).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Adapter } from '../../src/adapters/contract.ts';
import { pipeline, quietLog, until, type Pipeline } from '../helpers/pipeline.ts';

/** What a platform's fake and its users can do, as seen from the suite. */
export interface PlatformDriver {
  readonly name: string;
  /** The platform's limit on one message, in its own unit; long replies must be split under it. */
  readonly maxMessage: number;
  /** Starts the fake and builds the adapter pointed at it (not started). */
  setup(): Promise<Adapter>;
  /** A user writes `text` in a chat; resolves when the platform has handed it on. Returns an event handle. */
  say(text: string): Promise<string>;
  /** The platform delivers the event `handle` again (a retry or a re-read after restart). */
  redeliver(handle: string): Promise<void>;
  /** Texts of the messages the bot sent, in order (one per platform message). */
  sent(): string[];
  /** The next send is refused with the platform's 429 and this retry-after (seconds); undefined if the platform has none. */
  rateLimitNextSend?(retryAfterSeconds: number): void;
  /** The platform is unreachable for `ms`; undefined if not applicable. */
  outage?(ms: number): void;
  teardown(): Promise<void>;
}

export function runAdapterContract(driver: PlatformDriver): void {
  describe(`adapter contract: ${driver.name}`, () => {
    let p: Pipeline;
    before(async () => {
      const adapter: Adapter = await driver.setup();
      p = await pipeline(adapter, { log: await quietLog() });
    });
    after(async () => {
      await p.close();
      await driver.teardown();
    });

    it('text in, reply out', async () => {
      const before = driver.sent().length;
      await driver.say('hello contract');
      await until('the reply', () => driver.sent().length > before);
      assert.equal(driver.sent()[before], 'echo: hello contract');
    });

    it('a long reply is split under the platform limit, nothing lost', async () => {
      const paragraphs = Array.from({ length: 40 }, (_, i) => `Paragraph ${i}: ${'lorem ipsum dolor sit amet '.repeat(20).trim()}.`);
      const long = paragraphs.join('\n\n');
      const before = driver.sent().length;
      await driver.say(`reply: ${long}`);
      await until('every part', () => driver.sent().slice(before).join('\n\n').includes('Paragraph 39'));
      const parts = driver.sent().slice(before);
      if (long.length > driver.maxMessage) assert.ok(parts.length > 1, 'split into several messages');
      for (const p of parts) assert.ok(p.length <= driver.maxMessage, `a part of ${p.length} exceeds ${driver.maxMessage}`);
      const words = (s: string) => s.split(/\s+/).filter(Boolean);
      assert.deepEqual(words(parts.join(' ')), words(long), 'the parts together are the whole reply');
    });

    it('a redelivered event gets one reply', async () => {
      const before = driver.sent().length;
      const handle = await driver.say('only once please');
      await until('the reply', () => driver.sent().length > before);
      await driver.redeliver(handle);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(driver.sent().slice(before).filter((t) => t === 'echo: only once please').length, 1);
    });

    it('a 429 from the platform is retried after retry_after and delivered once', { skip: !driver.rateLimitNextSend && 'the platform has no rate-limit reply' }, async () => {
      const before = driver.sent().length;
      driver.rateLimitNextSend!(1);
      const t0 = Date.now();
      await driver.say('after the limit');
      await until('the retried reply', () => driver.sent().length > before);
      assert.ok(Date.now() - t0 >= 900, 'waited retry_after');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(driver.sent().slice(before), ['echo: after the limit']);
    });

    it('the platform unreachable for a while: reconnects, nothing lost', { skip: !driver.outage && 'not applicable' }, async () => {
      const before = driver.sent().length;
      driver.outage!(1500);
      const handle = driver.say('through the outage');
      await handle;
      await until('the reply after the outage', () => driver.sent().length > before, 20_000);
      assert.deepEqual(driver.sent().slice(before), ['echo: through the outage']);
    });

    it('stop returns promptly', async () => {
      const t0 = Date.now();
      p.stop.abort();
      await p.gateway.close(1000);
      assert.ok(Date.now() - t0 < 3000, `stopped in ${Date.now() - t0} ms`);
    });
  });
}
