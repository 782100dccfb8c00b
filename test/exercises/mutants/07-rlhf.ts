/** Plausible wrong answers to chapter 7's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import * as S from "../../../solutions/07-rlhf";
import type { Mutant } from "../../grading";

export const mutants: Mutant<typeof S>[] = [
  { exercise: "7.1 bradleyTerryLoss", mistake: "log(sigmoid(d)): −Infinity when the reward model is very wrong", patch: { bradleyTerryLoss: (c, r) => tf.tidy(() => tf.neg(tf.mean(tf.log(tf.sigmoid(tf.sub(c, r))))) as tf.Scalar) } },
  { exercise: "7.1 bradleyTerryLoss", mistake: "sums over pairs instead of averaging", patch: { bradleyTerryLoss: (c, r) => tf.tidy(() => tf.neg(tf.sum(tf.logSigmoid(tf.sub(c, r)))) as tf.Scalar) } },
  { exercise: "7.2 answerLogProb", mistake: "counts the prompt's tokens too", patch: { answerLogProb: (l, ids) => S.answerLogProb(l, ids, 0) } },
  { exercise: "7.2 answerLogProb", mistake: "off by one: starts one token late", patch: { answerLogProb: (l, ids, p) => S.answerLogProb(l, ids, p + 1) } },
  { exercise: "7.3 dpoLoss", mistake: "forgets the reference model", patch: { dpoLoss: (pc, pr, rc, rr, b) => tf.tidy(() => tf.neg(tf.mean(tf.logSigmoid(tf.mul(b, tf.sub(pc, pr))))) as tf.Scalar) } },
  { exercise: "7.3 dpoLoss", mistake: "divides by β", patch: { dpoLoss: (pc, pr, rc, rr, b) => S.dpoLoss(pc, pr, rc, rr, 1 / b) } },
  { exercise: "7.4 groupAdvantages", mistake: "sample standard deviation (n − 1)", patch: { groupAdvantages: (rs, g, eps = 1e-6) => rs.map((_, i) => { const s = Math.floor(i / g) * g, grp = rs.slice(s, s + g), m = grp.reduce((a, b) => a + b, 0) / grp.length; const sd = Math.sqrt(grp.reduce((a, b) => a + (b - m) ** 2, 0) / (grp.length - 1)); return (rs[i] - m) / (sd + eps); }) } },
  { exercise: "7.4 groupAdvantages", mistake: "normalises over all rewards, not group by group", patch: { groupAdvantages: (rs, g, eps) => S.groupAdvantages(rs, rs.length, eps) } },
  { exercise: "7.4 groupAdvantages", mistake: "ignores its eps argument", patch: { groupAdvantages: (rs, g) => S.groupAdvantages(rs, g) } },
];
