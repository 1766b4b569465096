// Telegram Bot API parse_mode "HTML" (core.telegram.org/bots/api#html-style): only <b> <i> <s> <code>
// <pre> <a href> <blockquote>; &, <, > (and " in attributes) escaped. Telegram forbids code inside a
// link, so code there degrades to the link's plain text.
import { within, type Renderer, type Stack } from './markup.ts';

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

export function escapeHtml(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 38 || c === 60 || c === 62) return s.replace(/[&<>]/g, (ch) => ENTITY[ch]!);
  }
  return s;
}

export function escapeAttr(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ENTITY[c]!);
}

export const telegramHtml: Renderer = {
  name: 'telegram-html',
  text: (s) => escapeHtml(s),
  open(st: Stack, d: number): string {
    const f = st[d]!;
    switch (f.t) {
      case 'b': return '<b>';
      case 'i': return '<i>';
      case 's': return '<s>';
      case 'code': return within(st, d, 'a') ? '' : '<code>';
      case 'quote': return '<blockquote>';
      case 'pre': return f.lang ? `<pre><code class="language-${escapeAttr(f.lang)}">` : '<pre>';
      case 'a': return `<a href="${escapeAttr(f.href)}">`;
    }
  },
  close(st: Stack, d: number): string {
    const f = st[d]!;
    switch (f.t) {
      case 'b': return '</b>';
      case 'i': return '</i>';
      case 's': return '</s>';
      case 'code': return within(st, d, 'a') ? '' : '</code>';
      case 'quote': return '</blockquote>';
      case 'pre': return f.lang ? '</code></pre>' : '</pre>';
      case 'a': return '</a>';
    }
  },
};
