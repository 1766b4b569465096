// What a platform renderer provides, and the formatting context ("stack") every piece of text carries.
// A renderer never sees the document: it maps text and open/close of formats to strings, which lets the
// splitter close every open format at a cut and reopen it in the next message.

export type Fmt =
  | { readonly t: 'b' | 'i' | 's' | 'code' | 'quote' }
  | { readonly t: 'pre'; readonly lang: string }
  /** `bare`: the visible text is the URL itself; `textIsHref`: and exactly the href. */
  | { readonly t: 'a'; readonly href: string; readonly bare: boolean; readonly textIsHref: boolean };

/** Formats in effect, outermost first. Arrays are shared between pieces and compared by identity. */
export type Stack = readonly Fmt[];
export const EMPTY_STACK: Stack = Object.freeze([]) as Stack;

export interface Renderer {
  readonly name: string;
  /** `s` as it must appear inside `st`: escaped. Char-local: text(a + b) === text(a) + text(b). */
  text(s: string, st: Stack): string;
  /** Markup opening st[depth]; st[0..depth) is what it sits inside. */
  open(st: Stack, depth: number): string;
  /** `continues`: the format is only closed for a cut and reopens in the next message. */
  close(st: Stack, depth: number, continues?: boolean): string;
  /**
   * The markup between two pieces of text (raw `before` and `after`): `closes` then `opens`. Lets a
   * renderer add what its parser needs there (Slack's word-boundary fix).
   */
  joint?(before: string, closes: string, opens: string, after: string): string;
}

export function within(st: Stack, depth: number, t: Fmt['t']): boolean {
  for (let d = 0; d < depth; d++) if (st[d]!.t === t) return true;
  return false;
}

export function openAll(mk: Renderer, st: Stack): string {
  let s = '';
  for (let d = 0; d < st.length; d++) s += mk.open(st, d);
  return s;
}

/** Closes every format of `st`; those also in `next` (the next message's first stack) continue there. */
export function closeAll(mk: Renderer, st: Stack, next?: Stack): string {
  let s = '';
  for (let d = st.length - 1; d >= 0; d--) s += mk.close(st, d, next === undefined || next.includes(st[d]!));
  return s;
}

/** The markup between a piece in `a` and the next piece in `b`: close what ends, open what starts. */
export function transition(mk: Renderer, a: Stack, b: Stack, before: string, after: string): string {
  if (a === b) return '';
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  let closes = '', opens = '';
  for (let d = a.length - 1; d >= common; d--) closes += mk.close(a, d);
  for (let d = common; d < b.length; d++) opens += mk.open(b, d);
  return mk.joint ? mk.joint(before, closes, opens, after) : closes + opens;
}
