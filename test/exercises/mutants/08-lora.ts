/** Plausible wrong answers to chapter 8's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import * as S from "../../../solutions/08-lora";
import type { Mutant } from "../../grading";

export const mutants: Mutant<typeof S>[] = [
  { exercise: "8.1 loraCounts", mistake: "counts A only", patch: { loraCounts: (i, o, r) => ({ full: i * o, lora: i * r, ratio: (i * r) / (i * o) }) } },
  { exercise: "8.1 loraCounts", mistake: "the ratio upside down", patch: { loraCounts: (i, o, r) => { const c = S.loraCounts(i, o, r); return { ...c, ratio: c.full / c.lora }; } } },
  { exercise: "8.2 loraForward", mistake: "scales by alpha, not alpha / r", patch: { loraForward: (x, w, a, b, alpha) => S.loraForward(x, w, a, b, alpha * a.shape[1]) } },
  { exercise: "8.2 loraForward", mistake: "scales by r / alpha", patch: { loraForward: (x, w, a, b, alpha) => S.loraForward(x, w, a, b, (a.shape[1] * a.shape[1]) / alpha) } },
  { exercise: "8.3 mergeLora", mistake: "no scaling", patch: { mergeLora: (w, a, b) => tf.tidy(() => tf.add(w, tf.matMul(a, b)) as tf.Tensor2D) } },
  { exercise: "8.3 mergeLora", mistake: "scales by alpha, not alpha / r", patch: { mergeLora: (w, a, b, alpha) => S.mergeLora(w, a, b, alpha * a.shape[1]) } },
  { exercise: "8.4 unmergeLora", mistake: "adds the adapter again", patch: { unmergeLora: (m, a, b, alpha) => S.mergeLora(m, a, b, alpha) } },
  { exercise: "8.4 unmergeLora", mistake: "no scaling", patch: { unmergeLora: (m, a, b) => tf.tidy(() => tf.sub(m, tf.matMul(a, b)) as tf.Tensor2D) } },
];
