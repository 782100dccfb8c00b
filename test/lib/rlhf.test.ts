/**
 * Chapter 7's stages on a tiny GPT, in-process and hermetic (a throwaway BPE, questions written here):
 * the reward model learns to prefer the chosen answers, also on held-out questions; DPO raises the chosen–rejected
 * margin; GRPO moves the policy towards what its scorer rewards; the reference and reward models never change;
 * no step leaks a tensor.
 */
import * as assert from "assert";
import {
  buildPreferences,
  buildQa,
  ByteBPETokenizer,
  changedWeights,
  chatPrompt,
  chatReply,
  chatTokenIds,
  encodeChat,
  flawOf,
  sampledFlawPairs,
  compareReplies,
  chatStopIds,
  dpoMetrics,
  dpoStage,
  type EncodedPairs,
  encodePreferences,
  GPT,
  gptConfig,
  grpoStage,
  initBackend,
  padId,
  type PoemRecord,
  type QaItem,
  type PreferenceItem,
  RewardModel,
  rewardModelScorer,
  rewardStage,
  scorePairs,
  sequenceLogProbs,
  snapshotWeights,
  tf,
  train,
} from "tiaoyu";
import { expectNoLeak } from "../leak";

function poem(i: number): PoemRecord {
  const lines = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"].map((l) => l.slice(0, 4) + String.fromCharCode(0x4e00 + (i % 9)));
  return { id: `tang-${i}`, collection: "tang", title: `题${i}`, author: `诗人${i % 5}`, paragraphs: [`${lines[0]}，${lines[1]}。`, `${lines[2]}，${lines[3]}。`], form: "五言绝句", split: "train" };
}

describe("rlhf stages (tiny GPT)", function () {
  this.timeout(300_000);
  let tok: ByteBPETokenizer;
  let pairs: { train: PreferenceItem[]; heldout: PreferenceItem[] };
  let data: { train: EncodedPairs; heldout: EncodedPairs };

  const tinyGPT = (seed: number) => new GPT(gptConfig({ vocabSize: tok.vocabSize, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 }), { seed });

  before(async () => {
    await initBackend();
    const qa = buildQa(Array.from({ length: 60 }, (_, i) => poem(i)));
    const all = buildPreferences(qa, { pairsPerPrompt: 2 });
    // Split by poem, as the course does: the held-out questions are about poems the training pairs never mention.
    const heldoutPoem = (id: string) => Number(id.split("-")[1]) % 5 === 0;
    pairs = { train: all.filter((p) => !heldoutPoem(p.poemId)), heldout: all.filter((p) => heldoutPoem(p.poemId)) };
    tok = await ByteBPETokenizer.train(all.flatMap((p) => [p.prompt, p.chosen, p.rejected]), { vocabSize: 600 });
    const enc = (ps: PreferenceItem[]) => {
      const { encoded, dropped } = encodePreferences(tok, ps, { blockSize: 64 });
      assert.strictEqual(dropped, 0, "every test pair fits 64 tokens");
      return encoded;
    };
    data = { train: enc(pairs.train), heldout: enc(pairs.heldout) };
  });

  it("reward model: Bradley–Terry loss falls and held-out pairwise accuracy beats chance", async () => {
    const rm = new RewardModel(tinyGPT(1));
    try {
      const before = await scorePairs(rm, data.heldout);
      const result = await train(rewardStage(rm, { train: data.train, validation: data.heldout }, { batchSize: 16, dataSeed: 1, train: {} }), {
        steps: 60,
        lr: 3e-3,
        warmupSteps: 5,
        weightDecay: 0,
        evalEvery: 30,
        runDir: null,
        progress: "none",
      });
      const first = result.history.train.slice(0, 5).reduce((s, r) => s + r.loss, 0) / 5;
      const last = result.history.train.slice(-5).reduce((s, r) => s + r.loss, 0) / 5;
      assert.ok(last < first * 0.7, `training loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
      const val = result.history.val.map((r) => r.loss);
      assert.ok(val[val.length - 1] < val[0], `validation loss ${val.map((v) => v.toFixed(3)).join(" → ")}`);
      const after = await scorePairs(rm, data.heldout);
      assert.ok(after.accuracy >= 0.7, `held-out accuracy ${before.accuracy.toFixed(2)} → ${after.accuracy.toFixed(2)} (chance 0.5)`);
      assert.ok(after.accuracy > before.accuracy);
    } finally {
      rm.dispose();
    }
  });

  it("reward model: a step and scoring leak nothing; the head reads the last real token, not the padding", async () => {
    const rm = new RewardModel(tinyGPT(2));
    try {
      // One pair alone vs the same pair batched with a longer one (more padding): the same rewards.
      const alone = rm.rewards(data.train.batch([0]));
      const longest = Array.from({ length: data.train.size }, (_, i) => i).sort((a, b) => data.train.batch([b]).length - data.train.batch([a]).length)[0];
      const padded = rm.rewards(data.train.batch([0, longest]));
      const a = alone.dataSync(), p = padded.dataSync();
      assert.ok(Math.abs(a[0] - p[0]) < 1e-5 && Math.abs(a[1] - p[2]) < 1e-5, `rewards ${Array.from(a)} vs ${Array.from(p)}`);
      tf.dispose([alone, padded]);
      const stage = rewardStage(rm, { train: data.train }, { batchSize: 4, dataSeed: 1, train: {} });
      await expectNoLeak(async () => {
        await train(stage, { steps: 1, lr: 1e-3, runDir: null, progress: "none" });
        (await scorePairs(rm, data.heldout)).accuracy;
      }, "a reward-model step and scoring");
    } finally {
      rm.dispose();
    }
  });

  it("DPO raises the chosen–rejected margin on training pairs; the reference stays frozen", async () => {
    const policy = tinyGPT(3);
    const reference = tinyGPT(3);
    const frozen = snapshotWeights(reference.parameters());
    const initial = snapshotWeights(policy.parameters());
    try {
      const stage = dpoStage(policy, reference, { train: data.train, validation: data.heldout }, { beta: 0.1, batchSize: 16, dataSeed: 2, train: {} });
      const start = await dpoMetrics(policy, stage.reference.train, data.train, 0.1);
      assert.ok(Math.abs(start.margin) < 1e-4 && Math.abs(start.accuracy - 0.5) < 0.05, `before training policy = reference: margin ${start.margin}, accuracy ${start.accuracy}`);
      await train(stage, { steps: 30, lr: 3e-3, warmupSteps: 3, weightDecay: 0, runDir: null, progress: "none" });
      const end = await dpoMetrics(policy, stage.reference.train, data.train, 0.1);
      assert.ok(end.margin > 0.5, `implicit reward margin ${start.margin.toFixed(3)} → ${end.margin.toFixed(3)}`);
      assert.ok(end.accuracy > 0.8, `training preference accuracy ${end.accuracy}`);
      assert.ok(end.logpChosen - end.logpRejected > start.logpChosen - start.logpRejected, "log p(chosen) − log p(rejected) grew");
      assert.ok(end.logpRejected < start.logpRejected, `log p(rejected) fell: ${start.logpRejected.toFixed(2)} → ${end.logpRejected.toFixed(2)}`);
      assert.deepStrictEqual(changedWeights(reference.parameters(), frozen), [], "the reference never changes");
      assert.ok(changedWeights(policy.parameters(), initial).length > 0, "the policy did change");
      // The cached reference log-probabilities are the reference's own.
      const b = data.train.batch([0, 1]);
      const lp = sequenceLogProbs(reference, b);
      const cached = stage.reference.train.of(b);
      lp.dataSync().forEach((v, i) => assert.ok(Math.abs(v - cached[i]) < 1e-4, `row ${i}: ${v} vs cached ${cached[i]}`));
      lp.dispose();
      await expectNoLeak(async () => {
        await train(stage, { steps: 1, lr: 1e-4, runDir: null, progress: "none", evalEvery: 1 });
        await dpoMetrics(policy, stage.reference.validation!, data.heldout, 0.1);
      }, "a DPO step with evaluation");
    } finally {
      policy.dispose();
      reference.dispose();
    }
  });

  it("GRPO samples groups, raises what the scorer rewards, keeps reference and reward model frozen, leaks nothing", async () => {
    const policy = tinyGPT(4);
    const reference = tinyGPT(4);
    const rm = new RewardModel(tinyGPT(5));
    const frozenRef = snapshotWeights(reference.parameters());
    const frozenRm = snapshotWeights(rm.weights());
    try {
      const prompts = pairs.train.slice(0, 12).map((p) => chatPrompt(tok, p.prompt));
      const tokens = { stopIds: chatStopIds(tok), padId: padId(tok) };
      const settings = { groupSize: 4, promptsPerStep: 2, beta: 0.04, clip: 0.2, maxNewTokens: 8, sampling: { temperature: 1 }, seed: 3, train: {} };
      // The reward model as scorer: frozen while the policy trains.
      const withRm = grpoStage(policy, reference, rewardModelScorer(rm), prompts, settings, tokens);
      await train(withRm, { steps: 3, lr: 1e-3, runDir: null, progress: "none" });
      assert.strictEqual(withRm.sampler.history.length, 3);
      for (const s of withRm.sampler.history) assert.ok(Number.isFinite(s.meanReward) && s.kl >= 0 && s.meanLength >= 1 && s.meanLength <= 8, JSON.stringify(s));
      assert.deepStrictEqual(changedWeights(reference.parameters(), frozenRef), [], "the reference never changes");
      assert.deepStrictEqual(changedWeights(rm.weights(), frozenRm), [], "the reward model never changes");

      // A scorer we can read: the share of answer tokens with an even id (about half for an untrained model, with
      // enough spread within a group to learn from). GRPO must make even ids likelier.
      const share = (seqs: { ids: Int32Array; mask: Float32Array; rows: number; length: number }) =>
        Array.from({ length: seqs.rows }, (_, r) => {
          let n = 0, hit = 0;
          for (let t = 0; t < seqs.length; t++) if (seqs.mask[r * seqs.length + t]) (n++, (hit += seqs.ids[r * seqs.length + t] % 2 === 0 ? 1 : 0));
          return hit / Math.max(n, 1);
        });
      const fresh = tinyGPT(6);
      const ref2 = tinyGPT(6);
      try {
        const stage = grpoStage(fresh, ref2, share, prompts, { ...settings, promptsPerStep: 4, seed: 9 }, tokens);
        await train(stage, { steps: 40, lr: 1e-2, warmupSteps: 2, weightDecay: 0, runDir: null, progress: "none" });
        const h = stage.sampler.history.map((s) => s.meanReward);
        const early = h.slice(0, 5).reduce((a, b) => a + b) / 5;
        const late = h.slice(-5).reduce((a, b) => a + b) / 5;
        assert.ok(late > early + 0.1, `mean reward ${early.toFixed(3)} → ${late.toFixed(3)}`);
        assert.ok(stage.sampler.history[stage.sampler.history.length - 1].kl > 0, "the policy moved away from the reference");
        await expectNoLeak(async () => {
          await train(stage, { steps: 1, lr: 1e-4, runDir: null, progress: "none" });
        }, "a GRPO step (sampling, scoring, update)");
      } finally {
        fresh.dispose();
        ref2.dispose();
      }
    } finally {
      policy.dispose();
      reference.dispose();
      rm.dispose();
    }
  });

  it("compareReplies: scores each reply by exact match and reward; a model against itself wins half", async () => {
    const model = tinyGPT(7);
    const rm = new RewardModel(tinyGPT(8));
    try {
      const items: QaItem[] = pairs.heldout.slice(0, 3).map((p) => ({ prompt: p.prompt, answer: p.chosen, expected: p.expected, template: p.template, poemId: p.poemId, split: "heldout" }));
      const c = await compareReplies({ SFT: model, same: model }, rm, tok, items, { maxNewTokens: 6 });
      assert.strictEqual(c.questions.length, 3);
      for (const q of c.questions) {
        assert.strictEqual(q.replies.SFT.reply, q.replies.same.reply, "greedy replies of one model agree");
        assert.ok(Number.isFinite(q.replies.SFT.reward));
        assert.strictEqual(q.replies.SFT.correct, false, "an untrained model does not answer in 「」");
      }
      assert.deepStrictEqual(c.summary.map((s) => [s.model, s.winRateByReward, s.winRateByExactMatch]), [["SFT", null, null], ["same", 0.5, 0.5]]);
    } finally {
      model.dispose();
      rm.dispose();
    }
  });

  it("sampledFlawPairs: the model's own flawed replies, as sampled, against the good answers; clean ones left out", async () => {
    const model = tinyGPT(9);
    try {
      // Two pairs per prompt: each prompt is asked once.
      const questions = new Set(pairs.train.slice(0, 12).map((p) => p.prompt)).size;
      const own = await sampledFlawPairs(model, tok, pairs.train, { questions, blockSize: 64, maxNewTokens: 8, seed: 5 });
      assert.strictEqual(own.asked, questions);
      // The same sampling, done independently: exactly the flawed replies become pairs, in order.
      const prompts = [...new Set(pairs.train.map((p) => p.prompt))].slice(0, questions);
      const expected = [];
      const replies: string[] = [];
      for (const [i, prompt] of prompts.entries()) {
        const r = await chatReply(model, tok, prompt, { maxNewTokens: 8, temperature: 1, seed: 5 + i });
        if (r.ids.length > 0) replies.push(r.reply);
        if (flawOf(r.reply)) expected.push({ prompt, rejected: r.reply, kind: flawOf(r.reply), ids: r.ids, stopped: r.reason === "stop" });
      }
      assert.ok(expected.length > 0, "an untrained model writes flawed replies");
      assert.deepStrictEqual(own.pairs.map((p) => [p.prompt, p.rejected, p.kind]), expected.map((e) => [e.prompt, e.rejected, e.kind]));
      assert.strictEqual(own.encoded.size, expected.length);
      const end = chatTokenIds(tok).end;
      expected.forEach((e, k) => {
        const good = pairs.train.find((p) => p.prompt === e.prompt)!.chosen;
        assert.strictEqual(own.pairs[k].chosen, good);
        const b = own.encoded.batch([k]);
        const row = (r: number) => Array.from(b.ids.slice(r * b.length, r * b.length + b.last[r] + 1));
        const maskRow = (r: number) => Array.from(b.mask.slice(r * b.length, r * b.length + b.last[r] + 1));
        const chosen = encodeChat(tok, { prompt: e.prompt, answer: good });
        assert.deepStrictEqual(row(0), chosen.ids);
        assert.deepStrictEqual(maskRow(0), chosen.lossMask);
        // The rejected row is the prompt and the sampled tokens themselves (+ <|end|> when the reply stopped), learned on the reply only.
        const promptIds = chatPrompt(tok, e.prompt);
        const answer = e.stopped ? [...e.ids, end] : e.ids;
        assert.deepStrictEqual(row(1), [...promptIds, ...answer]);
        assert.deepStrictEqual(maskRow(1), [...promptIds.map(() => 0), ...answer.map(() => 1)]);
      });
      const again = await sampledFlawPairs(model, tok, pairs.train, { questions, blockSize: 64, maxNewTokens: 8, seed: 5 });
      assert.deepStrictEqual(again.pairs, own.pairs, "seeded: the same pairs every time");
      // A reply the judge finds clean is no pair: with every other reply judged clean, only the others remain.
      let n = 0;
      const half = await sampledFlawPairs(model, tok, pairs.train, { questions, blockSize: 64, maxNewTokens: 8, seed: 5, judge: (r) => (n++ % 2 === 0 ? flawOf(r) : null) });
      assert.deepStrictEqual(half.pairs.map((p) => p.rejected), replies.filter((r, i) => i % 2 === 0 && flawOf(r)));
      assert.ok(half.pairs.length < own.pairs.length);
      await assert.rejects(sampledFlawPairs(model, tok, pairs.train, { questions: -1, blockSize: 64 }), /questions = -1 must be an integer ≥ 0/);
    } finally {
      model.dispose();
    }
  });
});
