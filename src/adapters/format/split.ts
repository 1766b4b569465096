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
  const only = mks.length === 1 ? mks[0]! : null;
  const maxOf = (f: (mk: Renderer) => number) => {
    if (only) return f(only);
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
  // Measured as if every format ended here (the most a close can cost), rendered as it really is.
  const CW = cache(new Map(), (mk, st) => closeAll(mk, st, EMPTY_STACK));
  const T = (a: Unit, b: Unit) => (a.st === b.st ? 0 : maxOf((mk) => measure(transition(mk, a.st, b.st, a.s, b.s), unit)));

  /**
   * Cuts units[k] so that its head renders within `room`; false when nothing fits. Only `atStart` (the
   * unit begins a message, so a smaller room will never come) may cut a grapheme cluster.
   */
  const cutInside = (k: number, room: number, atStart: boolean): boolean => {
    const u = units[k]!;
    if (room <= 0) return false;
    // Segment only what can be in reach: about room / (average width of a code unit), grown if short.
    let span = Math.ceil((room * u.s.length) / Math.max(W(u), 1) * 1.25) + 64;
    for (;;) {
      const win = u.s.length <= span ? u.s : u.s.slice(0, span);
      const cut = findCut(win, win.length < u.s.length, room, atStart, (g) => maxOf((mk) => size(mk, g, u.st)));
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

  /** Splits the last grapheme cluster off units[j] (to move it to the next message); false if it has one. */
  const lastCluster = (j: number): boolean => {
    const u = units[j]!;
    let at = 0;
    for (const g of graphemes.segment(u.s)) at = g.index;
    if (at === 0) return false;
    units.splice(j, 1, { ...u, s: u.s.slice(0, at), w: -1 }, { ...u, s: u.s.slice(at), w: -1, pri: PRI.GRAPHEME, prefix: false });
    return true;
  };

  const render = (mk: Renderer, i: number, e: number, next: Stack) => {
    let s = openAll(mk, units[i]!.st) + mk.text(units[i]!.s, units[i]!.st);
    for (let k = i + 1; k <= e; k++) {
      const a = units[k - 1]!, b = units[k]!;
      s += transition(mk, a.st, b.st, a.s, b.s) + mk.text(b.s, b.st);
    }
    return s + closeAll(mk, units[e]!.st, next);
  };

  const out: string[][] = [];
  let i = 0;
  for (;;) {
    while (i < units.length && isBlankUnit(units[i]!)) i++;
    if (i >= units.length) return out;
    const first = units[i]!;
    let acc = OW(first.st) + W(first);
    if (acc + CW(first.st) > limit) {
      // Too long for one message: cut it at a word or grapheme boundary; if not even one grapheme fits
      // inside its markup, drop the markup of this piece; a lone cluster wider than a whole message is
      // the one thing cut between code points.
      const unformatted = first.st.length === 0;
      if (cutInside(i, limit - OW(first.st) - CW(first.st), unformatted)) continue;
      if (unformatted) throw new RangeError(`limit ${limit} is too small for one character`);
      units[i] = { ...first, st: shed(first.st), w: -1 };
      continue;
    }
    let j = i, best = -1, bestPri = 0;
    let bare = first.prefix; // nothing but a bullet or indentation so far
    let restart = false;
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
        bare &&= u.prefix;
        continue;
      }
      if (!u.sep && (bestPri < PRI.WORD || bare) && cutInside(k, limit - acc - T(units[j]!, u) - CW(u.st), false)) continue;
      if (bare && !u.sep && u.st.length > 0) {
        // A bullet alone is no message: drop the markup of its text, then (tiny limits) the block
        // (quote) around both.
        if (u.st.length > units[j]!.st.length) {
          units[k] = { ...u, st: units[j]!.st, w: -1 };
          continue;
        }
        const st = shed(u.st);
        for (let p = i; p <= k; p++) units[p] = { ...units[p]!, st, w: -1 };
        restart = true;
        break;
      }
      if (best < 0) {
        // No place to cut: markup inside a grapheme cluster (e**\u0301**) with the message full. Move
        // the cluster's start on, or (tiny limits) give up markup; cut inside it only as a last resort.
        if (lastCluster(j)) best = j + 1;
        else if (u.st.length > 0) {
          units[k] = { ...u, st: shed(u.st), w: -1 };
          continue;
        } else if (j === i && units[j]!.st.length > 0) {
          units[j] = { ...units[j]!, st: shed(units[j]!.st), w: -1 };
          restart = true;
        } else best = k;
      }
      break;
    }
    if (restart) continue;
    // Trailing whitespace goes; a bullet whose text did not fit moves on with its text.
    let e = best - 1, next = best;
    for (; e > i; e--) {
      if (isBlankUnit(units[e]!)) continue;
      if (units[e]!.prefix && e + 1 < units.length && !units[e + 1]!.sep) next = e;
      else break;
    }
    const tail = units[e]!.s.trimEnd(); // (a bullet's space, when a tiny limit left it alone)
    if (tail !== units[e]!.s) units[e] = { ...units[e]!, s: tail, w: -1 };
    let q = next;
    while (q < units.length && isBlankUnit(units[q]!)) q++;
    const texts = mks.map((mk) => render(mk, i, e, q < units.length ? units[q]!.st : EMPTY_STACK));
    for (const t of texts) {
      if (measure(t, unit) > limit) throw new Error(`format: internal error, a message of ${measure(t, unit)} > ${limit}`);
    }
    out.push(texts);
    i = next;
  }
}

/**
 * `st` without its innermost inline format: what a piece keeps when its markup does not fit in a
 * message. A quote goes last: its line prefix ("> ") cannot be reopened in the middle of a line.
 */
function shed(st: Stack): Stack {
  for (let d = st.length - 1; d >= 0; d--) if (st[d]!.t !== 'quote') return [...st.slice(0, d), ...st.slice(d + 1)];
  return EMPTY_STACK;
}

interface Cut {
  readonly at: number;
  readonly width: number;
  readonly pri: number;
}

/**
 * The best cut in `win` whose head is at most `room` wide: the last Intl.Segmenter word boundary, else
 * the last grapheme boundary, else (`clusters`: one cluster wider than a message, e.g. hundreds of
 * stacked combining marks) the last code point boundary. null: `win` was truncated and all of it fits.
 */
function findCut(win: string, truncated: boolean, room: number, clusters: boolean, width: (piece: string) => number): Cut | null {
  const wordIt = words.segment(win)[Symbol.iterator]();
  let word = wordIt.next();
  let w = 0;
  let g: Cut = { at: 0, width: 0, pri: PRI.GRAPHEME };
  let wd: Cut | null = null;
  for (const seg of graphemes.segment(win)) {
    const end = seg.index + seg.segment.length;
    w += width(seg.segment);
    if (w > room) break;
    if (truncated && end === win.length) return null; // it fits, but may continue past the window
    g = { at: end, width: w, pri: PRI.GRAPHEME };
    while (!word.done && word.value.index < end) word = wordIt.next();
    if (!word.done && word.value.index === end) wd = { at: end, width: w, pri: PRI.SEGMENT };
  }
  if (wd) return wd;
  if (g.at > 0 || !clusters) return g;
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
