/**
 * Chapter 7's arithmetic on hand-checkable numbers: log σ, masked sequence log-probabilities, the Bradley–Terry
 * and DPO losses, group-relative advantages, the k3 KL estimate, the GRPO loss, pair packing and statistics.
 */
import * as assert from "assert";
import {
  bradleyTerryLoss,
  chosenNll,
  dpoLoss,
  EncodedPairs,
  groupAdvantages,
  grpoLoss,
  initBackend,
  klK3,
  logSigmoid,
  maskedLogProbs,
  winRate,
  packRows,
  pairStatistics,
  accuracyBy,
  PairSampler,
  type Rollout,
  tf,
} from "tiaoyu";

function close(actual: ArrayLike<number> | number, expected: readonly number[] | number, tol: number, what: string): void {
  const a = typeof actual === "number" ? [actual] : Array.from(actual);
  const e = typeof expected === "number" ? [expected] : expected;
  assert.strictEqual(a.length, e.length, `${what}: length ${a.length}, expected ${e.length}`);
  e.forEach((x, i) => assert.ok(Math.abs(a[i] - x) <= tol, `${what}[${i}] = ${a[i]}, expected ${x} ± ${tol}`));
}

const value = (t: tf.Tensor): number[] => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};

describe("rlhf math", () => {
  before(async () => {
    await initBackend();
  });

  it("logSigmoid is log σ(x), stable for large |x|", () => {
    close(value(logSigmoid(tf.tensor1d([0, 2, -2, -1000, 1000]))), [-Math.LN2, -0.126928, -2.126928, -1000, 0], 1e-5, "logSigmoid");
  });

  it("maskedLogProbs sums log p(target) over the masked positions only", () => {
    // One sequence, vocabulary 2: position 0 logits [0, 0] → p = ½, ½; position 1 logits [0, ln 3] → p = ¼, ¾.
    const logits = tf.tensor3d([[[0, 0], [0, Math.log(3)]]]);
    const targets = tf.tensor2d([[0, 1]], [1, 2], "int32");
    close(value(maskedLogProbs(logits, targets, tf.tensor2d([[0, 1]]))), [Math.log(0.75)], 1e-5, "answer only");
    close(value(maskedLogProbs(logits, targets, tf.tensor2d([[1, 1]]))), [Math.log(0.375)], 1e-5, "both tokens");
    close(value(maskedLogProbs(logits, targets, tf.tensor2d([[0, 0]]))), [0], 0, "nothing masked in");
    assert.throws(() => maskedLogProbs(logits, targets, tf.tensor2d([[1, 1, 1]])), /must agree/);
  });

  it("Bradley–Terry loss: −log σ(r_chosen − r_rejected), averaged over pairs", () => {
    const bt = (c: number[], r: number[]) => value(bradleyTerryLoss(tf.tensor1d(c), tf.tensor1d(r)))[0];
    close(bt([2], [0]), 0.126928, 1e-5, "chosen ahead by 2");
    close(bt([1], [1]), Math.LN2, 1e-6, "a tie");
    close(bt([0], [2]), 2.126928, 1e-5, "chosen behind by 2");
    close(bt([2, 0], [0, 2]), (0.126928 + 2.126928) / 2, 1e-5, "mean over pairs");
    close(bt([5], [3]), bt([102], [100]), 1e-6, "only the difference counts");
  });

  it("gradient of the Bradley–Terry loss pushes r_chosen up and r_rejected down by σ(−d)", () => {
    const c = tf.tensor1d([1]), r = tf.tensor1d([0]);
    const [gc, gr] = tf.grads((a: tf.Tensor, b: tf.Tensor) => bradleyTerryLoss(a as tf.Tensor1D, b as tf.Tensor1D))([c, r]);
    const s = 1 / (1 + Math.exp(1)); // σ(−1)
    close(value(gc), [-s], 1e-6, "d loss / d r_chosen");
    close(value(gr), [s], 1e-6, "d loss / d r_rejected");
    tf.dispose([c, r]);
  });

  it("DPO loss: log 2 when the policy is the reference, and the worked example of dpo.ts", () => {
    const dpo = (pc: number[], pr: number[], rc: number[], rr: number[], beta: number) =>
      value(dpoLoss(tf.tensor1d(pc), tf.tensor1d(pr), tf.tensor1d(rc), tf.tensor1d(rr), beta))[0];
    close(dpo([-10, -3], [-20, -1], [-10, -3], [-20, -1], 0.1), Math.LN2, 1e-6, "policy = reference");
    // margin 0.1·((−10 + 12) − (−20 + 18)) = 0.4
    close(dpo([-10], [-20], [-12], [-18], 0.1), Math.log1p(Math.exp(-0.4)), 1e-5, "β = 0.1");
    close(dpo([-10], [-20], [-12], [-18], 0.5), Math.log1p(Math.exp(-2)), 1e-5, "β = 0.5");
    assert.throws(() => dpoLoss(tf.tensor1d([0]), tf.tensor1d([0]), tf.tensor1d([0]), tf.tensor1d([0]), 0), /beta/);
  });

  it("DPO's NLL term: the chosen rows' mean negative log-likelihood per answer token, rejected rows ignored", () => {
    // 2 pairs, length 4: chosen rows 0–1 with 2 and 3 answer tokens (positions 1.. of the mask), rejected rows 2–3.
    const mask = Float32Array.from([0, 1, 1, 0, /**/ 0, 1, 1, 1, /**/ 0, 1, 1, 1, /**/ 0, 0, 1, 1]);
    const batch = { pairs: 2, length: 4, mask };
    // log π: chosen −4 over 2 tokens and −9 over 3 tokens → per-token NLL 2 and 3, mean 2.5; rejected values do not count.
    close(value(chosenNll(tf.tensor1d([-4, -9, -100, -100]), batch))[0], 2.5, 1e-6, "mean NLL per token");
    close(value(chosenNll(tf.tensor1d([-4, -9, 0, 0]), batch))[0], 2.5, 1e-6, "rejected rows ignored");
  });

  it("group-relative advantages: (r − mean) / std within each group, 0 for a flat group", () => {
    close(groupAdvantages([1, 2, 3, 5, 5, 5], 3), [-1.224744, 0, 1.224744, 0, 0, 0], 1e-5, "advantages");
    close(groupAdvantages([0, 10], 2), [-1, 1], 1e-5, "scale free");
    close(groupAdvantages([0, 10], 1), [0, 0], 0, "groups of one have no baseline to beat");
    assert.throws(() => groupAdvantages([1, 2, 3], 2), /groups of 2/);
  });

  it("k3 KL estimate: 0 where the policy agrees with the reference, e^d − d − 1 otherwise", () => {
    close(value(klK3(tf.tensor1d([-1, -2, -3]), tf.tensor1d([-1, -2 + Math.LN2, -3 - 1]))), [0, 1 - Math.LN2, Math.exp(-1)], 1e-5, "k3");
  });

  it("GRPO loss: −A · (mean log-ratio) at ratio 1, plus β·KL, averaged over answers", () => {
    // Two answers of one token each (sequences of length 2: prompt token, answer token).
    const rollout: Rollout = {
      ids: new Int32Array([0, 1, 0, 2]),
      mask: new Float32Array([0, 1, 0, 1]),
      rows: 2,
      length: 2,
      groupSize: 2,
      rewards: new Float32Array([1, 0]),
      advantages: new Float32Array([1, -1]),
      oldLogProbs: new Float32Array([-1, -2]),
      refLogProbs: new Float32Array([-1, -2]),
      prompts: [0],
      answers: [[1], [2]],
    };
    // At the sampling policy (ratio 1, KL 0) the loss is −mean(A) = 0, and its gradient is −A/R per log-prob.
    const lp = tf.tensor2d([[-1], [-2]]);
    close(value(grpoLoss(lp, rollout, { beta: 0.04, clip: 0.2 })), [0], 1e-6, "loss at ratio 1");
    const g = tf.grad((x: tf.Tensor) => grpoLoss(x as tf.Tensor2D, rollout, { beta: 0.04, clip: 0.2 }))(lp);
    close(value(g), [-0.5, 0.5], 1e-5, "gradient: the better answer up, the worse down");
    // Moved away from the reference by ln 2 on the first answer: ratio 2 is clipped at 1.2 for A > 0, KL = k3.
    const moved = tf.tensor2d([[-1 + Math.LN2], [-2]]);
    const k3 = Math.exp(-Math.LN2) + Math.LN2 - 1; // d = ref − lp = −ln 2: ½ + ln 2 − 1
    close(value(grpoLoss(moved, rollout, { beta: 0.04, clip: 0.2 })), [-((1.2 - 0.04 * k3) + -1) / 2], 1e-5, "clipped ratio and KL");
    tf.dispose([lp, moved]);
  });

  it("packRows right-pads, keeps masks, and records each row's last token", () => {
    const p = packRows([{ ids: [5, 6, 7], mask: [0, 1, 1] }, { ids: [5, 8], mask: [0, 1] }], 0);
    assert.strictEqual(p.length, 3);
    assert.deepStrictEqual(Array.from(p.ids), [5, 6, 7, 5, 8, 0]);
    assert.deepStrictEqual(Array.from(p.mask), [0, 1, 1, 0, 1, 0]);
    assert.deepStrictEqual(Array.from(p.last), [2, 1]);
  });

  it("EncodedPairs: chosen rows first, then rejected; too-long pairs are an error or dropped", () => {
    const encode = (prompt: string, answer: string) => ({
      ids: [...prompt, ...answer].map((c) => c.charCodeAt(0) % 50),
      mask: [...[...prompt].map(() => 0), ...[...answer].map(() => 1)],
    });
    const pairs = [
      { prompt: "ab", chosen: "c", rejected: "dd" },
      { prompt: "ab", chosen: "eeeeeeeee", rejected: "f" },
    ];
    assert.throws(() => EncodedPairs.encode(pairs, encode, { blockSize: 5, padId: 0 }), /pair 1 .* 11 tokens long, more than blockSize 5/);
    const { encoded, kept, dropped } = EncodedPairs.encode(pairs, encode, { blockSize: 5, padId: 0, dropTooLong: true });
    assert.deepStrictEqual(kept, [0]);
    assert.strictEqual(dropped, 1);
    const b = encoded.batch([0]);
    assert.strictEqual(b.pairs, 1);
    assert.strictEqual(b.rows, 2);
    assert.deepStrictEqual(Array.from(b.mask), [0, 0, 1, 0, 0, 0, 1, 1]);
    assert.deepStrictEqual(Array.from(b.last), [2, 3]);
    assert.throws(() => EncodedPairs.encode([{ prompt: "ab", chosen: "", rejected: "x" }], encode, { blockSize: 9, padId: 0 }), /all zeros/);
  });

  it("PairSampler visits every pair once per epoch and resumes exactly", () => {
    const encode = (_p: string, a: string) => ({ ids: [1, a.length + 1], mask: [0, 1] });
    const pairs = Array.from({ length: 7 }, (_, i) => ({ prompt: "q", chosen: "x".repeat(i + 1), rejected: "y" }));
    const { encoded } = EncodedPairs.encode(pairs, encode, { blockSize: 8, padId: 0 });
    const s = new PairSampler(encoded, 3, 11);
    const seen = [...s.next().index, ...s.next().index];
    const saved = JSON.parse(JSON.stringify(s.state()));
    const third = Array.from(s.next().index);
    assert.strictEqual(new Set([...seen, third[0]]).size, 7, "the first epoch's 7 pairs are all different");
    const t = new PairSampler(encoded, 3, 11);
    t.restore(saved);
    assert.deepStrictEqual(Array.from(t.next().index), third);
    assert.throws(() => new PairSampler(encoded, 3, 12).restore(saved), /seeded with 12/);
  });

  it("pair statistics: ties count half, margins and loss; accuracy per group", () => {
    const s = pairStatistics([2, 0], [0, 0]);
    close(s.accuracy, 0.75, 0, "accuracy");
    close(s.meanMargin, 1, 1e-12, "margin");
    close(s.loss, (0.126928 + Math.LN2) / 2, 1e-5, "loss");
    const by = accuracyBy(["rude", "wrong", "rude"], { chosen: new Float32Array([1, 0, 1]), rejected: new Float32Array([0, 1, 2]) });
    assert.deepStrictEqual(by.map((r) => [r.group, r.pairs, r.accuracy]), [["rude", 2, 0.5], ["wrong", 1, 0]]);
  });

  it("winRate counts wins and half the ties", () => {
    close(winRate([3, 1, 2], [1, 1, 5]), 0.5, 1e-12, "win, tie, loss");
    close(winRate([1, 1], [0, 0]), 1, 0, "all wins");
    assert.throws(() => winRate([1], [1, 2]), /1 and 2 scores/);
  });
});
