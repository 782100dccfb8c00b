/**
 * 第 8 章练习:LoRA 微调——数 LoRA 的参数、LoRA 层的前向计算、把适配器合并进权重、再拆出来,以及只训练适配器、冻结基座的一步梯度下降。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 08` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 08 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 记号与 lib/train/lora.ts 相同:权重 W 的形状是 [in, out](y = x·W),A 是 [in, r],B 是 [r, out],
 * 缩放系数 scale = alpha / r。产生张量的函数请包在 `tf.tidy(() => ...)` 里。
 */
import { tf, todo } from "tiaoyu";

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
  return todo("8.1 loraCounts");
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
  return todo("8.2 loraForward");
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
  return todo("8.3 mergeLora");
}

/**
 * 8.4 把适配器拆出来(unmerge)
 *
 * 8.3 的逆运算:已合并的权重 W' 减去 (alpha / r)·A·B,得到原来的基座权重(在浮点误差以内)。
 */
export function unmergeLora(merged: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, alpha: number): tf.Tensor2D {
  return todo("8.4 unmergeLora");
}

/**
 * 8.5 哪些参数在训练,哪些冻结(one LoRA training step)
 *
 * LoRA 微调时基座权重 W 冻结,只有 A 和 B 在学。用你在 8.2 写的 loraForward 和均方误差
 *   loss = mean((loraForward(x, W, A, B, alpha) − y)²)
 * 做一步梯度下降(学习率 lr):A ← A − lr·∂loss/∂A,B ← B − lr·∂loss/∂B,W 一个数都不能变。
 * 返回这一步之前的损失(一个普通的数)。
 * 提示:tf.variableGrads(f, varList) 只对 varList 里的变量求梯度;用 variable.assign(新值) 更新;
 * 用完的张量(损失、梯度)要 dispose,循环跑几千步也不能漏内存。
 * 想一想:LoRA 的 B 从 0 开始,第一步之后 A 变了吗?为什么?
 *
 * @example  B = 0 时,第一步的损失就是基座模型的损失 mean((x·W − y)²)
 */
export function loraSgdStep(x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Variable, a: tf.Variable, b: tf.Variable, alpha: number, lr: number): number {
  return todo("8.5 loraSgdStep");
}
