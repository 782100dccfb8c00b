/**
 * 第 7 章练习的参考答案:Bradley–Terry 损失、回答的序列对数概率、DPO 损失、GRPO 的组内优势。
 * (Reference solutions for chapter 7; `npm run grade 07 -- --target solutions` must pass them all.)
 */
import { tf } from "tiaoyu";

/** 7.1 mean of −log σ(r_chosen − r_rejected). */
export function bradleyTerryLoss(rChosen: tf.Tensor1D, rRejected: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.logSigmoid(tf.sub(rChosen, rRejected)))) as tf.Scalar);
}

/** 7.2 Σ over answer positions t of log softmax(logits[t−1])[ids[t]]. */
export function answerLogProb(logits: tf.Tensor2D, ids: number[], promptLength: number): tf.Scalar {
  return tf.tidy(() => {
    const [rows, V] = logits.shape;
    if (rows !== ids.length - 1) throw new Error(`logits has ${rows} rows, expected ids.length − 1 = ${ids.length - 1}`);
    const logProbs = tf.logSoftmax(logits, -1); // [n−1, V]
    const targets = tf.oneHot(tf.tensor1d(ids.slice(1), "int32"), V); // [n−1, V]
    const perToken = tf.sum(tf.mul(logProbs, targets), -1); // [n−1]: log p(ids[t+1])
    const mask = tf.tensor1d(ids.slice(1).map((_, t) => (t + 1 >= promptLength ? 1 : 0))); // answer tokens only
    return tf.sum(tf.mul(perToken, mask)) as tf.Scalar;
  });
}

/** 7.3 mean of −log σ(β · [(π_c − ref_c) − (π_r − ref_r)]). */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  referenceChosen: tf.Tensor1D,
  referenceRejected: tf.Tensor1D,
  beta: number,
): tf.Scalar {
  return tf.tidy(() => {
    const margin = tf.mul(beta, tf.sub(tf.sub(policyChosen, referenceChosen), tf.sub(policyRejected, referenceRejected)));
    return tf.neg(tf.mean(tf.logSigmoid(margin))) as tf.Scalar;
  });
}

/** 7.4 (r − group mean) / (group population std + eps), group by group. */
export function groupAdvantages(rewards: number[], groupSize: number, eps = 1e-6): number[] {
  const out: number[] = [];
  for (let g = 0; g < rewards.length; g += groupSize) {
    const group = rewards.slice(g, g + groupSize);
    const mean = group.reduce((a, b) => a + b, 0) / group.length;
    const std = Math.sqrt(group.reduce((a, b) => a + (b - mean) ** 2, 0) / group.length);
    for (const r of group) out.push((r - mean) / (std + eps));
  }
  return out;
}
