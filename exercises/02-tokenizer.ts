/**
 * 第 2 章练习:分词器模型。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 02` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 02 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 前四题一起就是一个完整的字节级 BPE(2.7 用它们训练),2.5 是 WordPiece 的编码,2.6 是 Unigram 的切分。
 * 写完后去读 lib/tokenizer 里的同名算法:做的是同一件事,只是为了在整个语料上跑得快而换了数据结构。
 */
import { todo } from "tiaoyu";

/**
 * 2.1 统计相邻 id 对
 *
 * BPE 每一步都要知道:哪两个相邻的 id 一起出现得最多?给定一串 id,统计每一对相邻的 (a, b) 出现了几次。
 * 返回一个 Map,键是字符串 "a,b",值是次数;键按每一对第一次出现的先后顺序插入(Map 会记住插入顺序)。
 *
 * @example
 *   countPairs([1, 2, 3, 1, 2])   // → Map { "1,2" => 2, "2,3" => 1, "3,1" => 1 }
 *   countPairs([7])               // → Map {}   (一个 id 没有相邻对)
 */
export function countPairs(ids: readonly number[]): Map<string, number> {
  return todo("2.1 countPairs");
}

/**
 * 2.2 合并一对
 *
 * 把 `ids` 中每一处相邻的 pair[0], pair[1] 换成一个新的 id `newId`,返回新数组(不要修改 `ids`)。
 * 从左往右扫描,合并过的位置不再参与:[1, 1, 1] 合并 (1, 1) 得到 [new, 1],不是 [1, new]。
 *
 * @example
 *   mergePair([5, 6, 6, 7, 9, 1], [6, 7], 99)   // → [5, 6, 99, 9, 1]
 *   mergePair([1, 1, 1], [1, 1], 4)              // → [4, 1]
 */
export function mergePair(ids: readonly number[], pair: readonly [number, number], newId: number): number[] {
  return todo("2.2 mergePair");
}

/**
 * 2.3 用合并表编码
 *
 * 字节级 BPE 的模型就是一张合并表:merges[r] = [a, b] 表示第 r 次学到的合并,它把 a、b 合成新 id 256 + r。
 * 编码一段文本:先取它的 UTF-8 字节(new TextEncoder().encode(text)),作为初始 id(0–255);然后反复
 * 找出当前序列里"学得最早"(r 最小)的那个可合并的相邻对,用 mergePair 把它合并;直到没有可合并的对。
 *
 * @example
 *   encodeWithMerges("aaabdaaabac", [[97, 97], [97, 98], [256, 257]])   // → [258, 100, 258, 97, 99]
 *   encodeWithMerges("明", [])                                          // → [230, 152, 142]  (明 的 3 个字节)
 */
export function encodeWithMerges(text: string, merges: readonly (readonly [number, number])[]): number[] {
  return todo("2.3 encodeWithMerges");
}

/**
 * 2.4 解码:字节变回文字
 *
 * 每个 id 代表一串字节:0–255 就是那个字节,256 + r 是 merges[r] 两半所代表的字节接在一起。
 * 把 `ids` 代表的所有字节依次接起来,再按 UTF-8 解码成文字(new TextDecoder().decode(Uint8Array.from(bytes)))。
 * 注意:不能逐个 id 解码再拼接——一个汉字的 3 个字节可能分在两个 id 里。
 *
 * @example
 *   decodeIds([258, 100, 258, 97, 99], [[97, 97], [97, 98], [256, 257]])   // → "aaabdaaabac"
 *   decodeIds([230, 256], [[152, 142]])                                   // → "明"  (E6 | 98 8E)
 */
export function decodeIds(ids: readonly number[], merges: readonly (readonly [number, number])[]): string {
  return todo("2.4 decodeIds");
}

/**
 * 2.5 WordPiece:贪心最长匹配
 *
 * WordPiece 编码一个词:从词首开始,取词表中能匹配的最长一段;然后从剩下的部分继续,
 * 但词中间的片段要加前缀 "##" 再去词表里找("##光" 表示"不在词首的 光")。
 * 如果某一步连一个字都匹配不上,整个词就编码成 [unk](BERT 的做法)。按字符(而不是 UTF-16 单元)切:[...word]。
 *
 * @example
 *   const vocab = new Set(["明", "明月", "##月", "##光"]);
 *   wordPieceTokenize("明月光", vocab)   // → ["明月", "##光"]
 *   wordPieceTokenize("月光", vocab)     // → ["[UNK]"]   (词首的 "月" 不在词表里,只有 "##月")
 */
export function wordPieceTokenize(word: string, vocab: ReadonlySet<string>, unk = "[UNK]"): string[] {
  return todo("2.5 wordPieceTokenize");
}

/**
 * 2.6 Unigram:Viterbi 切分
 *
 * Unigram 模型给每个片段一个对数概率 log p。一种切分的得分是各片段 log p 之和;要找得分最大的切分。
 * 用动态规划:best[i] = 前 i 个字符的最佳得分,best[0] = 0,
 *   best[end] = max over start < end of best[start] + logProbs(text[start..end])  (片段在 logProbs 里才算);
 * 同时记下每个 end 的最佳 start,最后从末尾往回走,得到片段。按字符切:[...text]。
 * 假设每个单字都在 logProbs 里(总能切分)。
 *
 * @example
 *   viterbiSegment("明月光", new Map([["明", -5], ["月", -5], ["光", -5], ["明月", -6], ["月光", -8]]))
 *   // → ["明月", "光"]   (−11,胜过 明+月光 的 −13 和 明+月+光 的 −15)
 */
export function viterbiSegment(text: string, logProbs: ReadonlyMap<string, number>): string[] {
  return todo("2.6 viterbiSegment");
}

/**
 * 2.7 训练 BPE(综合题)
 *
 * 用 2.1 和 2.2 训练一个字节级 BPE:从 text 的 UTF-8 字节开始,做 numMerges 次:
 * 统计相邻对,取出现次数最多的一对(次数相同时,取 ID 较小的一对:先比第一个 ID,再比第二个,
 * 和正文、和 ByteBPETokenizer.train 的规则一样,这样每次训练的结果完全确定),记入合并表,
 * 并把它合并成新 id 256 + r(r 是这是第几次合并,从 0 开始)。没有相邻对时提前结束。返回合并表。
 *
 * @example
 *   trainBPE("aaabdaaabac", 3)   // → [[97, 97], [97, 98], [256, 257]]   ("aa", "ab", "aaab")
 *   // 第二步 (256, 97) 和 (97, 98) 都出现 2 次,97 < 256,所以先合并 (97, 98)
 */
export function trainBPE(text: string, numMerges: number): [number, number][] {
  return todo("2.7 trainBPE");
}
