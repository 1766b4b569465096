// From what someone typed (or what a model's tool call / a workflow step passed) to checked parameter
// values. A value is accepted only if it has the declared type, is in the enum and matches the pattern.
// Patterns are tested as written (RegExp.test): authors anchor them (^...$), or a pattern matches any
// value that merely contains a match. Whatever a pattern allows, some values are always refused,
// because the command might pass them on to something that reads them specially: control characters
// (a newline ends a line of a protocol or a log), a string starting with "-" (an option smuggled into
// the program's argv: `--output=/etc/x`), and ".." path segments (leaving the folder the pattern meant).
// A value listed in the parameter's enum is the author's own literal choice and skips the last two.
import { ExecError } from '../errors.ts';
import type { CommandSpec, ParamSpec } from './types.ts';

/**
 * Words of a chat message: split at whitespace; "double" or 'single' quotes group words (and the quotes
 * are removed); nothing else (backslash, $, ...) has a meaning. An unclosed quote is refused.
 */
export function splitArgs(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new ExecError('BAD_ARGUMENT', `unclosed ${quote} in arguments`, { userText: `A quote (${quote}) is not closed.` });
  if (inWord) words.push(word);
  return words;
}

/** "disk_usage <path> [depth]": required parameters in <>, optional ones in []. */
export function usage(spec: CommandSpec): string {
  return [spec.name, ...spec.params.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`))].join(' ');
}

/**
 * Checked values by parameter name: from chat words in parameter order, or from named values (a model's
 * tool call, a workflow). Left-out optional parameters get their default, or no entry at all.
 * Throws ExecError BAD_ARGUMENT whose userText names the parameter, what it expects and the usage line.
 */
export function bindParams(spec: CommandSpec, input: readonly string[] | Readonly<Record<string, unknown>>): Record<string, string> {
  const given = new Map<string, string>();
  if (isWords(input)) {
    if (input.length > spec.params.length) {
      const n = spec.params.length;
      throw bad(spec, `${input.length} arguments for ${n}`, `Too many arguments: ${spec.name} takes ${n === 0 ? 'none' : `at most ${n}`}.`);
    }
    input.forEach((w, i) => given.set(spec.params[i]!.name, w));
  } else {
    for (const [name, v] of Object.entries(input)) {
      const p = spec.params.find((x) => x.name === name);
      if (!p) throw bad(spec, `unknown parameter ${JSON.stringify(name)}`, `${spec.name} has no parameter "${name}".`);
      if (v === undefined || v === null) continue;
      const text = typeof v === 'string' ? v : (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' ? String(v) : undefined;
      if (text === undefined) throw bad(spec, `parameter ${name}: ${typeof v} given`, `<${name}> must be ${expected(p)}${about(p)}.`);
      given.set(name, text);
    }
  }
  const out: Record<string, string> = {};
  for (const p of spec.params) {
    const raw = given.get(p.name) ?? p.default;
    if (raw === undefined) {
      if (p.required) throw bad(spec, `parameter ${p.name} missing`, `<${p.name}> is missing${about(p)}.`);
      continue;
    }
    const r = checkValue(p, raw);
    if ('problem' in r) throw bad(spec, `parameter ${p.name}: ${r.problem}, got ${JSON.stringify(raw.slice(0, 80))}`, `<${p.name}> must be ${r.problem}${about(p)}.`);
    out[p.name] = r.value;
  }
  return out;
}

/**
 * One value against its parameter: the normalised value (integers and numbers in their plain form,
 * booleans as true/false) or what was expected instead. Also used at load time for defaults.
 */
export function checkValue(p: ParamSpec, raw: string): { value: string } | { problem: string } {
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(raw)) return { problem: 'text without control characters (line breaks, tabs, ...)' };
  const value = normalise(p.type, raw);
  if (value === undefined || (p.enum && !p.enum.includes(value))) return { problem: expected(p) };
  if (p.pattern && !p.pattern.test(value)) return { problem: `${KIND[p.type]} matching ${patternText(p.pattern)}` };
  if (p.enum) return { value };
  if (p.type === 'string' && value.startsWith('-')) return { problem: 'a value that does not start with "-"' };
  if (/(?:^|[/\\])\.\.(?:[/\\]|$)/.test(value)) return { problem: 'a value without ".." path segments' };
  return { value };
}

const BOOLEANS: Record<string, string> = { true: 'true', yes: 'true', on: 'true', 1: 'true', false: 'false', no: 'false', off: 'false', 0: 'false' };

function normalise(type: ParamSpec['type'], raw: string): string | undefined {
  switch (type) {
    case 'string': return raw;
    case 'boolean': return BOOLEANS[raw.toLowerCase()];
    case 'integer': return /^[+-]?\d+$/.test(raw) && Number.isSafeInteger(Number(raw)) ? String(Number(raw)) : undefined;
    case 'number': {
      const n = Number(raw);
      return /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i.test(raw) && Number.isFinite(n) ? String(n) : undefined;
    }
  }
}

const KIND = { string: 'text', integer: 'a whole number', number: 'a number', boolean: 'true or false' } as const;

/** What the parameter accepts, in words. */
function expected(p: ParamSpec): string {
  if (p.enum) return `one of ${p.enum.join(', ')}`;
  return p.pattern ? `${KIND[p.type]} matching ${patternText(p.pattern)}` : KIND[p.type];
}

/** As written in the config: flags as a (?i) prefix, and `/` without the escape RegExp.source adds. */
function patternText(re: RegExp): string {
  return `${re.flags ? `(?${re.flags})` : ''}${re.source.replace(/(?<!\\)((?:\\\\)*)\\\//g, '$1/')}`;
}

function about(p: ParamSpec): string {
  return p.description ? ` (${p.description})` : '';
}

function bad(spec: CommandSpec, detail: string, text: string): ExecError {
  return new ExecError('BAD_ARGUMENT', `${spec.name}: ${detail}`, { userText: `${text}\nUsage: ${usage(spec)}` });
}

function isWords(input: readonly string[] | Readonly<Record<string, unknown>>): input is readonly string[] {
  return Array.isArray(input);
}
