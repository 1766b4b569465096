// A reply shown while it is written: the first piece posts a message, later pieces edit it, at most once
// per `everyMs` (the platform's edit rate) and never two calls at once. Platform-neutral: the adapter
// supplies post/edit. The preview is plain text cut to the platform's limit; the final, formatted
// reply replaces it through the outbox (OutboundMessage.editOf).
import type { Logger } from '../core/log.ts';
import type { ReplyStream } from './contract.ts';

export interface PreviewOptions {
  readonly everyMs: number;
  /** The text to show for what has been written so far (plain, within one message). */
  render(textSoFar: string): string;
  post(text: string): Promise<string>;
  edit(id: string, text: string): Promise<void>;
  readonly log: Logger;
}

export function throttledPreview(o: PreviewOptions): ReplyStream {
  let text = '';
  let shown = '';
  let id: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let ended = false;
  const flush = () => {
    chain = chain.then(async () => {
      const next = o.render(text);
      if (!next.trim() || next === shown) return;
      if (id === undefined) id = await o.post(next);
      else await o.edit(id, next);
      shown = next;
    }).catch((err: unknown) => o.log.debug({ err: (err as Error).message }, 'preview update failed'));
  };
  return {
    push(piece) {
      if (ended) return;
      text += piece;
      // The first piece shows at once; then at most one update per interval.
      if (id === undefined && !timer && shown === '') flush();
      timer ??= setTimeout(() => {
        timer = undefined;
        flush();
      }, o.everyMs);
    },
    async end() {
      ended = true;
      clearTimeout(timer);
      await chain;
      return id;
    },
  };
}
