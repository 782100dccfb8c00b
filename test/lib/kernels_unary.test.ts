/**
 * The wasm backend's elementwise kernels through the native addon (lib/kernels/unary.ts) against float64 Math
 * and the backend's own kernels: random values, special values (±0, ±∞, NaN, out of domain), sizes that are not
 * multiples of the vector width, and sizes large enough to be split over threads.
 */
import * as assert from "assert";
import * as tf from "@tensorflow/tfjs";
import { pauseNative } from "tiaoyu/dist/lib/kernels/native";
import { onBackend } from "../backend";

const REFERENCE: Record<string, (x: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  square: (x) => x * x,
};
const OPS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  exp: tf.exp, log: tf.log, tanh: tf.tanh, sqrt: tf.sqrt, rsqrt: tf.rsqrt, sigmoid: tf.sigmoid, square: tf.square,
};
const SPECIAL = [0, -0, 1, -1, 1e-30, -1e-30, 88, -88, 100, -100, 1e30, -1e30, Infinity, -Infinity, NaN, 0.5, 20, -20];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Relative 3e-6 (a few float32 ulps), or absolute 1e-30 near zero; NaN must match NaN and ∞ must match ∞. */
function assertCloseFloat(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i], Math.fround(expected[i])];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}: element ${i} is ${a}, expected NaN`);
    } else if (!Number.isFinite(e)) {
      assert.strictEqual(a, e, `${what}: element ${i}`);
    } else if (!(Math.abs(a - e) <= 3e-6 * Math.abs(e) + 1e-30)) {
      assert.fail(`${what}: element ${i} is ${a}, expected ${e}`);
    }
  }
}

describe("elementwise kernels on wasm (native)", function () {
  this.timeout(30_000);
  onBackend("wasm", { native: true });

  it("replaces the backend's own kernels", () => {
    for (const name of ["Exp", "Log", "Tanh", "Sqrt", "Rsqrt", "Sigmoid", "Square", "Pow"]) {
      assert.ok((tf.getKernel(name, "wasm") as { tiaoyu?: boolean }).tiaoyu, name);
    }
  });

  for (const [name, ref] of Object.entries(REFERENCE)) {
    it(`${name} matches float64 Math on random and special values`, () => {
      const rand = rng(name.length * 7919);
      for (const n of [1, 7, 9, 1000, 100_003]) {
        const xs = Float32Array.from({ length: n }, (_, i) => (i < SPECIAL.length ? SPECIAL[i] : (rand() * 2 - 1) * 30));
        const out = tf.tidy(() => OPS[name](tf.tensor1d(xs)));
        assertCloseFloat(out.dataSync(), Array.from(xs, ref), `${name} n=${n}`);
        out.dispose();
      }
    });
  }

  it("pow by a scalar matches Math.pow (integer and fractional exponents, broadcast scalar shapes)", () => {
    const rand = rng(5);
    const xs = Float32Array.from({ length: 10_001 }, (_, i) => (i < SPECIAL.length ? SPECIAL[i] : (rand() * 2 - 1) * 5));
    for (const p of [0, 1, 2, 3, -1, 0.5, 2.5, -2]) {
      const out = tf.tidy(() => tf.pow(tf.tensor2d(xs, [1, xs.length]), tf.scalar(p)));
      assert.deepStrictEqual(out.shape, [1, xs.length]);
      assertCloseFloat(out.dataSync(), Array.from(xs, (x) => Math.pow(Math.fround(x), p)), `pow ${p}`);
      out.dispose();
    }
    const out = tf.tidy(() => tf.pow(tf.tensor1d([2, 3]), tf.tensor2d([[3]])));
    assert.deepStrictEqual(out.shape, [1, 2]);
    assert.deepStrictEqual(Array.from(out.dataSync()), [8, 27]);
    out.dispose();
  });

  it("agrees with the backend's own kernels (addon paused) and keeps gradients", () => {
    const x = tf.tensor1d(Float32Array.from({ length: 777 }, (_, i) => Math.sin(i) * 3));
    const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.pow(t, 3)), tf.exp(tf.mul(t, 0.1))));
    const ours = tf.tidy(() => [f(x).dataSync()[0], ...tf.grad(f)(x).dataSync()]);
    pauseNative(true);
    try {
      const theirs = tf.tidy(() => [f(x).dataSync()[0], ...tf.grad(f)(x).dataSync()]);
      // Composites round differently (x·x·x against powf), so a looser tolerance than the single kernels'.
      ours.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]) <= 1e-4 * (1 + Math.abs(theirs[i])), `element ${i}: ${v} vs ${theirs[i]}`));
    } finally {
      pauseNative(false);
    }
    x.dispose();
  });

  it("leaves int32 tensors to the backend's own kernels", () => {
    const out = tf.tidy(() => tf.square(tf.tensor1d([2, -3], "int32")));
    assert.strictEqual(out.dtype, "int32");
    assert.deepStrictEqual(Array.from(out.dataSync()), [4, 9]);
    out.dispose();
  });
});
