// The flat form the splitter works on: a document is a sequence of units, each a piece of raw text with
// its formatting stack. Between units are the places a message may be cut, ranked by `pri`.
import { EMPTY_STACK, type Stack } from './markup.ts';

/** Cut preferences, best last. A cut is only ever made between units. */
export const PRI = {
  /** Not a cut point of its own (the unit follows a separator: cut at the separator instead). */
  NONE: 0,
  /** Legal, but ugly: between a list bullet and its text, or inside an oversized grapheme cluster. */
  FORCE: 1,
  GRAPHEME: 2,
  /** A word boundary found by Intl.Segmenter (CJK words, URL parts) or a formatting change. */
  SEGMENT: 3,
  /** Spaces, and after CJK punctuation 。！？；，、： */
  WORD: 4,
  LINE: 5,
  /** Between blocks written without a blank line, or a blank line inside code. */
  BLOCK: 6,
  PARA: 7,
} as const;

export interface Unit {
  s: string;
  st: Stack;
  /** Whitespace that disappears when a cut falls on it. */
  sep: boolean;
  /** For a separator: how good a cut here is. Otherwise: how good a cut right before this unit is. */
  pri: number;
  /** Cached width in the target unit (max over markups); -1 until measured. */
  w: number;
  /** Line-start decoration (indentation, bullet): cutting right after it is a last resort. */
  prefix: boolean;
}

const CUT_AFTER = '。！？；，、：…';
const CLOSERS = '”’」』）】》〉〕〗〙〛)]}"\'。！？；，、：…';
const EXTEND = /^[\p{Grapheme_Extend}\p{Mc}\p{Emoji_Modifier}\u200d]$/u;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 0x3000;
}

/** Would a break before index j split a grapheme cluster (a combining mark, ZWJ, skin tone follows)? */
function extendsBack(s: string, j: number): boolean {
  const c = s.charCodeAt(j);
  if (!(c >= 0x300)) return false; // (also past the end: NaN)
  return EXTEND.test(String.fromCodePoint(s.codePointAt(j)!));
}

export function isBlankUnit(u: Unit): boolean {
  return u.sep || u.s.trim() === '';
}

export class UnitBuilder {
  readonly units: Unit[] = [];

  #push(s: string, st: Stack, sep: boolean, pri: number): void {
    this.units.push({ s, st, sep, pri, w: -1, prefix: false });
  }

  /** Priority of a cut right before new non-separator text `s`, given what precedes it. */
  #lead(s: string): number {
    const last = this.units.at(-1);
    if (!last || last.sep) return PRI.NONE;
    // A format change inside a grapheme cluster (e**\u0301**, a ZWJ sequence) is no place to cut.
    if (extendsBack(s, 0) || last.s.endsWith('\u200d')) return PRI.NONE;
    return last.prefix ? PRI.FORCE : PRI.SEGMENT;
  }

  sep(s: string, st: Stack, pri: number): void {
    if (this.units.length) this.#push(s, st, true, pri);
  }

  /** Line-start decoration (indentation, bullet). Merges with a prefix right before it. */
  prefix(s: string, st: Stack = EMPTY_STACK): void {
    const last = this.units.at(-1);
    if (last && last.prefix && last.st === st) last.s += s;
    else this.units.push({ s, st, sep: false, pri: this.#lead(s), w: -1, prefix: true });
  }

  /**
   * Text, cut into words at spaces (which become separators) and after CJK punctuation. In code
   * (`code`), a line's leading indentation stays with its first word.
   */
  text(s: string, st: Stack, code = false): void {
    let pri = this.#lead(s);
    let start = 0;
    const word = (end: number) => {
      if (end > start) this.#push(s.slice(start, end), st, false, pri);
    };
    const n = s.length;
    let i = code ? skipIndent(s) : 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c > 32 && c < 0x2000) {
        i++;
        continue;
      }
      if (isSpace(c)) {
        let j = i + 1;
        while (j < n && isSpace(s.charCodeAt(j))) j++;
        if (j < n && extendsBack(s, j)) j--; // the last space carries a combining mark: keep it in the word
        if (j === i) {
          i++;
          continue;
        }
        word(i);
        this.#push(s.slice(i, j), st, true, PRI.WORD);
        start = i = j;
        pri = PRI.NONE;
      } else if (c >= 0x2000 && CUT_AFTER.includes(s[i]!)) {
        let j = i + 1;
        while (j < n && CLOSERS.includes(s[j]!)) j++;
        if (j < n && !isSpace(s.charCodeAt(j)) && !extendsBack(s, j)) {
          word(j);
          start = j;
          pri = PRI.WORD;
        }
        i = j;
      } else i++;
    }
    word(n);
  }
}

function skipIndent(s: string): number {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
  return i;
}
