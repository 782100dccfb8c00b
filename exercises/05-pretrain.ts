/**
 * 第 5 章练习:训练循环的零件——学习率调度、按全局范数裁剪梯度、AdamW 更新、top-k / top-p 采样。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 05` 查看得分。
 * 这些都是 lib/train/schedule.ts、lib/train/optimizer.ts 和 lib/generate.ts 里某一部分的简化版:
 * 请自己写出来,不要调用 lib 里的同名功能(评分器会比较结果,也会检查你没有直接借用库的实现)。
 * 产生张量的函数请包在 `tf.tidy(() => ...)` 里,评分器会检查有没有泄漏张量。
 */
import { tf, todo } from "tiaoyu";

/** 学习率调度的设置(与 lib/train/schedule.ts 的 ScheduleConfig 相同)。 */
export interface Schedule {
  /** 峰值学习率,预热结束时达到。 */
  readonly maxLr: number;
  /** 余弦衰减的终点(下限)。 */
  readonly minLr: number;
  /** 线性预热的步数(0:一开始就是 maxLr)。 */
  readonly warmupSteps: number;
  /** 余弦在这一步降到 minLr,之后一直保持 minLr。 */
  readonly decaySteps: number;
}

/**
 * 5.1 预热 + 余弦衰减的学习率(warm-up + cosine decay)
 *
 * 第 `step` 步(从 1 开始数,第 1 步就是第一次更新)的学习率:
 *   - step ≤ warmupSteps:线性预热,maxLr · step / warmupSteps(第 1 步是峰值的 1/warmupSteps,第 warmupSteps 步到峰值);
 *   - step ≥ decaySteps:minLr;
 *   - 中间:progress = (step − warmupSteps) / (decaySteps − warmupSteps) 从 0 走到 1,
 *     学习率 = minLr + ½(1 + cos(π · progress)) · (maxLr − minLr)。
 *
 * @example  { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, decaySteps: 110 }
 *   step 1 → 1e-4,step 5 → 5e-4,step 10 → 1e-3,step 60 → 5.5e-4(余弦的正中间),step 110、200 → 1e-4
 */
export function scheduledLr(step: number, s: Schedule): number {
  return todo("5.1 scheduledLr");
}

/**
 * 5.2 按全局范数裁剪梯度(clip by global norm)
 *
 * 把所有梯度张量看成一根很长的向量,它的长度是全局范数 norm = √(Σ 每个元素的平方)(所有张量的所有元素一起求和)。
 * norm ≤ maxNorm 时梯度不变;否则每个张量都乘以同一个因子 maxNorm / (norm + 1e-6),
 * 方向不变,长度被压到 maxNorm。返回裁剪后的新张量(和输入一样的顺序、形状),以及裁剪**之前**的 norm。
 *
 * @example
 *   clipGlobalNorm([tf.tensor([3]), tf.tensor([0, 4])], 1)
 *   // → norm 5;grads ≈ [[0.6], [0, 0.8]](两个张量乘以同一个 1/5)
 *   clipGlobalNorm([tf.tensor([0.3, 0.4])], 1)   // → norm 0.5,梯度原样返回(数值相同的新张量)
 */
export function clipGlobalNorm(grads: tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: number } {
  return todo("5.2 clipGlobalNorm");
}

/** AdamW 的超参数(与 lib/train/optimizer.ts 的 AdamWConfig 相同)。 */
export interface AdamWHyper {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** λ:每步把权重缩小 lr·λ 这个比例(解耦的权重衰减)。 */
  readonly weightDecay: number;
}

/**
 * 5.3 一个张量的 AdamW 更新
 *
 * w 是参数,g 是它这一步的梯度,m、v 是上一步留下的一阶、二阶矩(第一步之前都是 0),t 是这一次更新的序号(从 1 开始)。
 *   m' = β1·m + (1−β1)·g
 *   v' = β2·v + (1−β2)·g²
 *   m̂ = m' / (1 − β1^t)           偏差修正:开始时 m、v 从 0 出发,被低估了
 *   v̂ = v' / (1 − β2^t)
 *   w' = w·(1 − lr·λ) − lr · m̂ / (√v̂ + ε)
 * 注意权重衰减作用在**权重**上(AdamW),而不是加到梯度里(那是带 L2 正则的 Adam)。
 * 返回新的 w、m、v(新张量;输入的张量不要释放,它们属于调用者)。
 *
 * @example  w = [1],g = [0.5],m = v = [0],t = 1,lr = 0.1,β1 = 0.9,β2 = 0.95,ε = 1e-8,λ = 0.1:
 *   m' = 0.05,v' = 0.0125,m̂ = 0.5,v̂ = 0.25,w' = 1·(1 − 0.01) − 0.1 · 0.5/0.5 ≈ 0.89
 */
export function adamwUpdate(
  w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, t: number, lr: number, h: AdamWHyper,
): { w: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  return todo("5.3 adamwUpdate");
}

/**
 * 5.4 top-k:从 logits 得到只保留 k 个候选的分布
 *
 * 先用 softmax 把 logits 变成概率(先减去最大值,免得 exp 溢出),再只保留概率最大的 k 个 token,
 * 其余置 0,最后重新归一化,使总和为 1。概率相同时,下标小的优先。
 *
 * @example
 *   topKFromLogits([0, Math.log(5), Math.log(1.5), Math.log(2.5)], 2)
 *   // softmax → [0.1, 0.5, 0.15, 0.25];留下 0.5 和 0.25 → [0, 0.667, 0, 0.333]
 */
export function topKFromLogits(logits: number[], k: number): number[] {
  return todo("5.4 topKFromLogits");
}

/**
 * 5.5 top-p(核采样):从 logits 得到累计概率刚好达到 p 的最小候选集合
 *
 * softmax 之后,按概率从大到小把 token 一个个放进候选集合,直到集合里的概率之和 ≥ p 为止——
 * **让累计概率越过 p 的那个 token 也要放进去**。其余置 0,再重新归一化。概率相同时,下标小的优先。
 * (比较时留一点浮点误差的余地:和 ≥ p − 1e-12 就算达到。)
 *
 * @example  softmax 之后是 [0.1, 0.5, 0.15, 0.25]:
 *   p = 0.7 → 0.5 + 0.25 = 0.75 ≥ 0.7,留下两个:[0, 0.667, 0, 0.333]
 *   p = 0.8 → 还要加上 0.15:[0, 0.556, 0.167, 0.278]
 */
export function topPFromLogits(logits: number[], p: number): number[] {
  return todo("5.5 topPFromLogits");
}
