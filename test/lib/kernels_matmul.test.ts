/**
 * TIAOYU's BatchMatMul on wasm (lib/kernels/matmul.ts) against the cpu backend's own kernel and a plain loop:
 * both routes (native OpenBLAS when built, XNNPACK fallback), all transposes, batches with broadcasting, odd
 * sizes, and the gradients.
 */
import * as assert from "assert";
import * as tf from "@tensorflow/tfjs";
import { batchMatMul, planMatMul } from "tiaoyu/dist/lib/kernels/matmul";
import { pauseNative } from "tiaoyu/dist/lib/kernels/native";
import { requireNative } from "../native";
import { onBackend } from "../backend";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomArray(n: number, rand: () => number): Float32Array {
  const a = new Float32Array(n); // a plain loop: Float32Array.from with a function is ~20× slower
  for (let i = 0; i < n; i++) a[i] = rand() * 2 - 1;
  return a;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Plain float64 loop over the plan's batches: the independent reference. */
function matMulReference(a: Float32Array, b: Float32Array, aShape: number[], bShape: number[], ta: boolean, tb: boolean) {
  const p = planMatMul({ dataId: {}, shape: aShape, dtype: "float32" }, { dataId: {}, shape: bShape, dtype: "float32" }, ta, tb);
  const { m, n, k } = p;
  const out = new Float32Array(p.aBatch.length * m * n);
  for (let i = 0; i < p.aBatch.length; i++) {
    const ao = p.aBatch[i] * m * k;
    const bo = p.bBatch[i] * k * n;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let j = 0; j < k; j++) {
          s += a[ao + (ta ? j * m + r : r * k + j)] * b[bo + (tb ? c * k + j : j * n + c)];
        }
        out[i * m * n + r * n + c] = s;
      }
    }
  }
  return { out, shape: p.outShape };
}

/** [aShape, bShape] before transposition, as [..., m, k] and [..., k, n]. */
const CASES: [number[], number[]][] = [
  [[1, 1], [1, 1]],
  [[1, 7], [7, 1]],
  [[5, 3], [3, 9]],
  [[13, 33], [33, 17]],
  [[3, 4, 5], [3, 5, 6]], // batched
  [[2, 6, 31], [31, 7]], // batch against a shared matrix (folded when not transposed)
  [[9, 8], [4, 8, 3]], // shared left operand
  [[2, 1, 3, 4], [3, 4, 5]], // broadcast [2,1] with [3]
  [[2, 3, 3, 4], [1, 3, 4, 5]],
  [[12, 64, 128], [128, 384]], // a GPT layer's shapes
  [[4, 4, 16, 32], [4, 4, 32, 16]], // attention scores
];

function toTransposed(shape: number[], t: boolean): number[] {
  const s = [...shape];
  if (t) [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1], s[s.length - 2]];
  return s;
}

describe("BatchMatMul on wasm", function () {
  this.timeout(60_000); // the plain-loop reference is slow on the GPT-sized cases
  onBackend("wasm", { tearDown: () => pauseNative(false) });

  it("is ours, wrapping the backend's own", () => {
    assert.strictEqual(tf.getKernel("BatchMatMul", "wasm")?.kernelFunc, batchMatMul);
  });

  const routes = [
    { name: "native OpenBLAS", pause: false },
    { name: "XNNPACK fallback", pause: true },
  ];
  for (const route of routes) {
    describe(`route: ${route.name}`, () => {
      before(function () {
        pauseNative(route.pause);
        if (!route.pause) requireNative(this); // addon not built on this machine (CI fails instead)
      });
      after(() => pauseNative(false));

      it("matches a plain loop on random shapes, transposes, batches and broadcasts", () => {
        const rand = rng(3);
        for (const [aBase, bBase] of CASES) {
          for (const ta of [false, true]) {
            for (const tb of [false, true]) {
              const aShape = toTransposed(aBase, ta);
              const bShape = toTransposed(bBase, tb);
              const a = randomArray(aShape.reduce((x, y) => x * y, 1), rand);
              const b = randomArray(bShape.reduce((x, y) => x * y, 1), rand);
              const ref = matMulReference(a, b, aShape, bShape, ta, tb);
              const before = tf.memory().numTensors;
              const out = tf.tidy(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb));
              const what = `[${aShape}]${ta ? "ᵀ" : ""} · [${bShape}]${tb ? "ᵀ" : ""}`;
              assert.deepStrictEqual(out.shape, ref.shape, what);
              assertClose(out.dataSync(), ref.out, 1e-5, what);
              out.dispose();
              assert.strictEqual(tf.memory().numTensors, before, `${what}: leaked tensors`);
            }
          }
        }
      });

      it("handles empty sizes: k = 0 gives zeros, m = 0 or a batch of 0 gives an empty result", () => {
        const out = tf.tidy(() => [
          tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 3])),
          tf.matMul(tf.zeros([0, 4]), tf.zeros([4, 3])),
          tf.matMul(tf.zeros([0, 2, 4]), tf.zeros([0, 4, 3])),
        ]);
        assert.deepStrictEqual(out.map((t) => t.shape), [[2, 3], [0, 3], [0, 2, 3]]);
        assert.deepStrictEqual(Array.from(out[0].dataSync()), [0, 0, 0, 0, 0, 0]);
        tf.dispose(out);
      });

      it("gives the same gradients as the cpu backend", async () => {
        const rand = rng(5);
        const grads = (aShape: number[], bShape: number[], ta: boolean, tb: boolean, a: Float32Array, b: Float32Array) => {
          const w = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i));
          const f = (x: tf.Tensor, y: tf.Tensor) => {
            const c = tf.matMul(x, y, ta, tb);
            return tf.sum(tf.mul(c, tf.tensor(w.subarray(0, c.size), c.shape)));
          };
          const [ga, gb] = tf.grads(f)([tf.tensor(a, aShape), tf.tensor(b, bShape)]);
          const r = [ga.dataSync().slice(), gb.dataSync().slice()];
          tf.dispose([ga, gb]);
          return r;
        };
        // Not the broadcasting cases: tfjs-core 4.22's matMul gradient does not sum over broadcast batch axes.
        for (const [aBase, bBase] of [CASES[2], CASES[3], CASES[4], CASES[10]]) {
          for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
            const aShape = toTransposed(aBase, ta);
            const bShape = toTransposed(bBase, tb);
            const a = randomArray(aShape.reduce((x, y) => x * y, 1), rand);
            const b = randomArray(bShape.reduce((x, y) => x * y, 1), rand);
            const ours = tf.tidy(() => grads(aShape, bShape, ta, tb, a, b));
            await tf.setBackend("cpu");
            const theirs = tf.tidy(() => grads(aShape, bShape, ta, tb, a, b));
            await tf.setBackend("wasm");
            assertClose(ours[0], theirs[0], 1e-4, `dA of [${aShape}]·[${bShape}] ${ta} ${tb}`);
            assertClose(ours[1], theirs[1], 1e-4, `dB of [${aShape}]·[${bShape}] ${ta} ${tb}`);
          }
        }
      });
    });
  }

  it("rejects mismatched inner sizes and unbroadcastable batches, naming the shapes", () => {
    const info = (shape: number[]) => ({ dataId: {}, shape, dtype: "float32" as const });
    assert.throws(() => planMatMul(info([2, 3]), info([4, 5]), false, false), /inner sizes 3 and 4 of shapes \[2,3\]/);
    assert.throws(() => planMatMul(info([2, 3, 4]), info([3, 4, 5]), false, false), /batch shapes \[2\] and \[3\]/);
  });
});
