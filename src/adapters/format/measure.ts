// Message length in each platform's unit: Telegram counts UTF-16 code units, Slack characters (code
// points), WeCom UTF-8 bytes.

export type TextUnit = 'utf16' | 'chars' | 'bytes';

export function measure(text: string, unit: TextUnit): number {
  if (unit === 'utf16') return text.length;
  if (unit !== 'chars' && unit !== 'bytes') throw new TypeError(`unknown text unit: ${String(unit)}`);
  const bytes = unit === 'bytes';
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n++;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += bytes ? 4 : 1;
      i++;
    } else n += !bytes ? 1 : c < 0x800 ? 2 : 3; // a lone surrogate is sent as U+FFFD: 3 bytes
  }
  return n;
}
