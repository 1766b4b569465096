// Inline Markdown (the part inside a paragraph) → Inline[]. A linear-time take on the CommonMark
// delimiter algorithm: code spans, *, _, ~~ emphasis, [links](url), <autolinks>, bare URLs, hard breaks.
// No regex ever backtracks over the input; every lookahead is bounded.
import type { Inline } from './ast.ts';
import { mk, toAst, type Node } from './inline-nodes.ts';
import { findBareUrl, parseDestination, parseAngleLink } from './links.ts';

interface Delim {
  node: Node;
  ch: number;
  n: number;
  orig: number;
  canOpen: boolean;
  canClose: boolean;
  prev: Delim | null;
  next: Delim | null;
}
interface Bracket {
  node: Node;
  bottom: Delim | null;
}

const STAR = 42, UNDER = 95, TILDE = 126, BACKTICK = 96, BACKSLASH = 92, NL = 10;
const SPECIAL = new Uint8Array(128);
for (const c of '\\`*_~[]!<\nhw') SPECIAL[c.charCodeAt(0)] = 1;
const ASCII_PUNCT = /^[!-/:-@[-`{-~]$/;
const PUNCT = /^[\p{P}\p{S}]$/u;
const WS = /^\s$/u;

function isDigit(c: string): boolean {
  return c.length === 1 && c >= '0' && c <= '9';
}

function isAsciiAlnum(c: string): boolean {
  if (c.length !== 1) return false;
  const x = c.charCodeAt(0);
  return (x >= 48 && x <= 57) || (x >= 65 && x <= 90) || (x >= 97 && x <= 122);
}

/** Backtick runs of the whole source, by length, for O(1) amortised closer lookup. */
function backtickRuns(src: string): Map<number, number[]> {
  const runs = new Map<number, number[]>();
  for (let i = src.indexOf('`'); i !== -1; ) {
    let j = i;
    while (src.charCodeAt(j) === BACKTICK) j++;
    const list = runs.get(j - i);
    if (list) list.push(i);
    else runs.set(j - i, [i]);
    i = src.indexOf('`', j);
  }
  return runs;
}

export function parseInline(src: string): Inline[] {
  const head = mk('text');
  let tail = head;
  let pending = '';
  let delimTop: Delim | null = null;
  const brackets: Bracket[] = [];
  const runs = backtickRuns(src);
  const runPtr = new Map<number, number>();

  const append = (n: Node) => {
    n.prev = tail;
    tail.next = n;
    tail = n;
  };
  const flush = () => {
    if (pending) append(mk('text', pending));
    pending = '';
  };
  const unlink = (n: Node) => {
    n.prev!.next = n.next;
    if (n.next) n.next.prev = n.prev;
    else tail = n.prev!;
  };
  const dropDelim = (d: Delim) => {
    if (d.prev) d.prev.next = d.next;
    if (d.next) d.next.prev = d.prev;
    else delimTop = d.prev;
  };

  const processEmphasis = (bottom: Delim | null) => {
    let closer: Delim | null = delimTop;
    if (!closer || closer === bottom) return;
    while (closer.prev !== bottom) closer = closer.prev!;
    const openersBottom = new Map<number, Delim | null>();
    while (closer) {
      if (!closer.canClose) {
        closer = closer.next;
        continue;
      }
      const key = closer.ch * 8 + (closer.canOpen ? 4 : 0) + (closer.orig % 3);
      const limit = openersBottom.has(key) ? openersBottom.get(key)! : bottom;
      let opener: Delim | null = closer.prev;
      let found = false;
      while (opener && opener !== bottom && opener !== limit) {
        const odd = (opener.canClose || closer.canOpen) && (opener.orig + closer.orig) % 3 === 0 &&
          !(opener.orig % 3 === 0 && closer.orig % 3 === 0);
        if (opener.ch === closer.ch && opener.canOpen && !odd && (closer.ch !== TILDE || opener.n === closer.n)) {
          found = true;
          break;
        }
        opener = opener.prev;
      }
      if (!found || !opener) {
        openersBottom.set(key, closer.prev);
        const next: Delim | null = closer.next;
        if (!closer.canOpen) dropDelim(closer);
        closer = next;
        continue;
      }
      const use = closer.ch === TILDE ? 2 : opener.n >= 2 && closer.n >= 2 ? 2 : 1;
      opener.n -= use;
      closer.n -= use;
      opener.node.s = opener.node.s.slice(0, opener.n);
      closer.node.s = closer.node.s.slice(0, closer.n);
      const emph = mk(closer.ch === TILDE ? 's' : use === 2 ? 'b' : 'i');
      const first = opener.node.next!;
      if (first !== closer.node) {
        emph.first = first;
        emph.last = closer.node.prev;
        first.prev = null;
        emph.last!.next = null;
      }
      opener.node.next = emph;
      emph.prev = opener.node;
      emph.next = closer.node;
      closer.node.prev = emph;
      opener.next = closer;
      closer.prev = opener;
      if (opener.n === 0) {
        unlink(opener.node);
        dropDelim(opener);
      }
      if (closer.n === 0) {
        const next: Delim | null = closer.next;
        unlink(closer.node);
        dropDelim(closer);
        closer = next;
      }
    }
    while (delimTop && delimTop !== bottom) dropDelim(delimTop);
  };

  const codeSpan = (i: number, len: number): number => {
    const list = runs.get(len);
    if (!list) return -1;
    let p = runPtr.get(len) ?? 0;
    while (p < list.length && list[p]! < i + len) p++;
    runPtr.set(len, p);
    return p < list.length ? list[p]! : -1;
  };

  const n = src.length;
  let from = 0;
  let i = 0;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c >= 128 || !SPECIAL[c]) {
      i++;
      continue;
    }
    pending += src.slice(from, i);
    from = i;
    if (c === BACKSLASH) {
      const next = src[i + 1] ?? '';
      if (next === '\n') {
        flush();
        append(mk('br'));
        i += 2;
      } else if (ASCII_PUNCT.test(next)) {
        pending += next;
        i += 2;
      } else {
        pending += '\\';
        i++;
      }
    } else if (c === BACKTICK) {
      let j = i;
      while (src.charCodeAt(j) === BACKTICK) j++;
      const close = codeSpan(i, j - i);
      if (close < 0) {
        pending += src.slice(i, j);
        i = j;
      } else {
        let body = src.slice(j, close).replaceAll('\n', ' ');
        if (body.length > 2 && body.startsWith(' ') && body.endsWith(' ') && body.trim()) body = body.slice(1, -1);
        flush();
        append(mk('code', body));
        i = close + (j - i);
      }
    } else if (c === STAR || c === UNDER || c === TILDE) {
      let j = i;
      while (src.charCodeAt(j) === c) j++;
      const before = i > 0 ? String.fromCodePoint(src.codePointAt(i - 1 - (isLowSurrogate(src, i - 1) ? 1 : 0))!) : '';
      const after = j < n ? String.fromCodePoint(src.codePointAt(j)!) : '';
      const bWs = before === '' || WS.test(before), aWs = after === '' || WS.test(after);
      const bP = before !== '' && PUNCT.test(before), aP = after !== '' && PUNCT.test(after);
      const left = !aWs && (!aP || bWs || bP);
      const right = !bWs && (!bP || aWs || aP);
      let canOpen = left, canClose = right;
      if (c === UNDER) {
        canOpen = left && (!right || bP);
        canClose = right && (!left || aP);
      } else if (c === STAR && isAsciiAlnum(before) && isAsciiAlnum(after) && (j - i === 1 || isDigit(before) || isDigit(after))) {
        canOpen = canClose = false; // 2*3*4, a*b, x**2: arithmetic, not emphasis (but **bold**text is)
      } else if (c === TILDE && j - i !== 2) {
        canOpen = canClose = false; // only ~~strike~~; "~5 min" stays text
      }
      if (canOpen || canClose) {
        flush();
        const node = mk('text', src.slice(i, j));
        append(node);
        const d: Delim = { node, ch: c, n: j - i, orig: j - i, canOpen, canClose, prev: delimTop, next: null };
        if (delimTop) delimTop.next = d;
        delimTop = d;
      } else pending += src.slice(i, j);
      i = j;
    } else if (c === 91 /* [ */ || (c === 33 /* ! */ && src.charCodeAt(i + 1) === 91)) {
      const len = c === 91 ? 1 : 2;
      flush();
      const node = mk('text', src.slice(i, i + len));
      append(node);
      brackets.push({ node, bottom: delimTop });
      i += len;
    } else if (c === 93 /* ] */) {
      const opener = brackets.pop();
      const dest = opener ? parseDestination(src, i + 1) : null;
      if (!opener || !dest) {
        pending += ']';
        i++;
      } else {
        flush();
        processEmphasis(opener.bottom);
        const link = mk('link');
        link.href = dest.href;
        if (opener.node !== tail) {
          link.first = opener.node.next;
          link.last = tail;
          link.first!.prev = null;
        }
        tail = opener.node;
        tail.next = null;
        unlink(opener.node);
        append(link);
        brackets.length = 0; // no links inside links
        i = dest.end;
      }
    } else if (c === 60 /* < */) {
      const auto = parseAngleLink(src, i);
      if (auto) {
        flush();
        const link = mk('link');
        link.href = auto.href;
        link.bare = true;
        link.first = link.last = mk('text', auto.text);
        append(link);
        i = auto.end;
      } else {
        pending += '<';
        i++;
      }
    } else if (c === NL) {
      let e = pending.length;
      while (e > 0 && (pending.charCodeAt(e - 1) === 32 || pending.charCodeAt(e - 1) === 9)) e--;
      pending = pending.slice(0, e);
      flush();
      append(mk('br'));
      i++;
      while (src.charCodeAt(i) === 32 || src.charCodeAt(i) === 9) i++;
    } else {
      // 'h', 'w', '!': a bare URL, or just a letter
      const url = c === 33 ? null : findBareUrl(src, i, brackets.length > 0);
      if (url) {
        flush();
        const link = mk('link');
        link.href = url.href;
        link.bare = true;
        link.first = link.last = mk('text', src.slice(i, url.end));
        append(link);
        i = url.end;
      } else {
        pending += src[i];
        i++;
      }
    }
    from = i;
  }
  pending += src.slice(from);
  flush();
  processEmphasis(null);
  return toAst(head.next, 0, false);
}

function isLowSurrogate(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff && i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff;
}
