import * as assert from "assert";
import { crossEntropy, distillationKL, distillationLoss, softTargets, tf } from "tiaoyu";
import { expectNoLeak } from "../leak";

const close = (a: number, b: number, tol = 1e-5, what = "") => assert.ok(Math.abs(a - b) < tol, `${what} ${a} ≠ ${b}`);
const scalar = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

describe("train/distill: the white-box loss", () => {
  // One position, two tokens: teacher logits [0, ln 3] give p = [¼, ¾] at T = 1; the student's [0, 0] give q = [½, ½].
  const teacher = () => tf.tensor3d([[[0, Math.log(3)]]]);
  const student = () => tf.tensor3d([[[0, 0]]]);

  it("softTargets flattens the teacher's distribution as T grows", () => {
    const p = (T: number) => tf.tidy(() => Array.from(softTargets(teacher(), T).dataSync()));
    const [a, b] = p(1);
    close(a, 0.25), close(b, 0.75);
    close(p(2)[1], Math.sqrt(3) / (1 + Math.sqrt(3)), 1e-6, "T = 2: ¾ → √3/(1+√3)");
    close(p(1000)[1], 0.5, 1e-3, "T → ∞: uniform");
    assert.throws(() => softTargets(teacher(), 0), /temperature = 0/);
  });

  it("T = 1: KL(p ‖ q) = ¼·ln(½) + ¾·ln(3/2) = ¾·ln 3 − ln 2", () => {
    close(scalar(distillationKL(student(), teacher(), 1)), 0.75 * Math.log(3) - Math.log(2));
  });

  it("T = 2: T² · KL of the softened distributions", () => {
    const p1 = Math.sqrt(3) / (1 + Math.sqrt(3)), p0 = 1 - p1;
    const kl = p0 * Math.log(p0 / 0.5) + p1 * Math.log(p1 / 0.5);
    close(scalar(distillationKL(student(), teacher(), 2)), 4 * kl);
  });

  it("its gradient with respect to the student's logits is T · (q − p): the T² keeps it from vanishing", () => {
    for (const T of [1, 2, 4]) {
      const g = tf.tidy(() => Array.from(tf.grad((s: tf.Tensor) => distillationKL(s as tf.Tensor3D, teacher(), T))(student()).dataSync()));
      const p1 = 1 / (1 + Math.exp(-Math.log(3) / T));
      close(g[0], T * (0.5 - (1 - p1)), 1e-5, `T = ${T}, token 0`);
      close(g[1], T * (0.5 - p1), 1e-5, `T = ${T}, token 1`);
    }
  });

  it("is zero when the student matches the teacher, positive otherwise, and averages over the masked positions", () => {
    const z = tf.randomNormal([2, 3, 7], 0, 2, "float32", 1) as tf.Tensor3D;
    const w = tf.randomNormal([2, 3, 7], 0, 2, "float32", 2) as tf.Tensor3D;
    close(scalar(distillationKL(z, z, 3)), 0, 1e-5);
    assert.ok(scalar(distillationKL(w, z, 3)) > 0);
    // Two positions, mask [1, 0]: only the first counts.
    const s = tf.tensor3d([[[0, 0], [5, -5]]]), t = tf.tensor3d([[[0, Math.log(3)], [0, 0]]]);
    const mask = tf.tensor2d([[1, 0]]);
    close(scalar(distillationKL(s, t, 1, mask)), 0.75 * Math.log(3) - Math.log(2));
    tf.dispose([z, w, s, t, mask]);
  });

  it("the mixed loss is α · KD + (1 − α) · CE, with CE the model's own masked cross-entropy", () => {
    const s = tf.randomNormal([2, 4, 9], 0, 1, "float32", 3) as tf.Tensor3D;
    const t = tf.randomNormal([2, 4, 9], 0, 1, "float32", 4) as tf.Tensor3D;
    const y = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4], "int32");
    const mask = tf.tensor2d([[0, 1, 1, 1], [0, 0, 1, 1]]);
    const kd = scalar(distillationKL(s, t, 2, mask));
    const ce = scalar(crossEntropy(s, y, mask));
    close(scalar(distillationLoss(s, t, y, { temperature: 2, alpha: 0, mask })), ce);
    close(scalar(distillationLoss(s, t, y, { temperature: 2, alpha: 1, mask })), kd);
    close(scalar(distillationLoss(s, t, y, { temperature: 2, alpha: 0.3, mask })), 0.3 * kd + 0.7 * ce);
    // By hand: one position, target 1, student [0, 0] → CE = ln 2; α = ½ at T = 1 → ½(¾ln3 − ln2) + ½ln2 = ⅜ln3.
    const hand = tf.tensor2d([[1]], [1, 1], "int32");
    close(scalar(distillationLoss(student(), teacher(), hand, { temperature: 1, alpha: 0.5 })), (3 / 8) * Math.log(3));
    assert.throws(() => distillationLoss(s, t, y, { temperature: 2, alpha: 1.5 }), /alpha = 1.5/);
    tf.dispose([s, t, y, mask, hand]);
  });

  it("leaks no tensors", async () => {
    const s = tf.randomNormal([2, 4, 9], 0, 1, "float32", 5) as tf.Tensor3D;
    const t = tf.randomNormal([2, 4, 9], 0, 1, "float32", 6) as tf.Tensor3D;
    const y = tf.zeros([2, 4], "int32") as tf.Tensor2D;
    await expectNoLeak(() => {
      distillationLoss(s, t, y, { temperature: 2, alpha: 0.5 }).dispose();
      tf.grad((x: tf.Tensor) => distillationLoss(x as tf.Tensor3D, t, y, { temperature: 2, alpha: 0.5 }))(s).dispose();
    }, "distillationLoss and its gradient");
    tf.dispose([s, t, y]);
  });
});
