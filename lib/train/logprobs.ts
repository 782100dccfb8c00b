import * as tf from "@tensorflow/tfjs";
import { softmaxCrossEntropy } from "../kernels/fused";
import type { GPT } from "../model/gpt";
import type { NamedVariables } from "./optimizer";

/**
 * log σ(x), computed so that it neither overflows nor rounds to log 0: log σ(x) = −softplus(−x) = min(x, 0) − log(1 + e^−|x|).
 * @example logSigmoid(0) = −log 2 ≈ −0.6931;  logSigmoid(−1000) = −1000 (not −Infinity)
 */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.minimum(x, 0), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
}

/**
 * Per-sequence sums of log-probabilities: Σ_t mask[b,t] · log softmax(logits[b,t])[targets[b,t]], shape [B].
 * `targets` are the next tokens (the inputs shifted by one) and `mask` is 1 where the target is an answer token.
 *
 * @example one sequence, two positions over a vocabulary of 2, logits [[0, 0], [0, ln 3]], targets [0, 1]:
 *   log p = [log ½, log ¾]; mask [0, 1] → log ¾ ≈ −0.2877;  mask [1, 1] → log ⅜ ≈ −0.9808
 */
export function maskedLogProbs(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    if (targets.shape[0] !== B || targets.shape[1] !== T || mask.shape[0] !== B || mask.shape[1] !== T) {
      throw new Error(`maskedLogProbs: logits [${logits.shape}], targets [${targets.shape}] and mask [${mask.shape}] must agree on [B, T]`);
    }
    // The fused kernel gives −log p(target) per position with its gradient (softmax − onehot) written out.
    const nll = softmaxCrossEntropy(logits.reshape([B * T, V]), tf.cast(targets, "int32").reshape([B * T])); // [B·T]
    return tf.neg(tf.sum(tf.mul(nll.reshape([B, T]), tf.cast(mask, "float32")), 1)) as tf.Tensor1D; // [B]
  });
}

/** Token sequences of equal length (padded), row-major, with a mask over the tokens that belong to the answer. */
export interface MaskedSequences {
  /** [rows × length] token ids: prompt, answer, then padding. */
  readonly ids: Int32Array;
  /** [rows × length] 1 where ids[t] is a token of the answer (what the model is judged on), else 0. */
  readonly mask: Float32Array;
  readonly rows: number;
  readonly length: number;
}

/**
 * log π(answer | prompt) of every row, shape [B], under `model`: the model reads ids[0 … T−2] and is scored on
 * predicting ids[1 … T−1] wherever that token is an answer token. Padding after the answer changes nothing (the
 * model is causal and the mask is 0 there), so rows of different lengths share one batch.
 *
 * @example sequenceLogProbs(model, encoded).dataSync()  // e.g. [−12.3, −40.1]: the first answer is e^28 times likelier
 */
export function sequenceLogProbs(model: Pick<GPT, "forward">, seqs: MaskedSequences, options: { training?: boolean } = {}): tf.Tensor1D {
  const { rows: B, length: T } = seqs;
  if (T < 2) throw new Error(`sequenceLogProbs: sequences of length ${T} have no next token to score`);
  return tf.tidy(() => {
    const ids = tf.tensor2d(seqs.ids, [B, T], "int32"); // [B, T]
    const mask = tf.tensor2d(seqs.mask, [B, T], "float32"); // [B, T]
    const input = tf.slice(ids, [0, 0], [B, T - 1]); // [B, T-1]
    const targets = tf.slice(ids, [0, 1], [B, T - 1]); // [B, T-1]
    const logits = model.forward(input as tf.Tensor2D, { training: options.training ?? false }); // [B, T-1, V]
    return maskedLogProbs(logits, targets as tf.Tensor2D, tf.slice(mask, [0, 1], [B, T - 1]) as tf.Tensor2D); // [B]
  });
}

/**
 * Per-token log-probabilities of the targets, [B, T−1] (0 where the mask is 0): what GRPO needs to weigh each
 * sampled token and to measure the KL to the reference token by token.
 */
export function tokenLogProbs(model: Pick<GPT, "forward">, seqs: MaskedSequences, options: { training?: boolean } = {}): tf.Tensor2D {
  const { rows: B, length: T } = seqs;
  if (T < 2) throw new Error(`tokenLogProbs: sequences of length ${T} have no next token to score`);
  return tf.tidy(() => {
    const ids = tf.tensor2d(seqs.ids, [B, T], "int32"); // [B, T]
    const mask = tf.slice(tf.tensor2d(seqs.mask, [B, T], "float32"), [0, 1], [B, T - 1]); // [B, T-1]
    const logits = model.forward(tf.slice(ids, [0, 0], [B, T - 1]) as tf.Tensor2D, { training: options.training ?? false }); // [B, T-1, V]
    const V = logits.shape[2];
    const nll = softmaxCrossEntropy(logits.reshape([B * (T - 1), V]), tf.slice(ids, [0, 1], [B, T - 1]).reshape([B * (T - 1)])); // [B·(T-1)]
    return tf.mul(tf.neg(nll.reshape([B, T - 1])), mask) as tf.Tensor2D; // [B, T-1]
  });
}

/**
 * The KL estimator GRPO uses per sampled token (Schulman's "k3"): with d = log π_ref(y) − log π(y),
 *   k3 = e^d − d − 1  ≥ 0,
 * whose mean over tokens sampled from π is KL(π ‖ π_ref) without bias, and which is never negative (unlike −d).
 * @example d = 0 (the policy agrees with the reference) → 0;  d = ln 2 → 2 − 0.693 − 1 = 0.307
 */
export function klK3(policyLogProbs: tf.Tensor, referenceLogProbs: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = tf.sub(referenceLogProbs, policyLogProbs);
    return tf.sub(tf.sub(tf.exp(d), d), 1);
  });
}

/** A copy of every weight's values on the host, to check later that nothing moved ({@link changedWeights}). */
export function snapshotWeights(weights: NamedVariables): Map<string, Float32Array> {
  return new Map([...weights].map(([name, v]) => [name, Float32Array.from(v.dataSync() as Float32Array)]));
}

/**
 * The names of the weights whose values differ from `snapshot` (bit for bit): [] for a frozen model. Tests and the
 * notebook use it to show that the reference and the reward model never change while the policy trains.
 */
export function changedWeights(weights: NamedVariables, snapshot: ReadonlyMap<string, Float32Array>): string[] {
  const changed: string[] = [];
  for (const [name, v] of weights) {
    const before = snapshot.get(name);
    const now = v.dataSync();
    if (!before || before.length !== now.length || now.some((x, i) => !Object.is(x, before[i]))) changed.push(name);
  }
  return changed;
}
