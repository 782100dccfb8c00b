/**
 * causalAttention (lib/kernels/attention.ts): the fused native kernel on wasm against the same maths as tfjs ops
 * (what every other backend runs), values and the gradients of q, k and v, with and without dropout, with a
 * KV-cache offset, and for single-token queries.
 */
import * as assert from "assert";
import * as tf from "@tensorflow/tfjs";
import { GPT, gptConfig } from "tiaoyu";
import { causalAttention, useKernelGroup } from "tiaoyu/dist/lib/kernels";
import { onBackend } from "../backend";

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
  onBackend("wasm", { native: true });

  it("runs as one kernel forward and one backward", async () => {
    const q = tf.randomNormal([1, 2, 4, 8]);
    const info = await tf.profile(() => tf.dispose(tf.grads((a: tf.Tensor) => tf.sum(causalAttention(a, q, q)))([q])));
    const names = info.kernels.map((k) => k.name);
    assert.ok(names.includes("TiaoyuAttention") && names.includes("TiaoyuAttentionGrad"), names.join(", "));
    assert.ok(!names.includes("Softmax"), names.join(", "));
    q.dispose();
  });

  it("the model's attention layer (lib/model/attention.ts) runs it, forward and backward", async () => {
    const model = new GPT(gptConfig({ vocabSize: 19, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0.1 }));
    const x = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], undefined, "int32");
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(x, x, { training: true }), model.trainableVariables());
      tf.dispose([value, grads]);
    });
    const names = info.kernels.map((k) => k.name);
    assert.ok(names.includes("TiaoyuAttention") && names.includes("TiaoyuAttentionGrad") && !names.includes("Softmax"), names.join(", "));
    x.dispose();
    model.dispose();
  });

  const CASES: [string, number[], number[], number][] = [
    ["tiny", [2, 3, 5, 4], [2, 3, 5, 4], 0],
    ["one head, one query", [1, 1, 1, 8], [1, 1, 1, 8], 0],
    ["the baby GPT's shape", [12, 4, 64, 32], [12, 4, 64, 32], 0],
    ["after 4 cached positions", [1, 2, 3, 8], [1, 2, 7, 8], 4],
    ["one new token over a cache of 9", [2, 2, 1, 16], [2, 2, 10, 16], 9],
    ["rank 3", [6, 17, 5], [6, 17, 5], 0],
    ["3 new tokens after 4 in a preallocated cache of 12", [1, 2, 3, 8], [1, 2, 12, 8], 4],
    ["one new token at position 0 of a cache of 16", [2, 2, 1, 8], [2, 2, 16, 8], 0],
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
    assert.throws(() => causalAttention(tf.zeros([1, 2, 3, 4]), tf.zeros([1, 2, 5, 4]), tf.zeros([1, 2, 5, 4]), { offset: 3 }), /q \[1,2,3,4\], k \[1,2,5,4\].*offset 3/);
    assert.throws(() => causalAttention(tf.zeros([1, 2, 3, 4]), tf.zeros([1, 2, 5, 4]), tf.zeros([1, 2, 4, 4])), /v \[1,2,4,4\]/);
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

// Both backends, whatever runs there (native kernel on wasm with the addon, tfjs ops otherwise): keys and values
// past offset + T (the unwritten rest of a preallocated KV cache) must not change anything, whatever they hold.
for (const backend of ["wasm", "cpu"] as const) {
  describe(`causalAttention over a longer key buffer (${backend})`, function () {
    this.timeout(60_000);
    onBackend(backend);

    for (const [T, offset, S] of [[1, 0, 8], [1, 5, 8], [3, 4, 12], [2, 6, 8]]) {
      it(`${T} queries after ${offset} positions, buffer of ${S}: equals attention over the first ${offset + T} keys`, () => {
        const [long, short] = tf.tidy(() => {
          const q = tf.randomNormal([2, 3, T, 4], 0, 1, "float32", 11);
          const k = tf.randomNormal([2, 3, offset + T, 4], 0, 1, "float32", 12);
          const v = tf.randomNormal([2, 3, offset + T, 4], 0, 1, "float32", 13);
          const junk = tf.mul(tf.randomNormal([2, 3, S - offset - T, 4], 0, 1, "float32", 14), 1e3); // stale rows
          const kl = tf.concat([k, junk], 2);
          const vl = tf.concat([v, tf.neg(junk)], 2);
          return [causalAttention(q, kl, vl, { offset }).dataSync(), causalAttention(q, k, v, { offset }).dataSync()];
        });
        assertClose(long, short, 1e-5, `T ${T}, offset ${offset}, S ${S}`);
      });
    }
  });
}
