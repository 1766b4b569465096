// Turning validation issues into messages a person can act on: "file:line:col: key.path: expected ...,
// got ...", one per problem, all of them at once.
import { ConfigError } from '../errors.ts';
import { levenshtein } from '../template.ts';
import type { YamlSource } from './document.ts';

export type Path = readonly PropertyKey[];

/** A config that failed to load, with every problem found (also joined, one per line, in `message`). */
export class ConfigProblemsError extends ConfigError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems in the configuration:\n${problems.join('\n')}`);
    this.problems = problems;
    // `where` and `path` of the first problem, as a plain ConfigError would carry them.
    const first = /^(.+?:\d+:\d+): (?:([^\s:]+): )?/.exec(problems[0] ?? '');
    if (first) Object.assign(this, { where: first[1], path: first[2] });
  }
}

/** models.default.temperature, routes[2].match.platform */
export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}

/** A value as a message shows it: strings quoted, long ones cut. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (the key is missing)';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return Object.keys(v).length ? 'a mapping' : 'an empty mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

/** The candidate within edit distance 2 (or that the word is a prefix of), if any. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = levenshtein(w, c.toLowerCase());
    const score = d <= 2 ? d : w.length >= 2 && c.startsWith(w) ? 2.5 : Infinity;
    if (score < bestD) {
      best = c;
      bestD = score;
    }
  }
  return best;
}

/** The part of a zod issue this module needs (kept structural so zod's types stay out of the API). */
export interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
}

/** Marker that custom messages put before the list of known keys (see schema.ts). */
export const KNOWN_KEYS = 'expected one of: ';

export function issuesToProblems(issues: readonly Issue[], src: YamlSource): string[] {
  const out: string[] = [];
  // An unknown key usually explains a complaint about the same mapping (`match: { contnet: hi }` has
  // "no condition"): report only the unknown key.
  const unknownAt = new Set(issues.filter((i) => i.code === 'unrecognized_keys').map((i) => i.path.join('\0')));
  for (const iss of issues) {
    const path = iss.path;
    if (iss.code === 'custom' && unknownAt.has(path.join('\0'))) continue;
    if (iss.code === 'unrecognized_keys' && iss.keys) {
      const known = iss.message.startsWith(KNOWN_KEYS) ? iss.message.slice(KNOWN_KEYS.length).split(', ') : [];
      for (const k of iss.keys) {
        const hint = didYouMean(k, known);
        const expected = known.length ? ` (${KNOWN_KEYS}${known.join(', ')})` : '';
        out.push(`${src.at([...path, k], 'key')}: ${formatPath([...path, k])}: unknown key${hint ? `, did you mean \`${hint}\`?` : ''}${expected}`);
      }
      continue;
    }
    const value = valueAt(src.data, path);
    const msg = iss.message.includes(', got ') ? iss.message : `${iss.message}, got ${describeValue(value)}`;
    out.push(`${src.at(path)}: ${formatPath(path)}: ${msg}`);
  }
  return out;
}

/** Problems of one file in the order of the file (line, then column); others keep their place at the end. */
export function sortByPosition(problems: readonly string[]): string[] {
  const pos = (p: string) => {
    const m = /^.+?:(\d+):(\d+): /.exec(p);
    return m ? Number(m[1]) * 100_000 + Number(m[2]) : Infinity;
  };
  return problems.map((p, i) => ({ p, i, k: pos(p) })).sort((a, b) => a.k - b.k || a.i - b.i).map((x) => x.p);
}

function valueAt(data: unknown, path: Path): unknown {
  let v = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}
