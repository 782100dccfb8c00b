/** Plausible wrong answers to chapter 5's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import * as S from "../../../solutions/05-pretrain";
import type { Mutant } from "../../grading";

/** The reference schedule with one mistake. */
const schedule = (o: { warmupFrom0?: boolean; decayTo0?: boolean; progressOverAll?: boolean; noFloor?: boolean }) => (step: number, s: S.Schedule): number => {
  if (step <= s.warmupSteps) return (s.maxLr * (o.warmupFrom0 ? step - 1 : step)) / s.warmupSteps;
  if (!o.noFloor && step >= s.decaySteps) return s.minLr;
  const progress = o.progressOverAll ? step / s.decaySteps : (step - s.warmupSteps) / (s.decaySteps - s.warmupSteps);
  const min = o.decayTo0 ? 0 : s.minLr;
  return min + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.maxLr - min);
};

const sumSquares = (grads: tf.Tensor[]) => grads.reduce((sum, g) => sum + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]), 0);

/** The reference clipping with one mistake. */
const clip = (o: { always?: boolean; normAfter?: boolean; leak?: boolean }) => (grads: tf.Tensor[], maxNorm: number) => {
  const norm = Math.sqrt(sumSquares(grads));
  const factor = o.always || norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  const out = o.leak ? grads.map((g) => tf.mul(tf.mul(g, 1), factor)) : tf.tidy(() => grads.map((g) => tf.mul(g, factor)));
  return { grads: out, norm: o.normAfter ? Math.min(norm, maxNorm) : norm };
};

interface AdamMistakes {
  decayOnGradient?: boolean; // L2 regularization (Adam), not decoupled decay (AdamW)
  noMCorrection?: boolean;
  noVCorrection?: boolean;
  epsInsideSqrt?: boolean;
  decayAfterStep?: boolean;
  decayWithoutLr?: boolean;
}

/** The reference AdamW update with one mistake. */
const adamw = (o: AdamMistakes) => (w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, t: number, lr: number, h: S.AdamWHyper) =>
  tf.tidy(() => {
    const grad = o.decayOnGradient ? tf.add(g, tf.mul(w, h.weightDecay)) : g;
    const decay = o.decayOnGradient ? 0 : h.weightDecay;
    const m2 = tf.add(tf.mul(m, h.beta1), tf.mul(grad, 1 - h.beta1));
    const v2 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(grad), 1 - h.beta2));
    const mHat = o.noMCorrection ? m2 : tf.div(m2, 1 - h.beta1 ** t);
    const vHat = o.noVCorrection ? v2 : tf.div(v2, 1 - h.beta2 ** t);
    const denom = o.epsInsideSqrt ? tf.sqrt(tf.add(vHat, h.eps)) : tf.add(tf.sqrt(vHat), h.eps);
    const step = tf.mul(tf.div(mHat, denom), lr);
    const shrink = 1 - (o.decayWithoutLr ? 1 : lr) * decay;
    const w2 = o.decayAfterStep ? tf.mul(tf.sub(w, step), shrink) : tf.sub(tf.mul(w, shrink), step);
    return { w: w2, m: m2, v: v2 };
  });

const softmax = (logits: number[], subtractMax = true): number[] => {
  const max = subtractMax ? Math.max(...logits) : 0;
  const e = logits.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
};
const ranked = (p: number[], tiesLargerFirst = false) => p.map((_, i) => i).sort((a, b) => p[b] - p[a] || (tiesLargerFirst ? b - a : a - b));
const keepOnly = (p: number[], keep: number[], renormalize = true) => {
  const out = p.map(() => 0);
  for (const i of keep) out[i] = p[i];
  const sum = out.reduce((a, b) => a + b, 0);
  return renormalize ? out.map((x) => x / sum) : out;
};

const topK = (o: { noRenorm?: boolean; tiesLargerFirst?: boolean; noMax?: boolean }) => (logits: number[], k: number) => {
  const p = softmax(logits, !o.noMax);
  return keepOnly(p, ranked(p, o.tiesLargerFirst).slice(0, k), !o.noRenorm);
};

const topP = (o: { excludeCrossing?: boolean; strict?: boolean; noSoftmax?: boolean }) => (logits: number[], p: number) => {
  const probs = o.noSoftmax ? logits.map(Math.exp) : softmax(logits);
  const keep: number[] = [];
  let mass = 0;
  for (const i of ranked(probs)) {
    if (o.excludeCrossing) {
      mass += probs[i];
      if (mass > p) break;
      keep.push(i);
      continue;
    }
    keep.push(i);
    mass += probs[i];
    if (o.strict ? mass > p : mass >= p - 1e-12) break;
  }
  return keepOnly(probs, keep);
};

export const mutants: Mutant<typeof S>[] = [
  { exercise: "5.1 scheduledLr", mistake: "warm-up starts at 0 (step − 1)", patch: { scheduledLr: schedule({ warmupFrom0: true }) } },
  { exercise: "5.1 scheduledLr", mistake: "cosine decays to 0, not to minLr", patch: { scheduledLr: schedule({ decayTo0: true }) } },
  { exercise: "5.1 scheduledLr", mistake: "cosine progress counted over all decaySteps, warm-up included", patch: { scheduledLr: schedule({ progressOverAll: true }) } },
  { exercise: "5.1 scheduledLr", mistake: "no floor after decaySteps (the cosine comes back up)", patch: { scheduledLr: schedule({ noFloor: true }) } },
  {
    exercise: "5.2 clipGlobalNorm", mistake: "clips each tensor by its own norm",
    patch: { clipGlobalNorm: (grads, maxNorm) => ({ grads: tf.tidy(() => grads.map((g) => { const n = Math.sqrt(sumSquares([g])); return tf.mul(g, n > maxNorm ? maxNorm / n : 1); })), norm: Math.sqrt(sumSquares(grads)) }) },
  },
  { exercise: "5.2 clipGlobalNorm", mistake: "scales even when the norm is within the limit", patch: { clipGlobalNorm: clip({ always: true }) } },
  { exercise: "5.2 clipGlobalNorm", mistake: "returns the norm after clipping", patch: { clipGlobalNorm: clip({ normAfter: true }) } },
  { exercise: "5.2 clipGlobalNorm", mistake: "intermediate tensors left alive (no tf.tidy)", patch: { clipGlobalNorm: clip({ leak: true }) } },
  { exercise: "5.3 adamwUpdate", mistake: "weight decay added to the gradient (Adam with L2, not AdamW)", patch: { adamwUpdate: adamw({ decayOnGradient: true }) } },
  { exercise: "5.3 adamwUpdate", mistake: "no bias correction of m", patch: { adamwUpdate: adamw({ noMCorrection: true }) } },
  { exercise: "5.3 adamwUpdate", mistake: "no bias correction of v", patch: { adamwUpdate: adamw({ noVCorrection: true }) } },
  { exercise: "5.3 adamwUpdate", mistake: "ε inside the square root", patch: { adamwUpdate: adamw({ epsInsideSqrt: true }) } },
  { exercise: "5.3 adamwUpdate", mistake: "decay applied after the step", patch: { adamwUpdate: adamw({ decayAfterStep: true }) } },
  { exercise: "5.3 adamwUpdate", mistake: "decay not scaled by lr", patch: { adamwUpdate: adamw({ decayWithoutLr: true }) } },
  { exercise: "5.4 topKFromLogits", mistake: "does not renormalize the kept probabilities", patch: { topKFromLogits: topK({ noRenorm: true }) } },
  { exercise: "5.4 topKFromLogits", mistake: "ties go to the larger index", patch: { topKFromLogits: topK({ tiesLargerFirst: true }) } },
  { exercise: "5.4 topKFromLogits", mistake: "softmax without subtracting the maximum (exp overflows)", patch: { topKFromLogits: topK({ noMax: true }) } },
  { exercise: "5.5 topPFromLogits", mistake: "leaves out the token that crosses p", patch: { topPFromLogits: topP({ excludeCrossing: true }) } },
  { exercise: "5.5 topPFromLogits", mistake: "stops only when the mass exceeds p (reaching p is not enough)", patch: { topPFromLogits: topP({ strict: true }) } },
  { exercise: "5.5 topPFromLogits", mistake: "exp of the logits without normalizing (no softmax)", patch: { topPFromLogits: topP({ noSoftmax: true }) } },
];
