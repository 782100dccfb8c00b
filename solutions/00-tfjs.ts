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

/** 0.2 梯度下降拟合 y ≈ w·x + b。 */
export function fitLine(xs: number[], ys: number[], steps: number, lr: number): { w: number; b: number } {
  const x = tf.tensor1d(xs);
  const y = tf.tensor1d(ys);
  // Made inside tidy: tf.variable copies its initial value, and the scalar it started from would otherwise stay alive.
  const w = tf.tidy(() => tf.variable(tf.scalar(0)));
  const b = tf.tidy(() => tf.variable(tf.scalar(0)));
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.add(tf.mul(w, x), b), y))) as tf.Scalar, [w, b]);
      w.assign(tf.sub(w, tf.mul(grads[w.name], lr)));
      b.assign(tf.sub(b, tf.mul(grads[b.name], lr)));
      value.dispose();
    });
  }
  const out = { w: w.dataSync()[0], b: b.dataSync()[0] };
  tf.dispose([x, y, w, b]);
  return out;
}
