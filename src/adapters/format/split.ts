// Packs units into messages. Greedy: each message takes as much as fits (measured on the rendered text,
// with the formats open at its start reopened and those open at its end closed), cut at the best place
// in reach: paragraph > block > line > word / CJK punctuation > Intl.Segmenter word > grapheme, the
// latest of the best kind. A unit too long to fit is cut inside, lazily (only the part in reach is
// segmented), so a 50 KB reply costs a few ms.
import { measure, type TextUnit } from './measure.ts';
import { closeAll, EMPTY_STACK, openAll, transition, type Renderer, type Stack } from './markup.ts';
import { isBlankUnit, PRI, type Unit } from './units.ts';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const words = new Intl.Segmenter('zh', { granularity: 'word' });

/** Returns, per message, its text in each renderer of `mks` (all cut at the same places). */
export function pack(units: Unit[], mks: readonly Renderer[], unit: TextUnit, limit: number): string[][] {
  const size = (mk: Renderer, s: string, st: Stack) => measure(mk.text(s, st), unit);
  const maxOf = (f: (mk: Renderer) => number) => {
    let m = 0;
    for (const mk of mks) m = Math.max(m, f(mk));
    return m;
  };
  const W = (u: Unit) => (u.w >= 0 ? u.w : (u.w = maxOf((mk) => size(mk, u.s, u.st))));
  const cache = (map: Map<Stack, number>, f: (mk: Renderer, st: Stack) => string) => (st: Stack) => {
    let v = map.get(st);
    if (v === undefined) map.set(st, (v = maxOf((mk) => measure(f(mk, st), unit))));
    return v;
  };
  const OW = cache(new Map(), openAll);
  const CW = cache(new Map(), closeAll);
  const T = (a: Unit, b: Unit) => (a.st === b.st ? 0 : maxOf((mk) => measure(transition(mk, a.st, b.st, a.s, b.s), unit)));

  /** Cuts units[k] so that its head renders within `room`; false when not even one code point fits. */
  const cutInside = (k: number, room: number): boolean => {
    const u = units[k]!;
    if (room <= 0) return false;
    // Segment only what can be in reach: about room / (average width of a code unit), grown if short.
    let span = Math.ceil((room * u.s.length) / Math.max(W(u), 1) * 1.25) + 64;
    for (;;) {
      const win = u.s.length <= span ? u.s : u.s.slice(0, span);
      const cut = findCut(win, win.length < u.s.length, room, (g) => maxOf((mk) => size(mk, g, u.st)));
      if (cut === null) {
        span *= 2;
        continue;
      }
      if (cut.at === 0 || cut.at >= u.s.length) return false;
      const single = mks.length === 1;
      units.splice(k, 1, { ...u, s: u.s.slice(0, cut.at), w: single ? cut.width : -1 },
        { ...u, s: u.s.slice(cut.at), w: single ? u.w - cut.width : -1, pri: cut.pri, prefix: false });
      return true;
    }
  };

  const render = (mk: Renderer, i: number, e: number) => {
    let s = openAll(mk, units[i]!.st) + mk.text(units[i]!.s, units[i]!.st);
    for (let k = i + 1; k <= e; k++) {
      const a = units[k - 1]!, b = units[k]!;
      s += transition(mk, a.st, b.st, a.s, b.s) + mk.text(b.s, b.st);
    }
    return s + closeAll(mk, units[e]!.st);
  };

  const out: string[][] = [];
  let i = 0;
  for (;;) {
    while (i < units.length && isBlankUnit(units[i]!)) i++;
    if (i >= units.length) return out;
    const first = units[i]!;
    let acc = OW(first.st) + W(first);
    if (acc + CW(first.st) > limit) {
      if (cutInside(i, limit - OW(first.st) - CW(first.st))) continue;
      if (first.st.length === 0) throw new RangeError(`limit ${limit} is too small for one character`);
      units[i] = { ...first, st: EMPTY_STACK, w: -1 }; // its markup alone does not fit: keep the text
      continue;
    }
    let j = i, best = -1, bestPri = 0;
    for (;;) {
      const k = j + 1;
      if (k >= units.length) {
        best = k;
        break;
      }
      const u = units[k]!;
      if (u.pri > 0 && u.pri >= bestPri) {
        best = k;
        bestPri = u.pri;
      }
      const add = T(units[j]!, u) + W(u);
      if (acc + add + CW(u.st) <= limit) {
        acc += add;
        j = k;
        continue;
      }
      if (!u.sep && bestPri < PRI.WORD && cutInside(k, limit - acc - T(units[j]!, u) - CW(u.st))) continue;
      if (best < 0) best = k;
      break;
    }
    let e = best - 1;
    while (e > i && isBlankUnit(units[e]!)) e--;
    const texts = mks.map((mk) => render(mk, i, e));
    for (const t of texts) {
      if (measure(t, unit) > limit) throw new Error(`format: internal error, a message of ${measure(t, unit)} > ${limit}`);
    }
    out.push(texts);
    i = best;
  }
}

interface Cut {
  readonly at: number;
  readonly width: number;
  readonly pri: number;
}

/**
 * The best cut in `win` whose head is at most `room` wide: the last Intl.Segmenter word boundary, else
 * the last grapheme boundary, else (one cluster wider than a message, e.g. hundreds of stacked
 * combining marks) the last code point boundary. null: `win` was truncated and all of it fits.
 */
function findCut(win: string, truncated: boolean, room: number, width: (piece: string) => number): Cut | null {
  const wordIt = words.segment(win)[Symbol.iterator]();
  let word = wordIt.next();
  let w = 0;
  let g: Cut = { at: 0, width: 0, pri: PRI.GRAPHEME };
  let wd: Cut | null = null;
  for (const seg of graphemes.segment(win)) {
    const end = seg.index + seg.segment.length;
    if (truncated && end === win.length) return null; // the last cluster may continue past the window
    w += width(seg.segment);
    if (w > room) break;
    g = { at: end, width: w, pri: PRI.GRAPHEME };
    while (!word.done && word.value.index < end) word = wordIt.next();
    if (!word.done && word.value.index === end) wd = { at: end, width: w, pri: PRI.SEGMENT };
  }
  if (wd) return wd;
  if (g.at > 0) return g;
  let at = 0;
  w = 0;
  for (const ch of win) {
    const cw = width(ch);
    if (w + cw > room) break;
    w += cw;
    at += ch.length;
  }
  return { at, width: w, pri: PRI.FORCE };
}
