// A chat platform for in-process pipeline tests: records every message the pipeline sends; and a person
// writing in their own chat on it.
import type { Adapter, AdapterHealth, AdapterHost } from '../../src/adapters/contract.ts';
import assert from 'node:assert/strict';
import type { Gateway } from '../../src/core/gateway.ts';
import type { ActionResult, DeliveryReceipt, InboundMessage, OutboundMessage } from '../../src/core/types.ts';

export class ChatAdapter implements Adapter {
  readonly platform = 'chat';
  readonly limits = { maxTextLength: 100_000 };
  readonly sent: OutboundMessage[] = [];
  async start(_host: AdapterHost): Promise<void> {}
  async send(m: OutboundMessage): Promise<DeliveryReceipt> {
    this.sent.push(m);
    return { platformMessageIds: [`${this.sent.length}`], sentAt: Date.now() };
  }
  health(): AdapterHealth {
    return { connected: true, lastEventAt: null, lastError: null, detail: 'test' };
  }
}

let n = 0;
/** A message from `user` in their own chat ("c-USER") on the chat platform. */
export function chatMessage(user: string, text: string): InboundMessage {
  return { platform: 'chat', id: `m${++n}`, chat: { id: `c-${user}`, type: 'dm' }, sender: { id: user }, text, sentAt: Date.now(), attachments: [] };
}

/** What the pipeline answered `user` (the turn must have a result). */
export async function answer(gateway: Gateway, user: string, text: string): Promise<ActionResult> {
  const o = await gateway.receive(chatMessage(user, text));
  assert.ok(!o.duplicate && o.result);
  return o.result;
}
