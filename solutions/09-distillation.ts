/**
 * 第 9 章练习的参考答案:带温度的 KL 散度损失与混合损失、软标签的熵。
 * (Reference solutions for chapter 9; `npm run grade 09 -- --target solutions` must pass them all.)
 */
import { tf } from "tiaoyu";

/** 9.1 T² · mean KL(softmax(teacher / T) ‖ softmax(student / T))。 */
export function softenedKL(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(teacherLogits, temperature)); // [N, V]
    const logQ = tf.logSoftmax(tf.div(studentLogits, temperature)); // [N, V]
    const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1); // [N]
    return tf.mul(tf.mean(kl), temperature * temperature) as tf.Scalar;
  });
}

/** 9.2 α · softenedKL + (1 − α) · 硬标签交叉熵。 */
export function mixedDistillationLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  targets: tf.Tensor1D,
  temperature: number,
  alpha: number,
): tf.Scalar {
  return tf.tidy(() => {
    const V = studentLogits.shape[1];
    const logQ = tf.logSoftmax(studentLogits); // [N, V] at T = 1
    const ce = tf.mean(tf.neg(tf.sum(tf.mul(logQ, tf.oneHot(targets, V)), -1))); // []
    const kd = softenedKL(studentLogits, teacherLogits, temperature); // []
    return tf.add(tf.mul(kd, alpha), tf.mul(ce, 1 - alpha)) as tf.Scalar;
  });
}

/** 9.3 softmax(logits / T) 的熵(nats),对位置取平均。用 logSoftmax,这样概率为 0 的词元贡献 0 而不是 NaN。 */
export function softTargetEntropy(teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(teacherLogits, temperature)); // [N, V]
    const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logP), logP), -1)); // [N]
    return tf.mean(entropy) as tf.Scalar;
  });
}
