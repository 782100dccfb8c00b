/**
 * 第 6 章练习:有监督微调——对话样本的损失掩码、输入与目标的错位、只在回答上求平均的损失、从回复里取出答案。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 06` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 06 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 对话格式(与 lib/train/chat.ts 相同):
 *   <|user|> 问题… <|end|> <|assistant|> 回答… <|end|>
 * 只有回答的 token 和结尾的 <|end|> 参与损失(掩码为 1),其余为 0。
 */
import { tf, todo } from "tiaoyu";

/** 对话标记的 id(由第 2 章的分词器保留)。 */
export interface ChatMarkerIds {
  readonly user: number;
  readonly assistant: number;
  readonly end: number;
}

/**
 * 6.1 对话样本的损失掩码(loss mask for a chat sample)
 *
 * 给定问题的 token id(promptIds)和回答的 token id(answerIds),按
 *   [user, ...promptIds, end, assistant, ...answerIds, end]
 * 拼出整条序列 ids,并给出同样长度的 lossMask:回答的每个 token 和最后那个 end 为 1,其余(包括三个标记)为 0。
 *
 * @example  chatLossMask([10, 11], [20], { user: 1, assistant: 2, end: 3 })
 *   // → { ids: [1, 10, 11, 3, 2, 20, 3], lossMask: [0, 0, 0, 0, 0, 1, 1] }
 */
export function chatLossMask(promptIds: readonly number[], answerIds: readonly number[], markers: ChatMarkerIds): { ids: number[]; lossMask: number[] } {
  return todo("6.1 chatLossMask");
}

/**
 * 6.2 输入、目标与掩码的错位(shift for next-token training)
 *
 * 语言模型在第 t 个位置预测第 t+1 个 token。一条长度为 n 的序列给出 n−1 对(输入, 目标):
 *   inputs = ids[0 … n−2],targets = ids[1 … n−1],mask = lossMask[1 … n−1](掩码跟着目标走)。
 *
 * @example  shiftForTraining([1, 10, 3, 2, 20, 3], [0, 0, 0, 0, 1, 1])
 *   // → { inputs: [1, 10, 3, 2, 20], targets: [10, 3, 2, 20, 3], mask: [0, 0, 0, 1, 1] }
 */
export function shiftForTraining(ids: readonly number[], lossMask: readonly number[]): { inputs: number[]; targets: number[]; mask: number[] } {
  return todo("6.2 shiftForTraining");
}

/**
 * 6.3 只在回答上求平均的损失(masked mean of the token losses)
 *
 * nll[b, t] 是第 b 条序列第 t 个位置的交叉熵 −log p(目标);mask[b, t] 为 1 的位置才计入。
 * 返回 Σ(nll·mask) / Σmask(一个标量)。Σmask 为 0 时返回 0,而不是 NaN。
 * 请用 tf.tidy 包住计算。
 *
 * @example  nll = [[1, 2, 3]],mask = [[0, 1, 1]] → (2 + 3) / 2 = 2.5
 */
export function maskedMeanLoss(nll: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return todo("6.3 maskedMeanLoss");
}

/**
 * 6.4 从回复里取出答案(extract the answer)
 *
 * 课程的回答把要检查的部分放在第一对「」里:"下一句是「疑是地上霜」。" → "疑是地上霜"。
 * 没有完整的「…」时返回 null。答案两端的空白去掉。
 *
 * @example  extractAnswer("作者是「李白」。")   // "李白"
 *           extractAnswer("床前明月光")          // null
 */
export function extractAnswer(reply: string): string | null {
  return todo("6.4 extractAnswer");
}
