/** Plausible wrong answers to chapter 4's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import * as S from "../../../solutions/04-decoder";
import type { Mutant } from "../../grading";

/** Attention with a chosen mask (1 = may attend) and scale. */
const attention = (mask: (T: number) => tf.Tensor, scaled: boolean) => (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) =>
  tf.tidy(() => {
    const T = q.shape[2];
    const scores = tf.div(tf.matMul(q, k, false, true), scaled ? Math.sqrt(q.shape[3]) : 1);
    const masked = tf.where(tf.cast(mask(T), "bool"), scores, tf.fill(scores.shape, -1e9));
    return tf.matMul(tf.softmax(masked, -1), v) as tf.Tensor4D;
  });
const lower = (T: number) => tf.linalg.bandPart(tf.ones([T, T]), -1, 0);

export const mutants: Mutant<typeof S>[] = [
  { exercise: "4.1 splitHeads", mistake: "reshapes straight to [B, nHead, T, hs]", patch: { splitHeads: (x, n) => tf.tidy(() => x.reshape([x.shape[0], n, x.shape[1], x.shape[2] / n]) as tf.Tensor4D) } },
  { exercise: "4.1 splitHeads", mistake: "splits the last axis as [hs, nHead]", patch: { splitHeads: (x, n) => tf.tidy(() => x.reshape([x.shape[0], x.shape[1], x.shape[2] / n, n]).transpose([0, 3, 1, 2]) as tf.Tensor4D) } },
  { exercise: "4.2 mergeHeads", mistake: "reshapes without moving the head axis back", patch: { mergeHeads: (x) => tf.tidy(() => x.reshape([x.shape[0], x.shape[2], x.shape[1] * x.shape[3]]) as tf.Tensor3D) } },
  { exercise: "4.2 mergeHeads", mistake: "leaves the transposed tensor alive (no tf.tidy)", patch: { mergeHeads: (x) => x.transpose([0, 2, 1, 3]).reshape([x.shape[0], x.shape[2], x.shape[1] * x.shape[3]]) as tf.Tensor3D } },
  { exercise: "4.3 causalAttention", mistake: "no mask", patch: { causalAttention: attention((T) => tf.ones([T, T]), true) } },
  { exercise: "4.3 causalAttention", mistake: "no scaling by √hs", patch: { causalAttention: attention(lower, false) } },
  { exercise: "4.3 causalAttention", mistake: "masks the lower triangle instead of the upper", patch: { causalAttention: attention((T) => tf.linalg.bandPart(tf.ones([T, T]), 0, -1), true) } },
  { exercise: "4.4 layerNorm", mistake: "eps added after the square root", patch: { layerNorm: (x, g, b, eps = 1e-5) => tf.tidy(() => { const { mean, variance } = tf.moments(x, -1, true); return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.add(tf.sqrt(variance), eps)), g), b); }) } },
  { exercise: "4.4 layerNorm", mistake: "ignores its eps argument", patch: { layerNorm: (x, g, b) => S.layerNorm(x, g, b, 1e-5) } },
  { exercise: "4.4 layerNorm", mistake: "unbiased variance (divides by D − 1)", patch: { layerNorm: (x, g, b, eps = 1e-5) => tf.tidy(() => { const D = x.shape[x.rank - 1]; const { mean, variance } = tf.moments(x, -1, true); return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(tf.mul(variance, D / (D - 1)), eps))), g), b); }) } },
  { exercise: "4.5 countParameters", mistake: "ignores bias: false", patch: { countParameters: (c) => S.countParameters({ ...c, bias: true }) } },
  { exercise: "4.5 countParameters", mistake: "ignores tieEmbeddings: false", patch: { countParameters: (c) => S.countParameters({ ...c, tieEmbeddings: true }) } },
  { exercise: "4.5 countParameters", mistake: "forgets the final ln_f", patch: { countParameters: (c) => S.countParameters(c) - c.nEmbd * (c.bias ? 2 : 1) } },
];
