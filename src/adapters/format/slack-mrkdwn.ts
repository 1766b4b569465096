// Slack mrkdwn (api.slack.com/reference/surfaces/formatting): *bold* _italic_ ~strike~ `code`
// ```pre``` <url|text> and "> " quotes. Only &, <, > are escaped. Slack recognises a format mark only
// at a word boundary, so a mark between two letters (common in Chinese: 这是*重点*内容) gets a
// zero-width space on its outer side.
import { within, type Renderer, type Stack } from './markup.ts';

export const ZWSP = '\u200b';
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const WORD = /^[\p{L}\p{N}]$/u;
const MARKS = '*_~`';
const isMark = (c: string | undefined) => c !== undefined && c !== '' && MARKS.includes(c);

export function escapeSlack(s: string): string {
  return /[&<>]/.test(s) ? s.replace(/[&<>]/g, (c) => ENTITY[c]!) : s;
}

function slackUrl(href: string): string {
  return escapeSlack(href).replaceAll('|', '%7C');
}

const inQuote = (st: Stack) => st.length > 0 && st[0]!.t === 'quote';

/**
 * A quote's "> " belongs at the start of a line. It can only come mid-line when a piece lost its
 * formatting (a message limit smaller than its markup) and the next piece reopens the quote: then the
 * prefix is left out (the following lines of the quote still get theirs).
 */
export function quoteAtLineStart(before: string, opens: string): string {
  return opens.startsWith('> ') && before !== '' && !before.endsWith('\n') ? opens.slice(2) : opens;
}

export const slackMrkdwn: Renderer = {
  name: 'slack-mrkdwn',
  text(s: string, st: Stack): string {
    const e = escapeSlack(s);
    if (!e.includes('\n')) return e;
    // A link's text stays on one line (<url|text> cannot hold a line break); quoted lines get "> ".
    if (within(st, st.length, 'a')) return e.replaceAll('\n', ' ');
    return inQuote(st) ? e.replaceAll('\n', '\n> ') : e;
  },
  open(st: Stack, d: number): string {
    const f = st[d]!;
    switch (f.t) {
      case 'b': return '*';
      case 'i': return '_';
      case 's': return '~';
      case 'code': return within(st, d, 'a') ? '' : '`';
      case 'quote': return '> ';
      case 'pre': return inQuote(st) ? '```\n> ' : '```\n';
      case 'a': return f.textIsHref && !f.href.includes('|') ? '<' : `<${slackUrl(f.href)}|`;
    }
  },
  close(st: Stack, d: number): string {
    const f = st[d]!;
    switch (f.t) {
      case 'b': return '*';
      case 'i': return '_';
      case 's': return '~';
      case 'code': return within(st, d, 'a') ? '' : '`';
      case 'quote': return '';
      case 'pre': return inQuote(st) ? '\n> ```' : '\n```';
      case 'a': return '>';
    }
  },
  joint(before: string, closes: string, opens: string, after: string): string {
    opens = quoteAtLineStart(before, opens);
    // An opening mark needs a non-word character before it, a closing mark one after it.
    const pre = !closes && isMark(opens[0]) && WORD.test(before.at(-1) ?? '') ? ZWSP : '';
    const post = !opens && isMark(closes.at(-1)) && WORD.test(after[0] ?? '') ? ZWSP : '';
    return pre + closes + opens + post;
  },
};
