// Tiny `{{name.path}}` templates for reply texts and system prompts. Compiled once: an unknown variable
// or a broken placeholder is an error at compile time, so a config with a typo fails when it loads (with
// the position of the template), never in the middle of a conversation.

/** Variables a template may use; the executor fills them for each turn (see src/core/turn.ts). */
export const TEMPLATE_VARIABLES: readonly string[] = [
  'system.name', 'system.timezone', 'user.id', 'user.name', 'user.role', 'chat.id', 'platform', 'input', 'date', 'time',
];

export interface CompiledTemplate {
  /** Variables the template uses, in order of first use. */
  readonly vars: string[];
  /**
   * `encode`, when given, is applied to each inserted value (never to the template's own text): a URL
   * template URL-encodes what it inserts, a JSON text JSON-escapes it, so a value cannot change the
   * structure around it.
   */
  render(vars: Record<string, unknown>, encode?: (value: string) => string): string;
}

/** A template that cannot be compiled. `offset` is the index of the bad placeholder in the text. */
export class TemplateError extends Error {
  override name = 'TemplateError';
  readonly offset: number;
  readonly variable: string | undefined;
  constructor(message: string, offset: number, variable?: string) {
    super(message);
    this.offset = offset;
    this.variable = variable;
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Compiles `text`: `{{ a.b }}` (spaces inside the braces allowed) is replaced by the variable's value;
 * a missing value renders as "". There is no escape for a literal `{{`: a text needing one is rare
 * enough to pass it in through a variable.
 */
export function compileTemplate(text: string, allowedVars: readonly string[]): CompiledTemplate {
  const parts: (string | string[])[] = [];
  const used: string[] = [];
  let pos = 0;
  for (;;) {
    const open = text.indexOf('{{', pos);
    if (open < 0) break;
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`unclosed "{{" at offset ${open}: expected {{variable}}`, open);
    const name = text.slice(open + 2, close).trim();
    if (!NAME.test(name)) {
      throw new TemplateError(`bad placeholder "${text.slice(open, close + 2)}": expected {{variable}} with one of ${allowedVars.join(', ')}`, open);
    }
    if (!allowedVars.includes(name)) {
      const hint = closest(name, allowedVars);
      throw new TemplateError(
        `unknown template variable "{{${name}}}"${hint ? ` (did you mean {{${hint}}}?)` : ''}: expected one of ${allowedVars.join(', ')}`,
        open,
        name,
      );
    }
    if (open > pos) parts.push(text.slice(pos, open));
    parts.push(name.split('.'));
    if (!used.includes(name)) used.push(name);
    pos = close + 2;
  }
  if (pos < text.length) parts.push(text.slice(pos));
  return {
    vars: used,
    render(vars, encode) {
      let out = '';
      for (const p of parts) {
        if (typeof p === 'string') out += p;
        else out += encode ? encode(show(lookup(vars, p))) : show(lookup(vars, p));
      }
      return out;
    },
  };
}

const cache = new Map<string, CompiledTemplate>();

/** Compiles (cached by text) and renders in one step. */
export function renderTemplate(text: string, vars: Record<string, unknown>, allowedVars: readonly string[] = TEMPLATE_VARIABLES): string {
  const key = `${allowedVars.join(',')}\0${text}`;
  let t = cache.get(key);
  if (!t) {
    t = compileTemplate(text, allowedVars);
    if (cache.size > 500) cache.clear();
    cache.set(key, t);
  }
  return t.render(vars);
}

function lookup(vars: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = vars;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = c.startsWith(word) || c.endsWith(`.${word}`) ? 0 : levenshtein(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** Edit distance (insert, delete, substitute), for "did you mean" hints. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
