/**
 * 第 8 章练习:LoRA 微调——数 LoRA 的参数、LoRA 层的前向计算、把适配器合并进权重、再拆出来,以及只训练适配器、冻结基座的一步梯度下降。
 *
 * 这是参考答案。(Reference solutions for chapter 8; `npm run grade 08 -- --target solutions` must pass them all.)
 * 记号与 lib/train/lora.ts 相同:权重 W 的形状是 [in, out](y = x·W),A 是 [in, r],B 是 [r, out],
 * 缩放系数 scale = alpha / r。产生张量的函数请包在 `tf.tidy(() => ...)` 里。
 */
import { tf } from "tiaoyu";

/**
 * 8.1 数 LoRA 的参数(count LoRA parameters)
 *
 * 一个 in×out 的权重矩阵有 in·out 个参数;秩为 r 的 LoRA 只训练 A(in×r)和 B(r×out)。
 * 返回 { full, lora, ratio }:全量参数、LoRA 参数、以及 lora / full。
 *
 * @example  loraCounts(1024, 512, 8)   // 书中的例子
 *   // → { full: 524288, lora: 12288, ratio: 0.0234375 }
 */
export function loraCounts(inDim: number, outDim: number, rank: number): { full: number; lora: number; ratio: number } {
  const full = inDim * outDim;
  const lora = inDim * rank + rank * outDim;
  return { full, lora, ratio: lora / full };
}

/**
 * 8.2 LoRA 层的前向计算(LoRA forward)
 *
 * x 的形状是 [N, in]。返回 x·W + (alpha / r)·(x·A)·B,形状 [N, out]。
 * 注意先算 x·A(得到 [N, r])再乘 B:这样永远不用生成 in×out 的 A·B。
 *
 * @example  B 全为 0 时,结果就是 x·W(LoRA 从基座模型出发)。
 */
export function loraForward(x: tf.Tensor2D, w: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, alpha: number): tf.Tensor2D {
  return tf.tidy(() => {
    const scale = alpha / a.shape[1];
    return tf.add(tf.matMul(x, w), tf.mul(tf.matMul(tf.matMul(x, a), b), scale)) as tf.Tensor2D;
  });
}

/**
 * 8.3 把适配器合并进权重(merge an adapter)
 *
 * 返回新的权重 W + (alpha / r)·A·B(形状 [in, out]),r 是 A 的列数。合并之后,普通的 x·W' 就等于 8.2 的结果,
 * 推理时不再需要多算两次矩阵乘法。
 *
 * @example  W = [[1, 0], [0, 1]],A = [[1], [0]],B = [[2, 3]],alpha = 1(r = 1)
 *   // → [[3, 3], [0, 1]]
 */
export function mergeLora(w: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, alpha: number): tf.Tensor2D {
  return tf.tidy(() => tf.add(w, tf.mul(tf.matMul(a, b), alpha / a.shape[1])) as tf.Tensor2D);
}

/**
 * 8.4 把适配器拆出来(unmerge)
 *
 * 8.3 的逆运算:已合并的权重 W' 减去 (alpha / r)·A·B,得到原来的基座权重(在浮点误差以内)。
 */
export function unmergeLora(merged: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, alpha: number): tf.Tensor2D {
  return tf.tidy(() => tf.sub(merged, tf.mul(tf.matMul(a, b), alpha / a.shape[1])) as tf.Tensor2D);
}

/**
 * 8.5 哪些参数在训练,哪些冻结(one LoRA training step)
 *
 * 用 8.2 的 loraForward 和均方误差损失 mean((y_pred − y)²) 做一步梯度下降:只更新 A 和 B,基座权重 W 冻结不动。
 * 返回这一步之前的损失(一个数)。
 */
export function loraSgdStep(x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Variable, a: tf.Variable, b: tf.Variable, alpha: number, lr: number): number {
  // varList = [a, b]: W is a variable too (maybe even trainable), but only the adapter may move.
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(loraForward(x, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, alpha), y))) as tf.Scalar, [a, b]);
  tf.tidy(() => {
    a.assign(tf.sub(a, tf.mul(grads[a.name], lr)));
    b.assign(tf.sub(b, tf.mul(grads[b.name], lr)));
  });
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}
