/**
 * 第 3 章练习:嵌入层、Dropout、位置编码。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 03` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 03 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 这些函数只用普通的 JavaScript 数组,不需要 TensorFlow.js:先把概念算清楚,张量版本在 lib/model 里。
 */
import { todo } from "tiaoyu";

/**
 * 3.1 嵌入查表(embedding lookup)
 *
 * 嵌入层就是一张表:第 id 行是 token id 的向量。给定表 `table`(vocabSize 行,每行 nEmbd 个数)和一串 token id,
 * 返回这些 id 对应的行,顺序与 `ids` 相同。返回的行应是副本:修改结果不能改动原表。
 * id 不是表中的行号(负数、非整数、超出范围)时抛出错误。
 *
 * @example
 *   embeddingLookup([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [2, 0, 2])
 *   // → [[0.5, 0.6], [0.1, 0.2], [0.5, 0.6]]
 */
export function embeddingLookup(table: number[][], ids: number[]): number[][] {
  return todo("3.1 embeddingLookup");
}

/**
 * 3.2 倒置 Dropout(inverted dropout)
 *
 * 训练时,Dropout 以概率 `rate` 把每个数置 0;为了让期望值不变,保留下来的数要除以 (1 − rate)。
 * 这里随机性已经替你抽好了:`keep[i]` 为 true 表示第 i 个数被保留。返回新的数组。
 *
 * @example
 *   applyDropout([1, 2, 3, 4], [true, false, true, false], 0.5)   // → [2, 0, 6, 0]
 */
export function applyDropout(x: number[], keep: boolean[], rate: number): number[] {
  return todo("3.2 applyDropout");
}

/**
 * 3.3 正弦位置编码表(sinusoidal positional encoding)
 *
 * 返回一个 positions 行、nEmbd 列(nEmbd 为偶数)的表。第 pos 行、第 2i 列和第 2i+1 列分别是
 *   sin(pos / 10000^(2i / nEmbd))   和   cos(pos / 10000^(2i / nEmbd))
 *
 * @example
 *   sinusoidalTable(2, 4)
 *   // → [[0, 1, 0, 1],
 *   //    [0.8415, 0.5403, 0.0100, 0.99995]]     (sin 1, cos 1, sin 0.01, cos 0.01)
 */
export function sinusoidalTable(positions: number, nEmbd: number): number[][] {
  return todo("3.3 sinusoidalTable");
}

/**
 * 3.4 旋转位置编码 RoPE(rotary position embedding)
 *
 * 把一个注意力头里的向量 x(长度 hs,偶数)按它所在的位置 pos 旋转。把第 j 维和第 j + hs/2 维看成平面上的
 * 一个点 (x1, x2),逆时针旋转角度 θ = pos · base^(−2j / hs):
 *   x1' = x1·cos θ − x2·sin θ
 *   x2' = x1·sin θ + x2·cos θ
 * (这是 GPT-NeoX 和 LLaMA 使用的"前后两半配对"的排法,与 lib/model/position.ts 相同。)
 *
 * @example
 *   rope([1, 0], 0)   // → [1, 0]            位置 0 不旋转
 *   rope([1, 0], 1)   // → [0.5403, 0.8415]   hs = 2 时 θ = pos,旋转 1 弧度
 */
export function rope(x: number[], pos: number, base = 10000): number[] {
  return todo("3.4 rope");
}
