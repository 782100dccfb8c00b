/** Plausible wrong answers to chapter 6's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import * as S from "../../../solutions/06-sft";
import type { Mutant } from "../../grading";

export const mutants: Mutant<typeof S>[] = [
  { exercise: "6.1 chatLossMask", mistake: "the closing end marker gets no loss", patch: { chatLossMask: (p, a, m) => { const r = S.chatLossMask(p, a, m); return { ids: r.ids, lossMask: [...r.lossMask.slice(0, -1), 0] }; } } },
  { exercise: "6.1 chatLossMask", mistake: "the assistant marker gets loss too", patch: { chatLossMask: (p, a, m) => { const r = S.chatLossMask(p, a, m); const lossMask = [...r.lossMask]; lossMask[p.length + 2] = 1; return { ids: r.ids, lossMask }; } } },
  { exercise: "6.2 shiftForTraining", mistake: "the mask follows the inputs, not the targets", patch: { shiftForTraining: (ids, m) => ({ inputs: ids.slice(0, -1), targets: ids.slice(1), mask: m.slice(0, -1) }) } },
  { exercise: "6.2 shiftForTraining", mistake: "targets not shifted", patch: { shiftForTraining: (ids, m) => ({ inputs: ids.slice(0, -1), targets: ids.slice(0, -1), mask: m.slice(1) }) } },
  { exercise: "6.3 maskedMeanLoss", mistake: "a loss of shape [1, 1] where a scalar is asked", patch: { maskedMeanLoss: (n, m) => tf.tidy(() => tf.reshape(S.maskedMeanLoss(n, m), [1, 1]) as unknown as tf.Scalar) } },
  { exercise: "6.3 maskedMeanLoss", mistake: "divides by every position, not by the mask's sum", patch: { maskedMeanLoss: (n, m) => tf.tidy(() => tf.mean(tf.mul(n, m)) as tf.Scalar) } },
  { exercise: "6.3 maskedMeanLoss", mistake: "NaN for an all-zero mask", patch: { maskedMeanLoss: (n, m) => tf.tidy(() => tf.div(tf.sum(tf.mul(n, m)), tf.sum(m)) as tf.Scalar) } },
  { exercise: "6.4 extractAnswer", mistake: "a greedy match runs to the last 」", patch: { extractAnswer: (r) => { const m = /「(.*)」/u.exec(r); return m ? m[1].trim() : null; } } },
  { exercise: "6.4 extractAnswer", mistake: "does not trim the answer", patch: { extractAnswer: (r) => { const m = /「([^「」]*)」/u.exec(r); return m ? m[1] : null; } } },
];
