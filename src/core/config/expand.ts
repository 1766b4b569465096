// String-level rewriting of scalars after YAML parsing: `${VAR}` expansion and the typographic quotes
// the seed document writes (`name: “MyAIAssistant”`). Done on parsed values, so an environment variable
// can never inject YAML structure and positions in error messages stay those of the file.

export type Expansion =
  | { readonly ok: true; readonly value: string; readonly unset: readonly string[]; readonly changed: boolean }
  | { readonly ok: false; readonly error: string };

/**
 * `${VAR}` → the variable's value; `${VAR:-text}` → text when VAR is unset or empty; `$${` → a literal
 * `${`. An unset VAR without default becomes "" and is listed in `unset`. Other `$` are kept as they are.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): Expansion {
  if (!text.includes('${')) return { ok: true, value: text, unset: [], changed: false };
  let out = '';
  const unset: string[] = [];
  let i = 0;
  for (;;) {
    const at = text.indexOf('$', i);
    if (at < 0) break;
    out += text.slice(i, at);
    if (text.startsWith('$${', at)) {
      out += '${';
      i = at + 3;
      continue;
    }
    if (!text.startsWith('${', at)) {
      out += '$';
      i = at + 1;
      continue;
    }
    const close = text.indexOf('}', at + 2);
    const m = close < 0 ? null : /^([A-Za-z_][A-Za-z0-9_]*)(?::-([^]*))?$/.exec(text.slice(at + 2, close));
    if (!m) {
      const bad = close < 0 ? text.slice(at) : text.slice(at, close + 1);
      return { ok: false, error: `expected \${NAME} or \${NAME:-default} (write $\${ for a literal \${), got "${bad}"` };
    }
    const name = m[1]!;
    const value = env[name];
    if (m[2] !== undefined) {
      out += value === undefined || value === '' ? m[2] : value;
    } else {
      if (value === undefined && !unset.includes(name)) unset.push(name);
      out += value ?? '';
    }
    i = close + 1;
  }
  out += text.slice(i);
  return { ok: true, value: out, unset, changed: true };
}

const OPENERS = '“”„‘’‚';
const CLOSERS: Record<string, string> = { '“': '”“', '”': '”', '„': '“”', '‘': '’‘', '’': '’', '‚': '‘’' };

/** `“text”` / `‘text’` → `text`; undefined when the value is not wrapped in typographic quotes. */
export function stripTypographicQuotes(s: string): string | undefined {
  if (s.length < 2 || !OPENERS.includes(s[0]!)) return undefined;
  return CLOSERS[s[0]!]!.includes(s.at(-1)!) ? s.slice(1, -1) : undefined;
}

/**
 * A plain (unquoted) scalar that held `${...}` is typed after expansion the way YAML would have typed
 * the text: `max_tokens: ${MAX_TOKENS:-1024}` is the number 1024, `enabled: ${WS:-true}` a boolean.
 * Quoted scalars stay strings. (Text settings accept numbers, so `api_key: ${KEY}` with KEY=12345 works.)
 */
export function retype(value: string): string | number | boolean {
  // Only numbers that read back the same ("1024", "0.7"): "007" or "1e3" stay text, nothing is lost.
  if (/^-?\d+(?:\.\d+)?$/.test(value) && String(Number(value)) === value) return Number(value);
  if (value === 'true' || value === 'True' || value === 'TRUE') return true;
  if (value === 'false' || value === 'False' || value === 'FALSE') return false;
  return value;
}
