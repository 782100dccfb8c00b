/**
 * The SFT stage (lib/train/sft.ts): reproducible padded batches, the loss counts answer tokens only, the loss
 * falls on a tiny model, no leaks in full or LoRA steps, a whole run with its checkpoint or adapter, ensureSft.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  buildQa,
  ByteBPETokenizer,
  ChatSampler,
  chatReply,
  type CorpusInfo,
  encodeChat,
  encodeChatData,
  ensureSelfAnswers,
  writeJsonl,
  ensureSft,
  evaluateQa,
  GPT,
  gptConfig,
  initBackend,
  type PoemRecord,
  qaComparisonRows,
  qaEvalSet,
  type QaItem,
  replyBudget,
  replayExamples,
  collateChat,
  buildAnthologyQa,
  runSft,
  sftExamples,
  sftSettings,
  sftStage,
  stageTrainingSummary,
  tf,
  train,
  applyLora,
} from "tiaoyu";
import { expectNoLeak } from "../leak";
import { POEMS, tempRunsDir, writeSamples } from "./train_fixtures";

const TITLES = ["静夜思", "春晓", "登鹳雀楼", "江雪", "相思", "寻隐者不遇"];
const AUTHORS = ["李白", "孟浩然", "王之涣", "柳宗元", "王维", "贾岛"];

/** The six fixture poems as corpus records; every poem's questions are put in one split by hand. */
function poems(): PoemRecord[] {
  return POEMS.map((text, i) => ({
    id: `tang-${i}`,
    collection: "tang",
    title: TITLES[i],
    author: AUTHORS[i],
    paragraphs: [text.slice(0, 12), text.slice(12)],
    form: "五言绝句",
    split: "train",
  }));
}

describe("SFT data: corpus questions and the anthology's", () => {
  const q = (prompt: string, split: "train" | "heldout", template: QaItem["template"] = "author"): QaItem => ({ prompt, answer: `「${prompt}」`, expected: prompt, template, poemId: prompt, split });
  const corpus = [...Array.from({ length: 10 }, (_, i) => q(`c${i}`, "train")), q("ch", "heldout")];
  const anthology = [q("a0", "train", "title"), q("a1", "train", "title"), q("ah", "heldout", "title")];

  it("repeats the anthology's training questions, caps the corpus's, and validates on held-out anthology questions", () => {
    const d = sftExamples(corpus, anthology, { anthologyRepeat: 3, corpusQuestions: 4, dataSeed: 1 });
    assert.strictEqual(d.corpusTrain, 4);
    assert.strictEqual(d.anthologyTrain, 2);
    assert.strictEqual(d.train.length, 4 + 3 * 2);
    assert.strictEqual(d.train.filter((x) => x.prompt === "a0").length, 3);
    assert.ok(d.train.every((x) => x.split === "train"), "no held-out question is trained on");
    assert.deepStrictEqual(d.validation.map((x) => x.prompt), ["ah"]);
    assert.deepStrictEqual(sftExamples(corpus, anthology, { anthologyRepeat: 3, corpusQuestions: 4, dataSeed: 1 }), d, "the same seed draws the same corpus questions");
  });

  it("trains only on the corpus templates it is told to, and on every template when told null", () => {
    const mixed = [q("m0", "train", "meter"), q("t0", "train", "topic"), q("n0", "train", "nextLine"), q("a0", "train", "author"), q("mh", "heldout", "meter")];
    const d = sftExamples(mixed, [], { anthologyRepeat: 0, corpusQuestions: null, corpusTemplates: ["meter", "topic"], dataSeed: 1 });
    assert.deepStrictEqual(d.train.map((x) => x.prompt).sort(), ["m0", "t0"]);
    assert.strictEqual(d.corpusTrain, 2);
    const all = sftExamples(mixed, [], { anthologyRepeat: 0, corpusQuestions: null, corpusTemplates: null, dataSeed: 1 });
    assert.strictEqual(all.train.length, 4);
  });

  it("without anthology questions: every corpus question, validated on held-out corpus questions", () => {
    const d = sftExamples(corpus, [], { anthologyRepeat: 2, corpusQuestions: null, dataSeed: 1 });
    assert.strictEqual(d.train.length, 10);
    assert.deepStrictEqual(d.validation.map((x) => x.prompt), ["ch"]);
    const off = sftExamples(corpus, anthology, { anthologyRepeat: 0, corpusQuestions: null, dataSeed: 1 });
    assert.deepStrictEqual([off.train.length, off.validation.map((x) => x.prompt)], [10, ["ch"]], "repeat 0: the anthology neither trains nor validates");
  });
});

describe("how long a scored reply may be", () => {
  it("leaves room for a whole citation, poet and title included, and keeps one-sentence answers short", () => {
    // A 七言 couplet with a long title: a character-level tokenizer (the worst case the course's BPE improves on)
    // needs a token per character and one for <|end|>.
    const poem = { title: "送李少府贬峡中王少府贬长沙", author: "高适", paragraphs: ["嗟君此别意何如，驻马衔杯问谪居。", "巫峡啼猿数行泪，衡阳归雁几封书。"] };
    const cited = buildAnthologyQa([poem], { style: "cite" });
    assert.ok(cited.length > 0);
    for (const item of cited) assert.ok(replyBudget(item) >= [...item.answer].length + 1, `${item.answer}: ${[...item.answer].length} characters, budget ${replyBudget(item)}`);
    const direct = buildAnthologyQa([poem]);
    for (const item of direct) assert.ok(replyBudget(item) >= [...item.answer].length + 1 && replyBudget(item) <= 24, item.answer);
  });
});

describe("SFT", function () {
  this.timeout(120_000);
  let tok: ByteBPETokenizer;
  let items: QaItem[];
  const settings = { ...sftSettings("tiny"), batchSize: 4, evalBatches: 1 };

  before(async () => {
    await initBackend();
    items = buildQa(poems()).map((q, i) => ({ ...q, split: i % 5 === 4 ? "heldout" : "train" }));
    tok = await ByteBPETokenizer.train([...POEMS, ...items.map((q) => q.prompt + q.answer)], { vocabSize: 700 });
  });

  function tinyModel(blockSize = 48): GPT {
    return new GPT(gptConfig({ vocabSize: tok.vocabSize, blockSize, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 }), { seed: 5 });
  }

  it("replay: pretraining text read again is learned at every token but <s>, and what does not fit is left out", () => {
    const short = "<s>床前明月光，疑是地上霜。——李白《静夜思》</s>";
    const long = `<s>${"床前明月光，疑是地上霜。".repeat(20)}</s>`;
    const [r, ...rest] = replayExamples(tok, [short, long], 48);
    assert.strictEqual(rest.length, 0, "the sample longer than the context is left out");
    assert.deepStrictEqual(r.ids, tok.encode(short, { allowedSpecial: ["<s>", "</s>"] }));
    assert.deepStrictEqual(r.lossMask, r.ids.map((_, i) => (i === 0 ? 0 : 1)));
    const batch = collateChat([r], 48, tok.tokenToId("<pad>")!);
    assert.strictEqual(Array.from(batch.mask).reduce((a, b) => a + b, 0), r.ids.length - 1, "every target after <s> counts in the loss");
  });

  it("the sampler visits every example once per epoch, reproducibly, and resumes exactly", () => {
    const data = encodeChatData(tok, items, 48).encoded;
    assert.strictEqual(data.length, items.length, "every fixture question fits 48 tokens");
    const a = new ChatSampler(data, 3, 7, 48, 0);
    const seen = new Set<string>();
    const perEpoch = Math.ceil(data.length / 3);
    for (let i = 0; i < Math.floor(data.length / 3); i++) {
      const b = a.next();
      for (let r = 0; r < b.batchSize; r++) seen.add(Array.from(b.ids.slice(r * b.blockSize, r * b.blockSize + 6)).join(","));
    }
    assert.ok(seen.size >= Math.floor(data.length / 3) * 3 - 1, `${seen.size} distinct rows`);
    const state = a.state();
    const next = [a.next(), a.next()];
    const b = new ChatSampler(data, 3, 7, 48, 0);
    b.restore(state);
    assert.deepStrictEqual([b.next(), b.next()], next);
    assert.throws(() => b.restore({ seed: 8, epoch: 0, index: 0 }), /seeded with 7/);
    assert.throws(() => new ChatSampler(data, 3, 7, 10, 0), /more than blockSize 10/);
    assert.ok(perEpoch > 0);
  });

  it("drops the examples longer than the context and says how many", () => {
    const lens = items.map((q) => encodeChat(tok, q).ids.length);
    const limit = Math.min(...lens) + 1;
    const r = encodeChatData(tok, items, limit);
    assert.strictEqual(r.dropped, lens.filter((n) => n - 1 > limit).length);
    assert.strictEqual(r.kept.length + r.dropped, items.length);
    assert.ok(r.dropped > 0);
  });

  it("the loss counts answer tokens only: prompt targets can change without changing it", () => {
    const model = tinyModel();
    try {
      const data = encodeChatData(tok, items, 48).encoded;
      const stage = sftStage(model, { train: data, validation: data }, settings, { tokenizer: tok });
      const batch = stage.batches.next();
      const loss = (b: typeof batch) => tf.tidy(() => stage.loss(b, { training: false, seed: 0 }).dataSync()[0]);
      const base = loss(batch);
      const promptChanged = { ...batch, targets: batch.targets.map((t, i) => (batch.mask[i] === 0 ? (t + 1) % tok.vocabSize : t)) };
      const answerChanged = { ...batch, targets: batch.targets.map((t, i) => (batch.mask[i] === 1 ? (t + 1) % tok.vocabSize : t)) };
      assert.strictEqual(loss(promptChanged), base);
      assert.notStrictEqual(loss(answerChanged), base);
      assert.strictEqual(stage.tokens(batch), batch.mask.reduce((s, v) => s + v, 0));
      assert.strictEqual(stage.name, "sft");
      assert.strictEqual(stage.from, "anneal");
    } finally {
      model.dispose();
    }
  });

  it("the loss falls on a tiny model, and the model learns to answer a training question", async () => {
    const model = tinyModel();
    try {
      const train0 = encodeChatData(tok, items.filter((q) => q.split === "train"), 48);
      const stage = sftStage(model, { train: train0.encoded, validation: train0.encoded }, settings, { tokenizer: tok });
      const r = await train(stage, { steps: 200, lr: 1e-2, warmupSteps: 10, runDir: null, progress: "none", evalEvery: 0 });
      const first = r.history.train.slice(0, 5).reduce((s, x) => s + x.loss, 0) / 5;
      const last = r.history.train.slice(-5).reduce((s, x) => s + x.loss, 0) / 5;
      assert.ok(last < first * 0.5, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
      const q = train0.kept.find((x) => x.template === "author")!;
      const reply = await chatReply(model, tok, q.prompt);
      assert.strictEqual(reply.reply, q.answer, `asked ${q.prompt}`);
      // The evaluation asks and scores: a memorised training question is right.
      const ev = await evaluateQa(model, tok, [q]);
      assert.strictEqual(ev.accuracy, 1);
      assert.deepStrictEqual(ev.rows.map((x) => x.template), ["author", "all"]);
      assert.strictEqual(ev.answered.k, 1, "the reply answers in the taught format");
      const rows = qaComparisonRows({ a: ev, b: ev }, { baseline: { label: "多数答案", rates: { author: { k: 0, n: 1, rate: 0, low: 0, high: 0.79 } } } });
      assert.deepStrictEqual(rows[0], { 题型: "作者", n: 1, 多数答案: "0.0% [0.0–79.0]", a: "100.0% [20.7–100.0]", b: "100.0% [20.7–100.0]" }, "each cell with its Wilson interval, n = 1");
    } finally {
      model.dispose();
    }
  });

  it("full and LoRA SFT steps leak no tensors", async () => {
    const model = tinyModel();
    const data = encodeChatData(tok, items, 48).encoded;
    const full = sftStage(model, { train: data, validation: data }, settings, { tokenizer: tok });
    await expectNoLeak(async () => void (await train(full, { steps: 2, lr: 1e-3, runDir: null, progress: "none", evalEvery: 1 })), "SFT steps");
    // While adapters are attached the base weights are frozen (they get no gradient): only A and B train.
    const lora = applyLora(model, { rank: 2, alpha: 4, targets: ["attn.c_attn"] });
    try {
      await assert.rejects(train(full, { steps: 1, lr: 1e-3, runDir: null, progress: "none" }), /does not depend on transformer\.h\.0\.attn\.c_attn\.weight/);
      const adapters = sftStage(model, { train: data, validation: data }, settings, { tokenizer: tok, name: "lora", trainable: lora.trainable() });
      await expectNoLeak(async () => void (await train(adapters, { steps: 2, lr: 1e-3, runDir: null, progress: "none", evalEvery: 1 })), "LoRA SFT steps");
    } finally {
      lora.dispose();
      model.dispose();
    }
  });

  it("chooses evaluation questions per template, distinct, of the split, fitting the context", () => {
    const set = qaEvalSet(items, { split: "heldout", perTemplate: 1, tokenizer: tok, blockSize: 48 });
    assert.ok(set.length > 0);
    assert.ok(set.every((q) => q.split === "heldout"));
    assert.strictEqual(new Set(set.map((q) => q.template)).size, set.length);
    assert.deepStrictEqual(qaEvalSet(items, { perTemplate: 5, tokenizer: tok, blockSize: 4 }), []);
  });

  describe("runs", () => {
    const tmp = tempRunsDir("sft-");

    it("runSft writes the sft checkpoint; with LoRA only a small adapter", async () => {
      const quiet = () => {};
      const full = await runSft({ tokenizer: tok, qa: items, model: tinyModel(), preset: "tiny", batchSize: 4, steps: 3, progress: "none", log: quiet });
      assert.ok(full.result.checkpoint?.includes(path.join("runs", "sft")));
      assert.strictEqual(full.trainableParameters, full.totalParameters);
      assert.ok(full.checkpointBytes! > full.totalParameters * 4);
      full.model.dispose();

      const lora = await runSft({ tokenizer: tok, qa: items, model: tinyModel(), preset: "tiny", batchSize: 4, steps: 3, progress: "none", log: quiet, lora: { rank: 2, alpha: 4, targets: ["attn.c_attn"] } });
      // A and B of c_attn in 2 blocks, and the embedding rows of the 4 chat markers (new tokens: they train too).
      assert.strictEqual(lora.trainableParameters, 2 * (32 * 2 + 2 * 96) + 4 * 32);
      assert.strictEqual(lora.lora!.tokens!.ids.length, 4);
      assert.ok(fs.existsSync(path.join(tmp.dir, "runs", "lora", "adapter", "adapter_model.safetensors")));
      assert.ok(lora.checkpointBytes! < lora.trainableParameters * 4 + 2000, `${lora.checkpointBytes} bytes`);
      const summary = stageTrainingSummary("lora");
      assert.strictEqual(summary.trainableParameters, lora.trainableParameters);
      assert.strictEqual(summary.checkpointBytes, lora.checkpointBytes);
      assert.strictEqual(summary.steps, 3);
      assert.strictEqual(stageTrainingSummary("sft").checkpointBytes, full.checkpointBytes);
      lora.lora!.dispose();
      lora.model.dispose();
    });

    it("runSft asks the base for its own answers before training and trains on them (selfAnswers)", async () => {
      const saved = process.env.TIAOYU_DATA_DIR;
      process.env.TIAOYU_DATA_DIR = path.join(tmp.dir, "data");
      try {
        const poemsFile = path.join(tmp.dir, "poems.jsonl");
        await writeJsonl(poemsFile, poems());
        const corpus = { poemsFile, report: { configHash: "fedcba9876543210" } } as unknown as CorpusInfo;
        const model = tinyModel();
        // The random model writes no lines; put three answers in its cache, as if it had.
        await ensureSelfAnswers(model, tok, corpus, { exclude: new Set(), count: 12, seed: sftSettings("tiny").dataSeed, log: () => {} });
        const cacheDir = path.join(tmp.dir, "data", "self-answers");
        const [cached] = fs.readdirSync(cacheDir);
        const asked: QaItem[] = ["床前明月光", "春眠不觉晓", "白日依山尽"].map((first, i) => ({ prompt: `「${first}」的下一句是什么？`, answer: `「${first}，一二三四五」`, expected: "一二三四五", template: "nextLine", poemId: `tang-${i}`, split: "train" }));
        await writeJsonl(path.join(cacheDir, cached), asked);
        const lines: string[] = [];
        const run = await runSft({ tokenizer: tok, qa: items, model, corpus, preset: "tiny", batchSize: 4, steps: 2, progress: "none", log: (l) => lines.push(l), settings: { selfAnswers: 12 }, runDir: path.join(tmp.dir, "runs", "sft-self") });
        // The same cached questions: asked of the base before its weights moved.
        const meta = JSON.parse(fs.readFileSync(path.join(run.result.checkpoint!, "meta.json"), "utf8"));
        assert.strictEqual(meta.extra.selfAnswers, 3);
        assert.strictEqual(run.data.train, items.filter((q) => q.split === "train").length + asked.length);
        assert.ok(lines.some((l) => l.includes("including 3 next-line questions the base answered itself")), lines.join("\n"));
        run.model.dispose();
      } finally {
        if (saved === undefined) delete process.env.TIAOYU_DATA_DIR;
        else process.env.TIAOYU_DATA_DIR = saved;
      }
    });

    it("ensureSft: in quick mode fine-tunes a tiny one on the spot, then loads it", async () => {
      process.env.TIAOYU_QUICK = "1";
      const train0 = writeSamples(tmp.dir, "train.jsonl", [...POEMS, ...POEMS, ...POEMS]);
      const corpus = { files: { train: train0, validation: train0, test: train0 } } as unknown as CorpusInfo;
      const lines: string[] = [];
      const first = await ensureSft(tok, { steps: 2, qa: items, corpus, log: (l) => lines.push(l) });
      assert.strictEqual(first.meta.stage, "sft");
      assert.strictEqual(first.meta.from, "anneal");
      assert.ok(lines.some((l) => /no checkpoint of stage .sft. in .*: training it now \(tiny preset, 2 steps\)/.test(l)), lines.join("\n"));
      const again = await ensureSft(tok, { log: () => assert.fail("must load, not train") });
      assert.strictEqual(again.dir, first.dir);
      first.model.dispose();
      again.model.dispose();
    });
  });
});
