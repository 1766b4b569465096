// VectorIndex on real SQLite + sqlite-vec. Data is embedding-like (topic centroids with per-topic
// directions plus noise, bench/memory.ts), not uniform noise, so recall is measured where it is hard
// for a sign-bit shortlist: many near neighbours in the same topic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusteredVectors } from '../bench/memory.ts';
import { openDb, type OpenedDb } from '../src/store/db.ts';
import { VectorError, VectorIndex, shortlistSize, type VectorHit } from '../src/store/vectors.ts';

const DIMS = 64;

function withIndex(fn: (index: VectorIndex, opened: OpenedDb) => void, dims = DIMS): void {
  const opened = openDb(':memory:');
  try {
    fn(new VectorIndex(opened.db, { table: 'vec_test', dims }), opened);
  } finally {
    opened.close();
  }
}

const cosineDistance = (a: Float32Array, b: Float32Array) => {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i]! * b[i]!; na += a[i]! * a[i]!; nb += b[i]! * b[i]!; }
  return 1 - dot / Math.sqrt(na * nb);
};

/** Exact top-k in JS over (rowid, vector) pairs: the reference the index is held to. */
const exactTopK = (rows: readonly [bigint, Float32Array][], q: Float32Array, k: number): VectorHit[] =>
  rows.map(([rowid, v]) => ({ rowid, distance: cosineDistance(q, v) }))
    .sort((a, b) => a.distance - b.distance || (a.rowid < b.rowid ? -1 : 1))
    .slice(0, k);

describe('VectorIndex', () => {
  it('equals exact cosine search on small data (fewer rows than the shortlist)', () => {
    withIndex((index, { db }) => {
      const next = clusteredVectors({ dims: DIMS, topics: 5, seed: 3 });
      const rows: [bigint, Float32Array][] = Array.from({ length: shortlistSize(5) - 10 }, (_, i) => [BigInt(i + 1), next()]);
      for (const [id, v] of rows) index.upsert(id, 'u1', v.map((x) => x * 3)); // stored normalised: scale must not matter
      assert.equal(index.count(), rows.length);
      const stored = db.prepare('SELECT value00 FROM vec_test_auxiliary WHERE rowid = 1').pluck().get() as Buffer;
      const norm = Math.hypot(...new Float32Array(stored.buffer.slice(stored.byteOffset, stored.byteOffset + stored.length)));
      assert.ok(Math.abs(norm - 1) < 1e-5, `stored vector norm ${norm}`);
      for (let i = 0; i < 20; i++) {
        const q = next();
        const got = index.search(q, 5, ['u1']);
        const want = exactTopK(rows, q, 5);
        assert.deepEqual(got.map((h) => h.rowid), want.map((h) => h.rowid));
        for (let j = 0; j < 5; j++) assert.ok(Math.abs(got[j]!.distance - want[j]!.distance) < 1e-5, `distance ${got[j]!.distance} vs ${want[j]!.distance}`);
        assert.equal(typeof got[0]!.rowid, 'bigint');
      }
    });
  });

  it('never returns another scope\'s rows, even when that scope holds the nearest vectors', () => {
    withIndex((index) => {
      const next = clusteredVectors({ dims: DIMS, topics: 3, seed: 5 });
      const q = next();
      // Bob holds exact copies of the query (distance 0) and many close ones; Alice holds far ones.
      for (let i = 1; i <= 200; i++) index.upsert(BigInt(i), 'bob', i <= 10 ? q : next());
      const alice: [bigint, Float32Array][] = [];
      for (let i = 201; i <= 230; i++) {
        const v = next().map((x) => -x); // the opposite directions: every one is farther than Bob's
        alice.push([BigInt(i), v]);
        index.upsert(BigInt(i), 'alice', v);
      }
      const got = index.search(q, 5, ['alice']);
      assert.equal(got.length, 5);
      assert.deepEqual(got.map((h) => h.rowid), exactTopK(alice, q, 5).map((h) => h.rowid));
      assert.ok(got.every((h) => h.rowid > 200n));
      // Asking for both scopes merges them: Bob's copies come first.
      assert.deepEqual(index.search(q, 3, ['alice', 'bob']).map((h) => h.distance < 1e-6), [true, true, true]);
      assert.deepEqual(index.search(q, 5, ['carol']), []);
      assert.deepEqual(index.search(q, 5, []), []);
    });
  });

  it('upsert replaces a row, also moving it to another scope', () => {
    withIndex((index) => {
      const next = clusteredVectors({ dims: DIMS, seed: 9 });
      const a = next(), b = next();
      index.upsert(1n, 'u1', a);
      index.upsert(1n, 'u2', b);
      assert.equal(index.count(), 1);
      assert.deepEqual(index.search(a, 5, ['u1']), []);
      const [hit] = index.search(b, 5, ['u2']);
      assert.equal(hit!.rowid, 1n);
      assert.ok(hit!.distance < 1e-6);
    });
  });

  it('delete and deleteScope remove rows (and their bytes) from search and count', () => {
    withIndex((index, { db }) => {
      const next = clusteredVectors({ dims: DIMS, seed: 11 });
      const q = next();
      index.upsert(1n, 'u1', q);
      index.upsert(2n, 'u1', next());
      for (let i = 3n; i <= 12n; i++) index.upsert(i, 'u2', next());
      assert.equal(index.delete(1n), true);
      assert.equal(index.delete(1n), false);
      assert.deepEqual(index.search(q, 5, ['u1']).map((h) => h.rowid), [2n]);
      assert.equal(index.deleteScope('u2'), 10);
      assert.equal(index.deleteScope('u2'), 0);
      assert.equal(index.count(), 1);
      assert.deepEqual(index.search(q, 5, ['u2']), []);
      assert.equal(index.deleteScope('u1'), 1);
      // Nothing of the scopes is left in the table's storage: no float blobs, no bit chunks.
      assert.equal(db.prepare('SELECT count(*) FROM vec_test_auxiliary').pluck().get(), 0);
      assert.equal(db.prepare('SELECT count(*) FROM vec_test_vector_chunks00').pluck().get(), 0);
    });
  });

  it('rejects a vector or table of another dimension with a typed error', () => {
    withIndex((index, { db }) => {
      const wrong = new Float32Array(DIMS + 8).fill(1);
      const isDims = (e: unknown) => e instanceof VectorError && e.kind === 'dims_mismatch';
      assert.throws(() => index.upsert(1n, 'u1', wrong), isDims);
      assert.throws(() => index.search(wrong, 5, ['u1']), isDims);
      assert.throws(() => new VectorIndex(db, { table: 'vec_test', dims: DIMS * 2 }), isDims);
      assert.equal(new VectorIndex(db, { table: 'vec_test', dims: DIMS }).dims, DIMS); // reopening fits
      assert.throws(() => index.upsert(1n, 'u1', new Float32Array(DIMS)), (e: unknown) => e instanceof VectorError && e.kind === 'invalid_vector');
      assert.throws(() => new VectorIndex(db, { table: 'x; DROP TABLE meta', dims: DIMS }), (e: unknown) => e instanceof VectorError && e.kind === 'invalid_argument');
      assert.equal(index.count(), 0);
    });
  });

  it('recall@5 of the quantized path is ≥ 0.95 against exact search on 5,000 clustered 768-d vectors', () => {
    withIndex((index) => {
      const next = clusteredVectors({ dims: 768, topics: 50, seed: 13 });
      const rows: [bigint, Float32Array][] = Array.from({ length: 5000 }, (_, i) => [BigInt(i + 1), next()]);
      for (const [id, v] of rows) index.upsert(id, 'u1', v);
      const queries = 40;
      let found = 0;
      for (let i = 0; i < queries; i++) {
        const q = next();
        const want = new Set(exactTopK(rows, q, 5).map((h) => h.rowid));
        found += index.search(q, 5, ['u1']).filter((h) => want.has(h.rowid)).length;
      }
      const recall = found / (5 * queries);
      assert.ok(recall >= 0.95, `recall@5 ${recall}`);
    }, 768);
  });
});
