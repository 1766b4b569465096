// A scoped vector index on sqlite-vec: top-k by cosine distance, restricted to the scopes asked for.
//
// One vec0 virtual table per index:
//   scope      text partition key   — vec0 keeps each scope in its own chunks, so a KNN for one scope
//                                      never reads another scope's vectors: the privacy filter is inside
//                                      the search, not applied to its results (which could come back empty
//                                      or, worse, be forgotten).
//   bits       bit[dims]            — the sign of each (normalised) component: 96 bytes for 768 dims.
//                                      Hamming KNN over these is the shortlist (~3 ms at 100k on 2 cores,
//                                      where float brute force costs ~60–145 ms).
//   +embedding blob                 — the float32 vector (auxiliary column: stored beside, not scanned),
//                                      read only for the shortlist to re-rank it by exact cosine.
// A search is one statement per scope: the Hamming shortlist, re-ranked by vec_distance_cosine on the
// floats, then the scopes' lists merged in JS (a handful of scopes: the person's and a shared one).
//
// Deleting is real: vec0 (0.1.9) zeroes a deleted vector's bytes in its chunk and drops emptied chunks,
// and the float blob is an ordinary row (overwritten when the database runs with secure_delete).
import type { Db } from './db.ts';

export type VectorErrorKind =
  /** A vector (or an existing table) has another dimension than the index. */
  | 'dims_mismatch'
  /** A vector with NaN/Infinity components or all zeros: it has no direction to compare. */
  | 'invalid_vector'
  /** A table name that is not a plain SQL identifier, dims not a positive multiple of 8, an empty scope. */
  | 'invalid_argument';

export class VectorError extends Error {
  override name = 'VectorError';
  readonly kind: VectorErrorKind;
  constructor(kind: VectorErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export interface VectorHit {
  readonly rowid: bigint;
  /** Cosine distance (1 − cosine similarity): 0 for the same direction, 2 for the opposite one. */
  readonly distance: number;
}

export interface VectorIndexOptions {
  /** SQL identifier of the vec0 table (created if missing). */
  readonly table: string;
  /** Vector dimension; a multiple of 8 (the bit codes are whole bytes). */
  readonly dims: number;
}

/**
 * How many Hamming neighbours are re-ranked with floats for a top-k. vec0 selects a KNN's k per chunk
 * in O(rows·k), so the shortlist, not the re-rank (~3 µs per row), is what a search costs: at 100k × 768
 * in one scope each shortlisted row adds ~0.09 ms on top of a ~3 ms scan. Measured at 100k (bench/memory.ts,
 * docs/benchmarks.md): 40 for k = 5 gives recall@5 ≈ 0.98 at ~7 ms p50 on embedding-like data; 60 gave
 * 0.996 but ~8.5 ms, too close to the 10 ms budget on a noisy 2-core machine. 4·k beyond that keeps the
 * same headroom for the larger k a hybrid search fuses. A scope with fewer rows than this is searched
 * exactly. Isotropic clusters (every topic member equidistant) would need ~200 (~20 ms): not what
 * embeddings look like, so not paid for on every search.
 */
export const shortlistSize = (k: number): number => Math.max(40, 4 * k);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Throws VectorError('invalid_argument') for a dimension an index cannot have (bit codes are whole bytes). */
export function checkDims(dims: number): void {
  if (!Number.isInteger(dims) || dims <= 0 || dims % 8 !== 0) throw new VectorError('invalid_argument', `vector dims must be a positive multiple of 8, got ${dims}`);
}

export class VectorIndex {
  readonly dims: number;
  readonly table: string;
  readonly #insert;
  readonly #delete;
  readonly #deleteScope;
  readonly #count;
  readonly #search;
  readonly #upsert;

  /** Opens the index `table`, creating it when missing; throws VectorError('dims_mismatch') when it exists with another dimension. */
  constructor(db: Db, opts: VectorIndexOptions) {
    const { table, dims } = opts;
    if (!IDENT.test(table)) throw new VectorError('invalid_argument', `vector table name ${JSON.stringify(table)} is not a plain SQL identifier`);
    checkDims(dims);
    const existing = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`).pluck().get(table) as string | undefined;
    if (existing !== undefined) {
      const stored = Number(/bit\[(\d+)\]/.exec(existing)?.[1]);
      if (stored !== dims) throw new VectorError('dims_mismatch', `vector table ${table} holds ${stored}-dimensional vectors, not ${dims}`);
    } else {
      db.exec(`CREATE VIRTUAL TABLE ${table} USING vec0(scope text partition key, bits bit[${dims}], +embedding blob)`);
    }
    this.dims = dims;
    this.table = table;
    this.#insert = db.prepare(`INSERT INTO ${table} (rowid, scope, bits, embedding) VALUES (?, ?, vec_quantize_binary(?), ?)`);
    this.#delete = db.prepare(`DELETE FROM ${table} WHERE rowid = ?`);
    this.#deleteScope = db.prepare(`DELETE FROM ${table} WHERE scope = ?`);
    this.#count = db.prepare(`SELECT count(*) FROM ${table}`).pluck();
    // The subquery is the KNN (vec0 sees MATCH, k and the partition key together); the outer query
    // re-ranks its rows with the floats. safeIntegers: vec0 rowids are 64-bit and come back as BigInt.
    this.#search = db.prepare(
      `SELECT rowid, vec_distance_cosine(embedding, @q) AS distance
       FROM (SELECT rowid, embedding FROM ${table} WHERE bits MATCH vec_quantize_binary(@q) AND k = @shortlist AND scope = @scope)
       ORDER BY distance, rowid LIMIT @k`,
    ).safeIntegers(true);
    this.#upsert = db.transaction((rowid: bigint, scope: string, blob: Buffer) => {
      // vec0 has no INSERT OR REPLACE (a second insert fails on its primary key), and a row may move
      // between scopes: delete then insert, in one transaction (a savepoint inside the caller's).
      this.#delete.run(rowid);
      this.#insert.run(rowid, scope, blob, blob);
    });
  }

  /** Stores (or replaces) the vector of `rowid` in `scope`; the vector is normalised first. */
  upsert(rowid: bigint, scope: string, vector: Float32Array): void {
    if (scope === '') throw new VectorError('invalid_argument', 'a vector needs a non-empty scope');
    this.#upsert(rowid, scope, this.#normalised(vector));
  }

  /** Returns whether a row was deleted. */
  delete(rowid: bigint): boolean {
    return this.#delete.run(rowid).changes > 0;
  }

  /** Deletes every vector of `scope`; returns how many. */
  deleteScope(scope: string): number {
    return this.#deleteScope.run(scope).changes;
  }

  count(): number {
    return Number(this.#count.get());
  }

  /**
   * The k nearest rows to `query` by cosine distance (smallest first, ties by rowid) among the rows of
   * `scopes` only. Approximate beyond a scope's first {@link shortlistSize} Hamming neighbours; exact
   * for a scope with fewer rows than that.
   */
  search(query: Float32Array, k: number, scopes: readonly string[]): VectorHit[] {
    if (!Number.isInteger(k) || k < 0) throw new VectorError('invalid_argument', `k must be a non-negative integer, got ${k}`);
    const q = this.#normalised(query);
    if (k === 0 || scopes.length === 0) return [];
    const params = { q, k, shortlist: shortlistSize(k) };
    const hits: VectorHit[] = [];
    for (const scope of new Set(scopes)) {
      for (const r of this.#search.all({ ...params, scope }) as { rowid: bigint; distance: number }[]) hits.push({ rowid: r.rowid, distance: r.distance });
    }
    if (scopes.length === 1) return hits; // already ordered and limited by SQL
    return hits.sort((a, b) => a.distance - b.distance || (a.rowid < b.rowid ? -1 : a.rowid > b.rowid ? 1 : 0)).slice(0, k);
  }

  /** The vector scaled to length 1 as a float32 blob (cosine on unit vectors is what the bit signs approximate). */
  #normalised(v: Float32Array): Buffer {
    if (v.length !== this.dims) throw new VectorError('dims_mismatch', `vector has ${v.length} dimensions, index ${this.table} has ${this.dims}`);
    let sum = 0;
    for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
    if (!Number.isFinite(sum) || sum === 0) throw new VectorError('invalid_vector', 'vector has non-finite components or is all zeros');
    const inv = 1 / Math.sqrt(sum);
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
    return Buffer.from(out.buffer);
  }
}
