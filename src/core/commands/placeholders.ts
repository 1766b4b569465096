// `{{param}}` placeholders in a command's argv, URL, headers and body. Filling one is plain text
// replacement with the value already checked by bindParams (and encoded for where it lands): nothing is
// ever handed to a shell or parsed again.

export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FILLED = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The parameter names `text` uses, in order; `bad` is the first placeholder that is not `{{name}}`. */
export function placeholdersIn(text: string): { names: string[]; bad: string | undefined } {
  const names: string[] = [];
  for (let pos = text.indexOf('{{'); pos >= 0; pos = text.indexOf('{{', pos)) {
    const close = text.indexOf('}}', pos + 2);
    if (close < 0) return { names, bad: text.slice(pos) };
    const name = text.slice(pos + 2, close).trim();
    if (!PARAM_NAME.test(name)) return { names, bad: text.slice(pos, close + 2) };
    if (!names.includes(name)) names.push(name);
    pos = close + 2;
  }
  return { names, bad: undefined };
}

/**
 * Replaces each `{{name}}` whose name is a key of `values` with `encode(value)`; any other text, including
 * a `{{...}}` naming no key, stays as written (a workflow passes an already rendered request and `{}`).
 */
export function fill(text: string, values: Readonly<Record<string, string>>, encode: (v: string) => string = (v) => v): string {
  return text.replace(FILLED, (whole, name: string) => (Object.hasOwn(values, name) ? encode(values[name]!) : whole));
}

/**
 * argv with its placeholders filled; each item stays one item whatever the value holds. An item that is
 * only the placeholder of an optional parameter left out is dropped (`ls {{path}}` → `ls`); inside a
 * longer item a left-out parameter is empty. `declared` are the command's parameter names.
 */
export function fillArgv(argv: readonly string[], values: Readonly<Record<string, string>>, declared: readonly string[]): string[] {
  const all: Record<string, string> = {};
  for (const name of declared) all[name] = values[name] ?? '';
  const out: string[] = [];
  for (const item of argv) {
    const only = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(item);
    if (only && declared.includes(only[1]!) && !Object.hasOwn(values, only[1]!)) continue;
    out.push(fill(item, all));
  }
  return out;
}
