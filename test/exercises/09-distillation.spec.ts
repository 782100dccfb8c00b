import * as assert from "assert";
import { crossEntropy, distillationKL, tf } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/09-distillation")>("09-distillation");

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

const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-4, `${what}: got ${got}, expected ${want}`);

describe("chapter 09 — 知识蒸馏", () => {
  exercise("9.1 softenedKL", {
    points: 3,
    hint: "KL(教师 ‖ 学生):两边的 logits 都除以温度 T 再 softmax;对位置求平均,最后乘 T²",
    code: "logP = tf.logSoftmax(tf.div(teacher, T)),logQ 同理;KL = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1);对位置取 tf.mean,最后乘 T * T",
    libraryTwins: ["distillationKL", "distillationLoss", "softTargets"],
  }, () => {
    const s = tf.tensor2d([[0, 0]]), t = tf.tensor2d([[0, Math.log(3)]]);
    near(value(noLeak(() => ex().softenedKL(s, t, 1))), 0.75 * Math.log(3) - Math.log(2), "teacher [0, ln 3], student [0, 0], T = 1");
    const p1 = Math.sqrt(3) / (1 + Math.sqrt(3)), p0 = 1 - p1;
    near(value(ex().softenedKL(s, t, 2)), 4 * (p0 * Math.log(2 * p0) + p1 * Math.log(2 * p1)), "same example at T = 2 (did you multiply by T²?)");
    const S = tf.randomNormal([6, 11], 0, 2, "float32", 7) as tf.Tensor2D, Tt = tf.randomNormal([6, 11], 0, 2, "float32", 8) as tf.Tensor2D;
    for (const T of [1, 3]) {
      const ref = distillationKL(S.reshape([1, 6, 11]) as tf.Tensor3D, Tt.reshape([1, 6, 11]) as tf.Tensor3D, T);
      near(value(ex().softenedKL(S, Tt, T)), value(ref), `6 random positions at T = ${T} (mean over positions?)`);
    }
    near(value(ex().softenedKL(Tt, Tt, 2)), 0, "a student equal to its teacher");
    tf.dispose([s, t, S, Tt]);
  });

  exercise("9.2 mixedDistillationLoss", {
    points: 2,
    hint: "硬标签部分是温度 1 的交叉熵,软标签部分是 9.1;alpha 是软标签部分的权重",
    code: "硬标签部分:tf.mean(tf.neg(tf.sum(tf.mul(tf.logSoftmax(student), tf.oneHot(targets, V)), -1)));返回 alpha * softenedKL(...) + (1 - alpha) * 交叉熵",
    libraryTwins: ["distillationLoss", "distillationKL", "crossEntropy"],
  }, () => {
    const s = tf.tensor2d([[0, 0]]), t = tf.tensor2d([[0, Math.log(3)]]), y = tf.tensor1d([1], "int32");
    near(value(noLeak(() => ex().mixedDistillationLoss(s, t, y, 1, 0.5))), (3 / 8) * Math.log(3), "the worked example (T = 1, α = ½)");
    const S = tf.randomNormal([5, 9], 0, 1, "float32", 9) as tf.Tensor2D, Tt = tf.randomNormal([5, 9], 0, 1, "float32", 10) as tf.Tensor2D;
    const Y = tf.tensor1d([0, 3, 8, 2, 2], "int32");
    const kd = value(distillationKL(S.reshape([1, 5, 9]) as tf.Tensor3D, Tt.reshape([1, 5, 9]) as tf.Tensor3D, 2));
    const ce = value(crossEntropy(S.reshape([1, 5, 9]) as tf.Tensor3D, Y.reshape([1, 5]) as tf.Tensor2D));
    near(value(ex().mixedDistillationLoss(S, Tt, Y, 2, 0)), ce, "α = 0 is the plain cross-entropy");
    near(value(ex().mixedDistillationLoss(S, Tt, Y, 2, 1)), kd, "α = 1 is the soft loss alone");
    near(value(ex().mixedDistillationLoss(S, Tt, Y, 2, 0.3)), 0.3 * kd + 0.7 * ce, "α = 0.3");
    tf.dispose([s, t, y, S, Tt, Y]);
  });

  exercise("9.3 softTargetEntropy", {
    points: 2,
    hint: "熵 H = −Σ p·ln p,p 是 logits 除以温度 T 之后的 softmax;对位置取平均,单位是 nats;概率为 0 的词元贡献 0,不能是 NaN",
    code: "tf.tidy(() => { const logP = tf.logSoftmax(tf.div(logits, T)); return tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(logP), logP), -1))); })",
    libraryTwins: ["softTargets", "distillationKL", "distillationLoss"],
  }, () => {
    const H = (ps: number[]) => -ps.reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0);
    const t = tf.tensor2d([[0, Math.log(3)]]);
    near(value(noLeak(() => ex().softTargetEntropy(t, 1))), H([0.25, 0.75]), "[0, ln 3] at T = 1 (in nats, not bits)");
    const p1 = Math.sqrt(3) / (1 + Math.sqrt(3));
    near(value(ex().softTargetEntropy(t, 2)), H([1 - p1, p1]), "[0, ln 3] at T = 2: divide the logits by T");
    const even = tf.zeros([1, 7]) as tf.Tensor2D;
    near(value(ex().softTargetEntropy(even, 3)), Math.log(7), "seven equal logits: ln 7");
    const sharp = tf.tensor2d([[1000, 0, 0], [0, 0, 0]]);
    const got = value(ex().softTargetEntropy(sharp, 1));
    assert.ok(Number.isFinite(got), `a near-certain row gave ${got}: a probability of 0 must add 0 (use logSoftmax, not log(softmax))`);
    near(got, Math.log(3) / 2, "rows [1000, 0, 0] and [0, 0, 0]: the mean of 0 and ln 3 over positions");
    // Random logits: against a plain JavaScript computation, and a softer distribution as T grows.
    const L = tf.randomNormal([4, 9], 0, 3, "float32", 31) as tf.Tensor2D;
    const rows = L.arraySync();
    const byHand = (T: number) => rows.map((r) => { const m = Math.max(...r.map((v) => v / T)); const e = r.map((v) => Math.exp(v / T - m)); const z = e.reduce((s, v) => s + v, 0); return H(e.map((v) => v / z)); }).reduce((s, v) => s + v, 0) / rows.length;
    let last = -1;
    for (const T of [0.5, 1, 2, 4]) {
      const h = value(ex().softTargetEntropy(L, T));
      near(h, byHand(T), `4 random positions at T = ${T}`);
      assert.ok(h > last, `the entropy should grow with T: ${last} then ${h} at T = ${T}`);
      last = h;
    }
    tf.dispose([t, even, sharp, L]);
  });
});
