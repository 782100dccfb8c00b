/**
 * TIAOYU's own kernels (lib/kernels/) against independent references, on every backend they are registered for.
 */
import * as assert from "assert";
import * as tf from "@tensorflow/tfjs";
import { useKernelGroup } from "tiaoyu/dist/lib/kernels";
import { pauseNative } from "tiaoyu/dist/lib/kernels/native";
import { unsortedSegmentSum } from "tiaoyu/dist/lib/kernels/segment_sum";
import { onBackend } from "../backend";

/** Deterministic pseudo-random numbers, so a failure can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomArray(n: number, rand: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() * 2 - 1;
  return a;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d > tol * (1 + Math.abs(expected[i]))) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Runs `fn` once to warm up, then again, and checks it leaves no tensor behind. */
function assertNoLeak(fn: () => void): void {
  fn();
  const before = tf.memory().numTensors;
  fn();
  assert.strictEqual(tf.memory().numTensors, before, "tensor count grew");
}

/** Plain-loop reference: out[ids[i]] += x[i] over rows; ids out of range dropped. */
function segmentSumReference(x: Float32Array, ids: Int32Array, rowSize: number, numSegments: number): Float32Array {
  const out = new Float32Array(numSegments * rowSize);
  ids.forEach((s, i) => {
    if (s < 0 || s >= numSegments) return;
    for (let j = 0; j < rowSize; j++) out[s * rowSize + j] += x[i * rowSize + j];
  });
  return out;
}

const BACKENDS = ["wasm", "cpu"] as const;

for (const backend of BACKENDS) {
  describe(`kernels on ${backend}`, () => {
    onBackend(backend);

    describe("UnsortedSegmentSum", () => {
      it("is ours (a one-pass scatter-add), not the backend's own", () => {
        assert.strictEqual(tf.getKernel("UnsortedSegmentSum", backend)?.kernelFunc, unsortedSegmentSum);
      });

      it("adds rows into their segments (hand-checked example)", () => {
        const out = tf.tidy(() =>
          tf.unsortedSegmentSum(tf.tensor2d([[1, 1], [2, 2], [3, 3]]), tf.tensor1d([2, 0, 2], "int32"), 3),
        );
        assert.deepStrictEqual(out.shape, [3, 2]);
        assert.deepStrictEqual(Array.from(out.dataSync()), [2, 2, 0, 0, 4, 4]);
        out.dispose();
      });

      it("matches a plain loop on random shapes with repeated and out-of-range ids", () => {
        const rand = rng(7);
        // [rows, rowShape, numSegments]: size-1 cases, rows > segments (many repeats), odd widths, rank-3 x.
        const cases: [number, number[], number][] = [
          [1, [1], 1], [5, [], 3], [17, [3], 4], [64, [7], 100], [300, [13], 9], [33, [2, 5], 6], [768, [128], 5757],
        ];
        for (const [rows, rowShape, numSegments] of cases) {
          const rowSize = rowShape.reduce((a, b) => a * b, 1);
          const x = randomArray(rows * rowSize, rand);
          const ids = Int32Array.from({ length: rows }, () => Math.floor(rand() * (numSegments + 2)) - 1);
          const out = tf.tidy(() =>
            tf.unsortedSegmentSum(tf.tensor(x, [rows, ...rowShape]), tf.tensor1d(ids, "int32"), numSegments),
          );
          assert.deepStrictEqual(out.shape, [numSegments, ...rowShape]);
          assertClose(out.dataSync(), segmentSumReference(x, ids, rowSize, numSegments), 1e-6, `rows ${rows}`);
          out.dispose();
        }
      });

      it("accepts int32 data and 2-D segment ids (ids' shape a prefix of x's)", () => {
        const out = tf.tidy(() =>
          tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32"), tf.tensor1d([1, 1], "int32"), 2),
        );
        assert.strictEqual(out.dtype, "int32");
        assert.deepStrictEqual(Array.from(out.dataSync()), [0, 0, 4, 6]);
        out.dispose();
      });

      it("gives tf.gather (an embedding lookup) the same gradient as a one-hot product", () => {
        const rand = rng(11);
        const [vocab, width, n] = [37, 9, 50];
        const table = tf.tensor2d(randomArray(vocab * width, rand), [vocab, width]);
        const ids = tf.tensor1d(Int32Array.from({ length: n }, () => Math.floor(rand() * vocab)), "int32");
        const w = tf.tensor2d(randomArray(n * width, rand), [n, width]);
        const loss = (emb: tf.Tensor) => tf.sum(tf.mul(emb, w));
        const viaGather = tf.grad((t: tf.Tensor) => loss(tf.gather(t, ids)));
        const viaOneHot = tf.grad((t: tf.Tensor) => loss(tf.matMul(tf.oneHot(ids, vocab).toFloat(), t as tf.Tensor2D)));
        const [g1, g2] = [viaGather(table), viaOneHot(table)];
        assertClose(g1.dataSync(), g2.dataSync(), 1e-5, "gradient");
        tf.dispose([g1, g2]);
        assertNoLeak(() => tf.dispose(viaGather(table)));
        tf.dispose([table, ids, w]);
      });
    });
  });
}

describe("Identity and Cast on wasm (shared buffers)", () => {
  onBackend("wasm");

  it("a clone keeps its values when the original is disposed", () => {
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    const z = tf.cast(x, "float32");
    x.dispose();
    assert.deepStrictEqual(Array.from(y.dataSync()), [1, 2, 3]);
    assert.deepStrictEqual(Array.from(z.dataSync()), [1, 2, 3]);
    tf.dispose([y, z]);
  });

  it("a clone of a variable keeps the old values after the variable is assigned", () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const snapshot = tf.clone(v);
    v.assign(tf.tensor1d([5, 6]));
    assert.deepStrictEqual(Array.from(snapshot.dataSync()), [1, 2]);
    assert.deepStrictEqual(Array.from(v.dataSync()), [5, 6]);
    tf.dispose([v, snapshot]);
  });

  it("still converts between dtypes, and frees shared buffers only with their last tensor", () => {
    const before = tf.memory();
    const i = tf.tensor1d([1.7, -2.2, 0]);
    const asInt = tf.cast(i, "int32");
    const asBool = tf.cast(i, "bool");
    assert.deepStrictEqual(Array.from(asInt.dataSync()), [1, -2, 0]);
    assert.deepStrictEqual(Array.from(asBool.dataSync()), [1, 1, 0]);
    const copies = [tf.clone(i), tf.clone(i), tf.cast(i, "float32")];
    tf.dispose([i, asInt, asBool, ...copies]);
    assert.strictEqual(tf.memory().numTensors, before.numTensors);
    assert.strictEqual(tf.memory().numBytes, before.numBytes);
  });
});

describe("Sum over leading axes on wasm", () => {
  onBackend("wasm", { tearDown: () => pauseNative(false) });

  it("equals the backend's own Sum for every axes choice, keepDims, native and JavaScript routes", () => {
    const rand = rng(13);
    const cases: [number[], number | number[]][] = [
      [[1, 1], 0], [[5, 3], 0], [[2048, 7], 0], [[3, 4, 5], [0, 1]], [[3, 4, 5], [1, 0]], [[3, 4, 5], -3],
      [[3, 4, 5], 1], [[3, 4, 5], [0, 2]], [[3, 4, 5], [0, 1, 2]], [[600, 1000], 0], [[6, 1], 0],
    ];
    for (const pause of [false, true]) {
      pauseNative(pause);
      for (const [shape, axis] of cases) {
        for (const keepDims of [false, true]) {
          const x = randomArray(shape.reduce((a, b) => a * b, 1), rand);
          const ours = tf.tidy(() => tf.sum(tf.tensor(x, shape), axis, keepDims));
          useKernelGroup("reduce", false);
          const theirs = tf.tidy(() => tf.sum(tf.tensor(x, shape), axis, keepDims));
          useKernelGroup("reduce", true);
          const what = `sum [${shape}] axis ${axis} keepDims ${keepDims} (native paused: ${pause})`;
          assert.deepStrictEqual(ours.shape, theirs.shape, what);
          assertClose(ours.dataSync(), theirs.dataSync(), 1e-4, what);
          tf.dispose([ours, theirs]);
        }
      }
    }
  });

  it("leaves int32 sums to the backend", () => {
    const out = tf.tidy(() => tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32"), 0));
    assert.strictEqual(out.dtype, "int32");
    assert.deepStrictEqual(Array.from(out.dataSync()), [4, 6]);
    out.dispose();
  });
});
