// The tiny document model between the Markdown parser and the platform renderers.

/** Inline content of a paragraph or heading. */
export type Inline =
  | { readonly k: 'text'; readonly s: string }
  | { readonly k: 'code'; readonly s: string }
  | { readonly k: 'br' }
  | { readonly k: 'b' | 'i' | 's'; readonly c: Inline[] }
  /** `bare`: the link was a bare or <angle> URL, so its text is the URL itself. */
  | { readonly k: 'link'; readonly href: string; readonly c: Inline[]; readonly bare: boolean };

/** `gap`: a blank line separated this block from the one before it in the source. */
export type Block =
  | { readonly k: 'para'; readonly gap: boolean; readonly inl: Inline[] }
  | { readonly k: 'heading'; readonly gap: boolean; readonly level: number; readonly inl: Inline[] }
  | { readonly k: 'code'; readonly gap: boolean; readonly lang: string; readonly text: string }
  | { readonly k: 'list'; readonly gap: boolean; readonly ordered: boolean; readonly start: number; readonly items: ListItem[] }
  | { readonly k: 'quote'; readonly gap: boolean; readonly blocks: Block[] }
  | { readonly k: 'hr'; readonly gap: boolean }
  | { readonly k: 'table'; readonly gap: boolean; readonly rows: string[][] };

export interface ListItem {
  readonly gap: boolean;
  /** A task-list item (`- [ ]` / `- [x]`): done or not; null for a plain item. */
  readonly task: boolean | null;
  readonly blocks: Block[];
}

/** The plain text of inline content (links become their text, code its content). */
export function inlineText(inl: readonly Inline[]): string {
  let out = '';
  for (const n of inl) {
    if (n.k === 'text' || n.k === 'code') out += n.s;
    else if (n.k === 'br') out += '\n';
    else out += inlineText(n.c);
  }
  return out;
}
