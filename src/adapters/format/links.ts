// Link syntax helpers for the inline parser, and the one place that decides which hrefs are safe.
// Every scan here is bounded (MAX_URL) so a hostile input cannot make the parser quadratic.

const MAX_URL = 2048;
const MAX_TITLE = 1000;
const MAX_PAREN_DEPTH = 32;
const ASCII_PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const ALLOWED_SCHEMES = new Set(['http', 'https', 'mailto', 'tg', 'ftp']);
/** Characters that end a bare URL: CJK punctuation and brackets written right after it. */
const CJK_STOP = '。，、；：！？（）「」『』【】《》〈〉“”‘’\u3000';
/** ASCII characters that cannot be in a URL as written in text: they end a bare URL. */
const URL_STOP = '<>"`|{}^\\';

export interface LinkMatch {
  readonly href: string;
  readonly end: number;
}

function unescapeMd(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length && ASCII_PUNCT.includes(s[i + 1]!)) i++;
    out += s[i];
  }
  return out;
}

function skipSpaces(src: string, k: number): number {
  let newlines = 0;
  for (;;) {
    const c = src.charCodeAt(k);
    if (c === 32 || c === 9) k++;
    else if (c === 10 && newlines++ === 0) k++;
    else return k;
  }
}

/** `(dest "title")` right after a `]` at `j`; null when it is not one. */
export function parseDestination(src: string, j: number): LinkMatch | null {
  if (src.charCodeAt(j) !== 40) return null;
  const n = src.length;
  let k = skipSpaces(src, j + 1);
  let href: string;
  if (src[k] === '<') {
    const start = k + 1;
    let e = start;
    while (e < n && e - start < MAX_URL && src[e] !== '>' && src[e] !== '\n' && src[e] !== '<') e += src[e] === '\\' ? 2 : 1;
    if (src[e] !== '>') return null;
    href = unescapeMd(src.slice(start, e));
    k = e + 1;
  } else {
    const start = k;
    let depth = 0;
    while (k < n && k - start < MAX_URL) {
      const c = src.charCodeAt(k);
      if (c <= 32) break;
      if (c === 92 && k + 1 < n && ASCII_PUNCT.includes(src[k + 1]!)) {
        k += 2;
        continue;
      }
      if (c === 40 && ++depth > MAX_PAREN_DEPTH) return null;
      if (c === 41 && depth-- === 0) break;
      k++;
    }
    if (depth > 0) return null;
    href = unescapeMd(src.slice(start, k));
  }
  const afterDest = k;
  k = skipSpaces(src, k);
  const q = src[k];
  if (k > afterDest && (q === '"' || q === "'" || q === '(')) {
    const close = q === '(' ? ')' : q;
    let e = k + 1;
    while (e < n && e - k < MAX_TITLE && src[e] !== close) e += src[e] === '\\' ? 2 : 1;
    if (src[e] !== close) return null;
    k = skipSpaces(src, e + 1);
  }
  if (src[k] !== ')') return null;
  return { href, end: k + 1 };
}

/** `<scheme:...>` or `<user@host>` at `i`. */
export function parseAngleLink(src: string, i: number): (LinkMatch & { text: string }) | null {
  let e = i + 1;
  while (e < src.length && e - i <= MAX_URL) {
    const c = src.charCodeAt(e);
    if (c === 62 || c <= 32 || c === 60) break;
    e++;
  }
  if (src.charCodeAt(e) !== 62 || e === i + 1) return null;
  const text = src.slice(i + 1, e);
  if (/^[a-zA-Z][a-zA-Z0-9+.-]{1,31}:/.test(text)) return { href: text, text, end: e + 1 };
  const at = text.indexOf('@');
  if (at > 0 && at === text.lastIndexOf('@') && /^[a-zA-Z0-9.-]+$/.test(text.slice(at + 1)) && text.slice(at + 1).includes('.')) {
    return { href: `mailto:${text}`, text, end: e + 1 };
  }
  return null;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * A bare `http(s)://...` or `www....` URL starting at `i` (GFM-style trailing punctuation rules).
 * `inBrackets`: inside a link's text, where `]` ends the URL ("[see https://x.y](https://x.y)").
 */
export function findBareUrl(src: string, i: number, inBrackets = false): LinkMatch | null {
  const p = src.startsWith('https://', i) ? 8 : src.startsWith('http://', i) ? 7 : src.startsWith('www.', i) ? 4 : 0;
  if (!p) return null;
  if (i > 0) {
    const b = src.charCodeAt(i - 1);
    if (isAsciiAlnum(b) || b === 47 || b === 46 || b === 64 || b === 58) return null;
  }
  let k = i + p;
  let open = 0, close = 0;
  while (k < src.length && k - i < MAX_URL) {
    const c = src.charCodeAt(k);
    if (c <= 32 || URL_STOP.includes(src[k]!) || CJK_STOP.includes(src[k]!) || (inBrackets && c === 93)) break;
    if (c === 40) open++;
    else if (c === 41) close++;
    k++;
  }
  for (;;) {
    const last = src[k - 1]!;
    if ('?!.,:;*_~\'"'.includes(last)) k--;
    else if (last === ')' && close > open) {
      close--;
      k--;
    } else break;
  }
  if (k - i <= p) return null;
  const text = src.slice(i, k);
  return { href: p === 4 ? `http://${text}` : text, end: k };
}

/** The href to put in a link, or null when the link must degrade to its text (javascript:, relative, ...). */
export function safeHref(href: string): string | null {
  let h = href.trim();
  if (/^www\./i.test(h)) h = `http://${h}`;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]{0,31}):/.exec(h);
  if (!m || !ALLOWED_SCHEMES.has(m[1]!.toLowerCase())) return null;
  if (m[1]!.toLowerCase().startsWith('http') && !/^https?:\/\/[^/?#\s]/i.test(h)) return null;
  return h.replace(/[\u0000-\u0020\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}
