// Markdown tables as aligned monospace lines (chat platforms have no tables; they go in a code block).

const ZERO_WIDTH = /^[\p{M}\u200b-\u200f\ufe00-\ufe0f]$/u;
const EMOJI = /^\p{Extended_Pictographic}$/u;

function isWide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/** Approximate monospace columns: CJK and emoji take two, combining marks none. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x300) w += 1;
    else if (ZERO_WIDTH.test(ch)) continue;
    else w += isWide(cp) || (cp >= 0x1f000 && EMOJI.test(ch)) ? 2 : 1;
  }
  return w;
}

export function formatTable(rows: readonly (readonly string[])[]): string {
  const cols = Math.max(...rows.map((r) => r.length));
  const widths: number[] = Array.from({ length: cols }, (_, c) => Math.max(...rows.map((r) => displayWidth(r[c] ?? ''))));
  const line = (r: readonly string[]) =>
    widths.map((w, c) => (r[c] ?? '') + ' '.repeat(w - displayWidth(r[c] ?? ''))).join(' | ').trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(Math.max(w, 1))).join('-+-')];
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join('\n');
}
