// Memory scenario: top-5 search over 100,000 × 768 vectors in one scope, VectorIndex (binary shortlist
// re-ranked with floats) next to exact float KNN in sqlite-vec (the baseline), same database, same run;
// recall@5 of the index against the exact results. Run alone with `node bench/memory.ts`, or as part
// of `npm run bench` (bench/run.ts). Env: MEMORY_N (vectors, default 100000), MEMORY_QUERIES (default 200).
//
// The data imitates embeddings rather than uniform noise: 300 topic centroids; each vector is a
// centroid plus variation along 32 directions of its own topic plus isotropic noise, normalised. Real
// sentence embeddings have a low intrinsic dimension (a topic's texts differ along few directions),
// which is what the per-topic directions model. Queries are new draws from the same distribution.
// Isotropic clusters alone (no topic directions) are the worst case: within a topic every vector is
// almost equidistant from a query, and the shortlist needs ~200 rows for recall@5 ≥ 0.95 (~20 ms);
// `isotropic: true` generates those (docs/benchmarks.md has the figures).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../src/store/db.ts';
import { VectorIndex } from '../src/store/vectors.ts';

export interface ClusteredOptions {
  readonly dims: number;
  readonly topics?: number;
  /** Directions of variation per topic (0 = isotropic clusters). */
  readonly topicDims?: number;
  /** Isotropic noise, relative to the unit centroid. */
  readonly noise?: number;
  readonly seed?: number;
}

/** An endless source of embedding-like unit vectors (deterministic for a seed). */
export function clusteredVectors(o: ClusteredOptions): () => Float32Array {
  const { dims, topics = 300, topicDims = 32, noise = 0.5 } = o;
  let s = o.seed ?? 1;
  const rnd = () => { // mulberry32: seeded, so a failing recall is reproducible
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const unit = (v: Float32Array) => {
    let n = 0;
    for (const x of v) n += x * x;
    n = Math.sqrt(n);
    for (let i = 0; i < v.length; i++) v[i]! /= n;
    return v;
  };
  const randomUnit = () => unit(Float32Array.from({ length: dims }, gauss));
  const centroids = Array.from({ length: topics }, randomUnit);
  const directions = centroids.map(() => Array.from({ length: topicDims }, randomUnit));
  return () => {
    const t = Math.floor(rnd() * topics);
    const v = Float32Array.from(centroids[t]!);
    const f = noise / Math.sqrt(dims);
    for (let i = 0; i < dims; i++) v[i]! += f * gauss();
    for (const d of directions[t]!) {
      const z = gauss() / Math.sqrt(topicDims);
      for (let i = 0; i < dims; i++) v[i]! += z * d[i]!;
    }
    return unit(v);
  };
}

export interface MemoryBenchResult {
  readonly n: number;
  readonly queries: number;
  readonly index: { readonly p50: number; readonly p95: number };
  readonly exact: { readonly p50: number; readonly p95: number };
  readonly recallAt5: number;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

export function benchMemory(opts: { n?: number; queries?: number; isotropic?: boolean } = {}): MemoryBenchResult {
  const n = opts.n ?? 100_000, queries = opts.queries ?? 200, dims = 768, k = 5;
  const dir = mkdtempSync(join(tmpdir(), 'clawdbot-bench-memory-'));
  const opened = openDb(join(dir, 'memory.db'));
  try {
    const { db } = opened;
    const next = clusteredVectors({ dims, seed: 7, ...(opts.isotropic ? { topicDims: 0, noise: 1 } : {}) });
    const index = new VectorIndex(db, { table: 'bench_vec', dims });
    // The baseline: sqlite-vec's exact float brute force over the same (unit) vectors.
    db.exec(`CREATE VIRTUAL TABLE bench_exact USING vec0(embedding float[${dims}] distance_metric=cosine)`);
    const insertExact = db.prepare('INSERT INTO bench_exact (rowid, embedding) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= n; i++) {
        const v = next();
        index.upsert(BigInt(i), 'user:bench', v);
        insertExact.run(BigInt(i), Buffer.from(v.buffer));
      }
    })();
    const exact = db.prepare(`SELECT rowid FROM bench_exact WHERE embedding MATCH ? AND k = ${k}`).safeIntegers(true).pluck();
    const qs = Array.from({ length: queries }, next);
    const timed = <T>(f: () => T, into: number[]): T => {
      const t = performance.now();
      const r = f();
      into.push(performance.now() - t);
      return r;
    };
    // Warm-up: the first queries page the tables in; steady-state latency is what a turn sees.
    for (const q of qs.slice(0, 5)) { index.search(q, k, ['user:bench']); exact.all(Buffer.from(q.buffer)); }
    const ti: number[] = [], te: number[] = [];
    let found = 0;
    for (const q of qs) {
      const truth = new Set(timed(() => exact.all(Buffer.from(q.buffer)) as bigint[], te));
      const got = timed(() => index.search(q, k, ['user:bench']), ti);
      found += got.filter((h) => truth.has(h.rowid)).length;
    }
    return { n, queries, index: { p50: pct(ti, 0.5), p95: pct(ti, 0.95) }, exact: { p50: pct(te, 0.5), p95: pct(te, 0.95) }, recallAt5: found / (k * queries) };
  } finally {
    opened.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows in bench/run.ts's shape: p50 and p95 against the exact baseline's, and recall@5. */
export function memoryRows(r: MemoryBenchResult, label = ''): { scenario: string; subject: string; value: number; unit: string; baseline: number; ratio: number; target?: string }[] {
  const scenario = `memory top-5, ${r.n.toLocaleString('en')} × 768, one scope${label}`;
  const subject = 'VectorIndex (bit shortlist + float re-rank)';
  return [
    { scenario: `${scenario}: p50`, subject, value: r.index.p50, unit: 'ms', baseline: r.exact.p50, ratio: r.index.p50 / r.exact.p50, target: '≤ 10 ms' },
    { scenario: `${scenario}: p95`, subject, value: r.index.p95, unit: 'ms', baseline: r.exact.p95, ratio: r.index.p95 / r.exact.p95 },
    { scenario: `${scenario}: recall@5 vs exact`, subject, value: 100 * r.recallAt5, unit: '%', baseline: 100, ratio: r.recallAt5, target: '≥ 95%' },
  ];
}

if (import.meta.main) {
  const n = Number(process.env.MEMORY_N ?? 100_000), queries = Number(process.env.MEMORY_QUERIES ?? 200);
  const rows = [...memoryRows(benchMemory({ n, queries })), ...memoryRows(benchMemory({ n, queries, isotropic: true }), ' (isotropic clusters: worst case)')];
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  process.stdout.write([
    '| scenario | subject | value | baseline (same run) | ratio | target |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.subject} | ${fmt(r.value)} ${r.unit} | ${fmt(r.baseline)} ${r.unit} | ${r.ratio.toFixed(2)} | ${r.target ?? ''} |`),
  ].join('\n') + '\n');
}
