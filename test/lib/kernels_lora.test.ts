/**
 * loraGrads (lib/kernels/lora.ts): the native kernel on wasm (lib/native/lora.c) against the four tfjs matrix
 * products that every other backend runs, on random shapes that reach every path of the kernel (full tiles of four
 * rows and four ranks, leftover rows and ranks, widths that are not multiples of eight, no rows at all); that a LoRA
 * layer's backward pass runs it as one kernel; and that neither leaks a tensor.
 */
import * as assert from "assert";
import * as tf from "@tensorflow/tfjs";
import { applyLora, GPT, gptConfig } from "tiaoyu";
import { initBackend } from "tiaoyu/dist/lib/backend";
import { useKernelGroup } from "tiaoyu/dist/lib/kernels";
import { loraGrads } from "tiaoyu/dist/lib/kernels/lora";
import { expectNoLeak } from "../leak";
import { requireNative } from "../native";

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

describe("loraGrads on wasm (native)", function () {
  this.timeout(120_000);
  let previous = "";
  before(async function () {
    previous = tf.getBackend();
    try {
      await initBackend({ force: "wasm", quiet: true });
    } catch {
      this.skip();
    }
    requireNative(this);
  });
  after(async () => {
    useKernelGroup("lora", true);
    if (previous) await tf.setBackend(previous);
  });

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
