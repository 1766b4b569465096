// Block-level Markdown (the subset models write) → Block[]. Lenient where models are sloppy: list
// nesting by any extra indentation, unclosed fences run to the end, tables need only a delimiter row.
import type { Block, Inline, ListItem } from './ast.ts';
import { parseInline } from './inline.ts';

const MAX_DEPTH = 12;

export function parseMarkdown(src: string): Block[] {
  return parseBlocks(src.replace(/\r\n?/g, '\n').split('\n'), 0);
}

function indentOf(line: string): number {
  let col = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32) col++;
    else if (c === 9) col += 4 - (col % 4);
    else break;
  }
  return col;
}

/** Removes up to `cols` columns of leading spaces/tabs. */
function stripCols(line: string, cols: number): string {
  let col = 0, i = 0;
  while (i < line.length && col < cols) {
    const c = line.charCodeAt(i);
    if (c === 32) col++;
    else if (c === 9) {
      const w = 4 - (col % 4);
      if (col + w > cols) return ' '.repeat(col + w - cols) + line.slice(i + 1);
      col += w;
    } else break;
    i++;
  }
  return line.slice(i);
}

const stripWs = (line: string) => stripCols(line, Infinity);
const isBlank = (line: string) => stripWs(line).trimEnd() === '';

interface Fence { readonly ch: string; readonly len: number; readonly info: string }
function fenceOf(t: string): Fence | null {
  const ch = t[0];
  if (ch !== '`' && ch !== '~') return null;
  let len = 0;
  while (t[len] === ch) len++;
  if (len < 3) return null;
  const info = t.slice(len).trim();
  if (ch === '`' && info.includes('`')) return null;
  return { ch, len, info };
}
function closesFence(t: string, f: Fence): boolean {
  let len = 0;
  while (t[len] === f.ch) len++;
  return len >= f.len && t.slice(len).trim() === '';
}

function isHr(t: string): boolean {
  const ch = t[0];
  if (ch !== '-' && ch !== '*' && ch !== '_') return false;
  let count = 0;
  for (const c of t) {
    if (c === ch) count++;
    else if (c !== ' ' && c !== '\t') return false;
  }
  return count >= 3;
}

function headingOf(t: string): { level: number; text: string } | null {
  let level = 0;
  while (t[level] === '#') level++;
  if (level === 0 || level > 6 || (t.length > level && t[level] !== ' ' && t[level] !== '\t')) return null;
  let text = t.slice(level).trim();
  let e = text.length;
  while (e > 0 && text[e - 1] === '#') e--;
  if (e === 0) text = '';
  else if (e < text.length && (text[e - 1] === ' ' || text[e - 1] === '\t')) text = text.slice(0, e).trimEnd();
  return { level, text };
}

interface Marker { indent: number; ordered: boolean; num: number; offset: number; rest: string }
function markerOf(line: string): Marker | null {
  const indent = indentOf(line);
  const t = stripWs(line);
  let mlen = 0, num = 0;
  const ordered = t.charCodeAt(0) >= 48 && t.charCodeAt(0) <= 57;
  if (ordered) {
    while (mlen < 9 && t.charCodeAt(mlen) >= 48 && t.charCodeAt(mlen) <= 57) mlen++;
    if (t[mlen] !== '.' && t[mlen] !== ')') return null;
    num = Number(t.slice(0, mlen));
    mlen++;
  } else if (t[0] === '-' || t[0] === '*' || t[0] === '+') mlen = 1;
  else return null;
  if (mlen < t.length && t[mlen] !== ' ' && t[mlen] !== '\t') return null;
  const after = t.slice(mlen);
  const spaces = indentOf(after);
  const blankRest = after.trim() === '';
  const s = blankRest || spaces > 4 ? 1 : spaces;
  return { indent, ordered, num, offset: indent + mlen + s, rest: blankRest ? '' : stripCols(after, s) };
}

function isTableDelim(line: string): boolean {
  const t = line.trim();
  if (!t.includes('|') || !t.includes('-')) return false;
  const cells = t.replace(/^\|/, '').replace(/\|$/, '').split('|');
  return cells.every((c) => /^\s*:?-+:?\s*$/.test(c));
}

function tableCells(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  const t = line.trim();
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '\\' && t[i + 1] === '|') cur += t[++i];
    else if (t[i] === '|') {
      cells.push(cur);
      cur = '';
    } else cur += t[i];
  }
  cells.push(cur);
  if (t.startsWith('|')) cells.shift();
  if (t.endsWith('|') && !t.endsWith('\\|') && cells.length > 1) cells.pop();
  return cells.map((c) => cellText(parseInline(c.trim())));
}

function cellText(inl: readonly Inline[]): string {
  let out = '';
  for (const n of inl) {
    if (n.k === 'text' || n.k === 'code') out += n.s;
    else if (n.k === 'br') out += ' ';
    else if (n.k === 'link' && !n.bare) out += `${cellText(n.c)} (${n.href})`;
    else out += cellText(n.c);
  }
  return out;
}

function isTableStart(lines: readonly string[], i: number): boolean {
  return lines[i]!.includes('|') && i + 1 < lines.length && isTableDelim(lines[i + 1]!);
}

/** Whether `line` starts a block that ends (interrupts) a paragraph. */
function interrupts(lines: readonly string[], i: number): boolean {
  const t = stripWs(lines[i]!);
  if (fenceOf(t) || headingOf(t) || isHr(t) || t.startsWith('>')) return true;
  const m = markerOf(lines[i]!);
  if (m && m.rest !== '' && (!m.ordered || m.num === 1)) return true;
  return isTableStart(lines, i);
}

function parseBlocks(lines: readonly string[], depth: number): Block[] {
  const out: Block[] = [];
  const n = lines.length;
  let gap = false;
  let i = 0;
  while (i < n) {
    const line = lines[i]!;
    if (isBlank(line)) {
      gap = true;
      i++;
      continue;
    }
    const t = stripWs(line);
    const fence = fenceOf(t);
    const heading = fence ? null : headingOf(t);
    const marker = depth < MAX_DEPTH ? markerOf(line) : null;
    if (fence) {
      const ind = indentOf(line);
      const body: string[] = [];
      let j = i + 1;
      while (j < n && !closesFence(stripWs(lines[j]!), fence)) body.push(stripCols(lines[j++]!, ind));
      out.push({ k: 'code', gap, lang: fence.info.split(/[\s{]/)[0] ?? '', text: body.join('\n') });
      i = j + 1;
    } else if (heading) {
      out.push({ k: 'heading', gap, level: heading.level, inl: parseInline(heading.text) });
      i++;
    } else if (isHr(t)) {
      out.push({ k: 'hr', gap });
      i++;
    } else if (t.startsWith('>') && depth < MAX_DEPTH) {
      const inner: string[] = [];
      for (; i < n && !isBlank(lines[i]!) && stripWs(lines[i]!).startsWith('>'); i++) {
        const rest = stripWs(lines[i]!).slice(1);
        inner.push(stripCols(rest, 1));
      }
      out.push({ k: 'quote', gap, blocks: parseBlocks(inner, depth + 1) });
    } else if (marker) {
      const r = parseList(lines, i, marker, depth);
      out.push({ k: 'list', gap, ordered: marker.ordered, start: marker.num, items: r.items });
      i = r.next;
    } else if (isTableStart(lines, i)) {
      const rows = [tableCells(line)];
      for (i += 2; i < n && !isBlank(lines[i]!) && lines[i]!.includes('|'); i++) rows.push(tableCells(lines[i]!));
      out.push({ k: 'table', gap, rows });
    } else {
      const para = [t];
      for (i++; i < n && !isBlank(lines[i]!) && !interrupts(lines, i); i++) para.push(stripWs(lines[i]!));
      out.push({ k: 'para', gap, inl: parseInline(para.join('\n').trimEnd()) });
    }
    gap = false;
  }
  return out;
}

function parseList(lines: readonly string[], i: number, first: Marker, depth: number): { items: ListItem[]; next: number } {
  const items: ListItem[] = [];
  const n = lines.length;
  let itemGap = false;
  let m = first;
  for (;;) {
    const task = /^\[[ xX]\](?:[ \t]|$)/.test(m.rest) ? m.rest[1] !== ' ' : null;
    const body = [task === null ? m.rest : m.rest.slice(3).trimStart()];
    let fence = fenceOf(body[0]!);
    let blanks = 0;
    let k = i + 1;
    for (; k < n; k++) {
      const l = lines[k]!;
      const ind = indentOf(l);
      if (fence) {
        body.push(stripCols(l, Math.min(ind, m.offset)));
        if (closesFence(stripWs(l), fence)) fence = null;
        continue;
      }
      if (isBlank(l)) {
        blanks++;
        continue;
      }
      const lazy = blanks === 0 && ind <= m.indent && !interrupts(lines, k) && !markerOf(l);
      if (ind <= m.indent && !lazy) break;
      for (; blanks > 0; blanks--) body.push('');
      const stripped = lazy ? stripWs(l) : stripCols(l, Math.min(ind, m.offset));
      body.push(stripped);
      fence = fenceOf(stripWs(stripped));
    }
    items.push({ gap: itemGap, task, blocks: parseBlocks(body, depth + 1) });
    const next = k < n ? markerOf(lines[k]!) : null;
    if (!next || next.ordered !== first.ordered || next.indent > first.indent) return { items, next: k - blanks };
    i = k;
    itemGap = blanks > 0;
    m = next;
  }
}
