import * as assert from "assert";
import { bradleyTerryLoss as libBT, dpoLoss as libDpo, groupAdvantages as libAdv, maskedLogProbs, tf } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/07-rlhf")>("07-rlhf");

/** Runs `fn` and checks it left no intermediate tensor behind (only its result). */
function noLeak<T extends tf.Tensor>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  assert.strictEqual(tf.memory().numTensors, before + 1, "leaves intermediate tensors alive: wrap the body in tf.tidy(() => ...)");
  return out;
}

function value(t: tf.Tensor): number {
  assert.strictEqual(t.rank, 0, `should return a scalar, got shape [${t.shape}]`);
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

const near = (got: number, want: number, what: string, tol = 1e-4) => assert.ok(Math.abs(got - want) < tol, `${what}: got ${got}, expected ${want}`);
const t1 = (xs: number[]) => tf.tensor1d(xs);

describe("chapter 07 — 人类反馈强化学习", () => {
  exercise("7.1 bradleyTerryLoss", {
    points: 2,
    hint: "Bradley–Terry 损失只看奖励之差;差值很负时 log(sigmoid) 会下溢成 −Infinity,要用数值稳定的写法",
    code: "差值 d = tf.sub(rChosen, rRejected);损失 = tf.neg(tf.mean(tf.logSigmoid(d)));用 logSigmoid 而不是 log(sigmoid(d)),d 很负时才不会得到 −Infinity",
    libraryTwins: ["bradleyTerryLoss", "logSigmoid", "pairStatistics"],
  }, () => {
    const [two, zero] = [t1([2]), t1([0])];
    near(value(noLeak(() => ex().bradleyTerryLoss(two, zero))), 0.126928, "r_chosen 2, r_rejected 0");
    tf.dispose([two, zero]);
    near(value(ex().bradleyTerryLoss(t1([1]), t1([1]))), Math.LN2, "a tie");
    near(value(ex().bradleyTerryLoss(t1([2, 0]), t1([0, 2]))), (0.126928 + 2.126928) / 2, "the mean over two pairs");
    near(value(ex().bradleyTerryLoss(t1([102]), t1([100]))), 0.126928, "only the difference counts");
    near(value(ex().bradleyTerryLoss(t1([-500]), t1([500]))), 1000, "stable when the reward model is very wrong", 1e-2);
    const c = tf.randomNormal([9], 0, 3, "float32", 1) as tf.Tensor1D, r = tf.randomNormal([9], 0, 3, "float32", 2) as tf.Tensor1D;
    near(value(ex().bradleyTerryLoss(c, r)), value(libBT(c, r)), "random rewards, against lib/train/reward.ts");
    tf.dispose([c, r]);
  });

  exercise("7.2 answerLogProb", {
    points: 3,
    hint: "logits 的第 t 行预测的是 ids[t+1];只累加回答部分(t+1 ≥ promptLength)的对数概率",
    code: "logP = tf.logSoftmax(logits, -1);目标是 ids.slice(1),用 tf.oneHot 取出每行目标词元的 logP;第 t 行对应 ids[t+1],当 t + 1 >= promptLength 时才计入(乘一个 0/1 掩码再 tf.sum)",
    libraryTwins: ["maskedLogProbs", "sequenceLogProbs", "tokenLogProbs", "ReferenceLogProbs"],
  }, () => {
    const logits = tf.tensor2d([[0, 0], [0, Math.log(3)]]);
    near(value(noLeak(() => ex().answerLogProb(logits, [0, 1, 1], 1))), Math.log(0.375), "ids [0, 1, 1], prompt of 1 token");
    near(value(ex().answerLogProb(logits, [0, 1, 1], 2)), Math.log(0.75), "prompt of 2 tokens: only the last token counts");
    near(value(ex().answerLogProb(logits, [0, 0, 0], 1)), Math.log(0.5 * 0.25), "other targets");
    // Against the library's masked sum on a random sequence of 12 tokens over 7 ids, prompt of 5.
    const n = 12, V = 7, P = 5;
    const L = tf.randomNormal([n - 1, V], 0, 2, "float32", 3) as tf.Tensor2D;
    const ids = Array.from({ length: n }, (_, i) => (i * 5 + 3) % V);
    const want = tf.tidy(() => maskedLogProbs(L.expandDims(0) as tf.Tensor3D, tf.tensor2d([ids.slice(1)], [1, n - 1], "int32"), tf.tensor2d([ids.slice(1).map((_, t) => (t + 1 >= P ? 1 : 0))])).sum());
    near(value(ex().answerLogProb(L, ids, P)), value(want), "random logits, against lib/train/logprobs.ts");
    tf.dispose([logits, L]);
  });

  exercise("7.3 dpoLoss", {
    points: 3,
    hint: "DPO 的 margin 是 β 乘以(策略相对参考模型)在 chosen 上的提升减去在 rejected 上的提升;对批次求平均",
    code: "margin = β · ((πc − refc) − (πr − refr)),用 tf.sub 和 tf.mul 逐项算;损失 = tf.neg(tf.mean(tf.logSigmoid(margin)))",
    libraryTwins: ["dpoLoss", "logSigmoid"],
  }, () => {
    const example = [t1([-10]), t1([-20]), t1([-12]), t1([-18])];
    near(value(noLeak(() => ex().dpoLoss(example[0], example[1], example[2], example[3], 0.1))), Math.log1p(Math.exp(-0.4)), "the worked example, β = 0.1");
    tf.dispose(example);
    near(value(ex().dpoLoss(t1([-10]), t1([-20]), t1([-12]), t1([-18]), 0.5)), Math.log1p(Math.exp(-2)), "β = 0.5");
    near(value(ex().dpoLoss(t1([-3, -7]), t1([-5, -1]), t1([-3, -7]), t1([-5, -1]), 0.1)), Math.LN2, "policy = reference gives log 2");
    near(value(ex().dpoLoss(t1([-12]), t1([-18]), t1([-10]), t1([-20]), 0.1)), Math.log1p(Math.exp(0.4)), "the wrong way round: a larger loss");
    const xs = [1, 2, 3, 4].map((s) => tf.randomNormal([6], -20, 5, "float32", s) as tf.Tensor1D);
    near(value(ex().dpoLoss(xs[0], xs[1], xs[2], xs[3], 0.2)), value(libDpo(xs[0], xs[1], xs[2], xs[3], 0.2)), "random log-probs, against lib/train/dpo.ts");
    tf.dispose(xs);
  });

  exercise("7.4 groupAdvantages", {
    points: 1,
    hint: "每组各自标准化:减去组均值,除以组的总体标准差(除以 n,不是 n−1)加 eps",
    code: "每次取 rewards.slice(g, g + groupSize):先求平均 mean,再求 Σ(r − mean)² / groupSize 的平方根 std,每个 r 变成 (r − mean) / (std + eps)",
    libraryTwins: ["groupAdvantages", "grpoLoss"],
  }, () => {
    const got = ex().groupAdvantages([1, 2, 3, 5, 5, 5], 3);
    const want = [-1.224744, 0, 1.224744, 0, 0, 0];
    assert.strictEqual(got.length, 6);
    assert.ok(Math.abs(got[2] - 1) > 1e-3, "the group [1, 2, 3] gave 3 an advantage of 1: that is the sample std (dividing by n − 1); GRPO uses the population std (dividing by n), which gives 1.2247");
    want.forEach((w, i) => near(got[i], w, `advantage ${i}`));
    // eps is a parameter: with eps = 1 the group [1, 2, 3] gives 3 an advantage of 1 / (√(2/3) + 1).
    near(ex().groupAdvantages([1, 2, 3], 3, 1)[2], 1 / (Math.sqrt(2 / 3) + 1), "eps = 1: use the eps you are given");
    const r = [0.3, -1.2, 2.5, 0.1, 0.9, 0.9, -0.4, 1.7];
    const lib = libAdv(r, 4);
    ex().groupAdvantages(r, 4).forEach((a, i) => near(a, lib[i], `random rewards, advantage ${i}`));
  });
});
