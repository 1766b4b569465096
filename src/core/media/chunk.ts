// Cutting a long text into pieces a model can read in one request. Sizes are estimated tokens, not
// characters, because the same context holds ~4 characters of English per token but about one CJK
// character per token: a character budget sized for English would overflow on a Chinese document.
// Estimate (safe side): ASCII ~4 characters per token, any other character (CJK, accents...) 1 token.

/**
 * Pieces of at most ~maxTokens each, cut at the last paragraph break, else line break, else sentence end
 * or space inside the piece, else at the limit (text without spaces); never inside a surrogate pair.
 */
export function chunkText(text: string, maxTokens: number): string[] {
  const chunks: string[] = [];
  let rest = text.trim();
  while (rest !== '') {
    const end = fitEnd(rest, maxTokens);
    if (end === rest.length) {
      chunks.push(rest);
      break;
    }
    const cut = breakBefore(rest, end);
    chunks.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  return chunks;
}

/** `text` shortened to about maxTokens, marked when cut. */
export function clipTokens(text: string, maxTokens: number): string {
  const end = fitEnd(text, maxTokens);
  return end === text.length ? text : `${text.slice(0, end).trimEnd()} …`;
}

/** Estimated tokens of `text` (ASCII ~4 characters per token, any other character 1). */
export function estimateTokens(text: string): number {
  return scanTokens(text, Infinity).tokens;
}

/** Index just past the longest prefix within the budget (at least one character, so a loop advances). */
export function fitEnd(text: string, maxTokens: number): number {
  const { at } = scanTokens(text, maxTokens);
  if (at === text.length) return at;
  const end = Math.max(at, 1);
  const prev = text.charCodeAt(end - 1);
  return prev >= 0xd800 && prev <= 0xdbff ? end + 1 : end; // keep a surrogate pair whole
}

/** Counts as estimated (a surrogate pair once), up to the character that goes past `maxTokens`. */
function scanTokens(text: string, maxTokens: number): { at: number; tokens: number } {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) ascii++;
    else if (c < 0xdc00 || c > 0xdfff) other++;
    if (Math.ceil(ascii / 4) + other > maxTokens) return { at: i, tokens: Math.ceil(ascii / 4) + other };
  }
  return { at: text.length, tokens: Math.ceil(ascii / 4) + other };
}

/** Where to cut within text[0, end): the latest natural break in its second half, else `end`. */
function breakBefore(text: string, end: number): number {
  const min = Math.floor(end / 2);
  const window = text.slice(0, end);
  for (const sep of ['\n\n', '\n']) {
    const at = window.lastIndexOf(sep);
    if (at >= min) return at + sep.length;
  }
  // Sentence ends (Latin and CJK), then spaces.
  for (const re of [/[.!?\u3002\uFF01\uFF1F\uFF1B;](?=\s|$)|[\u3002\uFF01\uFF1F\uFF1B]/g, /\s/g]) {
    let best = -1;
    for (const m of window.matchAll(re)) best = m.index + m[0].length;
    if (best >= min) return best;
  }
  return end;
}
