// Model Markdown → platform messages: parse (markdown.ts, inline.ts) → lay out as units (layout.ts)
// → pack into messages within the platform's limit (split.ts), rendered by telegram-html.ts,
// slack-mrkdwn.ts or plain.ts.
import { parseMarkdown } from './markdown.ts';
import { layout } from './layout.ts';
import { measure, type TextUnit } from './measure.ts';
import type { Renderer } from './markup.ts';
import { plainText } from './plain.ts';
import { slackMrkdwn } from './slack-mrkdwn.ts';
import { pack } from './split.ts';
import { telegramHtml } from './telegram-html.ts';

export { measure, type TextUnit };
export type Markup = 'telegram-html' | 'slack-mrkdwn' | 'plain';
export interface RenderOptions {
  readonly markup: Markup;
  /** Maximum length of one message, in `unit`, measured on the rendered text (tags and escapes included). */
  readonly limit: number;
  readonly unit: TextUnit;
}

/** The smallest limit accepted: below it one escaped character plus its markup may not fit. */
export const MIN_LIMIT = 8;

const RENDERERS: Readonly<Record<Markup, Renderer>> = {
  'telegram-html': telegramHtml,
  'slack-mrkdwn': slackMrkdwn,
  plain: plainText,
};

function check(markdown: string, opts: RenderOptions): Renderer {
  if (typeof markdown !== 'string') throw new TypeError('markdown must be a string');
  const r = RENDERERS[opts.markup];
  if (!r) throw new TypeError(`unknown markup: ${String(opts.markup)}`);
  if (!(opts.limit === Infinity || (Number.isInteger(opts.limit) && opts.limit >= MIN_LIMIT))) {
    throw new RangeError(`limit must be an integer >= ${MIN_LIMIT} (or Infinity), got ${opts.limit}`);
  }
  measure('', opts.unit); // validates the unit
  return r;
}

/**
 * Markdown from the model → the platform's markup, split into messages that each fit `limit` (in `unit`,
 * measured on the rendered text, escapes included). Never truncates or drops text; never cuts a tag,
 * an entity, a surrogate pair or a grapheme cluster in two (the one exception: a single cluster wider
 * than a whole message is cut between code points). Formats open at a cut are closed and reopened.
 * Input with no visible text gives [].
 */
export function renderMessages(markdown: string, opts: RenderOptions): string[] {
  const r = check(markdown, opts);
  return pack(layout(parseMarkdown(markdown)), [r], opts.unit, opts.limit).map((m) => m[0]!);
}

/**
 * Like renderMessages, plus each message as plain text cut at the same places: the fallback to send
 * when a platform refuses the markup of one part. Both texts fit `limit`.
 */
export function renderMessagesWithPlain(markdown: string, opts: RenderOptions): { text: string; plain: string }[] {
  const r = check(markdown, opts);
  return pack(layout(parseMarkdown(markdown)), [r, plainText], opts.unit, opts.limit).map((m) => ({ text: m[0]!, plain: m[1]! }));
}

/** The whole reply as plain text, unsplit. */
export function toPlainText(markdown: string): string {
  return renderMessages(markdown, { markup: 'plain', limit: Infinity, unit: 'utf16' }).join('\n\n');
}
