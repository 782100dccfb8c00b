/**
 * Self-answered next-line questions (lib/train/selfAnswers.ts): which couplets are asked, that each answer is the
 * base's own greedy continuation in chapter 6's cite format, the cache keyed by the weights, bad input, no leaks.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  complete,
  type CorpusInfo,
  corpusCouplets,
  ensureSelfAnswers,
  GPT,
  parseContinuation,
  PRETRAIN_PRESETS,
  presetConfig,
  pretrainStage,
  type PoemRecord,
  qaSplitOf,
  selfAnswer,
  tf,
  train,
  weightsHash,
  writeJsonl,
} from "tiaoyu";
import { expectNoLeak } from "../leak";
import { POEMS, poemRunFixture, poemTokenizer } from "./train_fixtures";

const record = (text: string, i: number): PoemRecord => ({
  id: `tang-${i}`,
  collection: "tang",
  title: `题${i}`,
  author: "佚名",
  paragraphs: [text.slice(0, 12), text.slice(12)],
  form: "五言绝句",
  split: "train",
});

describe("self-answers: reading a continuation", () => {
  it("takes the line up to 。 and the source when the base cites one", () => {
    assert.deepStrictEqual(parseContinuation("疑是地上霜。——李白《静夜思》</s>"), { line: "疑是地上霜", source: "——李白《静夜思》" });
    assert.deepStrictEqual(parseContinuation("疑是地上霜。举头望明月，"), { line: "疑是地上霜", source: "" });
  });

  it("refuses what is not one quotable line", () => {
    for (const text of ["疑是地上霜，举头望明月。", "霜。", "一二三四五六七八九十。", "</s>", "", "疑是「地上」霜。"]) assert.strictEqual(parseContinuation(text), null, text);
  });
});

describe("self-answers: which couplets are asked", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-self-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("takes the couplets of training poems only, and none with an excluded line", async () => {
    const poems = POEMS.map(record);
    const file = path.join(dir, "poems.jsonl");
    await writeJsonl(file, poems);
    const exclude = new Set(["疑是地上霜", "千山鸟飞绝"]);
    const got = await corpusCouplets({ poemsFile: file }, exclude);
    const want = poems
      .filter((p) => qaSplitOf(p) === "train")
      .flatMap((p) => {
        const lines = p.paragraphs.join("").split(/[，。]/u).filter(Boolean);
        return [0, 2].map((i) => ({ first: lines[i], second: lines[i + 1], poemId: p.id }));
      })
      .filter((c) => !exclude.has(c.first) && !exclude.has(c.second));
    assert.ok(want.length >= 6, "the fixture leaves couplets to ask");
    assert.deepStrictEqual(got, want);
  });
});

describe("self-answers: the base's own continuation, cached by its weights", function () {
  this.timeout(300_000);
  const fx = poemRunFixture("tiaoyu-self-base-", POEMS, POEMS.slice(0, 2));
  const tok = poemTokenizer();
  let model: GPT;
  const corpus = () => ({ poemsFile: path.join(fx.dir, "poems.jsonl"), report: { configHash: "0123456789abcdef" } }) as unknown as CorpusInfo;

  before(async () => {
    // A tiny model that has read the six poems often enough to recite them, as the course base recites the anthology.
    model = new GPT(presetConfig("tiny", { vocabSize: tok.vocabSize, blockSize: 32, dropout: 0 }), { seed: 5 });
    await train(pretrainStage(model, fx.data, { ...PRETRAIN_PRESETS.tiny, batchSize: 8, evalBatches: 1 }), { steps: 300, lr: 3e-3, minLr: 3e-4, warmupSteps: 10, evalEvery: 0, checkpointEvery: 0, progress: "none", runDir: null });
    await writeJsonl(corpus().poemsFile, POEMS.map((p, i) => ({ ...record(p, i), split: "train" as const })));
  });
  after(() => model.dispose());

  it("answers in chapter 6's cite format with what the base writes after the line", async () => {
    const c = { first: "床前明月光", second: "疑是地上霜", poemId: "tang-0" };
    const item = await selfAnswer(model, tok, c);
    const reply = await complete(model, tok, "<s>床前明月光，", { temperature: 0, maxNewTokens: 24 });
    const read = parseContinuation(reply.text);
    assert.ok(read, `the base continues with a line: ${reply.text}`);
    assert.deepStrictEqual(item, { prompt: "「床前明月光」的下一句是什么？", answer: `「床前明月光，${read.line}」${read.source}`, expected: read.line, template: "nextLine", poemId: "tang-0", split: "train" });
  });

  it("mostly reproduces what the base read: the answers carry its knowledge, not new facts", async () => {
    const items = await ensureSelfAnswers(model, tok, corpus(), { exclude: new Set(), count: 100, seed: 1, dir: path.join(fx.dir, "cache"), log: () => {} });
    const couplets = await corpusCouplets(corpus(), new Set());
    const truth = new Map(couplets.map((c) => [c.first, c.second]));
    assert.ok(items.length >= 1 && items.length <= couplets.length, `${items.length} answers`);
    const right = items.filter((it) => truth.get(/「(.+)」的下一句/u.exec(it.prompt)![1]) === it.expected).length;
    assert.ok(right >= items.length / 2, `${right} of ${items.length} answers are the poem's true next line`);
  });

  it("reads the cache on the second call and writes a new one when the weights change", async () => {
    const dir = path.join(fx.dir, "cache2");
    const logged: string[] = [];
    const opts = { exclude: new Set<string>(), count: 6, seed: 2, dir, log: (l: string) => logged.push(l) };
    const first = await ensureSelfAnswers(model, tok, corpus(), opts);
    assert.strictEqual(logged.length, 1, "generated once");
    assert.deepStrictEqual(await ensureSelfAnswers(model, tok, corpus(), opts), first);
    assert.strictEqual(logged.length, 1, "the second call read the cache");
    const hash = weightsHash(model);
    const other = new GPT(model.config, { seed: 6 });
    try {
      assert.notStrictEqual(weightsHash(other), hash);
      await ensureSelfAnswers(other, tok, corpus(), opts);
      assert.strictEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl")).length, 2, "one cache file per base");
    } finally {
      other.dispose();
    }
  });

  it("says what is wrong with a bad count", async () => {
    await assert.rejects(ensureSelfAnswers(model, tok, corpus(), { exclude: new Set(), count: -1, seed: 1, log: () => {} }), /count must be a whole number ≥ 0, got -1/);
    await assert.rejects(ensureSelfAnswers(model, tok, corpus(), { exclude: new Set(), count: 2.5, seed: 1, log: () => {} }), /got 2\.5/);
    assert.deepStrictEqual(await ensureSelfAnswers(model, tok, corpus(), { exclude: new Set(), count: 0, seed: 1, log: () => {} }), []);
  });

  it("leaks no tensors", async () => {
    await expectNoLeak(async () => {
      await ensureSelfAnswers(model, tok, corpus(), { exclude: new Set(), count: 3, seed: 3, dir: path.join(fx.dir, "cache3"), log: () => {} });
      weightsHash(model);
    });
    assert.ok(tf.memory().numTensors > 0, "the model's weights are still there");
  });
});
