/**
 * causalAttention (lib/kernels/attention.ts): the fused native kernel on wasm against the same maths as tfjs ops
 * (what every other backend runs), values and the gradients of q, k and v, with and without dropout, with a
 * KV-cache offset, and for single-token queries.
 */
import * as assert from "assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "tiaoyu/dist/lib/backend";
import { causalAttention, useKernelGroup } from "tiaoyu/dist/lib/kernels";
import { nativeKernels } from "tiaoyu/dist/lib/kernels/native";

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Output and the gradients of q, k, v of a weighted sum of the output; copied out of the tidy. */
function run(qs: number[], ks: number[], offset: number, rate: number): Float32Array[] {
  let out: Float32Array[] = [];
  tf.tidy(() => {
    const [q, k, v] = [tf.randomNormal(qs, 0, 1, "float32", 1), tf.randomNormal(ks, 0, 1, "float32", 2), tf.randomNormal(ks, 0, 1, "float32", 3)];
    const w = tf.randomNormal(qs, 0, 1, "float32", 4);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(causalAttention(a, b, c, { offset, dropout: rate, seed: 9 }), w));
    const y = causalAttention(q, k, v, { offset, dropout: rate, seed: 9 });
    out = [y, ...tf.grads(f)([q, k, v])].map((t) => (t.dataSync() as Float32Array).slice());
  });
  return out;
}

describe("causalAttention on wasm (native)", function () {
  this.timeout(60_000);
  let previous = "";
  before(async function () {
    previous = tf.getBackend();
    try {
      await initBackend({ force: "wasm", quiet: true });
    } catch {
      this.skip();
    }
    if (!nativeKernels()) this.skip();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it("runs as one kernel forward and one backward", async () => {
    const q = tf.randomNormal([1, 2, 4, 8]);
    const info = await tf.profile(() => tf.dispose(tf.grads((a: tf.Tensor) => tf.sum(causalAttention(a, q, q)))([q])));
    const names = info.kernels.map((k) => k.name);
    assert.ok(names.includes("TiaoyuAttention") && names.includes("TiaoyuAttentionGrad"), names.join(", "));
    assert.ok(!names.includes("Softmax"), names.join(", "));
    q.dispose();
  });

  const CASES: [string, number[], number[], number][] = [
    ["tiny", [2, 3, 5, 4], [2, 3, 5, 4], 0],
    ["one head, one query", [1, 1, 1, 8], [1, 1, 1, 8], 0],
    ["the baby GPT's shape", [12, 4, 64, 32], [12, 4, 64, 32], 0],
    ["after 4 cached positions", [1, 2, 3, 8], [1, 2, 7, 8], 4],
    ["one new token over a cache of 9", [2, 2, 1, 16], [2, 2, 10, 16], 9],
    ["rank 3", [6, 17, 5], [6, 17, 5], 0],
  ];
  for (const rate of [0, 0.2]) {
    for (const [name, qs, ks, offset] of CASES) {
      it(`${name}${rate ? ", dropout 0.2" : ""}: output and gradients equal the tfjs-ops version`, () => {
        const fused = run(qs, ks, offset, rate);
        useKernelGroup("attention", false);
        let plain: Float32Array[];
        try {
          plain = run(qs, ks, offset, rate);
        } finally {
          useKernelGroup("attention", true);
        }
        ["out", "dq", "dk", "dv"].forEach((what, i) => assertClose(fused[i], plain[i], 2e-4, `${name} ${what}`));
      });
    }
  }

  it("a query sees no later key: changing a future value changes nothing before it", () => {
    const [a, b] = [0, 1].map((bump) =>
      tf.tidy(() => {
        const q = tf.randomNormal([1, 1, 4, 2], 0, 1, "float32", 5);
        const k = tf.randomNormal([1, 1, 4, 2], 0, 1, "float32", 6);
        const v = tf.add(tf.randomNormal([1, 1, 4, 2], 0, 1, "float32", 7), tf.tensor4d([0, 0, 0, 0, 0, 0, bump, bump], [1, 1, 4, 2]));
        return causalAttention(q, k, v).dataSync().slice(0, 6);
      }),
    );
    assert.deepStrictEqual(Array.from(a), Array.from(b));
  });

  it("rejects shapes that do not fit, naming them", () => {
    assert.throws(() => causalAttention(tf.zeros([1, 2, 3, 4]), tf.zeros([1, 2, 5, 4]), tf.zeros([1, 2, 5, 4])), /q \[1,2,3,4\], k \[1,2,5,4\].*offset 0/);
  });

  it("leaves no tensors behind", () => {
    const q = tf.randomNormal([2, 2, 8, 4]);
    const step = () => tf.dispose(tf.grads((a: tf.Tensor) => tf.sum(causalAttention(a, q, q, { dropout: 0.1, seed: 1 })))([q]));
    step();
    const before = tf.memory().numTensors;
    step();
    assert.strictEqual(tf.memory().numTensors, before);
    q.dispose();
  });
});
