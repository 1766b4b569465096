// One YAML file, parsed with positions: the plain data (after `${VAR}` expansion and typographic-quote
// stripping) plus an index from key paths to "file:line:col", so every later problem can say where.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Scalar, type YAMLError } from 'yaml';
import { expandEnv, retype, stripTypographicQuotes } from './expand.ts';
import { formatPath, type Path } from './problems.ts';

interface Spot {
  readonly key: number | undefined;
  readonly value: number | undefined;
}

export interface YamlSource {
  /** Absolute path. */
  readonly file: string;
  /** As shown in messages (relative to the working folder when inside it). */
  readonly display: string;
  /** Plain data; {} for an empty file. */
  readonly data: unknown;
  /** "file:line:col" of the node at `path` (its key with which = 'key'), or of its nearest existing ancestor. */
  at(path: Path, which?: 'key' | 'value'): string;
}

export interface ParsedFile {
  readonly source: YamlSource;
  readonly problems: string[];
  readonly warnings: string[];
  readonly unsetEnv: string[];
}

const MAX_SYNTAX_ERRORS = 3;
const pathKey = (path: Path) => path.map(String).join('\0');

export function parseYaml(text: string, file: string, display: string, env: NodeJS.ProcessEnv): ParsedFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const spots = new Map<string, Spot>();
  const problems: string[] = [];
  const warnings: string[] = [];
  const unsetEnv: string[] = [];
  const loc = (offset: number | undefined) => {
    const p = offset === undefined ? { line: 1, col: 1 } : lc.linePos(offset);
    return `${display}:${p.line}:${p.col}`;
  };
  const at = (path: Path, which: 'key' | 'value' = 'value') => {
    for (let n = path.length; n >= 0; n--) {
      const spot = spots.get(pathKey(path.slice(0, n)));
      if (spot) return loc(which === 'key' && n === path.length ? (spot.key ?? spot.value) : spot.value);
    }
    return loc(undefined);
  };

  // One syntax error tends to cascade into dozens; the first few say where to look.
  const yamlMessage = (e: YAMLError) => {
    const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const hint = /flow-map|flow-seq/.test(msg) && /\$\{/.test(text) ? ' (inside { } or [ ], quote values that use ${VAR})' : '';
    return `${display}:${p.line}:${p.col}: ${e.name === 'YAMLWarning' ? 'YAML warning' : 'invalid YAML'}: ${msg}${hint}`;
  };
  problems.push(...doc.errors.slice(0, MAX_SYNTAX_ERRORS).map(yamlMessage));
  if (doc.errors.length > MAX_SYNTAX_ERRORS) problems.push(`${display}: ... and ${doc.errors.length - MAX_SYNTAX_ERRORS} more YAML errors after these`);
  warnings.push(...doc.warnings.map(yamlMessage));
  if (problems.length > 0) return { source: { file, display, data: {}, at }, problems, warnings, unsetEnv };

  const visitScalar = (node: Scalar, path: Path) => {
    if (typeof node.value !== 'string') return;
    const plain = node.type === 'PLAIN';
    let value = node.value;
    const stripped = plain ? stripTypographicQuotes(value) : undefined;
    if (stripped !== undefined) {
      warnings.push(`${loc(node.range?.[0])}: ${formatPath(path)}: typographic quotes removed from ${value} (YAML quotes are straight: "${stripped}")`);
      value = stripped;
    }
    const x = expandEnv(value, env);
    if (!x.ok) {
      problems.push(`${loc(node.range?.[0])}: ${formatPath(path)}: ${x.error}`);
      return;
    }
    for (const name of x.unset) if (!unsetEnv.includes(name)) unsetEnv.push(name);
    node.value = x.changed && plain ? retype(x.value) : x.value;
  };

  const walk = (node: unknown, path: Path, keyOffset: number | undefined) => {
    const offset = (node as Node | null)?.range?.[0];
    spots.set(pathKey(path), { key: keyOffset, value: offset ?? keyOffset });
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        walk(pair.value, [...path, String(k)], (pair.key as Node | null)?.range?.[0]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i], undefined));
    } else if (isScalar(node)) {
      visitScalar(node, path);
    }
  };
  walk(doc.contents, [], undefined);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    problems.push(`${display}:1:1: invalid YAML: ${(err as Error).message}`);
    data = {};
  }
  return { source: { file, display, data, at }, problems, warnings, unsetEnv };
}
