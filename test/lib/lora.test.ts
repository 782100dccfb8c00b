/**
 * LoRA (lib/train/lora.ts): the book's parameter count, an exact start from the base, merge = unmerged adapter,
 * unmerge = base, a frozen base while training, adapters saved alone and refused by the wrong base, no leaks.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  applyLora,
  GPT,
  gptConfig,
  initBackend,
  linearLayers,
  loadLoraAdapter,
  loraParameterCount,
  readSafetensors,
  saveLoraAdapter,
  type Stage,
  tf,
  train,
  writeSafetensors,
} from "tiaoyu";
import { expectNoLeak } from "../leak";

const config = gptConfig({ vocabSize: 40, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 });
const ids = [[1, 5, 7, 9, 2, 3], [4, 4, 8, 1, 0, 6]];

function logits(model: GPT): Float32Array {
  return tf.tidy(() => model.forward(ids).dataSync() as Float32Array);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Gives every B a random value, as training would, so that the adapters change the output. */
function randomizeB(lora: ReturnType<typeof applyLora>, seed = 1): void {
  for (const l of lora.layers.values()) tf.tidy(() => l.b.assign(tf.randomNormal(l.b.shape, 0, 0.5, "float32", seed++)));
}

describe("LoRA", function () {
  this.timeout(60_000);
  let model: GPT;

  before(async () => {
    await initBackend();
  });
  beforeEach(() => {
    model = new GPT(config, { seed: 11 });
  });
  afterEach(() => model.dispose());

  it("counts the book's example: 1024×512 at rank 8 is 12,288 instead of 524,288", () => {
    assert.strictEqual(1024 * 512, 524288);
    assert.strictEqual(loraParameterCount(1024, 512, 8), 12288);
    assert.strictEqual(loraParameterCount(16, 48, 4), 16 * 4 + 4 * 48);
  });

  it("adapts the named layers only, with A [in, r] and B [r, out] = 0", () => {
    const lora = applyLora(model, { rank: 4, alpha: 8, targets: ["attn.c_attn", "mlp.c_proj"] });
    try {
      assert.deepStrictEqual([...lora.layers.keys()], [
        "transformer.h.0.attn.c_attn", "transformer.h.0.mlp.c_proj", "transformer.h.1.attn.c_attn", "transformer.h.1.mlp.c_proj",
      ]);
      const l = lora.layers.get("transformer.h.0.attn.c_attn")!;
      assert.deepStrictEqual(l.a.shape, [16, 4]);
      assert.deepStrictEqual(l.b.shape, [4, 48]);
      assert.strictEqual(l.scale, 2);
      assert.strictEqual(tf.tidy(() => tf.abs(l.b).sum().dataSync()[0]), 0);
      assert.ok(tf.tidy(() => tf.abs(l.a).sum().dataSync()[0]) > 0);
      const want = 2 * (loraParameterCount(16, 48, 4) + loraParameterCount(64, 16, 4));
      assert.strictEqual(lora.numTrainable(), want);
      assert.strictEqual(lora.countRows().reduce((s, r) => s + r.lora, 0), want);
      assert.strictEqual(lora.trainable().size, 8);
    } finally {
      lora.dispose();
    }
  });

  it("rejects targets that match nothing, and a second adapter on the same layer", () => {
    assert.throws(() => applyLora(model, { rank: 2, alpha: 2, targets: ["attn.q_proj"] }), /LoRA target 'attn.q_proj' matches no linear layer/);
    assert.throws(() => applyLora(model, { rank: 0, alpha: 2, targets: ["attn.c_attn"] }), /rank = 0/);
    const lora = applyLora(model, { rank: 2, alpha: 2, targets: ["attn.c_attn"] });
    try {
      assert.throws(() => applyLora(model, { rank: 2, alpha: 2, targets: ["c_attn"] }), /already has a LoRA adapter/);
    } finally {
      lora.dispose();
    }
  });

  it("starts exactly at the base model (B = 0), and dispose gives the base back", () => {
    const base = logits(model);
    const lora = applyLora(model, { rank: 4, alpha: 8, targets: ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"] });
    assert.deepStrictEqual(logits(model), base);
    randomizeB(lora);
    assert.ok(maxDiff(logits(model), base) > 1e-3, "a non-zero B changes the output");
    lora.dispose();
    assert.deepStrictEqual(logits(model), base);
  });

  it("merged logits equal the unmerged adapter's; unmerge restores the base weights", () => {
    const baseWeights = new Map([...linearLayers(model)].map(([n, l]) => [n, l.weight.dataSync().slice()]));
    const lora = applyLora(model, { rank: 4, alpha: 8, targets: ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"] });
    try {
      randomizeB(lora);
      const adapted = logits(model);
      lora.merge();
      assert.ok(lora.merged);
      const merged = logits(model);
      assert.ok(maxDiff(merged, adapted) < 1e-4, `merged vs adapter: ${maxDiff(merged, adapted)}`);
      // The merged weight really is W + (alpha/r)·A·B.
      const l = lora.layers.get("transformer.h.1.mlp.c_fc")!;
      const expected = tf.tidy(() => tf.add(tf.tensor(baseWeights.get(l.name)!, l.base.weight.shape), tf.mul(tf.matMul(l.a, l.b), l.scale)).dataSync());
      assert.ok(maxDiff(l.base.weight.dataSync(), expected) < 1e-6);
      assert.throws(() => lora.merge(), /already merged/);
      lora.unmerge();
      for (const [n, w] of baseWeights) assert.ok(maxDiff(linearLayers(model).get(n)!.weight.dataSync(), w) < 1e-6, n);
      assert.ok(maxDiff(logits(model), adapted) < 1e-4, "unmerged, the adapter is applied again");
      assert.throws(() => lora.unmerge(), /not merged/);
    } finally {
      lora.dispose();
    }
  });

  it("merge and unmerge leak no tensors; the adapted forward neither", async () => {
    const lora = applyLora(model, { rank: 4, alpha: 8, targets: ["attn.c_attn", "mlp.c_fc"] });
    try {
      await expectNoLeak(() => {
        lora.merge();
        lora.unmerge();
      }, "merge/unmerge");
      await expectNoLeak(() => void logits(model), "adapted forward");
    } finally {
      lora.dispose();
    }
    const before = tf.memory().numTensors;
    applyLora(model, { rank: 4, alpha: 8, targets: ["attn.c_attn"] }).dispose();
    assert.strictEqual(tf.memory().numTensors, before, "dispose frees A and B");
  });

  it("attaches through the layers' adapter slots: no method of a live object is replaced, and remove empties the slots", () => {
    const lora = applyLora(model, { rank: 2, alpha: 4, targets: ["attn.c_attn"], trainableTokens: [3] });
    const layers = linearLayers(model);
    const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    assert.ok(!own(model, "forward") && !own(model.wte, "forward"), "GPT.forward and the embedding's forward are the classes' own");
    for (const [name, layer] of layers) {
      assert.ok(!own(layer, "forward"), `${name}.forward was replaced`);
      assert.strictEqual(layer.adapter, lora.layers.get(name) ?? null, `${name}'s slot`);
    }
    assert.strictEqual(model.wte.adapter, lora.tokens);
    lora.dispose();
    for (const layer of layers.values()) assert.strictEqual(layer.adapter, null);
    assert.strictEqual(model.wte.adapter, null);
  });

  it("trains only A and B: the base weights stay frozen, and a step leaks nothing", async () => {
    const lora = applyLora(model, { rank: 4, alpha: 8, targets: ["attn.c_attn", "mlp.c_proj"], trainableTokens: [2, 5] });
    try {
      const frozen = new Map([...model.parameters()].map(([n, v]) => [n, v.dataSync().slice()]));
      const x = new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]);
      const y = new Int32Array([2, 3, 4, 5, 6, 7, 8, 9]);
      const stage: Stage<null> = {
        name: "lora-test",
        model: { configJson: () => ({}), weights: () => lora.trainable() },
        trainable: lora.trainable(),
        batches: { next: () => null, state: () => null, restore: () => {} },
        loss: () => model.loss(tf.tensor2d(x, [1, 8], "int32"), tf.tensor2d(y, [1, 8], "int32")),
        tokens: () => 8,
      };
      const losses: number[] = [];
      const run = () => train(stage, { steps: 15, lr: 1e-2, runDir: null, progress: "none", weightDecay: 0, onStep: (r) => losses.push(r.loss) });
      await run();
      assert.ok(losses[losses.length - 1] < losses[0] - 0.1, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
      for (const [n, v] of model.parameters()) assert.deepStrictEqual(v.dataSync(), frozen.get(n), `${n} changed`);
      assert.ok(tf.tidy(() => tf.abs(lora.layers.get("transformer.h.0.attn.c_attn")!.b).sum().dataSync()[0]) > 0, "B trained");
      assert.ok(tf.tidy(() => tf.abs(lora.tokens!.delta).sum().dataSync()[0]) > 0, "the token rows trained");
      await expectNoLeak(async () => void (await train(stage, { steps: 2, lr: 1e-3, runDir: null, progress: "none" })), "LoRA training steps");
    } finally {
      lora.dispose();
    }
  });

  // Rank 3 on 5 rows, and rank 8 on 37 rows: on wasm with the native addon the second reaches the gradient
  // kernel's full tiles (lib/native/lora.c), the first only its leftover paths.
  for (const [rank, N] of [[3, 5], [8, 37]]) it(`the folded product x·(W + s·A·B) has the gradients of x·W + s·(x·A)·B for x, A and B, and none for W (rank ${rank}, ${N} rows)`, () => {
    const lora = applyLora(model, { rank, alpha: 2 * rank, targets: ["mlp.c_fc"] });
    try {
      const layer = lora.layers.get("transformer.h.1.mlp.c_fc")!;
      const w = layer.base.weight as unknown as tf.Tensor2D; // [16, 64]
      tf.tidy(() => layer.b.assign(tf.randomNormal(layer.b.shape, 0, 0.5, "float32", 11)));
      const x = tf.randomNormal([N, 16], 0, 1, "float32", 12) as tf.Tensor2D;
      const r = tf.randomNormal([N, 64], 0, 1, "float32", 13); // a random readout, so every output element matters
      const unfolded = (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.matMul(xi as tf.Tensor2D, w), tf.mul(tf.matMul(tf.matMul(xi as tf.Tensor2D, a as tf.Tensor2D), b as tf.Tensor2D), layer.scale)), r));
      const folded = (xi: tf.Tensor) => tf.sum(tf.mul(layer.product(xi as tf.Tensor2D, w)!, r));
      const want = tf.grads(unfolded)([x, layer.a, layer.b]);
      const got = tf.variableGrads(() => folded(x) as tf.Scalar, [layer.a, layer.b]);
      const gotX = tf.grad(folded)(x);
      // Relative to the largest element: with 37 rows the sums are larger, and products in another order round differently.
      const close = (p: tf.Tensor, q: tf.Tensor, what: string) => {
        const [diff, size] = tf.tidy(() => [tf.abs(tf.sub(p, q)).max().dataSync()[0], tf.abs(q).max().dataSync()[0]]);
        assert.ok(diff < 1e-5 * (1 + size) * Math.sqrt(N), `${what}: differs by ${diff} (largest element ${size})`);
      };
      close(tf.tidy(() => unfolded(x, layer.a, layer.b)), tf.tidy(() => folded(x)), "the same value");
      close(gotX, want[0], "dx");
      close(got.grads[layer.a.name], want[1], "dA");
      close(got.grads[layer.b.name], want[2], "dB");
      assert.ok(tf.tidy(() => tf.abs(want[1]).max().dataSync()[0]) > 1e-3, "B ≠ 0, so A gets a gradient to compare");
      assert.throws(() => tf.variableGrads(() => folded(x) as tf.Scalar, [layer.base.weight]), /Cannot find a connection between any variable and the result/, "W is frozen while adapted: it gets no gradient");
      tf.dispose([x, r, gotX, ...want, got.value, ...Object.values(got.grads)]);
    } finally {
      lora.dispose();
    }
  });

  it("trainable token rows: start at the base, merge = adapter, unmerge = base, only delta trains", async () => {
    const wte = model.parameters().get("transformer.wte.weight")!;
    const baseWte = wte.dataSync().slice();
    const base = logits(model);
    const lora = applyLora(model, { rank: 2, alpha: 4, targets: ["attn.c_attn"], trainableTokens: [1, 7] });
    try {
      assert.deepStrictEqual(logits(model), base, "delta = 0: the base model exactly");
      assert.strictEqual(lora.trainable().get("transformer.wte.trainable_tokens")!.shape.join("×"), "2×16");
      assert.strictEqual(lora.numTrainable(), 2 * loraParameterCount(16, 48, 2) + 2 * 16);
      // Token 7 appears in the input and is a candidate output: changing its row changes both.
      tf.tidy(() => lora.tokens!.delta.assign(tf.randomNormal([2, 16], 0, 0.5, "float32", 9)));
      randomizeB(lora, 3);
      const adapted = logits(model);
      assert.ok(maxDiff(adapted, base) > 1e-3);
      lora.merge();
      assert.ok(maxDiff(logits(model), adapted) < 1e-4, "merged = adapter");
      const merged = wte.dataSync();
      const D = 16;
      for (let id = 0; id < 40; id++) {
        const changed = maxDiff(merged.slice(id * D, (id + 1) * D), baseWte.slice(id * D, (id + 1) * D)) > 0;
        assert.strictEqual(changed, id === 1 || id === 7, `row ${id}`);
      }
      lora.unmerge();
      assert.ok(maxDiff(wte.dataSync(), baseWte) < 1e-6, "unmerge restores wte");
      await expectNoLeak(() => void logits(model), "forward with token rows");
      await expectNoLeak(() => {
        lora.merge();
        lora.unmerge();
      }, "merge/unmerge with token rows");
    } finally {
      lora.dispose();
    }
    // (merge/unmerge above round the weights by float error, so this is a tolerance, not equality)
    assert.ok(maxDiff(logits(model), base) < 1e-5, "dispose restores the model's forward");
    assert.throws(() => applyLora(model, { rank: 2, alpha: 4, targets: ["c_attn"], trainableTokens: [40] }), /id 40 is outside the vocabulary/);
    const untied = new GPT(gptConfig({ ...config, tieEmbeddings: false }), { seed: 1 });
    try {
      assert.throws(() => applyLora(untied, { rank: 2, alpha: 4, targets: ["c_attn"], trainableTokens: [1] }), /needs tied embeddings/);
    } finally {
      untied.dispose();
    }
  });

  it("saves the adapters alone and loads them onto the base; the wrong base is refused", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lora-"));
    const lora = applyLora(model, { rank: 4, alpha: 8, targets: ["attn.c_attn", "mlp.c_fc"], trainableTokens: [3] });
    let other: GPT | null = null;
    try {
      randomizeB(lora, 5);
      tf.tidy(() => lora.tokens!.delta.assign(tf.randomNormal([1, 16], 0, 0.5, "float32", 6)));
      const adapted = logits(model);
      const bytes = await saveLoraAdapter(dir, lora);
      // A and B of 4 layers in float32, plus a small header: far smaller than the model.
      assert.ok(bytes < lora.numTrainable() * 4 + 2000, `${bytes} bytes`);
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, "adapter_config.json"), "utf8"));
      assert.deepStrictEqual([cfg.rank, cfg.alpha, cfg.targets, cfg.trainableTokens, cfg.embedding], [4, 8, ["attn.c_attn", "mlp.c_fc"], [3], [40, 16]]);
      lora.dispose();

      other = new GPT(config, { seed: 11 }); // the same base
      const loaded = loadLoraAdapter(dir, other);
      assert.ok(maxDiff(logits(other), adapted) < 1e-6);
      loaded.dispose();
      other.dispose();

      other = new GPT(gptConfig({ ...config, nEmbd: 32 }), { seed: 11 });
      assert.throws(() => loadLoraAdapter(dir, other!), /layer transformer\.h\.0\.attn\.c_attn was adapted on a 16×48 weight, but this base model's is 32×96/);
      other.dispose();
      other = new GPT(gptConfig({ ...config, nLayer: 1 }), { seed: 11 });
      assert.throws(() => loadLoraAdapter(dir, other!), /has layer transformer\.h\.1\.attn\.c_attn, which the base model lacks/);
      assert.throws(() => loadLoraAdapter(path.join(dir, "nowhere"), other!), /adapter_config\.json is missing/);
      other.dispose();
      other = new GPT(gptConfig({ ...config, vocabSize: 50 }), { seed: 11 });
      assert.throws(() => loadLoraAdapter(dir, other!), /token rows of a 40×16 embedding, but this base model's is 50×16/);
      other.dispose();
      // A weights file that does not match its own config is named by the rule every loader shares (checkWeightsFit).
      other = new GPT(config, { seed: 11 });
      const file = path.join(dir, "adapter_model.safetensors");
      const { tensors } = readSafetensors(file);
      const first = [...tensors.keys()][0];
      await writeSafetensors(file, new Map([...tensors].filter(([n]) => n !== first).map(([n, t]) => [n, { shape: t.shape, data: t.data }])));
      const tensorsBefore = tf.memory().numTensors;
      assert.throws(() => loadLoraAdapter(dir, other!), (e: Error) => {
        assert.match(e.message, /adapter_model\.safetensors does not fit the model \(the adapters of .*adapter_config\.json\): missing 1: /);
        assert.ok(e.message.endsWith(`missing 1: ${first}`), e.message);
        return true;
      });
      assert.strictEqual(tf.memory().numTensors, tensorsBefore, "the refused adapter is disposed");
    } finally {
      lora.dispose();
      other?.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
