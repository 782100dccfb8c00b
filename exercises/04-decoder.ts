/**
 * 第 4 章练习:解码器模块——注意力头的拆分与合并、带因果掩码的自注意力、LayerNorm、参数量。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 04` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 04 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 这里用 TensorFlow.js 的张量:`tf.reshape`、`tf.transpose`、`tf.matMul`、`tf.softmax`、`tf.moments` 等。
 * 产生张量的函数请包在 `tf.tidy(() => ...)` 里,这样中间结果会被自动释放。
 */
import { GPTConfig, tf, todo } from "tiaoyu";

/**
 * 4.1 拆分注意力头(split heads)
 *
 * 多头注意力把每个 token 的 D = nHead·hs 维向量切成 nHead 段,每段交给一个头。把形状 [B, T, D] 的 x 变成
 * [B, nHead, T, hs]:第 h 个头拿到第 h·hs 到 (h+1)·hs − 1 列。提示:先 reshape 成 [B, T, nHead, hs],再 transpose。
 *
 * @example
 *   splitHeads(tf.tensor3d([[[1, 2, 3, 4], [5, 6, 7, 8]]]), 2).arraySync()
 *   // → [[[[1, 2], [5, 6]],      头 0:两个 token 的前两维
 *   //     [[3, 4], [7, 8]]]]     头 1:两个 token 的后两维
 */
export function splitHeads(x: tf.Tensor3D, nHead: number): tf.Tensor4D {
  return todo("4.1 splitHeads");
}

/**
 * 4.2 合并注意力头(merge heads)
 *
 * splitHeads 的逆运算:[B, nHead, T, hs] → [B, T, nHead·hs],各头的输出重新并排放回每个 token 的向量里。
 *
 * @example
 *   mergeHeads(splitHeads(x, 2))   // 与 x 完全相同
 */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  return todo("4.2 mergeHeads");
}

/**
 * 4.3 带因果掩码的缩放点积注意力(scaled dot-product attention with a causal mask)
 *
 * q、k、v 的形状都是 [B, nHead, T, hs]。计算
 *   scores  = q · kᵀ / √hs                     形状 [B, nHead, T, T]
 *   scores[i][j] = −∞(用 −1e9)当 j > i         第 i 个 token 不能看见它后面的 token
 *   weights = softmax(scores, 最后一维)          每一行的和为 1
 *   输出    = weights · v                        形状 [B, nHead, T, hs]
 *
 * @example  T = 2、hs = 1、q = k = [[1], [1]]、v = [[10], [20]]:
 *   第 0 个 token 只能看自己 → 10;第 1 个 token 对两者的分数相同 → (10 + 20) / 2 = 15
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  return todo("4.3 causalAttention");
}

/**
 * 4.4 层归一化 LayerNorm
 *
 * 沿最后一维(一个 token 的 D 个数)归一化:y = (x − 均值) / √(方差 + eps) · gamma + beta。
 * 方差用"除以 D"的有偏估计(与 PyTorch 相同)。
 *
 * @example  x = [1, 2, 3, 6],gamma = 1,beta = 0:均值 3,方差 3.5
 *   → [−2, −1, 0, 3] / √3.5 ≈ [−1.069, −0.535, 0, 1.604]
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  return todo("4.4 layerNorm");
}

/**
 * 4.5 数一数参数量(count the parameters of a config)
 *
 * 对 GPT-2 结构的模型(learned 位置编码、GELU 前馈网络宽 4D、LayerNorm),按配置计算可训练参数的总数:
 *   - token 嵌入 wte:vocabSize × nEmbd;位置嵌入 wpe:blockSize × nEmbd
 *   - 每个解码器模块:ln_1、ln_2(各有 weight,bias 为 true 时还有 bias,长度 D);
 *     attn.c_attn [D, 3D] 和 attn.c_proj [D, D];mlp.c_fc [D, 4D] 和 mlp.c_proj [4D, D](bias 为 true 时各带偏置)
 *   - 最后的 ln_f;输出层:tieEmbeddings 为 true 时与 wte 共享(0 个新参数),否则 vocabSize × nEmbd
 *
 * @example  GPT-2 small(vocabSize 50257、blockSize 1024、12 层、nEmbd 768):124,439,808
 */
export function countParameters(config: GPTConfig): number {
  return todo("4.5 countParameters");
}
