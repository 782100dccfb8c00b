/**
 * 第 4 章练习的参考答案:解码器模块、自注意力、归一化、参数量。
 * (Reference solutions for chapter 4; `npm run grade 04 -- --target solutions` must pass them all.)
 */
import { GPTConfig, tf } from "tiaoyu";

/** 4.1 拆分注意力头:[B, T, nHead·hs] → [B, nHead, T, hs]。 */
export function splitHeads(x: tf.Tensor3D, nHead: number): tf.Tensor4D {
  const [B, T, D] = x.shape;
  return tf.tidy(() => x.reshape([B, T, nHead, D / nHead]).transpose([0, 2, 1, 3]) as tf.Tensor4D);
}

/** 4.2 合并注意力头:[B, nHead, T, hs] → [B, T, nHead·hs]。 */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, nHead, T, hs] = x.shape;
  return tf.tidy(() => x.transpose([0, 2, 1, 3]).reshape([B, T, nHead * hs]) as tf.Tensor3D);
}

/** 4.3 带因果掩码的缩放点积注意力:softmax(q·kᵀ/√hs + mask)·v。 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const T = q.shape[2];
    const hs = q.shape[3];
    const scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(hs)); // [B, nh, T, T]
    const allowed = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // 1 on and below the diagonal
    const masked = tf.where(tf.cast(allowed, "bool"), scores, tf.fill(scores.shape, -1e9)); // [B, nh, T, T]
    return tf.matMul(tf.softmax(masked, -1), v) as tf.Tensor4D; // [B, nh, T, hs]
  });
}

/** 4.4 LayerNorm:沿最后一维减均值、除以标准差,再乘 gamma 加 beta。 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
  });
}

/** 4.5 参数量:GPT-2 结构(learned 位置、GELU、LayerNorm;bias 与 tieEmbeddings 按配置)。 */
export function countParameters(config: GPTConfig): number {
  const { vocabSize: V, blockSize: P, nLayer: L, nEmbd: D, bias, tieEmbeddings } = config;
  const b = bias ? 1 : 0;
  const norm = D + b * D;
  const attention = D * 3 * D + b * 3 * D + D * D + b * D;
  const mlp = D * 4 * D + b * 4 * D + 4 * D * D + b * D;
  const perBlock = 2 * norm + attention + mlp;
  return V * D + P * D + L * perBlock + norm + (tieEmbeddings ? 0 : V * D);
}
