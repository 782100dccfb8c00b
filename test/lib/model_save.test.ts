import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  configFromHF, configToHF, encodeSafetensors, GPT, gptConfig, GPTConfig, loadModel, loadWeights, readSafetensors, saveModel, tf,
} from "tiaoyu";

const GOLDEN = path.join(__dirname, "..", "fixtures", "golden", "gpt2-tiny");
const TINY = gptConfig({ vocabSize: 41, blockSize: 10, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0 });

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-model-"));
}

/** Every weight's bytes, by name. */
function bytesOf(model: GPT): Map<string, Buffer> {
  return new Map([...model.parameters()].map(([n, v]) => [n, Buffer.from((v.dataSync() as Float32Array).buffer)]));
}

describe("model: saving and loading (GPT-2 format)", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  const variants: Record<string, GPTConfig> = {
    "GPT-2 architecture": TINY,
    "rope + swiglu + rmsnorm, no bias, untied": gptConfig({ ...TINY, positional: "rope", mlp: "swiglu", norm: "rmsnorm", bias: false, tieEmbeddings: false }),
  };
  for (const [name, cfg] of Object.entries(variants)) {
    it(`${name}: save → load is bit-identical (weights, config, meta)`, async () => {
      const dir = tmp();
      dirs.push(dir);
      const model = new GPT(cfg, { seed: 11 });
      await saveModel(dir, model, { step: 3, note: "测试" });
      const loaded = loadModel(dir);
      try {
        assert.deepStrictEqual(loaded.config, model.config);
        assert.deepStrictEqual(loaded.meta, { step: 3, note: "测试" });
        const a = bytesOf(model), b = bytesOf(loaded.model);
        assert.deepStrictEqual([...b.keys()], [...a.keys()]);
        for (const [n, buf] of a) assert.ok(buf.equals(b.get(n)!), `${n} differs after save → load`);
        const x = [[1, 2, 3, 4]];
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.forward(x), loaded.model.forward(x)))).dataSync()[0]);
        assert.strictEqual(diff, 0);
      } finally {
        model.dispose();
        loaded.model.dispose();
      }
    });
  }

  it("config.json has GPT-2's fields; configs GPT-2 cannot run do not claim to be gpt2", () => {
    const hf = configToHF(TINY);
    for (const [k, v] of Object.entries({ model_type: "gpt2", vocab_size: 41, n_positions: 10, n_embd: 8, n_layer: 2, n_head: 2, activation_function: "gelu_new", layer_norm_epsilon: 1e-5, tie_word_embeddings: true })) {
      assert.deepStrictEqual(hf[k], v, k);
    }
    assert.strictEqual(configToHF(gptConfig({ ...TINY, norm: "rmsnorm" })).model_type, "tiaoyu");
    const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN, "config.json"), "utf8"));
    assert.deepStrictEqual({ ...configFromHF(golden) }, {
      vocabSize: 97, blockSize: 32, nLayer: 2, nHead: 4, nEmbd: 48, dropout: 0, bias: true, positional: "learned",
      mlp: "gelu", norm: "layernorm", normEps: 1e-5, tieEmbeddings: true,
    });
    assert.throws(() => configFromHF({ ...golden, activation_function: "relu" }, "c.json"), /c\.json: activation_function = "relu": only GELU with the tanh approximation/);
    assert.throws(() => configFromHF({ ...golden, n_head: 5 }, "c.json"), /c\.json: field n_embd \(nEmbd\) = 48: must be a multiple of nHead = 5/);
  });

  it("loading lists exactly what is missing, unexpected or mismatched, and loads nothing then", () => {
    const model = new GPT(TINY);
    try {
      const { tensors } = readSafetensors(path.join(GOLDEN, "model.safetensors")); // vocab 97, width 48: wrong model
      const before = bytesOf(model);
      assert.throws(() => loadWeights(model, tensors, "golden"), (e: Error) => {
        assert.match(e.message, /^golden does not fit the model \(2 layers, nEmbd 8, vocabSize 41\)/);
        assert.match(e.message, /mismatched 28: transformer\.wte\.weight: shape \[97, 48\] in the file, the model expects \[41, 8\]/);
        return true;
      });
      const partial = new Map(tensors);
      partial.delete("transformer.h.1.mlp.c_fc.bias");
      partial.set("transformer.h.7.attn.c_attn.weight", tensors.get("transformer.h.0.attn.c_attn.weight")!);
      assert.throws(() => loadWeights(model, partial, "p"), /missing 1: transformer\.h\.1\.mlp\.c_fc\.bias; unexpected 1: transformer\.h\.7\.attn\.c_attn\.weight/);
      const after = bytesOf(model);
      for (const [n, buf] of before) assert.ok(buf.equals(after.get(n)!), `${n} was changed by a failed load`);
    } finally {
      model.dispose();
    }
  });

  it("accepts the hub's gpt2 naming (no 'transformer.' prefix, attn.bias buffers)", () => {
    const { tensors } = readSafetensors(path.join(GOLDEN, "model.safetensors"));
    const hub = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [n, t] of tensors) hub.set(n.replace(/^transformer\./, ""), { shape: [...t.shape], data: t.data as Float32Array });
    hub.set("h.0.attn.bias", { shape: [1, 1, 32, 32], data: new Float32Array(32 * 32) });
    const dir = tmp();
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, "model.safetensors"), encodeSafetensors(hub, { format: "pt" }));
    fs.copyFileSync(path.join(GOLDEN, "config.json"), path.join(dir, "config.json"));
    const { model } = loadModel(dir);
    const ref = loadModel(GOLDEN).model;
    try {
      const a = bytesOf(model), b = bytesOf(ref);
      for (const [n, buf] of a) assert.ok(buf.equals(b.get(n)!), n);
    } finally {
      model.dispose();
      ref.dispose();
    }
  });

  it("a corrupted or truncated model.safetensors is rejected with the file's name, and no model is left", async () => {
    const dir = tmp();
    dirs.push(dir);
    const model = new GPT(TINY);
    await saveModel(dir, model);
    model.dispose();
    const file = path.join(dir, "model.safetensors");
    const whole = fs.readFileSync(file);
    const count = tf.memory().numTensors;
    fs.writeFileSync(file, whole.subarray(0, whole.length - 7));
    assert.throws(() => loadModel(dir), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: truncated: tensor '.*' needs data bytes`));
    // Corrupt the header in place: wte's shape [41,8] becomes [41,9], so it no longer matches its bytes.
    const corrupt = Buffer.from(whole.toString("latin1").replace('"shape":[41,8]', '"shape":[41,9]'), "latin1");
    assert.strictEqual(corrupt.length, whole.length);
    fs.writeFileSync(file, corrupt);
    assert.throws(() => loadModel(dir), /model\.safetensors: tensor 'transformer\.wte\.weight': shape \[41, 9\] of F32 needs 1476 bytes, but data_offsets \[0, 1312\] span 1312/);
    fs.rmSync(path.join(dir, "config.json"));
    assert.throws(() => loadModel(dir), /config\.json is missing/);
    assert.strictEqual(tf.memory().numTensors, count, "a failed load leaves no tensors behind");
  });
});
