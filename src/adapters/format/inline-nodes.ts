// The inline parser's working form: a doubly linked list of nodes (so wrapping a run of nodes in
// emphasis or a link is O(1)), and its conversion to the Inline[] AST.
import type { Inline } from './ast.ts';

/** Deeper emphasis/link nesting than this is kept as text (pathological input, no deep recursion). */
const MAX_NESTING = 24;

export type Kind = 'text' | 'code' | 'br' | 'b' | 'i' | 's' | 'link';
export interface Node {
  kind: Kind;
  s: string;
  href: string;
  bare: boolean;
  first: Node | null;
  last: Node | null;
  prev: Node | null;
  next: Node | null;
}

export function mk(kind: Kind, s = ''): Node {
  return { kind, s, href: '', bare: false, first: null, last: null, prev: null, next: null };
}

export function pushText(out: Inline[], s: string): void {
  if (!s) return;
  const last = out[out.length - 1];
  if (last && last.k === 'text') out[out.length - 1] = { k: 'text', s: last.s + s };
  else out.push({ k: 'text', s });
}

export function toAst(first: Node | null, depth: number, inLink: boolean): Inline[] {
  const out: Inline[] = [];
  for (let n = first; n; n = n.next) {
    switch (n.kind) {
      case 'text': pushText(out, n.s); break;
      case 'code': out.push({ k: 'code', s: n.s }); break;
      case 'br': out.push({ k: 'br' }); break;
      case 'link':
        if (inLink || depth >= MAX_NESTING) pushAll(out, toAst(n.first, depth + 1, true));
        else out.push({ k: 'link', href: n.href, bare: n.bare, c: toAst(n.first, depth + 1, true) });
        break;
      default:
        if (depth >= MAX_NESTING) pushAll(out, flatten(n.first));
        else out.push({ k: n.kind, c: toAst(n.first, depth + 1, inLink) });
    }
  }
  return out;
}

function pushAll(out: Inline[], items: Inline[]): void {
  for (const x of items) {
    if (x.k === 'text') pushText(out, x.s);
    else out.push(x);
  }
}

/** Deeply nested emphasis (pathological input): keep the text, drop the formatting, no recursion. */
function flatten(first: Node | null): Inline[] {
  const out: Inline[] = [];
  const stack: (Node | null)[] = [first];
  while (stack.length) {
    const n = stack.pop();
    if (!n) continue;
    stack.push(n.next);
    if (n.kind === 'text' || n.kind === 'code') pushText(out, n.s);
    else if (n.kind === 'br') out.push({ k: 'br' });
    else stack.push(n.first);
  }
  return out;
}
