/** Plausible wrong answers to chapter 8's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import * as S from "../../../solutions/08-lora";
import type { Mutant } from "../../grading";

/** One gradient step on the variables in `varList` (all trainable ones when undefined), with no leak. */
function sgd(x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Variable, a: tf.Variable, b: tf.Variable, alpha: number, lr: number, varList?: tf.Variable[]): number {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(S.loraForward(x, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, alpha), y))) as tf.Scalar, varList);
  tf.tidy(() => {
    for (const v of [w, a, b]) if (grads[v.name]) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
  });
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

export const mutants: Mutant<typeof S>[] = [
  { exercise: "8.1 loraCounts", mistake: "counts A only", patch: { loraCounts: (i, o, r) => ({ full: i * o, lora: i * r, ratio: (i * r) / (i * o) }) } },
  { exercise: "8.1 loraCounts", mistake: "the ratio upside down", patch: { loraCounts: (i, o, r) => { const c = S.loraCounts(i, o, r); return { ...c, ratio: c.full / c.lora }; } } },
  { exercise: "8.2 loraForward", mistake: "scales by alpha, not alpha / r", patch: { loraForward: (x, w, a, b, alpha) => S.loraForward(x, w, a, b, alpha * a.shape[1]) } },
  { exercise: "8.2 loraForward", mistake: "scales by r / alpha", patch: { loraForward: (x, w, a, b, alpha) => S.loraForward(x, w, a, b, (a.shape[1] * a.shape[1]) / alpha) } },
  { exercise: "8.3 mergeLora", mistake: "no scaling", patch: { mergeLora: (w, a, b) => tf.tidy(() => tf.add(w, tf.matMul(a, b)) as tf.Tensor2D) } },
  { exercise: "8.3 mergeLora", mistake: "scales by alpha, not alpha / r", patch: { mergeLora: (w, a, b, alpha) => S.mergeLora(w, a, b, alpha * a.shape[1]) } },
  { exercise: "8.4 unmergeLora", mistake: "adds the adapter again", patch: { unmergeLora: (m, a, b, alpha) => S.mergeLora(m, a, b, alpha) } },
  { exercise: "8.4 unmergeLora", mistake: "no scaling", patch: { unmergeLora: (m, a, b) => tf.tidy(() => tf.sub(m, tf.matMul(a, b)) as tf.Tensor2D) } },
  { exercise: "8.5 loraSgdStep", mistake: "no varList: every trainable variable moves, W included", patch: { loraSgdStep: (x, y, w, a, b, alpha, lr) => sgd(x, y, w, a, b, alpha, lr, undefined) } },
  { exercise: "8.5 loraSgdStep", mistake: "trains B only (A stays frozen too)", patch: { loraSgdStep: (x, y, w, a, b, alpha, lr) => sgd(x, y, w, a, b, alpha, lr, [b]) } },
  { exercise: "8.5 loraSgdStep", mistake: "steps up the gradient", patch: { loraSgdStep: (x, y, w, a, b, alpha, lr) => S.loraSgdStep(x, y, w, a, b, alpha, -lr) } },
  { exercise: "8.5 loraSgdStep", mistake: "returns the loss after the step", patch: { loraSgdStep: (x, y, w, a, b, alpha, lr) => { S.loraSgdStep(x, y, w, a, b, alpha, lr); return tf.tidy(() => tf.mean(tf.square(tf.sub(S.loraForward(x, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, alpha), y))).dataSync()[0]); } } },
  { exercise: "8.5 loraSgdStep", mistake: "leaks the gradients", patch: { loraSgdStep: (x, y, w, a, b, alpha, lr) => { const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(S.loraForward(x, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, alpha), y))) as tf.Scalar, [a, b]); a.assign(tf.sub(a, tf.mul(grads[a.name], lr))); b.assign(tf.sub(b, tf.mul(grads[b.name], lr))); return value.dataSync()[0]; } } },
];
