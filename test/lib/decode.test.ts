/**
 * The one-call generation step (lib/kernels/decode.ts, lib/native/decode.c) and the few-row products it shares
 * with the matrix-product kernel (lib/native/product.c): the same logits bit for bit as the kernel-by-kernel
 * forward through the cache, so the same greedy tokens, on the course model and the tiny one, batch 1 and 3,
 * with and without biases, tied or untied, learned or sinusoidal positions; the fallback everywhere it does not
 * apply (RMSNorm/SwiGLU/RoPE, a LoRA adapter, the addon paused); no leaks; bad ids refused.
 */
import * as assert from "assert";
import {
  applyLora, decodable, generateIds, GPT, type GPTConfig, gptConfig, nativeDecodeAvailable, PRESETS, presetConfig, tf, useNativeDecode,
} from "tiaoyu";
import { nativeKernels, pauseNative } from "tiaoyu/dist/lib/kernels/native";
import { expectNoLeak } from "../leak";
import { onBackend } from "../backend";

/** Logits of a prompt of 3 tokens per row, then `steps` single tokens per row through the cache, each copied out. */
function logitsThroughCache(model: GPT, B: number, steps: number): Float32Array[] {
  const V = model.config.vocabSize;
  const cache = model.newCache();
  const out: Float32Array[] = [];
  try {
    const prompt = Array.from({ length: B }, (_, b) => [1 % V, (2 + b) % V, (3 + 5 * b) % V]);
    const first = model.forward(prompt, { cache });
    out.push((first.dataSync() as Float32Array).slice());
    first.dispose();
    for (let t = 0; t < steps; t++) {
      const ids = Array.from({ length: B }, (_, b) => [(t * 37 + b * 11 + 4) % V]);
      const logits = model.forward(ids, { cache });
      assert.deepStrictEqual(logits.shape, [B, 1, V]);
      out.push((logits.dataSync() as Float32Array).slice());
      logits.dispose();
    }
  } finally {
    cache.dispose();
  }
  return out;
}

function assertBitEqual(actual: Float32Array[], expected: Float32Array[], what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: steps`);
  actual.forEach((row, step) => {
    for (let i = 0; i < row.length; i++) {
      if (!Object.is(row[i], expected[step][i])) assert.fail(`${what}: step ${step}, logit ${i} is ${row[i]}, the reference ${expected[step][i]}`);
    }
  });
}

async function greedy(model: GPT, prompt: number[], n: number): Promise<number[]> {
  const ids: number[] = [];
  for await (const t of generateIds(model, prompt, { temperature: 0, maxNewTokens: n })) ids.push(t.id);
  return ids;
}

const TINY = presetConfig("tiny");
const SHAPES: Record<string, GPTConfig> = {
  course: PRESETS.course,
  tiny: TINY,
  "tiny, no biases, untied head": gptConfig({ ...TINY, bias: false, tieEmbeddings: false }),
  "tiny, sinusoidal positions, 3 heads, odd sizes": gptConfig({ ...TINY, positional: "sinusoidal", nHead: 3, nEmbd: 30, vocabSize: 77, blockSize: 13 }),
};

describe("generation step in one native call (wasm)", function () {
  this.timeout(300_000);
  onBackend("wasm", { native: true, tearDown: () => { useNativeDecode(true); pauseNative(false); } });

  for (const [name, config] of Object.entries(SHAPES)) {
    it(`${name}: the same logits bit for bit as the kernel-by-kernel forward, batch 1 and 3`, () => {
      const model = new GPT(config, { seed: 11 });
      try {
        assert.ok(nativeDecodeAvailable(model), "the native step should apply to this model");
        for (const B of [1, 3]) {
          const steps = Math.min(12, config.blockSize - 3);
          useNativeDecode(true);
          const fast = logitsThroughCache(model, B, steps);
          useNativeDecode(false);
          const reference = logitsThroughCache(model, B, steps);
          useNativeDecode(true);
          assertBitEqual(fast, reference, `${name}, batch ${B}`);
        }
      } finally {
        model.dispose();
      }
    });
  }

  it("greedy generation gives the same tokens as the kernel-by-kernel route (course model and tiny, past the context window)", async () => {
    for (const [config, n] of [[PRESETS.course, 40], [TINY, 45]] as const) {
      const model = new GPT(config, { seed: 3 });
      try {
        const prompt = [1, 17, 250, 9];
        useNativeDecode(true);
        const fast = await greedy(model, prompt, n);
        useNativeDecode(false);
        const reference = await greedy(model, prompt, n);
        useNativeDecode(true);
        assert.strictEqual(fast.length, n);
        assert.deepStrictEqual(fast, reference);
      } finally {
        model.dispose();
      }
    }
  });

  it("is one call: a cached one-token forward runs no tfjs kernel at all", async () => {
    const model = new GPT(TINY, { seed: 1 });
    const cache = model.newCache();
    try {
      model.forward([[1, 2]], { cache }).dispose();
      const info = await tf.profile(() => model.forward([[3]], { cache }));
      assert.deepStrictEqual(info.kernels.map((k) => k.name), []);
      assert.strictEqual(cache.length, 3);
      useNativeDecode(false);
      const slow = await tf.profile(() => model.forward([[4]], { cache }));
      useNativeDecode(true);
      assert.ok(slow.kernels.length > 20, `the reference route runs ${slow.kernels.length} kernels`);
    } finally {
      useNativeDecode(true);
      cache.dispose();
      model.dispose();
    }
  });

  it("leaks no tensors and allocates the cache once", async () => {
    const model = new GPT(TINY, { seed: 2 });
    try {
      await expectNoLeak(async () => {
        await greedy(model, [1, 2, 3], 40); // past blockSize 32: the cache is reset and refilled
      }, "native generation");
      const cache = model.newCache();
      model.forward([[1]], { cache }).dispose();
      const held = tf.memory().numTensors;
      for (let t = 0; t < 5; t++) model.forward([[t + 2]], { cache }).dispose();
      assert.strictEqual(tf.memory().numTensors, held);
      cache.dispose();
    } finally {
      model.dispose();
    }
  });

  it("refuses bad ids and a full cache with the model's errors, leaving the cache as it was", () => {
    const model = new GPT(TINY, { seed: 4 });
    const cache = model.newCache();
    try {
      model.forward([[1, 2]], { cache }).dispose();
      assert.throws(() => model.forward([[TINY.vocabSize]], { cache }), /not an id in 0\.\.511/);
      assert.throws(() => model.forward([[1], [2]], { cache }), /batch size 1/);
      assert.throws(() => model.forward(tf.tensor2d([[TINY.vocabSize + 3]], [1, 1], "int32"), { cache }), /outside the vocabulary/);
      assert.strictEqual(cache.length, 2);
      const ok = model.forward(tf.tensor2d([[5]], [1, 1], "int32"), { cache }); // ids as a tensor work too
      assert.deepStrictEqual(ok.shape, [1, 1, TINY.vocabSize]);
      ok.dispose();
      for (let t = 3; t < TINY.blockSize; t++) model.forward([[t]], { cache }).dispose();
      assert.throws(() => model.forward([[1]], { cache }), /exceeds blockSize 32/);
    } finally {
      cache.dispose();
      model.dispose();
    }
  });

  it("falls back to the ordinary forward for RMSNorm/SwiGLU/RoPE, with a LoRA adapter, and with the addon paused", () => {
    const llama = new GPT(gptConfig({ ...TINY, positional: "rope", mlp: "swiglu", norm: "rmsnorm", bias: false }), { seed: 5 });
    const model = new GPT(TINY, { seed: 6 });
    try {
      assert.strictEqual(decodable(llama), false);
      assert.strictEqual(decodable(model), true);
      const lora = applyLora(model);
      assert.strictEqual(decodable(model), false);
      lora.merge(); // folded into the weights: nothing left to add, the native step applies again
      assert.strictEqual(decodable(model), true);
      lora.unmerge();
      assert.strictEqual(decodable(model), false);
      lora.dispose();
      assert.strictEqual(decodable(model), true);
      pauseNative(true);
      assert.strictEqual(nativeDecodeAvailable(model), false);
      const paused = logitsThroughCache(model, 1, 3); // the kernel-by-kernel route, JavaScript and XNNPACK kernels
      pauseNative(false);
      const native = logitsThroughCache(model, 1, 3);
      paused.forEach((row, s) => row.forEach((v, i) => assert.ok(Math.abs(v - native[s][i]) < 1e-4, `step ${s}, logit ${i}: ${v} vs ${native[s][i]}`)));
    } finally {
      pauseNative(false);
      llama.dispose();
      model.dispose();
    }
  });

  it("few-row products (product.c) match a float64 loop on random shapes and do not depend on the thread count", () => {
    const native = nativeKernels()!;
    let seed = 9;
    const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 2 - 1;
    const threads = native.setThreads(0);
    try {
      for (const [m, n, k] of [[1, 1, 1], [1, 384, 128], [3, 77, 30], [4, 6400, 128], [4, 513, 129], [5, 40, 7], [2, 9, 1000]]) {
        for (const tb of [false, true]) {
          const a = Float32Array.from({ length: m * k }, rand);
          const b = Float32Array.from({ length: k * n }, rand);
          const run = (t: number) => {
            native.setThreads(t);
            return tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, tb ? [n, k] : [k, n]), false, tb).dataSync() as Float32Array);
          };
          const [one, two] = [run(1), run(2)];
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let q = 0; q < k; q++) s += a[i * k + q] * (tb ? b[j * k + q] : b[q * n + j]);
              const got = one[i * n + j];
              assert.ok(Math.abs(got - s) <= 1e-5 * (1 + Math.sqrt(k)), `[${m}, ${k}]·[${k}, ${n}]${tb ? "ᵀ" : ""} at (${i}, ${j}): ${got}, expected ${s}`);
              assert.ok(Object.is(got, two[i * n + j]), `1 vs 2 threads differ at (${i}, ${j})`);
            }
          }
        }
      }
    } finally {
      native.setThreads(threads);
    }
  });
});

describe("generation step on cpu", function () {
  this.timeout(60_000);
  onBackend("cpu");

  it("takes the ordinary forward (no native step) and generates the same tokens with and without the cache", async () => {
    const model = new GPT(TINY, { seed: 3 });
    try {
      assert.strictEqual(nativeDecodeAvailable(model), false);
      const cached = await greedy(model, [1, 2], 20);
      const plain: number[] = [];
      for await (const t of generateIds(model, [1, 2], { temperature: 0, maxNewTokens: 20, useCache: false })) plain.push(t.id);
      assert.deepStrictEqual(cached, plain);
    } finally {
      model.dispose();
    }
  });
});
