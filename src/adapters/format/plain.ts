// Plain text: no markup at all. Quotes keep a "> " line prefix; a link keeps its URL in parentheses.
import type { Renderer, Stack } from './markup.ts';

const inQuote = (st: Stack) => st.length > 0 && st[0]!.t === 'quote';

export const plainText: Renderer = {
  name: 'plain',
  text: (s: string, st: Stack) => (inQuote(st) && s.includes('\n') ? s.replaceAll('\n', '\n> ') : s),
  open: (st: Stack, d: number) => (st[d]!.t === 'quote' ? '> ' : ''),
  close(st: Stack, d: number): string {
    const f = st[d]!;
    return f.t === 'a' && !f.bare && !f.textIsHref ? ` (${f.href})` : '';
  },
};
