// A chat platform for in-process pipeline tests: records every message the pipeline sends.
import type { Adapter, AdapterHealth, AdapterHost } from '../../src/adapters/contract.ts';
import type { DeliveryReceipt, OutboundMessage } from '../../src/core/types.ts';

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
