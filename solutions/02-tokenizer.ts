/**
 * 第 2 章练习的参考答案:分词器模型。
 *
 * 这些是 lib/tokenizer 中各算法最直接的写法:清楚,但不快。lib 里的版本做的是同样的事,
 * 只是换成了增量计数、类型化数组和字典树,好在整个语料上跑得动。
 */

/**
 * 2.1 统计相邻的 id 对出现的次数。
 * @example countPairs([1, 2, 3, 1, 2]) // → Map { "1,2" => 2, "2,3" => 1, "3,1" => 1 }
 */
export function countPairs(ids: readonly number[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + 1 < ids.length; i++) {
    const key = `${ids[i]},${ids[i + 1]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * 2.2 把每一处相邻的 (pair[0], pair[1]) 换成 newId,从左到右,不重叠。
 * @example mergePair([5, 6, 6, 7, 9, 1], [6, 7], 99) // → [5, 6, 99, 9, 1]
 */
export function mergePair(ids: readonly number[], pair: readonly [number, number], newId: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === pair[0] && ids[i + 1] === pair[1]) {
      out.push(newId);
      i++;
    } else {
      out.push(ids[i]);
    }
  }
  return out;
}

/**
 * 2.3 用一张合并表编码:先取文本的 UTF-8 字节,再按学到的先后顺序合并(第 r 条合并产生 id 256 + r)。
 * @example encodeWithMerges("aaabdaaabac", [[97, 97], [97, 98], [256, 257]]) // → [258, 100, 258, 97, 99]
 */
export function encodeWithMerges(text: string, merges: readonly (readonly [number, number])[]): number[] {
  let ids = Array.from(new TextEncoder().encode(text));
  const rank = new Map(merges.map(([a, b], r) => [`${a},${b}`, r]));
  while (ids.length >= 2) {
    let best = Infinity;
    for (const key of countPairs(ids).keys()) best = Math.min(best, rank.get(key) ?? Infinity);
    if (best === Infinity) break;
    ids = mergePair(ids, merges[best], 256 + best);
  }
  return ids;
}

/**
 * 2.4 解码:每个 id 代表一串字节(0–255 是字节本身,256 + r 是第 r 条合并的两半拼起来),
 * 把所有字节接起来,再按 UTF-8 变回文字。
 * @example decodeIds([258, 100, 258, 97, 99], [[97, 97], [97, 98], [256, 257]]) // → "aaabdaaabac"
 */
export function decodeIds(ids: readonly number[], merges: readonly (readonly [number, number])[]): string {
  const vocab: number[][] = [];
  for (let b = 0; b < 256; b++) vocab.push([b]);
  for (const [a, b] of merges) vocab.push([...vocab[a], ...vocab[b]]);
  const bytes = ids.flatMap((id) => vocab[id]);
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/**
 * 2.5 WordPiece 的贪心最长匹配:从词首开始,每次取词表里最长的一段;词中间的片段带 "##" 前缀。
 * 某一步一个片段也找不到时,整个词就是 unk。
 * @example wordPieceTokenize("明月光", new Set(["明", "明月", "##月", "##光"])) // → ["明月", "##光"]
 */
export function wordPieceTokenize(word: string, vocab: ReadonlySet<string>, unk = "[UNK]"): string[] {
  const chars = [...word];
  const pieces: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    let found: string | null = null;
    while (end > start) {
      const piece = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
      if (vocab.has(piece)) {
        found = piece;
        break;
      }
      end--;
    }
    if (found === null) return [unk];
    pieces.push(found);
    start = end;
  }
  return pieces;
}

/**
 * 2.6 Unigram 的 Viterbi 切分:在所有切法里,找各片段对数概率之和最大的一种。
 * @example viterbiSegment("明月光", new Map([["明", -5], ["月", -5], ["光", -5], ["明月", -6], ["月光", -8]]))
 *          // → ["明月", "光"]   (−11 胜过 明+月光 的 −13 和 明+月+光 的 −15)
 */
export function viterbiSegment(text: string, logProbs: ReadonlyMap<string, number>): string[] {
  const chars = [...text];
  const n = chars.length;
  const best = new Array<number>(n + 1).fill(-Infinity);
  const from = new Array<number>(n + 1).fill(-1);
  best[0] = 0;
  for (let end = 1; end <= n; end++) {
    for (let start = 0; start < end; start++) {
      const lp = logProbs.get(chars.slice(start, end).join(""));
      if (lp === undefined || best[start] === -Infinity) continue;
      if (best[start] + lp > best[end]) {
        best[end] = best[start] + lp;
        from[end] = start;
      }
    }
  }
  if (best[n] === -Infinity) throw new Error(`"${text}" cannot be segmented with this vocabulary`);
  const pieces: string[] = [];
  for (let end = n; end > 0; end = from[end]) pieces.push(chars.slice(from[end], end).join(""));
  return pieces.reverse();
}

/**
 * 2.7 训练 BPE:从 UTF-8 字节开始,做 numMerges 次合并,每次合并出现最多的相邻对
 * (次数相同时,取 ID 较小的一对:先比第一个 ID,再比第二个;与正文和 ByteBPETokenizer.train 相同),
 * 第 r 次合并产生 id 256 + r。
 * @example trainBPE("aaabdaaabac", 3) // → [[97, 97], [97, 98], [256, 257]]
 */
export function trainBPE(text: string, numMerges: number): [number, number][] {
  let ids = Array.from(new TextEncoder().encode(text));
  const merges: [number, number][] = [];
  for (let r = 0; r < numMerges; r++) {
    let pair: [number, number] = [0, 0], bestCount = 0;
    for (const [key, count] of countPairs(ids)) {
      const [a, b] = key.split(",").map(Number);
      const smaller = a < pair[0] || (a === pair[0] && b < pair[1]);
      if (count > bestCount || (count === bestCount && smaller)) (pair = [a, b]), (bestCount = count);
    }
    if (bestCount === 0) break;
    merges.push(pair);
    ids = mergePair(ids, pair, 256 + r);
  }
  return merges;
}
