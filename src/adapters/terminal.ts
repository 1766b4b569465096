// The terminal as a platform, for `clawdbot exec`: the reply streams to stdout as the model writes it.
// It registers under whatever platform id exec plays (default "cli"), so routing sees that platform.
import { createReadStream } from 'node:fs';
import type { DeliveryReceipt, OutboundMessage } from '../core/types.ts';
import type { Adapter, AdapterHealth } from './contract.ts';
import { readCapped } from './download.ts';

export class TerminalAdapter implements Adapter {
  readonly platform: string;
  readonly limits = { maxTextLength: Number.MAX_SAFE_INTEGER };
  readonly #out: NodeJS.WritableStream;
  readonly #stream: boolean;
  #streamed = '';

  /** With `stream` false nothing is printed (exec --json prints the result itself). */
  constructor(opts: { platform: string; out: NodeJS.WritableStream; stream: boolean }) {
    this.platform = opts.platform;
    this.#out = opts.out;
    this.#stream = opts.stream;
  }

  async start(): Promise<void> {}

  /** Prints a piece of the reply as it arrives. */
  delta = (text: string): void => {
    if (!this.#stream) return;
    this.#streamed += text;
    this.#out.write(text);
  };

  async send(m: OutboundMessage): Promise<DeliveryReceipt> {
    if (this.#stream) {
      // What was streamed is already on screen; print the rest (all of it when nothing streamed, e.g. a
      // `reply` action or an error text), then end the line.
      const rest = m.text.startsWith(this.#streamed) ? m.text.slice(this.#streamed.length) : `\n${m.text}`;
      this.#out.write(rest.endsWith('\n') ? rest : `${rest}\n`);
    }
    return { platformMessageIds: [], sentAt: Date.now() };
  }

  /** `exec --attach FILE`: the ref is the file's path; read no further than the cap. */
  async download(ref: string, maxBytes: number): Promise<Buffer> {
    return readCapped(this.platform, createReadStream(ref), maxBytes);
  }

  health(): AdapterHealth {
    return { connected: true, lastEventAt: null, lastError: null, detail: 'terminal' };
  }
}
