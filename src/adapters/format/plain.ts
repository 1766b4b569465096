// Plain text: no markup at all. Quotes keep a "> " line prefix; a link keeps its URL in parentheses.
import type { Renderer, Stack } from './markup.ts';
import { quoteAtLineStart } from './slack-mrkdwn.ts';

const inQuote = (st: Stack) => st.length > 0 && st[0]!.t === 'quote';

export const plainText: Renderer = {
  name: 'plain',
  text: (s: string, st: Stack) => (inQuote(st) && s.includes('\n') ? s.replaceAll('\n', '\n> ') : s),
  open: (st: Stack, d: number) => (st[d]!.t === 'quote' ? '> ' : ''),
  close(st: Stack, d: number, continues = false): string {
    // The URL follows the link's text once, where the text ends (a message cut inside the text does
    // not end it; its width is still reserved there, see split.ts).
    const f = st[d]!;
    return f.t === 'a' && !f.bare && !f.textIsHref && !continues ? ` (${f.href})` : '';
  },
  joint: (before: string, closes: string, opens: string) => closes + quoteAtLineStart(before, opens),
};
