/** Plausible wrong answers to chapter 9's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import * as S from "../../../solutions/09-distillation";
import type { Mutant } from "../../grading";

export const mutants: Mutant<typeof S>[] = [
  { exercise: "9.1 softenedKL", mistake: "forgets the T² factor", patch: { softenedKL: (s, t, T) => tf.tidy(() => tf.div(S.softenedKL(s, t, T), T * T) as tf.Scalar) } },
  { exercise: "9.1 softenedKL", mistake: "KL the wrong way round (student ‖ teacher)", patch: { softenedKL: (s, t, T) => S.softenedKL(t, s, T) } },
  { exercise: "9.1 softenedKL", mistake: "sums over positions instead of averaging", patch: { softenedKL: (s, t, T) => tf.tidy(() => tf.mul(S.softenedKL(s, t, T), s.shape[0]) as tf.Scalar) } },
  { exercise: "9.2 mixedDistillationLoss", mistake: "alpha weighs the hard labels", patch: { mixedDistillationLoss: (s, t, y, T, a) => S.mixedDistillationLoss(s, t, y, T, 1 - a) } },
  { exercise: "9.2 mixedDistillationLoss", mistake: "the cross-entropy at temperature T too", patch: { mixedDistillationLoss: (s, t, y, T, a) => tf.tidy(() => { const V = s.shape[1]; const ce = tf.mean(tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.div(s, T)), tf.oneHot(y, V)), -1))); return tf.add(tf.mul(S.softenedKL(s, t, T), a), tf.mul(ce, 1 - a)) as tf.Scalar; }) } },
  { exercise: "9.3 softTargetEntropy", mistake: "in bits (log base 2), not nats", patch: { softTargetEntropy: (l, T) => tf.tidy(() => tf.div(S.softTargetEntropy(l, T), Math.LN2) as tf.Scalar) } },
  { exercise: "9.3 softTargetEntropy", mistake: "ignores the temperature", patch: { softTargetEntropy: (l) => S.softTargetEntropy(l, 1) } },
  { exercise: "9.3 softTargetEntropy", mistake: "log(softmax): NaN when a probability underflows to 0", patch: { softTargetEntropy: (l, T) => tf.tidy(() => { const p = tf.softmax(tf.div(l, T)); return tf.mean(tf.neg(tf.sum(tf.mul(p, tf.log(p)), -1))) as tf.Scalar; }) } },
  { exercise: "9.3 softTargetEntropy", mistake: "sums over positions instead of averaging", patch: { softTargetEntropy: (l, T) => tf.tidy(() => tf.mul(S.softTargetEntropy(l, T), l.shape[0]) as tf.Scalar) } },
];
