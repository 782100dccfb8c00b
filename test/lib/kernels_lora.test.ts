/**
 * lib/kernels/lora.ts on wasm with the native addon (lib/native/lora.c) against the route every other backend runs
 * (tfjs ops in a tf.customGrad, our kernels off): loraGrads against the four tfjs matrix products, and loraProduct's
 * value and gradients, on random shapes that reach every path of the kernels (full tiles of four rows and four
 * ranks, leftover rows and ranks, widths that are not multiples of eight, no rows at all); that dx is computed only
 * when asked for; that a LoRA layer's backward pass runs one gradient kernel; and that nothing leaks a tensor.
 */
import * as assert from "assert";
import * as tf from "@tensorflow/tfjs";
import { applyLora, GPT, gptConfig } from "tiaoyu";
import { useKernelGroup } from "tiaoyu/dist/lib/kernels";
import { loraGrads, loraProduct } from "tiaoyu/dist/lib/kernels/lora";
import { expectNoLeak } from "../leak";
import { onBackend } from "../backend";

/** [dA, dB] for random x, dy, A, B of the given sizes, copied out; `native` false runs the tfjs products. */
function grads(N: number, inDim: number, outDim: number, r: number, scale: number, native: boolean): Float32Array[] {
  useKernelGroup("lora", native);
  try {
    return tf.tidy(() => {
      const x = tf.randomNormal([N, inDim], 0, 1, "float32", 1) as tf.Tensor2D;
      const dy = tf.randomNormal([N, outDim], 0, 1, "float32", 2) as tf.Tensor2D;
      const a = tf.randomNormal([inDim, r], 0, 1, "float32", 3) as tf.Tensor2D;
      const b = tf.randomNormal([r, outDim], 0, 1, "float32", 4) as tf.Tensor2D;
      return loraGrads(x, dy, a, b, scale).map((t) => (t.dataSync() as Float32Array).slice());
    });
  } finally {
    useKernelGroup("lora", true);
  }
}

/** y = loraProduct(x, W, A, B) and the gradients of Σ y·R for x, A and B, copied out; `native` false: the ops route. */
function product(N: number, inDim: number, outDim: number, r: number, native: boolean): Float32Array[] {
  useKernelGroup("lora", native);
  try {
    return tf.tidy(() => {
      const [x, w, a, b, R] = ([[N, inDim], [inDim, outDim], [inDim, r], [r, outDim], [N, outDim]] as [number, number][]).map((s, i) => tf.randomNormal(s, 0, 1, "float32", 10 + i)) as tf.Tensor2D[];
      const f = (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(loraProduct(xi as tf.Tensor2D, w, ai as tf.Tensor2D, bi as tf.Tensor2D, 1.5), R));
      const y = loraProduct(x, w, a, b, 1.5);
      return [y, ...tf.grads(f)([x, a, b])].map((t) => (t.dataSync() as Float32Array).slice());
    });
  } finally {
    useKernelGroup("lora", true);
  }
}

function assertClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  assert.strictEqual(got.length, want.length, `${what}: size`);
  for (let j = 0; j < want.length; j++) {
    if (!(Math.abs(got[j] - want[j]) <= tol)) assert.fail(`${what}[${j}] is ${got[j]}, expected ${want[j]} (tolerance ${tol})`);
  }
}

describe("LoRA kernels on wasm (native)", function () {
  this.timeout(120_000);
  onBackend("wasm", { native: true, tearDown: () => useKernelGroup("lora", true) });

  // [N, in, out, r]: the course model's four layers at the SFT batch's 4,096 rows; leftovers of every kind.
  const shapes: [number, number, number, number][] = [
    [4096, 128, 384, 8],
    [4096, 512, 128, 8],
    [37, 13, 21, 3],
    [9, 24, 40, 5],
    [6, 8, 16, 8],
    [3, 7, 9, 1],
    [1000, 64, 48, 16],
    [0, 4, 4, 2],
  ];
  for (const [N, inDim, outDim, r] of shapes) {
    it(`x [${N}, ${inDim}], dy [${N}, ${outDim}], rank ${r}: the same dA and dB as the four tfjs products`, () => {
      const [got, want] = [grads(N, inDim, outDim, r, 2.5, true), grads(N, inDim, outDim, r, 2.5, false)];
      for (const [i, what] of [[0, "dA"], [1, "dB"]] as const) {
        assert.strictEqual(got[i].length, want[i].length, `${what}: size`);
        // Sums of N products in another order: the rounding grows with √N and the size of the terms.
        const tol = 1e-5 * Math.sqrt(N + 1) * Math.max(1, ...Array.from(want[i], Math.abs));
        for (let j = 0; j < want[i].length; j++) {
          if (!(Math.abs(got[i][j] - want[i][j]) <= tol)) assert.fail(`${what}[${j}] is ${got[i][j]}, expected ${want[i][j]} (tolerance ${tol})`);
        }
      }
      if (N === 0) assert.ok(got.every((g) => g.every((v) => v === 0)), "no rows: zero gradients");
    });
  }

  for (const [N, inDim, outDim, r] of [[64, 32, 96, 8], [37, 13, 21, 3], [0, 8, 8, 4]] as const) {
    it(`loraProduct, x [${N}, ${inDim}], W [${inDim}, ${outDim}], rank ${r}: the same value and gradients of x, A and B as the ops route`, () => {
      const [got, want] = [product(N, inDim, outDim, r, true), product(N, inDim, outDim, r, false)];
      ["y", "dx", "dA", "dB"].forEach((what, i) => {
        const tol = 1e-5 * Math.sqrt(N + inDim + 1) * Math.max(1, ...Array.from(want[i], Math.abs));
        assertClose(got[i], want[i], tol, what);
      });
    });
  }

  it("loraProduct computes dx only when it is asked for, and gives W none", async () => {
    const [x, w, a, b, R] = ([[40, 16], [16, 24], [16, 8], [8, 24], [40, 24]] as [number, number][]).map((s, i) => tf.randomNormal(s, 0, 1, "float32", 20 + i)) as tf.Tensor2D[];
    const f = (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(loraProduct(xi as tf.Tensor2D, w, ai as tf.Tensor2D, bi as tf.Tensor2D, 2), R));
    const products = async (grad: () => tf.Tensor[]) => {
      const info = await tf.profile(() => tf.dispose(grad()));
      const names = info.kernels.map((k) => k.name);
      assert.ok(names.includes("TiaoyuLoraProduct") && names.includes("TiaoyuLoraGrad"), names.join(", "));
      return names.filter((n) => n === "BatchMatMul").length;
    };
    assert.strictEqual(await products(() => tf.grads((ai: tf.Tensor, bi: tf.Tensor) => f(x, ai, bi))([a, b])), 0, "A and B only: no dx product");
    assert.strictEqual(await products(() => tf.grads(f)([x, a, b])), 1, "x as well: one dx product");
    const wv = tf.variable(w);
    assert.throws(() => tf.variableGrads(() => tf.sum(loraProduct(x, wv as unknown as tf.Tensor2D, a, b, 2)), [wv]), /Cannot find a connection between any variable and the result/, "W is frozen: no path from it");
    await expectNoLeak(() => tf.dispose(tf.grads(f)([x, a, b])), "loraProduct and its gradients");
    tf.dispose([x, w, a, b, R, wv]);
  });

  it("refuses a product whose shapes do not fit, with the shapes", () => {
    tf.tidy(() => {
      const [x, w, a, b] = [tf.zeros([4, 8]), tf.zeros([8, 6]), tf.zeros([8, 2]), tf.zeros([3, 6])] as tf.Tensor2D[];
      assert.throws(() => loraProduct(x, w, a, b, 1), /loraProduct: x \[4,8\], W \[8,6\], A \[8,2\], B \[3,6\] do not fit/);
    });
  });

  it("gives the same numbers whatever the thread count (fixed slices, added in order)", function () {
    const native = require("tiaoyu/dist/lib/kernels/native").nativeKernels() as { setThreads(n: number): number };
    const threads = native.setThreads(0);
    try {
      native.setThreads(1);
      const one = grads(999, 40, 72, 8, 1, true);
      native.setThreads(Math.max(2, threads));
      const many = grads(999, 40, 72, 8, 1, true);
      assert.deepStrictEqual(many, one);
    } finally {
      native.setThreads(threads);
    }
  });

  it("a LoRA layer's backward pass runs it as one kernel, and a step leaks nothing", async () => {
    const model = new GPT(gptConfig({ vocabSize: 32, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }), { seed: 3 });
    const lora = applyLora(model, { rank: 4, alpha: 8, targets: ["mlp.c_fc"] });
    try {
      const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], "int32");
      const step = () => {
        const { value, grads: g } = tf.variableGrads(() => model.loss(ids, ids) as tf.Scalar, [...lora.trainable().values()]);
        tf.dispose([value, ...Object.values(g)]);
      };
      const info = await tf.profile(step);
      const names = info.kernels.map((k) => k.name);
      assert.strictEqual(names.filter((n) => n === "TiaoyuLoraProduct").length, 1, names.join(", "));
      assert.strictEqual(names.filter((n) => n === "TiaoyuLoraGrad").length, 1, names.join(", "));
      await expectNoLeak(step, "a LoRA gradient step");
      ids.dispose();
    } finally {
      lora.dispose();
      model.dispose();
    }
  });

  it("refuses shapes that do not fit, with the shapes", () => {
    tf.tidy(() => {
      const [x, dy, a, b] = [tf.zeros([4, 8]), tf.zeros([4, 6]), tf.zeros([8, 2]), tf.zeros([2, 5])] as tf.Tensor2D[];
      assert.throws(() => loraGrads(x, dy, a, b, 1), /loraGrads: x \[4,8\], dy \[4,6\], a \[8,2\], b \[2,5\] do not fit/);
    });
  });
});
