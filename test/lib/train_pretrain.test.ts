/**
 * Pretraining data and the pretraining stage on the tiny GPT: the cached token stream, reproducible batches,
 * exact resume with dropout on, and handing the model to the next stage by name.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  BlockSampler,
  type CorpusInfo,
  ensurePretrained,
  ensureTokenStream,
  evalBatches,
  GPT,
  hasStage,
  loadModel,
  loadStage,
  presetConfig,
  PRETRAIN_PRESETS,
  pretrainStage,
  readSamples,
  stageDir,
  tf,
  tokenCachePath,
  tokenizerIdentity,
  train,
  type Tokenizer,
} from "tiaoyu";
import { CharTokenizer, POEMS, poemRunFixture, poemTokenizer, writeSamples } from "./train_fixtures";

describe("train/tokens", () => {
  let dir: string;
  const tok = poemTokenizer();
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-tokens-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("encodes samples end to end with <s> and </s>, caches them, and rebuilds when stale", async () => {
    const file = writeSamples(dir, "train.jsonl", POEMS);
    const s1 = await ensureTokenStream(file, () => readSamples(file), tok);
    assert.strictEqual(s1.cached, false);
    assert.strictEqual(s1.samples, POEMS.length);
    assert.strictEqual(s1.tokens.length, POEMS.reduce((n, p) => n + p.length + 2, 0));
    assert.ok(s1.tokens instanceof Uint16Array);
    const bos = tok.tokenToId("<s>")!;
    const eos = tok.tokenToId("</s>")!;
    assert.strictEqual(s1.tokens[0], bos);
    assert.strictEqual(s1.tokens[POEMS[0].length + 1], eos);
    assert.strictEqual(s1.tokens[POEMS[0].length + 2], bos);
    assert.strictEqual(tok.decode(s1.tokens.subarray(0, POEMS[0].length + 2)), `<s>${POEMS[0]}</s>`);
    assert.strictEqual(s1.file, tokenCachePath(file, tokenizerIdentity(tok)));

    const s2 = await ensureTokenStream(file, () => { throw new Error("must not read the samples again"); }, tok);
    assert.strictEqual(s2.cached, true);
    assert.deepStrictEqual(Array.from(s2.tokens), Array.from(s1.tokens));

    // A changed source file is noticed (size and modification time), and so is a damaged cache.
    writeSamples(dir, "train.jsonl", POEMS.slice(1));
    const s3 = await ensureTokenStream(file, () => readSamples(file), tok);
    assert.strictEqual(s3.cached, false);
    assert.strictEqual(s3.samples, POEMS.length - 1);
    const bytes = fs.readFileSync(s3.file);
    bytes[4] ^= 1;
    fs.writeFileSync(s3.file, bytes);
    assert.strictEqual((await ensureTokenStream(file, () => readSamples(file), tok)).cached, false);

    // Another tokenizer: another identity, another cache file.
    const other = new CharTokenizer(POEMS.join("") + "甲");
    assert.notStrictEqual(tokenizerIdentity(other).hash, tokenizerIdentity(tok).hash);
    assert.notStrictEqual((await ensureTokenStream(file, () => readSamples(file), other)).file, s1.file);
  });

  it("refuses a tokenizer without <s> and </s>", async () => {
    const file = writeSamples(dir, "train.jsonl", POEMS);
    const plain = { vocabSize: 10, encode: (t: string) => [...t].map(() => 1), toJSON: () => ({}) };
    await assert.rejects(ensureTokenStream(file, () => readSamples(file), plain), /no special tokens <s> and <\/s>/);
  });

  it("samples blocks reproducibly: y is x shifted, every block once per epoch, and a restored sampler continues exactly", () => {
    const stream = Uint16Array.from({ length: 101 }, (_, i) => i); // 100 transitions: 10 blocks of 10
    const a = new BlockSampler(stream, 10, 3, 42);
    const b = new BlockSampler(stream, 10, 3, 42);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ba = a.next();
      assert.deepStrictEqual(ba, b.next());
      for (let row = 0; row < 3; row++) {
        for (let t = 0; t < 10; t++) assert.strictEqual(ba.y[row * 10 + t], ba.x[row * 10 + t] + 1);
        seen.push(ba.x[row * 10]);
      }
    }
    assert.strictEqual(new Set(seen).size, 9); // 9 of the epoch's 10 blocks, none twice
    for (const s of seen) assert.strictEqual(s % 10, 0); // epoch 0 starts blocks at multiples of blockSize
    assert.notDeepStrictEqual(new BlockSampler(stream, 10, 3, 43).next(), new BlockSampler(stream, 10, 3, 42).next());

    // Save mid-epoch, run on past the epoch boundary, and compare with a sampler restored from the saved state.
    const saved = JSON.parse(JSON.stringify(a.state()));
    const after = Array.from({ length: 8 }, () => a.next());
    const c = new BlockSampler(stream, 10, 3, 42);
    c.restore(saved);
    assert.deepStrictEqual(Array.from({ length: 8 }, () => c.next()), after);
    assert.throws(() => new BlockSampler(stream, 10, 3, 7).restore(saved), /cannot restore/);
    assert.throws(() => new BlockSampler(stream.subarray(0, 15), 10, 3, 1), /too short/);

    const ev = evalBatches(stream, 10, 3, 5);
    assert.strictEqual(ev.length, 3); // 10 blocks make 3 whole batches of 3
    assert.deepStrictEqual(Array.from(ev[1].x.subarray(0, 3)), [30, 31, 32]);
    const small = evalBatches(stream.subarray(0, 25), 10, 3, 5); // 2 blocks: one batch of 2 rows
    assert.deepStrictEqual([small.length, small[0].batchSize], [1, 2]);
  });
});

describe("train/pretrain (tiny GPT)", function () {
  this.timeout(120_000);
  const fx = poemRunFixture("tiaoyu-pretrain-", POEMS.slice(0, 5), POEMS.slice(5));
  const tok = poemTokenizer();
  const settings = { ...PRETRAIN_PRESETS.tiny, batchSize: 4, evalBatches: 1 };
  const config = presetConfig("tiny", { vocabSize: tok.vocabSize, blockSize: 16, dropout: 0.1 });

  it("resumes exactly with dropout on: 2N steps straight = N, stop, resume, N", async () => {
    const N = 4;
    const opts = { steps: 2 * N, warmupSteps: 2, evalEvery: 2, checkpointEvery: 0, progress: "none" as const };
    const a = new GPT(config, { seed: 1 });
    const straight = await train(pretrainStage(a, fx.data, settings), { ...opts, runDir: path.join(fx.dir, "a") });

    const b1 = new GPT(config, { seed: 1 });
    const stop = new AbortController();
    await train(pretrainStage(b1, fx.data, settings), { ...opts, runDir: path.join(fx.dir, "b"), signal: stop.signal, onStep: (r) => r.step === N && stop.abort() });
    b1.dispose();
    const b2 = new GPT(config, { seed: 99 });
    const resumed = await train(pretrainStage(b2, fx.data, settings), { ...opts, runDir: path.join(fx.dir, "b"), resume: true });

    const la = straight.history.train.map((r) => r.loss);
    const lb = resumed.history.train.map((r) => r.loss);
    assert.strictEqual(lb.length, 2 * N);
    la.forEach((l, i) => assert.ok(Math.abs(l - lb[i]) <= 1e-5 * Math.abs(l), `step ${i + 1}: ${l} vs ${lb[i]}`));
    assert.ok(Math.abs(straight.valLoss! - resumed.valLoss!) <= 1e-5 * straight.valLoss!);
    // Not trivially equal: the loss moved, and a different dropout stream would have changed it.
    assert.ok(la[la.length - 1] < la[0], `loss ${la[0]} → ${la[la.length - 1]}`);
    a.dispose();
    b2.dispose();
  });

  it("hands the trained model to the next stage by name, and refuses another tokenizer", async () => {
    assert.strictEqual(hasStage("pretrain"), false);
    const model = new GPT(config, { seed: 3 });
    const counts: number[] = [];
    const r = await train(pretrainStage(model, fx.data, settings), { steps: 3, progress: "none", onStep: () => counts.push(tf.memory().numTensors) });
    assert.ok(counts.every((c) => c === counts[0]), `live tensors after each step: ${counts}`);
    assert.strictEqual(path.dirname(r.checkpoint!), stageDir("pretrain"));
    assert.ok(hasStage("pretrain"));
    const loaded = loadStage("pretrain", { tokenizer: tokenizerIdentity(tok) });
    assert.strictEqual(loaded.meta.step, 3);
    assert.deepStrictEqual(loaded.model.config, model.config);
    for (const [name, v] of model.parameters()) {
      assert.deepStrictEqual(Array.from(loaded.model.parameters().get(name)!.dataSync()), Array.from(v.dataSync()), name);
    }
    assert.strictEqual(loaded.meta.extra?.batchSize, 4);
    // The checkpoint folder is also a plain GPT-2-format model folder (what PyTorch users load).
    const plain = loadModel(r.checkpoint!);
    assert.deepStrictEqual(Array.from(plain.model.parameters().get("transformer.wte.weight")!.dataSync()), Array.from(model.parameters().get("transformer.wte.weight")!.dataSync()));
    plain.model.dispose();
    const other = tokenizerIdentity(new CharTokenizer(POEMS.join("") + "乙"));
    assert.throws(() => loadStage("pretrain", { tokenizer: other }), /trained with tokenizer/);
    assert.throws(() => loadStage("sft"), /no checkpoint for stage 'sft'/);
    loaded.model.dispose();
    model.dispose();
  });

  it("ensurePretrained: loads the stage, or in quick mode trains a tiny one when there is none", async () => {
    const quick = process.env.TIAOYU_QUICK;
    process.env.TIAOYU_QUICK = "1"; // quick runs live in runs/pretrain-quick: nothing there yet
    try {
      assert.strictEqual(hasStage("pretrain"), false);
      const train = path.join(fx.dir, "train.jsonl"); // (tiny blocks of 32 need more than the one validation poem)
      const files = { train, validation: train, test: train };
      const corpus = { files } as unknown as CorpusInfo; // only the split files are read
      const lines: string[] = [];
      const first = await ensurePretrained(tok as unknown as Tokenizer, { steps: 2, corpus, log: (l) => lines.push(l) });
      assert.strictEqual(first.meta.step, 2);
      assert.strictEqual(first.model.config.nLayer, presetConfig("tiny").nLayer);
      assert.match(lines[0], /no checkpoint of stage .pretrain. in .*: training it now \(tiny preset, 2 steps\)/);
      const again = await ensurePretrained(tok as unknown as Tokenizer, { corpus, log: () => assert.fail("must load, not train") });
      assert.strictEqual(again.dir, first.dir);
      first.model.dispose();
      again.model.dispose();
    } finally {
      if (quick === undefined) delete process.env.TIAOYU_QUICK;
      else process.env.TIAOYU_QUICK = quick;
    }
  });
});
