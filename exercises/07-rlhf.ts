/**
 * 第 7 章练习:人类反馈强化学习——奖励模型的 Bradley–Terry 损失、只算回答部分的序列对数概率、DPO 损失、GRPO 的组内优势。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 07` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 07 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 有用的函数:`tf.sub`、`tf.mul`、`tf.neg`、`tf.mean`、`tf.sum`、`tf.logSigmoid`、`tf.logSoftmax`、`tf.gather`、`tf.oneHot`。
 * 产生张量的函数请包在 `tf.tidy(() => ...)` 里,这样中间结果会被自动释放。
 */
import { tf, todo } from "tiaoyu";

/**
 * 7.1 Bradley–Terry 损失(奖励模型的训练目标)
 *
 * 奖励模型给同一个问题的两个回答打分:r_chosen(好回答)和 r_rejected(坏回答)。Bradley–Terry 模型认为
 * "好回答胜出"的概率是 σ(r_chosen − r_rejected),损失就是它的负对数:
 *   loss = −log σ(r_chosen − r_rejected)
 * 输入是 B 对回答的分数(两个长度为 B 的一维张量),返回 B 个损失的平均值(标量)。
 * 只有分数之差有意义:两个分数同时加上一个常数,损失不变。
 *
 * @example  r_chosen = [2], r_rejected = [0]   → −log σ(2) ≈ 0.1269
 *           r_chosen = [1], r_rejected = [1]   → log 2 ≈ 0.6931(分不出好坏)
 */
export function bradleyTerryLoss(rChosen: tf.Tensor1D, rRejected: tf.Tensor1D): tf.Scalar {
  return todo("7.1 bradleyTerryLoss");
}

/**
 * 7.2 回答的序列对数概率(提示部分不算)
 *
 * 一条序列 ids(长度 n)由提示(前 promptLength 个词元)和回答(其余词元)组成。模型读入 ids[0 … n−2],
 * 在每个位置 t 输出下一个词元的打分 logits[t](形状 [n−1, V]):logits[t] 预测的是 ids[t+1]。
 * 回答的对数概率是回答中每个词元的对数概率之和:
 *   log π(回答 | 提示) = Σ_{t = promptLength}^{n−1} log softmax(logits[t−1])[ids[t]]
 * 提示是用户给的,不是模型写的,所以不计入。返回一个标量。
 *
 * @example  词表只有 2 个词元,ids = [0, 1, 1],logits = [[0, 0], [0, ln 3]]
 *   位置 0 的分布是 [½, ½],预测 ids[1] = 1 的概率 ½;位置 1 的分布是 [¼, ¾],预测 ids[2] = 1 的概率 ¾
 *   promptLength = 1:log ½ + log ¾ = log ⅜ ≈ −0.9808
 *   promptLength = 2:只算最后一个词元,log ¾ ≈ −0.2877
 */
export function answerLogProb(logits: tf.Tensor2D, ids: number[], promptLength: number): tf.Scalar {
  return todo("7.2 answerLogProb");
}

/**
 * 7.3 DPO 损失(直接偏好优化)
 *
 * π 是正在训练的策略模型,π_ref 是冻结的 SFT 参考模型。每个输入都是 B 对回答的序列对数概率(7.2 的结果):
 *   隐式奖励差 margin = β · [ (log π(好) − log π_ref(好)) − (log π(坏) − log π_ref(坏)) ]
 *   loss = −log σ(margin),返回 B 个损失的平均值
 * 训练让好回答相对参考模型变得更可能、坏回答更不可能;β 越小,允许策略离参考模型越远。
 *
 * @example  β = 0.1,策略 (好, 坏) = (−10, −20),参考 (−12, −18)
 *   margin = 0.1 · ((−10 + 12) − (−20 + 18)) = 0.4,loss = −log σ(0.4) ≈ 0.5130
 *   策略与参考完全相同时 margin = 0,loss = log 2
 */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  referenceChosen: tf.Tensor1D,
  referenceRejected: tf.Tensor1D,
  beta: number,
): tf.Scalar {
  return todo("7.3 dpoLoss");
}

/**
 * 7.4 GRPO 的组内相对优势
 *
 * 对同一个问题,策略模型采样 G 个回答,奖励模型给出 G 个分数。每个回答的优势是它比同组平均好多少,
 * 再除以同组的标准差(总体标准差,除以 G 而不是 G − 1),分母加上 eps 以免全组分数相同时出现 0/0:
 *   A_i = (r_i − mean(r)) / (std(r) + eps)
 * rewards 由若干组首尾相接组成,每组 groupSize 个;返回同样长度的数组。
 *
 * @example  groupAdvantages([1, 2, 3, 5, 5, 5], 3) → [−1.2247, 0, 1.2247, 0, 0, 0]
 */
export function groupAdvantages(rewards: number[], groupSize: number, eps = 1e-6): number[] {
  return todo("7.4 groupAdvantages");
}
