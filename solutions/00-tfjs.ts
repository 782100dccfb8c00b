/**
 * 第 0 章练习的参考答案:广播、tf.tidy、用 tf.variableGrads 手工训练一条直线。
 * (Reference solutions for chapter 0; `npm run grade 00 -- --target solutions` must pass them all.)
 */
import { tf } from "tiaoyu";

/** 0.1 按列标准化:[N, F] 减去、除以 [F],靠广播。 */
export function standardizeColumns(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, 0); // [F], [F]
    return tf.div(tf.sub(x, mean), tf.sqrt(variance)) as tf.Tensor2D; // [N, F]
  });
}

/** 0.2 梯度下降拟合 ŷ = X·w + b。 */
export function fitLinear(X: number[][], y: number[], steps: number, lr: number): { w: number[]; b: number } {
  const F = X[0].length;
  const xT = tf.tensor2d(X); // [N, F]
  const yT = tf.tensor1d(y); // [N]
  // Made inside tidy: tf.variable copies its initial value, which would otherwise stay alive.
  const w = tf.tidy(() => tf.variable(tf.zeros([F, 1]))); // [F, 1]
  const b = tf.tidy(() => tf.variable(tf.scalar(0)));
  const predict = () => tf.add(tf.matMul(xT, w).reshape([-1]), b); // [N]
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.mean(tf.squaredDifference(predict(), yT)) as tf.Scalar, [w, b]);
      w.assign(tf.sub(w, tf.mul(grads[w.name], lr)));
      b.assign(tf.sub(b, tf.mul(grads[b.name], lr)));
    });
  }
  const out = { w: Array.from(w.dataSync()), b: b.dataSync()[0] };
  tf.dispose([xT, yT, w, b]);
  return out;
}
