import * as assert from "assert";
import {
  causalMask, crossEntropy, geluTanh, GPT, GPT2_DEFAULTS, gptConfig, GPTConfig, layerNorm, mergeHeads,
  parameterCounts, PRESETS, presetConfig, RotaryEmbedding, rmsNorm, sinusoidalValues, splitHeads, tf,
} from "tiaoyu";
import { expectNoLeak } from "../leak";
import { onBackend } from "../backend";

const TINY = gptConfig({ vocabSize: 37, blockSize: 12, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 });

/** The variants the model supports, each small enough to run in milliseconds. */
const VARIANTS: Record<string, GPTConfig> = {
  "GPT-2 (learned, gelu, layernorm, tied)": TINY,
  sinusoidal: gptConfig({ ...TINY, positional: "sinusoidal" }),
  "rope + swiglu + rmsnorm, no bias, untied": gptConfig({ ...TINY, positional: "rope", mlp: "swiglu", norm: "rmsnorm", bias: false, tieEmbeddings: false }),
};

function ids(B: number, T: number, V: number, seed = 1): number[][] {
  let s = seed;
  const next = () => (s = (s * 48271) % 2147483647) % V;
  return Array.from({ length: B }, () => Array.from({ length: T }, next));
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe("model: config", () => {
  it("defaults are exactly GPT-2 small's architecture", () => {
    assert.deepStrictEqual({ ...gptConfig() }, {
      vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768, dropout: 0.1, bias: true,
      positional: "learned", mlp: "gelu", norm: "layernorm", normEps: 1e-5, tieEmbeddings: true,
    });
    assert.ok(Object.isFrozen(GPT2_DEFAULTS) && Object.isFrozen(gptConfig()));
  });

  it("validation names the field and the value", () => {
    assert.throws(() => gptConfig({ nEmbd: 100, nHead: 3 }), /GPTConfig\.nEmbd = 100: must be a multiple of nHead = 3/);
    assert.throws(() => gptConfig({ nLayer: 0 }), /GPTConfig\.nLayer = 0: must be an integer from 1 to 256/);
    assert.throws(() => gptConfig({ dropout: 1 }), /GPTConfig\.dropout = 1: must be in \[0, 1\)/);
    assert.throws(() => gptConfig({ positional: "alibi" as never }), /GPTConfig\.positional = "alibi": must be one of "learned", "sinusoidal", "rope"/);
    assert.throws(() => gptConfig({ nEmbd: 6, nHead: 2, positional: "rope" }), /GPTConfig\.nHead = 2: gives head size 3, but RoPE needs an even head size/);
    assert.throws(() => gptConfig({ nLayers: 3 } as never), /GPTConfig\.nLayers = 3: unknown field/);
  });

  it("never mutates the caller's object, and presets can be overridden", () => {
    const mine = { vocabSize: 100, nLayer: 3 };
    const frozen = JSON.stringify(mine);
    const cfg = gptConfig(mine);
    assert.strictEqual(JSON.stringify(mine), frozen);
    assert.strictEqual(cfg.nLayer, 3);
    const course = presetConfig("course", { vocabSize: 5000 });
    assert.strictEqual(course.vocabSize, 5000);
    assert.strictEqual(PRESETS.course.vocabSize, 6400);
    assert.throws(() => presetConfig("huge" as never), /unknown preset 'huge'/);
  });

  it("parameter counts: GPT-2 small is 124,439,808, and the table matches the weights a model creates", () => {
    const gpt2 = parameterCounts(PRESETS["gpt2-small"]);
    assert.strictEqual(gpt2.at(-1)!.params, 124_439_808);
    assert.strictEqual(gpt2[0].params, 50257 * 768);
    for (const [name, cfg] of Object.entries({ ...VARIANTS, tiny: PRESETS.tiny })) {
      const model = new GPT(cfg);
      try {
        assert.strictEqual(parameterCounts(cfg).at(-1)!.params, model.numParameters(), name);
      } finally {
        model.dispose();
      }
    }
  });
});

describe("model: components", () => {
  it("LayerNorm and RMSNorm give the hand-computed numbers", () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2, 3, 6]]);
      const ln = layerNorm(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 1e-5).arraySync() as number[][];
      // mean 3, variance (4+1+0+9)/4 = 3.5
      [-2, -1, 0, 3].forEach((c, i) => assert.ok(Math.abs(ln[0][i] - c / Math.sqrt(3.5 + 1e-5)) < 1e-6));
      const rms = rmsNorm(x, tf.ones([4]) as tf.Tensor1D, 1e-5).arraySync() as number[][];
      [1, 2, 3, 6].forEach((v, i) => assert.ok(Math.abs(rms[0][i] - v / Math.sqrt(12.5 + 1e-5)) < 1e-6));
    });
  });

  it("GELU (tanh approximation) gives GPT-2's values", () => {
    const y = tf.tidy(() => geluTanh(tf.tensor1d([-1, 0, 1, 3])).arraySync() as number[]);
    [-0.158808, 0, 0.841192, 2.996363].forEach((v, i) => assert.ok(Math.abs(y[i] - v) < 1e-5, `gelu: ${y[i]} vs ${v}`));
  });

  it("sinusoidal table: sin on even columns, cos on odd, frequencies 10000^(-2i/D)", () => {
    const t = sinusoidalValues(3, 4);
    const expected = [0, 1, 0, 1, Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01), Math.sin(2), Math.cos(2), Math.sin(0.02), Math.cos(0.02)];
    expected.forEach((v, i) => assert.ok(Math.abs(t[i] - v) < 1e-6, `entry ${i}: ${t[i]} vs ${v}`));
  });

  it("RoPE keeps lengths, and q·k depends only on the distance between positions", () => {
    const rope = new RotaryEmbedding(16, 8);
    try {
      tf.tidy(() => {
        const q = tf.randomNormal([1, 1, 1, 8], 0, 1, "float32", 3) as tf.Tensor4D;
        const k = tf.randomNormal([1, 1, 1, 8], 0, 1, "float32", 4) as tf.Tensor4D;
        const dot = (a: number, b: number) => tf.sum(tf.mul(rope.apply(q, a), rope.apply(k, b))).dataSync()[0];
        assert.ok(Math.abs(dot(2, 0) - dot(9, 7)) < 1e-4, "same distance, same score");
        assert.ok(Math.abs(dot(2, 0) - dot(5, 0)) > 1e-3, "different distance, different score");
        const n0 = tf.norm(q).dataSync()[0];
        assert.ok(Math.abs(tf.norm(rope.apply(q, 11)).dataSync()[0] - n0) < 1e-5);
      });
    } finally {
      rope.dispose();
    }
  });

  it("splitHeads / mergeHeads: head h gets columns h·hs … and merge undoes split", () => {
    tf.tidy(() => {
      const x = tf.tensor3d([[[1, 2, 3, 4], [5, 6, 7, 8]]]); // [1, 2, 4]
      const h = splitHeads(x, 2);
      assert.deepStrictEqual(h.shape, [1, 2, 2, 2]);
      assert.deepStrictEqual(h.arraySync(), [[[[1, 2], [5, 6]], [[3, 4], [7, 8]]]]);
      assert.deepStrictEqual(mergeHeads(h).arraySync(), x.arraySync());
    });
  });

  it("causal mask: nothing from the future, also after cached positions", () => {
    tf.tidy(() => {
      assert.deepStrictEqual(causalMask(3).arraySync(), [[0, -1e9, -1e9], [0, 0, -1e9], [0, 0, 0]]);
      assert.deepStrictEqual(causalMask(2, 2).arraySync(), [[0, 0, 0, -1e9], [0, 0, 0, 0]]);
    });
  });

  it("cross-entropy: ln V for uniform logits, and a mask averages only the selected positions", () => {
    tf.tidy(() => {
      const V = 7;
      const uniform = tf.zeros([2, 3, V]) as tf.Tensor3D;
      assert.ok(Math.abs(crossEntropy(uniform, [[1, 2, 3], [4, 5, 6]]).dataSync()[0] - Math.log(V)) < 1e-6);
      const logits = tf.randomNormal([2, 3, V], 0, 1, "float32", 9) as tf.Tensor3D;
      const targets = [[1, 2, 3], [4, 5, 6]];
      const lp = tf.logSoftmax(logits).arraySync() as number[][][];
      const mask = [[1, 0, 1], [0, 0, 1]];
      let sum = 0;
      mask.forEach((row, b) => row.forEach((m, t) => (sum -= m ? lp[b][t][targets[b][t]] : 0)));
      const got = crossEntropy(logits, targets, tf.tensor2d(mask)).dataSync()[0];
      assert.ok(Math.abs(got - sum / 3) < 1e-5, `${got} vs ${sum / 3}`);
    });
  });
});

describe("model: GPT", () => {
  it("names every weight as Hugging Face GPT-2 does, in state-dict order", () => {
    const model = new GPT(gptConfig({ ...TINY, nLayer: 1 }));
    try {
      const shapes = [...model.parameters()].map(([n, v]) => `${n} [${v.shape}]`);
      assert.deepStrictEqual(shapes, [
        "transformer.wte.weight [37,16]", "transformer.wpe.weight [12,16]",
        "transformer.h.0.ln_1.weight [16]", "transformer.h.0.ln_1.bias [16]",
        "transformer.h.0.attn.c_attn.weight [16,48]", "transformer.h.0.attn.c_attn.bias [48]",
        "transformer.h.0.attn.c_proj.weight [16,16]", "transformer.h.0.attn.c_proj.bias [16]",
        "transformer.h.0.ln_2.weight [16]", "transformer.h.0.ln_2.bias [16]",
        "transformer.h.0.mlp.c_fc.weight [16,64]", "transformer.h.0.mlp.c_fc.bias [64]",
        "transformer.h.0.mlp.c_proj.weight [64,16]", "transformer.h.0.mlp.c_proj.bias [16]",
        "transformer.ln_f.weight [16]", "transformer.ln_f.bias [16]",
      ]);
      const v = model.trainableVariables()[0];
      assert.strictEqual(model.parameterName(v.name), "transformer.wte.weight");
    } finally {
      model.dispose();
    }
  });

  it("the same seed gives the same weights; two models live side by side; dispose frees everything", () => {
    const before = tf.memory().numTensors;
    const a = new GPT(TINY, { seed: 5 });
    const b = new GPT(TINY, { seed: 5 });
    const c = new GPT(TINY, { seed: 6 });
    const wa = a.parameters().get("transformer.h.1.attn.c_attn.weight")!;
    assert.strictEqual(maxAbsDiff(wa, b.parameters().get("transformer.h.1.attn.c_attn.weight")!), 0);
    assert.ok(maxAbsDiff(wa, c.parameters().get("transformer.h.1.attn.c_attn.weight")!) > 0);
    [a, b, c].forEach((m) => m.dispose());
    assert.strictEqual(tf.memory().numTensors, before);
  });

  it("rejects inputs it cannot handle, saying why", () => {
    const model = new GPT(TINY);
    try {
      assert.throws(() => model.forward(ids(1, 13, 37)), /sequence length 13 exceeds blockSize 12/);
      assert.throws(() => model.forward([[1, 37]]), /\[0\]\[1\] = 37 is not an id in 0\.\.36/);
      assert.throws(() => model.forward([[1, 2], [3]]), /row 1 has 1 ids, row 0 has 2/);
      const cache = model.newCache();
      model.forward(ids(1, 10, 37), { cache }).dispose();
      assert.throws(() => model.forward(ids(1, 3, 37), { cache }), /sequence length 13 \(10 cached \+ 3 new\) exceeds blockSize 12/);
      cache.dispose();
    } finally {
      model.dispose();
    }
  });

  for (const [name, cfg] of Object.entries(VARIANTS)) {
    it(`${name}: logits at position t do not depend on tokens after t`, () => {
      const model = new GPT(cfg);
      try {
        tf.tidy(() => {
          const x = ids(2, 10, cfg.vocabSize);
          const y = x.map((row) => [...row.slice(0, 6), ...row.slice(6).map((id) => (id + 1) % cfg.vocabSize)]);
          const a = model.forward(x), b = model.forward(y);
          assert.ok(maxAbsDiff(a.slice([0, 0, 0], [2, 6, -1]), b.slice([0, 0, 0], [2, 6, -1])) < 1e-6);
          assert.ok(maxAbsDiff(a, b) > 1e-4, "later positions must change");
        });
      } finally {
        model.dispose();
      }
    });

    it(`${name}: token-by-token logits with the KV cache equal the uncached ones`, () => {
      const model = new GPT(cfg);
      const cache = model.newCache();
      try {
        const x = ids(2, 12, cfg.vocabSize);
        const full = model.forward(x); // [2, 12, V]
        // A 5-token prompt, then one token at a time, as generation does.
        const parts = [model.forward(x.map((r) => r.slice(0, 5)), { cache })];
        for (let t = 5; t < 12; t++) parts.push(model.forward(x.map((r) => [r[t]]), { cache }));
        assert.strictEqual(cache.length, 12);
        const cached = tf.concat(parts, 1);
        const diff = maxAbsDiff(full, cached);
        assert.ok(diff < 1e-5, `cached vs uncached logits differ by ${diff}`);
        [full, cached, ...parts].forEach((t) => t.dispose());
      } finally {
        cache.dispose();
        model.dispose();
      }
    });
  }

  it("dropout: off at inference, on in training, reproducible from the model's seed stream", () => {
    const model = new GPT(gptConfig({ ...TINY, dropout: 0.5 }));
    try {
      const x = ids(2, 8, 37), y = ids(2, 8, 37, 7);
      const loss = (training: boolean) => tf.tidy(() => model.loss(x, y, { training }).dataSync()[0]);
      assert.strictEqual(loss(false), loss(false));
      const start = model.seeds.state;
      const a = loss(true), b = loss(true);
      assert.notStrictEqual(a, b, "two training passes draw different masks");
      model.seeds.state = start;
      assert.strictEqual(loss(true), a, "restoring the seed state repeats the masks");
    } finally {
      model.dispose();
    }
  });
});

for (const backend of ["wasm", "cpu"] as const) {
  describe(`model: no tensor leaks (${backend})`, function () {
    let model: GPT;
    after(() => model.dispose()); // registered first, so it runs before the backend switches back
    onBackend(backend);
    before(() => {
      model = new GPT(VARIANTS["rope + swiglu + rmsnorm, no bias, untied"]);
    });

    it("forward (inference and training) leaves numTensors unchanged", async () => {
      const x = ids(2, 8, 37);
      await expectNoLeak(() => model.forward(x).dispose(), "forward");
      await expectNoLeak(() => model.forward(x, { training: true }).dispose(), "forward in training mode");
    });

    it("a cached generation step leaves numTensors unchanged", async () => {
      const cache = model.newCache();
      model.forward(ids(1, 4, 37), { cache }).dispose();
      await expectNoLeak(() => model.forward([[3]], { cache }).dispose(), "a cached step");
      const held = tf.memory().numTensors;
      cache.dispose();
      assert.strictEqual(tf.memory().numTensors, held - 2 * model.config.nLayer, "the cache frees its keys and values (2 per layer)");
    });

    it("a training step (variableGrads + SGD) leaves numTensors unchanged", async () => {
      const opt = tf.train.sgd(0.1);
      const x = ids(2, 8, 37), y = ids(2, 8, 37, 3);
      let first = NaN, last = NaN;
      await expectNoLeak(() => {
        const { value, grads } = tf.variableGrads(() => model.loss(x, y, { training: true }), model.trainableVariables());
        opt.applyGradients(grads);
        last = value.dataSync()[0];
        if (Number.isNaN(first)) first = last;
        value.dispose();
        tf.dispose(grads);
      }, "a training step");
      assert.ok(last < first, `the loss must fall with SGD: ${first} → ${last}`);
      opt.dispose();
    });
  });
}
