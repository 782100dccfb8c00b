/**
 * Training checkpoints: bit-exact round trips, loud failures on a wrong tokenizer, config or damaged file, and
 * crash safety — a child process is killed (SIGKILL, no cleanup) at each phase of a save, and the run folder must
 * still load the last complete checkpoint.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  assignWeights,
  checkpointName,
  initBackend,
  latestCheckpoint,
  listCheckpoints,
  loadTrainingCheckpoint,
  projectPath,
  projectRoot,
  saveTrainingCheckpoint,
  type SavePhase,
  tf,
} from "tiaoyu";

const TOKENIZER = { hash: "a1b2c3d4e5f6a7b8", vocabSize: 8, name: "toy" };

function weights(scale: number): Map<string, tf.Variable> {
  return new Map([
    ["layer.weight", tf.tidy(() => tf.variable(tf.tensor2d([[1, -2.5, 3.25], [Math.PI, -0, 1e-30]]).mul(scale)))],
    ["layer.bias", tf.tidy(() => tf.variable(tf.tensor1d([0.1, 0.2, 0.3])))],
  ]);
}

describe("train/checkpoint", () => {
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
  });
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-ckpt-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("saves and loads back the same bits, with meta.json and optimizer state", async () => {
    const w = weights(1);
    const m = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const saved = await saveTrainingCheckpoint(dir, {
      stage: "toy",
      from: "pretrain",
      step: 7,
      tokens: 700,
      config: { vocab_size: 8 },
      weights: w,
      optimizer: { step: 7, tensors: { "m.layer.weight": m } },
      rng: [1, 2, 3, 4],
      data: { epoch: 1, index: 5 },
      tokenizer: TOKENIZER,
    });
    assert.strictEqual(path.basename(saved), checkpointName(7));
    assert.strictEqual(latestCheckpoint(dir), saved);
    assert.deepStrictEqual(fs.readdirSync(saved).sort(), ["config.json", "meta.json", "model.safetensors", "optimizer.safetensors"]);

    const ck = loadTrainingCheckpoint(dir, { optimizer: true, tokenizer: TOKENIZER, config: { vocab_size: 8 } });
    assert.strictEqual(ck.meta.step, 7);
    assert.strictEqual(ck.meta.from, "pretrain");
    assert.deepStrictEqual(ck.meta.data, { epoch: 1, index: 5 });
    assert.deepStrictEqual(ck.meta.rng, [1, 2, 3, 4]);
    for (const [name, v] of w) {
      // Bit-exact, including −0 and a subnormal-adjacent value.
      assert.deepStrictEqual(Buffer.from(ck.weights.get(name)!.dataSync().buffer), Buffer.from(v.dataSync().buffer), name);
    }
    assert.deepStrictEqual(Array.from(ck.optimizer!.tensors["m.layer.weight"].dataSync()), [1, 2, 3, 4, 5, 6]);

    const target = weights(0);
    assignWeights(target, ck.weights);
    assert.deepStrictEqual(Array.from(target.get("layer.weight")!.dataSync()), Array.from(w.get("layer.weight")!.dataSync()));
    ck.dispose();
    tf.dispose([...w.values(), ...target.values(), m]);
  });

  it("fails loudly on another tokenizer, another config, a damaged file or a weight that does not fit", async () => {
    const w = weights(1);
    const saved = await saveTrainingCheckpoint(dir, { stage: "toy", step: 1, config: { vocab_size: 8, n_embd: 3 }, weights: w, tokenizer: TOKENIZER });
    assert.throws(() => loadTrainingCheckpoint(dir, { tokenizer: { ...TOKENIZER, hash: "ffff0000ffff0000" } }), /trained with tokenizer toy a1b2c3d4e5f6 \(8 tokens\).*current tokenizer is toy ffff0000ffff/);
    assert.throws(() => loadTrainingCheckpoint(dir, { config: { vocab_size: 8, n_embd: 4 } }), /n_embd: checkpoint 3, expected 4/);
    const wrong = new Map([["layer.weight", tf.variable(tf.zeros([3, 2]))]]);
    const ck = loadTrainingCheckpoint(dir);
    assert.throws(() => assignWeights(wrong, ck.weights, "ckpt"), /ckpt does not fit the model: unexpected 1: layer.bias/);
    const transposed = new Map([["layer.weight", tf.variable(tf.zeros([3, 2]))], ["layer.bias", tf.variable(tf.zeros([3]))]]);
    assert.throws(() => assignWeights(transposed, ck.weights, "ckpt"), /^Error: ckpt does not fit the model: mismatched 1: layer\.weight: shape \[2, 3\] in the file, the model expects \[3, 2\]$/);
    assert.deepStrictEqual(Array.from(transposed.get("layer.bias")!.dataSync()), [0, 0, 0], "nothing is assigned when one weight does not fit");
    tf.dispose([...transposed.values()]);
    ck.dispose();
    // One flipped bit in the weights: caught by the hash in meta.json, not loaded as a slightly different model.
    const file = path.join(saved, "model.safetensors");
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 0x10;
    fs.writeFileSync(file, bytes);
    assert.throws(() => loadTrainingCheckpoint(dir), /model.safetensors: SHA-256 .* \(corrupted\)/);
    fs.writeFileSync(file, bytes.subarray(0, 100));
    assert.throws(() => loadTrainingCheckpoint(dir), /100 bytes, meta.json says \d+ \(truncated or replaced\)/);
    tf.dispose([...w.values(), ...wrong.values()]);
  });

  it("keeps the newest checkpoints, and saving a step twice never touches the current one", async () => {
    const w = weights(1);
    const save = (step: number, keep = 2) => saveTrainingCheckpoint(dir, { stage: "toy", step, config: {}, weights: w }, { keep });
    await save(1);
    await save(2);
    await save(3);
    assert.deepStrictEqual(listCheckpoints(dir).map((c) => c.step), [2, 3]);
    const again = await save(3);
    assert.strictEqual(path.basename(again), "step-00000003.1");
    assert.strictEqual(latestCheckpoint(dir), again);
    assert.deepStrictEqual(listCheckpoints(dir).map((c) => c.name), ["step-00000003", "step-00000003.1"]);
    // Without the pointer, the newest complete folder is found.
    fs.rmSync(path.join(dir, "latest"));
    assert.strictEqual(latestCheckpoint(dir), again);
    tf.dispose([...w.values()]);
  });

  // A child saves step 1 completely, then starts saving step 2 with other weights and is SIGKILLed at `phase`.
  const CHILD = `
    const { tf, saveTrainingCheckpoint } = require("tiaoyu");
    const [runDir, phase] = process.argv.slice(1);
    const w = tf.variable(tf.tensor1d([1, 2, 3]));
    const state = (step) => ({ stage: "toy", step, config: { v: 1 }, weights: new Map([["w", w]]), rng: [1, 2, 3, step] });
    (async () => {
      await saveTrainingCheckpoint(runDir, state(1));
      w.assign(tf.tensor1d([4, 5, 6]));
      await saveTrainingCheckpoint(runDir, state(2), { onPhase: async (p) => {
        if (p !== phase) return;
        setInterval(() => {}, 1000);          // stay alive until killed
        process.stdout.write("AT " + p + "\\n");
        await new Promise(() => {});
      } });
    })();
  `;

  function runAndKill(runDir: string, phase: SavePhase): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["-e", CHILD, runDir, phase], { cwd: projectRoot(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => {
        out += d;
        if (out.includes(`AT ${phase}`)) child.kill("SIGKILL");
      });
      child.stderr.on("data", (d) => (err += d));
      child.on("exit", (code, signal) =>
        signal === "SIGKILL" ? resolve() : reject(new Error(`child exited with ${code} before phase ${phase}: ${err}`)),
      );
    });
  }

  for (const [phase, survivor] of [
    ["temp-folder-written", [1, 2, 3]],
    ["folder-renamed", [1, 2, 3]],
    ["pointer-written", [4, 5, 6]],
    // Killed while deleting the replaced checkpoint: it was renamed away first, so no half-deleted step-1 remains.
    ["old-renamed", [4, 5, 6]],
  ] as const) {
    it(`a process killed during a save (${phase}) leaves a loadable checkpoint`, async function () {
      this.timeout(60_000);
      await runAndKill(dir, phase);
      const ck = loadTrainingCheckpoint(dir);
      assert.deepStrictEqual(Array.from(ck.weights.get("w")!.dataSync()), survivor);
      assert.strictEqual(ck.meta.step, survivor[0] === 1 ? 1 : 2);
      ck.dispose();
      // The next save sweeps what the killed one left behind.
      const w = new Map([["w", tf.variable(tf.tensor1d([7, 8, 9]))]]);
      await saveTrainingCheckpoint(dir, { stage: "toy", step: 3, config: { v: 1 }, weights: w });
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["latest", "step-00000003"]);
      tf.dispose([...w.values()]);
    });
  }
});

describe("course/projectPath", () => {
  it("shows paths inside the project relative to it, and others unchanged", () => {
    assert.strictEqual(projectPath(path.join(projectRoot(), "runs", "sft", "step-00000100")), path.join("runs", "sft", "step-00000100"));
    assert.strictEqual(projectPath(path.join(os.tmpdir(), "elsewhere")), path.join(os.tmpdir(), "elsewhere"));
    assert.strictEqual(projectPath(path.join(projectRoot(), "..", "sibling")), path.join(projectRoot(), "..", "sibling"));
  });
});
