/**
 * The preallocated key/value cache (lib/model/kvcache.ts): written in place on wasm and cpu (the same buffer
 * tensor every call, no new tensors per token), reused after reset(), and cached generation equal to the
 * uncached forward pass at batch 1 and batch 8, for every positional variant.
 */
import * as assert from "assert";
import { GPT, gptConfig, KVCache, tf } from "tiaoyu";
import { onBackend } from "../backend";

const TINY = gptConfig({ vocabSize: 41, blockSize: 10, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 });
const VARIANTS = {
  learned: TINY,
  rope: gptConfig({ ...TINY, positional: "rope", mlp: "swiglu", norm: "rmsnorm", bias: false, tieEmbeddings: false }),
};

function ids(B: number, T: number, V: number, seed: number): number[][] {
  let s = seed;
  const next = () => (s = (s * 48271) % 2147483647) % V;
  return Array.from({ length: B }, () => Array.from({ length: T }, next));
}

for (const backend of ["wasm", "cpu"] as const) {
  describe(`KVCache (${backend})`, function () {
    this.timeout(60_000);
    onBackend(backend);

    it("writes each layer's keys and values in place: one buffer per layer, no new tensors per token", () => {
      const cache = new KVCache(1, 6);
      try {
        const rows = (t0: number, T: number) => tf.tensor4d(Array.from({ length: 2 * 3 * T * 4 }, (_, i) => t0 * 1000 + i), [2, 3, T, 4]);
        const [k0, v0] = [rows(0, 2), rows(1, 2)];
        const first = cache.append(0, k0, v0);
        cache.advance(2);
        const held = tf.memory().numTensors;
        const [k1, v1] = [rows(2, 1), rows(3, 1)];
        const second = cache.append(0, k1, v1);
        cache.advance(1);
        assert.strictEqual(second.k, first.k, "the same key buffer");
        assert.strictEqual(second.v, first.v, "the same value buffer");
        assert.deepStrictEqual(second.k.shape, [2, 3, 6, 4]);
        assert.strictEqual(tf.memory().numTensors, held + 2, "only the two new row tensors of this test");
        const want = tf.tidy(() => tf.concat([k0, k1, tf.zeros([2, 3, 3, 4])], 2).dataSync());
        assert.deepStrictEqual(Array.from(second.k.dataSync()), Array.from(want));
        tf.dispose([k0, v0, k1, v1]);
        // After reset the next prompt overwrites from position 0, in the same buffer.
        cache.reset();
        const k2 = rows(7, 1);
        const third = cache.append(0, k2, k2);
        cache.advance(1);
        assert.strictEqual(third.k, first.k);
        assert.deepStrictEqual(Array.from(third.k.dataSync().slice(0, 4)), [7000, 7001, 7002, 7003]);
        k2.dispose();
      } finally {
        cache.dispose();
      }
    });

    it("refuses more positions than it holds, and a batch size change while it holds some", () => {
      const cache = new KVCache(1, 3);
      try {
        const x = tf.zeros([1, 1, 2, 4]) as tf.Tensor4D;
        cache.append(0, x, x);
        cache.advance(2);
        assert.throws(() => cache.append(0, x, x), /2 cached \+ 2 new positions exceed its 3; call reset\(\)/);
        const y = tf.zeros([2, 1, 1, 4]) as tf.Tensor4D;
        assert.throws(() => cache.append(0, y, y), /holds batch size 1/);
        cache.reset();
        cache.append(0, y, y); // empty again: a new batch size is fine
        cache.advance(1);
        assert.strictEqual(cache.batchSize, 2);
        tf.dispose([x, y]);
      } finally {
        cache.dispose();
      }
    });

    for (const [name, cfg] of Object.entries(VARIANTS)) {
      for (const B of [1, 8]) {
        it(`${name}, batch ${B}: token-by-token logits through the cache equal the uncached ones, also after reset()`, () => {
          const model = new GPT(cfg, { seed: 5 });
          const cache = model.newCache();
          try {
            for (const seed of [1, 2]) {
              const x = ids(B, 10, cfg.vocabSize, seed);
              const full = model.forward(x); // [B, 10, V]
              const parts = [model.forward(x.map((r) => r.slice(0, 3)), { cache })];
              for (let t = 3; t < 10; t++) parts.push(model.forward(x.map((r) => [r[t]]), { cache }));
              const cached = tf.concat(parts, 1);
              const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(full, cached))).dataSync()[0]);
              tf.dispose([full, cached, ...parts]);
              assert.ok(diff < 1e-4, `prompt ${seed}: cached vs uncached logits differ by ${diff}`);
              cache.reset();
            }
          } finally {
            cache.dispose();
            model.dispose();
          }
        });
      }
    }
  });
}
