/**
 * 第 9 章练习:知识蒸馏——带温度的 KL 散度损失(乘以 T²),软目标与硬标签混合的损失,以及温度如何改变软标签的熵。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 09` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 09 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 这里的 logits 都是二维的 [N, V]:N 个位置,每个位置对词表 V 个词元的打分。
 * 有用的函数:`tf.div`、`tf.logSoftmax`、`tf.exp`、`tf.sub`、`tf.mul`、`tf.sum`、`tf.mean`、`tf.oneHot`。
 * 产生张量的函数请包在 `tf.tidy(() => ...)` 里,这样中间结果会被自动释放。
 */
import { tf, todo } from "tiaoyu";

/**
 * 9.1 带温度的 KL 散度(白盒蒸馏的"软目标"损失)
 *
 * 教师和学生的 logits 先都除以温度 T,再做 softmax:
 *   p = softmax(teacher / T)     教师的软目标;T 越大分布越平,小概率的"次优答案"越显眼
 *   q = softmax(student / T)
 *   KL(p ‖ q) = Σ_v p[v] · (log p[v] − log q[v])     每个位置一个数
 * 返回 T² · (N 个位置 KL 的平均值)。乘 T² 是因为 KL 对学生 logits 的梯度是 (q − p) / T,
 * 温度越高梯度越小;乘上 T² 之后,不同温度下这一项的分量大致不变。
 *
 * @example  一个位置、两个词元:teacher = [0, ln 3] → p = [¼, ¾];student = [0, 0] → q = [½, ½]
 *   T = 1:KL = ¼·ln(¼ / ½) + ¾·ln(¾ / ½) = ¾·ln 3 − ln 2 ≈ 0.1308
 */
export function softenedKL(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return todo("9.1 softenedKL");
}

/**
 * 9.2 混合损失:α · 软目标损失 + (1 − α) · 硬标签交叉熵
 *
 *   软目标损失 = softenedKL(student, teacher, T)                 (9.1,已含 T²)
 *   硬标签交叉熵 = N 个位置上 −log softmax(student)[target] 的平均   (温度为 1,和 SFT 的损失一样)
 *   返回 α · 软目标损失 + (1 − α) · 硬标签交叉熵
 * α = 0 就是普通的 SFT;α = 1 只向教师学习。targets 是 int32 的 [N]。
 *
 * @example  上例再加 target = 1:CE = −log ½ = ln 2;T = 1、α = ½ 时
 *   ½ · (¾·ln 3 − ln 2) + ½ · ln 2 = ⅜ · ln 3 ≈ 0.4120
 */
export function mixedDistillationLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  targets: tf.Tensor1D,
  temperature: number,
  alpha: number,
): tf.Scalar {
  return todo("9.2 mixedDistillationLoss");
}

/**
 * 9.3 软标签的熵(entropy of the soft targets)
 *
 * 温度越高,教师的分布越"软"。把每个位置的 logits 除以 T 再 softmax 得到 p,熵 H = −Σ p·ln p(单位 nats);
 * 返回所有位置熵的平均值(一个标量)。概率为 0 的词元贡献 0:用 tf.logSoftmax 算 ln p,不要写 tf.log(tf.softmax(...))。
 * 请用 tf.tidy 包住计算。
 *
 * @example  logits [[0, ln 3]],T = 1:p = [0.25, 0.75],H = −(0.25·ln 0.25 + 0.75·ln 0.75) ≈ 0.562
 *           V 个相同的 logits:H = ln V(最软);一个 logit 远大于其余:H ≈ 0
 */
export function softTargetEntropy(teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return todo("9.3 softTargetEntropy");
}
