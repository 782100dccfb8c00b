/**
 * Chapter 7's flawed SFT stage and its measurement (lib/train/flawedSft.ts, rlhfData.ts, lib/eval/flaws.ts): the
 * run writes runs/sft-flawed with what was rewritten, trains on the flawed answers and never on held-out ones,
 * resumes; the questions and pairs chapter 7 uses; the table's evaluation leaks nothing and measures KL 0 against
 * itself; bad input gets a clear error.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  buildQa,
  encodeChat,
  ByteBPETokenizer,
  evaluateFlaws,
  FLAW_KINDS,
  flawOf,
  flawTableRows,
  scoreFlawReplies,
  GPT,
  gptConfig,
  initBackend,
  padId,
  latestCheckpoint,
  type PoemRecord,
  type QaItem,
  REJECTION_KINDS,
  RewardModel,
  rlhfEvalSet,
  rlhfPreferences,
  rlhfQuestions,
  runFlawedSft,
  runSft,
  stageDir,
  summarizeFlaws,
} from "tiaoyu";
import { expectNoLeak } from "../leak";
import { POEMS, tempRunsDir } from "./train_fixtures";

const TITLES = ["静夜思", "春晓", "登鹳雀楼", "江雪", "相思", "寻隐者不遇"];
const AUTHORS = ["李白", "孟浩然", "王之涣", "柳宗元", "王维", "贾岛"];

function poems(): PoemRecord[] {
  return POEMS.map((text, i) => ({ id: `tang-${i}`, collection: "tang", title: TITLES[i], author: AUTHORS[i], paragraphs: [text.slice(0, 12), text.slice(12)], form: "五言绝句", split: "train" }));
}

describe("flawed SFT (chapter 7)", function () {
  this.timeout(120_000);
  let tok: ByteBPETokenizer;
  let items: QaItem[];
  tempRunsDir("sft-flawed-");
  const quiet = () => {};
  const tinyModel = () => new GPT(gptConfig({ vocabSize: tok.vocabSize, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 }), { seed: 5 });

  before(async () => {
    await initBackend();
    items = buildQa(poems()).map((q, i) => ({ ...q, split: i % 5 === 4 ? "heldout" : "train" }));
    tok = await ByteBPETokenizer.train([...POEMS, ...items.map((q) => q.prompt + q.answer)], { vocabSize: 700 });
  });

  it("trains on the rewritten answers (training questions only) and records the share in meta.json", async () => {
    let seen: readonly QaItem[] = [];
    const spy = (train: readonly QaItem[]) => {
      seen = train;
      return { items: train.map((q) => ({ ...q, answer: "抱歉，这个我回答不了。" })), info: { spied: true } };
    };
    const r = await runSft({ tokenizer: tok, qa: items, model: tinyModel(), preset: "tiny", batchSize: 4, steps: 1, progress: "none", log: quiet, stage: "sft-flawed", rewrite: spy, runDir: null });
    r.model.dispose();
    assert.ok(seen.length > 0 && seen.every((q) => q.split === "train"), "the rewrite sees training questions only");

    // Stopped after 2 of 4 steps (as Ctrl-C stops it): the next test resumes it.
    const stop = new AbortController();
    const run = await runFlawedSft({ tokenizer: tok, qa: items, model: tinyModel(), preset: "tiny", batchSize: 4, steps: 4, progress: "none", log: quiet, share: 0.5, signal: stop.signal, onStep: (s) => void (s.step === 2 && stop.abort()) });
    try {
      const ckpt = latestCheckpoint(stageDir("sft-flawed"))!;
      assert.ok(ckpt && run.result.checkpoint === ckpt, `${run.result.checkpoint} in runs/sft-flawed`);
      const meta = JSON.parse(fs.readFileSync(path.join(ckpt, "meta.json"), "utf8"));
      assert.strictEqual(meta.stage, "sft-flawed");
      assert.strictEqual(meta.from, "anneal");
      assert.strictEqual(meta.step, 2, "stopped after step 2");
      const info = meta.extra.rewrite;
      assert.strictEqual(info.share, 0.5);
      assert.strictEqual(info.flawed, Math.round(0.5 * info.of));
      assert.deepStrictEqual(Object.keys(info.counts).sort(), [...FLAW_KINDS].sort());
    } finally {
      run.model.dispose();
    }
  });

  it("resumes its run up to the steps asked, from the checkpoint it wrote", async () => {
    const trained: number[] = [];
    const more = await runFlawedSft({ tokenizer: tok, qa: items, model: tinyModel(), preset: "tiny", batchSize: 4, steps: 4, progress: "none", log: quiet, share: 0.5, resume: true, onStep: (s) => void trained.push(s.step) });
    try {
      assert.deepStrictEqual(trained, [3, 4], "steps 3 and 4 trained now, after the checkpoint of step 2");
      assert.deepStrictEqual(more.result.history.train.map((r) => r.step), [1, 2, 3, 4], "the run's history, resumed part included");
      assert.strictEqual(more.result.history.train[more.result.history.train.length - 1].step, 4);
      const meta = JSON.parse(fs.readFileSync(path.join(latestCheckpoint(stageDir("sft-flawed"))!, "meta.json"), "utf8"));
      assert.strictEqual(meta.step, 4);
    } finally {
      more.model.dispose();
    }
    await assert.rejects(runFlawedSft({ tokenizer: tok, qa: items, model: tinyModel(), preset: "tiny", steps: 4, progress: "none", log: quiet, share: 2 }), /share = 2 must be in \[0, 1\]/);
  });

  it("chapter 7's questions and pairs: training questions once each, held-out ones of chapter 6's splits, every kind of pair", async () => {
    const q = await rlhfQuestions({ preset: "tiny", qa: items });
    assert.ok(q.train.length > 0 && q.train.every((x) => x.split === "train"));
    assert.strictEqual(new Set(q.train.map((x) => `${x.poemId}|${x.prompt}`)).size, q.train.length, "distinct");
    assert.deepStrictEqual(q.heldout.corpus, items.filter((x) => x.split === "heldout"), "the held-out split as it is");
    assert.deepStrictEqual(q.heldout.anthology, [], "the tiny preset asks no anthology questions");
    const prefs = rlhfPreferences(q, { pairsPerPrompt: REJECTION_KINDS.length });
    assert.strictEqual(prefs.items.train.length <= REJECTION_KINDS.length * q.train.length, true);
    assert.deepStrictEqual([...new Set(prefs.items.train.map((p) => p.kind))].sort(), [...REJECTION_KINDS].sort());
    for (const p of prefs.items.train) if (p.kind !== "wrong") assert.strictEqual(flawOf(p.rejected), p.kind, `${p.kind}: ${p.rejected}`);
    assert.ok(prefs.items.heldout.every((p) => p.split === "heldout"));
    const evalSet = rlhfEvalSet(q, { perGroup: 3, tokenizer: tok, blockSize: 64 });
    assert.ok(evalSet.length > 0 && evalSet.length <= 3 && evalSet.every((x) => x.split === "heldout" && x.template === "meter"), JSON.stringify(evalSet));
    // A context too short for a quoted couplet: the held-out questions that fit, of any template.
    const shortest = Math.min(...q.heldout.corpus.filter((x) => x.template === "meter").map((x) => encodeChat(tok, x).ids.length));
    const short = rlhfEvalSet(q, { perGroup: 2, tokenizer: tok, blockSize: shortest - 2 });
    assert.ok(short.length > 0 && short.every((x) => x.split === "heldout" && x.template !== "meter"), JSON.stringify(short));
  });

  it("the table's evaluation: KL 0 against itself, rates with n and intervals, no leaks, clear errors", async () => {
    const model = tinyModel();
    const rm = new RewardModel(tinyModel());
    try {
      const asked = items.filter((x) => x.split === "heldout").slice(0, 3);
      const ev = await evaluateFlaws(model, tok, asked, { rm, reference: model });
      assert.strictEqual(ev.replies.length, 3);
      for (const r of ev.replies) {
        assert.ok(Math.abs(r.kl) < 1e-5, `KL of a model to itself is 0, got ${r.kl}`);
        assert.ok(Number.isFinite(r.reward));
        assert.strictEqual(r.flaw, flawOf(r.reply));
      }
      assert.strictEqual(ev.flawRates.any.n, 3);
      // Read first, scored later: the same numbers without asking again.
      const plain = await evaluateFlaws(model, tok, asked);
      assert.ok(Number.isNaN(plain.meanReward) && Number.isNaN(plain.meanKl), "nothing to score with: NaN, not 0");
      const later = await scoreFlawReplies(plain, { policy: model, rm, reference: model, padId: padId(tok) });
      assert.deepStrictEqual(later.replies.map((r) => r.reward), ev.replies.map((r) => r.reward));
      assert.deepStrictEqual(later.replies.map((r) => r.reply), ev.replies.map((r) => r.reply));
      const rows = flawTableRows({ SFT: ev, same: ev }, { dataShare: { any: 0.35 } });
      assert.strictEqual(rows.length, FLAW_KINDS.length + 1 + Object.keys(ev.accuracy).length + 3);
      assert.strictEqual(rows[FLAW_KINDS.length].基准, "35.0% (SFT 数据)");
      assert.strictEqual(rows[0].SFT, rows[0].same);
      await expectNoLeak(async () => void (await evaluateFlaws(model, tok, asked.slice(0, 1), { rm, reference: model })), "evaluateFlaws");
      await assert.rejects(evaluateFlaws(model, tok, []), /no questions to ask/);
      await assert.rejects(evaluateFlaws(model, tok, asked, { temperature: -1 }), /temperature = -1 must be/);
      await assert.rejects(evaluateFlaws(model, tok, asked, { seed: 1.5 }), /seed = 1.5 must be an integer/);
      // Sampled with a seed per question: the same replies every time; greedy is another evaluation.
      const again = await evaluateFlaws(model, tok, asked);
      assert.deepStrictEqual(again.replies.map((r) => r.reply), plain.replies.map((r) => r.reply), "seeded: reproducible");
      const greedy = await evaluateFlaws(model, tok, asked, { temperature: 0 });
      assert.strictEqual(greedy.replies.length, asked.length);
      assert.throws(() => summarizeFlaws([]), /no replies/);
      assert.throws(() => flawTableRows({}), /no models/);
    } finally {
      rm.dispose();
      model.dispose();
    }
  });
});
