/**
 * Checkpoints shipped with the course (lib/train/shipped.ts): a model shipped into a temporary folder is listed
 * with its SHA-256, loads, and reproduces its recorded loss; a changed, missing or unlisted file is caught; quick
 * mode never uses one; a stage with an empty run folder gets the shipped model installed as its checkpoint (and
 * is then loaded, not trained), while a run of the learner's own always wins. The last test checks the
 * repository's own checkpoints/ when it has any.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  batchLoss, batchSha256, ensureCorpus, ensureStage, hasStage, installShipped, loadStage, ensureTokenStream, evalBatches, GPT, gptConfig, loadShipped, loadTokenizer,
  readSafetensorsHeader, readSamples, readShippedManifest, shipModel, shippedDir, shippedModelFor, tokenizerIdentity, type TokenBatch, verifyShipped,
  type JsonRecord,
} from "tiaoyu";
import { saveEnv } from "./train_fixtures";

const CONFIG = gptConfig({ vocabSize: 40, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 });

function seededBatch(rows: number): TokenBatch {
  const n = rows * CONFIG.blockSize;
  const x = Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % 40);
  const y = Int32Array.from({ length: n }, (_, i) => (i * 11 + 5) % 40);
  return { x, y, batchSize: rows, blockSize: CONFIG.blockSize };
}

describe("shipped checkpoints", () => {
  let dir: string;
  let tokFile: string;
  const quick = process.env.TIAOYU_QUICK;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-shipped-"));
    tokFile = path.join(dir, "..", `${path.basename(dir)}-tokenizer.json`);
    fs.writeFileSync(tokFile, JSON.stringify({ model: { type: "BPE", vocab: { a: 0 } } }));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tokFile, { force: true });
    if (quick === undefined) delete process.env.TIAOYU_QUICK;
    else process.env.TIAOYU_QUICK = quick;
  });

  async function ship(name = "base", model = new GPT(CONFIG, { seed: 3 }), facts?: JsonRecord) {
    try {
      return await shipModel(name, model, {
        stage: name === "base" ? "anneal" : name, tokenizerFile: tokFile, tokenizer: { hash: "abc", vocabSize: 40, name: "bpe-40" },
        checkBatch: seededBatch(2), command: "npx tiaoyu ship", commit: "0000000", numbers: { valLoss: 3.2 }, facts, dir,
      });
    } finally {
      model.dispose();
    }
  }

  it("ships float16 weights with a manifest of SHA-256s, and the loaded model reproduces the recorded loss", async () => {
    const full = new GPT(CONFIG, { seed: 3 });
    const fullLoss = batchLoss(full, seededBatch(2));
    full.dispose();
    const entry = await ship();
    const manifest = readShippedManifest(dir)!;
    assert.deepStrictEqual(Object.keys(manifest.files).sort(), ["base/config.json", "base/model.safetensors", "tokenizer.json"]);
    assert.deepStrictEqual(verifyShipped(dir), []);
    assert.strictEqual(entry.check.batchSha256, batchSha256(seededBatch(2)));
    // float16: every tensor is F16, and the rounding moves the loss only in the third decimal or less.
    const header = readSafetensorsHeader(path.join(dir, "base", "model.safetensors"));
    assert.deepStrictEqual([...new Set([...header.entries.values()].map((e) => e.dtype))], ["F16"]);
    assert.ok(Math.abs(entry.check.loss - fullLoss) < 1e-2, `${entry.check.loss} vs float32 ${fullLoss}`);
    const before = (await import("tiaoyu")).tf.memory().numTensors;
    const { model } = loadShipped("base", dir);
    assert.strictEqual(batchLoss(model, seededBatch(2)), entry.check.loss);
    model.dispose();
    assert.strictEqual((await import("tiaoyu")).tf.memory().numTensors, before, "loadShipped + dispose leaks nothing");
  });

  it("catches a changed, missing or unlisted file, and refuses to load a damaged model", async () => {
    await ship();
    const weights = path.join(dir, "base", "model.safetensors");
    const bytes = fs.readFileSync(weights);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(weights, bytes);
    fs.writeFileSync(path.join(dir, "base", "notes.txt"), "hi");
    const problems = verifyShipped(dir);
    assert.ok(problems.some((p) => /base\/model\.safetensors: SHA-256 differs/.test(p)), problems.join("\n"));
    assert.ok(problems.some((p) => /base\/notes\.txt: not in the manifest/.test(p)), problems.join("\n"));
    assert.throws(() => loadShipped("base", dir), /shipped model 'base' .* is damaged: base\/model\.safetensors: SHA-256 differs/);
    fs.rmSync(path.join(dir, "base", "config.json"));
    assert.ok(verifyShipped(dir).some((p) => p === "base/config.json: missing"));
    assert.throws(() => loadShipped("sft", dir), /no shipped model 'sft' .*\(shipped: base\)/);
  });

  it("is used for a stage only outside quick mode", async () => {
    await ship();
    delete process.env.TIAOYU_QUICK;
    assert.strictEqual(shippedModelFor("anneal", dir)?.name, "base");
    assert.strictEqual(shippedModelFor("sft", dir), null);
    process.env.TIAOYU_QUICK = "1";
    assert.strictEqual(shippedModelFor("anneal", dir), null);
  });

  it("rejects a manifest with bad fields, naming the field; and a second model with another tokenizer", async () => {
    await ship();
    const file = path.join(dir, "manifest.json");
    const good = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...good, models: { base: { ...good.models.base, check: { ...good.models.base.check, loss: "low" } } } }));
    assert.throws(() => readShippedManifest(dir), /manifest\.json: models\.base\.check must have a finite loss/);
    fs.writeFileSync(file, JSON.stringify({ ...good, format: "other" }));
    assert.throws(() => readShippedManifest(dir), /manifest\.json: format must be "tiaoyu-shipped"/);
    fs.writeFileSync(file, JSON.stringify(good));
    fs.writeFileSync(tokFile, JSON.stringify({ model: { type: "BPE", vocab: { b: 0 } } }));
    await assert.rejects(() => ship("sft"), /differs from the shipped .*tokenizer\.json that base were trained with/);
  });

  describe("installed into an empty run folder", () => {
    let runs: string;
    let restoreEnv: () => void;
    beforeEach(() => {
      restoreEnv = saveEnv(["TIAOYU_RUNS_DIR", "TIAOYU_QUICK"]);
      runs = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-shipped-runs-"));
      process.env.TIAOYU_RUNS_DIR = runs;
      delete process.env.TIAOYU_QUICK;
    });
    afterEach(() => {
      fs.rmSync(runs, { recursive: true, force: true });
      restoreEnv();
    });

    it("becomes runs/<stage>'s checkpoint with the shipped weights, says so, and is never installed over a run", async () => {
      const entry = await ship();
      const lines: string[] = [];
      assert.strictEqual(await installShipped("anneal", { dir, log: (l) => lines.push(l) }), true);
      assert.match(lines.join("\n"), /no checkpoint of stage 'anneal' .*installed the course's shipped model .*base there .*cannot be resumed.*npx tiaoyu anneal --fresh/);
      assert.ok(hasStage("anneal"));
      const { model, meta } = loadStage("anneal", { tokenizer: { hash: "abc", vocabSize: 40 } });
      try {
        assert.strictEqual(meta.extra?.shipped, "base");
        assert.strictEqual(meta.optimizer, null, "no optimizer state: it cannot be resumed as if it were a run");
        assert.strictEqual(batchLoss(model, seededBatch(2)), entry.check.loss, "the float16 weights, widened exactly");
      } finally {
        model.dispose();
      }
      assert.strictEqual(await installShipped("anneal", { dir }), false, "a checkpoint is there now: nothing is installed over it");
      assert.strictEqual(await installShipped("sft", { dir }), false, "nothing is shipped for sft");
      process.env.TIAOYU_QUICK = "1";
      assert.strictEqual(await installShipped("anneal", { dir }), false, "quick mode trains its own");
    });

    it("restores the run's facts into the installed meta.json, under the shipped model's own fields", async () => {
      const facts = { rewrite: { share: 0.35, flawed: 7, of: 20, counts: { rude: 7 } }, shipped: "not this", preset: "course" };
      await ship("base", new GPT(CONFIG, { seed: 3 }), facts);
      assert.deepStrictEqual(readShippedManifest(dir)!.models.base.facts, facts);
      assert.strictEqual(await installShipped("anneal", { dir, log: () => {} }), true);
      const { model, meta } = loadStage("anneal", { tokenizer: { hash: "abc", vocabSize: 40 } });
      model.dispose();
      assert.deepStrictEqual(meta.extra?.rewrite, facts.rewrite);
      assert.strictEqual(meta.extra?.preset, "course");
      assert.strictEqual(meta.extra?.shipped, "base", "the installer's own field wins over a fact of the same name");
    });

    it("refuses a learner's tokenizer that is not the shipped model's", async () => {
      await ship();
      await assert.rejects(installShipped("anneal", { dir, tokenizer: { hash: "other", vocabSize: 40 } }), /shipped model 'base' for stage 'anneal' was trained with tokenizer .*abc.*not .*other/);
      assert.strictEqual(hasStage("anneal"), false, "nothing was written");
    });

    it("ensureStage loads the shipped model instead of training when the course ships one (repository checkpoints/)", async function () {
      // ensureStage reads the repository's checkpoints/, so this needs a shipped model there.
      const shipped = shippedModelFor("anneal");
      if (!shipped) return this.skip();
      this.timeout(120_000);
      let trained = false;
      const { model } = await ensureStage("anneal", { train: async () => void (trained = true), log: () => {} });
      model.dispose();
      assert.strictEqual(trained, false);
      assert.ok(hasStage("anneal"));
    });
  });

  it("the repository's checkpoints/: every file matches the manifest and each model reproduces its recorded loss", async function () {
    const manifest = readShippedManifest();
    if (!manifest) return this.skip(); // nothing shipped yet
    this.timeout(600_000);
    assert.deepStrictEqual(verifyShipped(), []);
    const tok = loadTokenizer(path.join(shippedDir(), "tokenizer.json"));
    const corpus = await ensureCorpus();
    const val = await ensureTokenStream(corpus.files.validation, () => readSamples(corpus.files.validation), tok);
    for (const [name, entry] of Object.entries(manifest.models)) {
      assert.strictEqual(entry.tokenizer.hash, tokenizerIdentity(tok).hash, `${name}: trained with the shipped tokenizer`);
      // Chapter 7 reads the flawed SFT's rewrite from its meta.json: a fresh clone has only the shipped model's.
      if (entry.stage === "sft-flawed") {
        const rw = entry.facts?.rewrite as { flawed?: number; of?: number; counts?: Record<string, number> } | undefined;
        assert.ok(rw && Number.isInteger(rw.flawed) && Number.isInteger(rw.of) && rw.of! > rw.flawed!, `${name}: facts.rewrite holds the counts chapter 7 shows`);
        assert.strictEqual(Object.values(rw!.counts ?? {}).reduce((a, b) => a + b, 0), rw!.flawed);
      }
      const { model } = loadShipped(name);
      try {
        const batch = evalBatches(val.tokens, model.config.blockSize, entry.check.rows, 1)[0];
        assert.strictEqual(batchSha256(batch), entry.check.batchSha256, `${name}: the check batch is the recorded one (same corpus and tokenizer)`);
        assert.ok(Math.abs(batchLoss(model, batch) - entry.check.loss) < 1e-4, `${name}: loss ${batchLoss(model, batch)} vs recorded ${entry.check.loss}`);
      } finally {
        model.dispose();
      }
    }
  });
});
