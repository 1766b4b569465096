// Document → units: where each piece of text sits (its formatting stack), what separates blocks and
// lines, how lists are bulleted and indented. Platform-neutral: renderers decide what a format looks like.
import { inlineText, type Block, type Inline } from './ast.ts';
import { safeHref } from './links.ts';
import { EMPTY_STACK, type Fmt, type Stack } from './markup.ts';
import { formatTable } from './table.ts';
import { PRI, UnitBuilder, type Unit } from './units.ts';

const HR = '──────────';
const LANG = /^[A-Za-z0-9_+#.-]{1,32}$/;

export function layout(blocks: readonly Block[]): Unit[] {
  const b = new UnitBuilder();
  layoutBlocks(b, blocks, EMPTY_STACK, '');
  return b.units;
}

/** A stack with `f` on top; the same stack when an equal format is already open (no <b> in <b>). */
function push(st: Stack, f: Fmt): Stack {
  if (f.t !== 'a' && f.t !== 'pre' && f.t !== 'code' && st.some((g) => g.t === f.t)) return st;
  return [...st, f];
}

function isEmpty(blk: Block): boolean {
  switch (blk.k) {
    case 'para':
    case 'heading': return blk.inl.every((n) => n.k !== 'code' && inlineText([n]).trim() === '');
    case 'code': return blk.text.trim() === '';
    case 'quote': return blk.blocks.every(isEmpty);
    default: return false;
  }
}

function layoutBlocks(b: UnitBuilder, blocks: readonly Block[], st: Stack, indent: string): void {
  let first = true;
  for (const blk of blocks) {
    if (isEmpty(blk)) continue;
    if (!first) {
      b.sep(blk.gap ? '\n\n' : '\n', st, blk.gap ? PRI.PARA : PRI.BLOCK);
      if (indent) b.prefix(indent, st);
    }
    first = false;
    layoutBlock(b, blk, st, indent);
  }
}

function layoutBlock(b: UnitBuilder, blk: Block, st: Stack, indent: string): void {
  switch (blk.k) {
    case 'para':
      layoutInline(b, blk.inl, st, indent);
      break;
    case 'heading':
      layoutInline(b, blk.inl, push(st, { t: 'b' }), indent);
      break;
    case 'code':
      layoutPre(b, blk.text, LANG.test(blk.lang) ? blk.lang : '', st);
      break;
    case 'table':
      layoutPre(b, formatTable(blk.rows), '', st);
      break;
    case 'hr':
      b.text(HR, st);
      break;
    case 'quote':
      layoutBlocks(b, blk.blocks, push(st, { t: 'quote' }), indent);
      break;
    case 'list': {
      let num = blk.start;
      blk.items.forEach((item, x) => {
        if (x > 0) {
          b.sep(item.gap ? '\n\n' : '\n', st, item.gap ? PRI.PARA : PRI.LINE);
          if (indent) b.prefix(indent, st);
        }
        const marker = item.task !== null ? (item.task ? '☑ ' : '☐ ') : blk.ordered ? `${num++}. ` : '• ';
        b.prefix(item.blocks.every(isEmpty) ? marker.trimEnd() : marker, st);
        layoutBlocks(b, item.blocks, st, indent + ' '.repeat(marker.length));
      });
      break;
    }
  }
}

function layoutPre(b: UnitBuilder, text: string, lang: string, st: Stack): void {
  const ps: Stack = [...st, { t: 'pre', lang }];
  const lines = text.split('\n');
  let lo = 0, hi = lines.length;
  while (lo < hi && lines[lo]!.trim() === '') lo++;
  while (hi > lo && lines[hi - 1]!.trim() === '') hi--;
  let gap = '';
  for (let k = lo; k < hi; k++) {
    const line = lines[k]!;
    if (k > lo) gap += '\n';
    if (line.trim() === '') {
      gap += line;
      continue;
    }
    if (gap) b.sep(gap, ps, gap.indexOf('\n') !== gap.lastIndexOf('\n') ? PRI.BLOCK : PRI.LINE);
    gap = '';
    b.text(line, ps, true);
  }
}

function layoutInline(b: UnitBuilder, inl: readonly Inline[], st: Stack, indent: string): void {
  for (const n of inl) {
    switch (n.k) {
      case 'text':
        b.text(n.s, st);
        break;
      case 'br':
        b.sep('\n', st, PRI.LINE);
        if (indent) b.prefix(indent, st);
        break;
      case 'code':
        b.text(n.s, push(st, { t: 'code' }));
        break;
      case 'link': {
        const href = safeHref(n.href);
        const text = inlineText(n.c);
        if (!href) layoutInline(b, text.trim() ? n.c : [{ k: 'text', s: n.href }], st, indent);
        else {
          const shown: readonly Inline[] = text.trim() ? n.c : [{ k: 'text', s: href }];
          const f: Fmt = { t: 'a', href, bare: n.bare || shown !== n.c, textIsHref: shown !== n.c || text === href };
          layoutInline(b, shown, push(st, f), indent);
        }
        break;
      }
      default:
        layoutInline(b, n.c, push(st, { t: n.k }), indent);
    }
  }
}
