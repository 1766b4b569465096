// Building blocks of the config schema: each value check says what it expected; problems.ts adds what
// it got and where. Shared by schema.ts and the sections that live in their own files (commands,
// workflows, schedules).
// zod's mini API (`nullish(x)`, `x.check(superRefine(...))` rather than methods): its schemas are lighter
// to build and keep than the classic API's, and the bundle then holds no zod classic at all. Named
// imports, not the `z` namespace: a bundler then drops the parts of zod not used here.
import { config, memoizer, NEVER, pipe, regex as regexCheck, strictObject, string, transform, unknown, type core } from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { compileTemplate, TEMPLATE_VARIABLES } from '../template.ts';
import { KNOWN_KEYS } from './problems.ts';
import { EXPECTED_DURATION, EXPECTED_SIZE, EXPECTED_URL, parseDuration, parseHttpUrl, parseSize } from './units.ts';

// What the classic API sets up by itself on its first schema, so problems read as they always have:
// English messages for the issues without a message of ours ("Invalid input: expected record, ..."),
// and the memoizer (a value met twice in one parse, e.g. through YAML aliases). Before any schema here
// is built: a schema reads the memoizer when it is constructed.
config(en());
config({ memoizer: memoizer() });

/** A strict mapping whose unknown-key issues list the keys it knows (for "did you mean"). */
export function obj<T extends core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  return strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `${KNOWN_KEYS}${known}` : `expected a mapping with keys ${known}`),
  });
}

/** A string that `re` matches (names, and the keys of a record); `params.error` replaces zod's message. */
export function matching(re: RegExp, params?: { error: string }) {
  return string().check(regexCheck(re, params));
}

/**
 * A value checked by `parse`: undefined means "not what was expected"; a thrown error's message is used
 * (with the expected form when it does not say it already).
 */
export function val<T>(expected: string, parse: (v: unknown) => T | undefined) {
  return pipe(unknown(), transform((v, ctx): T => {
    let out: T | undefined;
    try {
      out = parse(v);
    } catch (err) {
      const m = (err as Error).message;
      ctx.issues.push({ code: 'custom', message: m.includes('expected') ? m : `expected ${expected}: ${m}`, input: v });
      return NEVER;
    }
    if (out === undefined) {
      ctx.issues.push({ code: 'custom', message: `expected ${expected}`, input: v });
      return NEVER;
    }
    return out;
  }));
}

/** Strings; a number is taken as its text (an all-digit key or chat id written without quotes). */
export const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
export const nonEmpty = (v: unknown) => str(v)?.trim() || undefined;
export const intIn = (min: number, max: number) => val(`a whole number from ${min} to ${max}`, (v) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : undefined));
export const numIn = (min: number, max: number) => val(`a number from ${min} to ${max}`, (v) => (typeof v === 'number' && v >= min && v <= max ? v : undefined));
export const oneOf = <T extends string>(options: readonly T[]) => val(`one of ${options.join(', ')}`, (v) => (options.includes(v as T) ? (v as T) : undefined));
export const bool = val('true or false', (v) => (typeof v === 'boolean' ? v : undefined));
export const text = (what: string) => val(what, str);
export const duration = (min = 0) => val(EXPECTED_DURATION, (v) => {
  const ms = parseDuration(v);
  return ms !== undefined && ms >= min ? ms : undefined;
});

export const timezone = val('an IANA time zone like Asia/Shanghai, Europe/Berlin or UTC', (v) => {
  const tz = nonEmpty(v);
  if (!tz) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
});

export const httpUrl = val(EXPECTED_URL, parseHttpUrl);

export const template = val('a text (a template with {{variables}})', (v) => {
  if (typeof v !== 'string') return undefined;
  compileTemplate(v, TEMPLATE_VARIABLES);
  return v;
});

export const stringList = (what: string, lower: boolean) => val(`${what} or a list of them`, (v) => {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!items || items.length === 0 || !items.every((s) => typeof s === 'string' && s.trim() !== '')) return undefined;
  return [...new Set(items.map((s: string) => (lower ? s.trim().toLowerCase() : s.trim())))];
});

/** `(?i)` (also `(?m)`, `(?s)`, combined) at the start sets flags, as in PCRE/Python/Go. */
export const regex = val('a regular expression (optionally starting with (?i) for case-insensitive)', (v) => {
  if (typeof v !== 'string' || v === '') return undefined;
  const m = /^\(\?([ims]+)\)/.exec(v);
  const flags = m ? [...new Set(m[1])].join('') : '';
  return new RegExp(m ? v.slice(m[0].length) : v, flags);
});

/** Ids of people or chats: numbers (Telegram) or strings (Slack U…/C…, Telegram @username). */
export const idList = val('a list of ids (numbers or strings)', (v) => {
  const items = Array.isArray(v) ? v : v === undefined || v === null ? undefined : [v];
  if (!items || !items.every((x) => (typeof x === 'number' && Number.isFinite(x)) || (typeof x === 'string' && x.trim() !== ''))) return undefined;
  return items.map((x) => String(x).trim());
});
export const size = val(EXPECTED_SIZE, parseSize);
export const urlPathOf = (what: string) => val(what, (v) => (typeof v === 'string' && /^\/[^\s?#]*$/.test(v) ? v : undefined));

/** A secret that is required once the adapter is enabled (checked below, with the variable to set). */
export function needs(r: Record<string, unknown>, key: string, why: string, ctx: { addIssue(i: { code: 'custom'; path: string[]; message: string }): void }): void {
  if (r.enabled === true && (r[key] === undefined || r[key] === null || r[key] === '')) {
    ctx.addIssue({ code: 'custom', path: [key], message: `expected ${why} when the adapter is enabled` });
  }
}

