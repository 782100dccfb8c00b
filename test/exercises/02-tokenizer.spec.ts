import * as assert from "assert";
import { ByteBPETokenizer, UnigramTokenizer, WordPieceTokenizer, utf8 } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/02-tokenizer")>("02-tokenizer");

const GOLDEN_MERGES: [number, number][] = [[97, 97], [97, 98], [256, 257]];
const POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。";

describe("chapter 02 — 分词器模型", () => {
  exercise("2.1 countPairs", {
    points: 1,
    hint: "数的是相邻的一对一对;重叠的对要分别计数,顺序按第一次出现",
    code: "用 for 循环看每个 i 和 i+1,键写成 `${ids[i]},${ids[i + 1]}`,用 map.set(key, (map.get(key) ?? 0) + 1) 累加",
    libraryTwins: ["pairStatistics", "bpeTrace"],
  }, () => {
    assert.deepStrictEqual([...ex().countPairs([1, 2, 3, 1, 2])], [["1,2", 2], ["2,3", 1], ["3,1", 1]]);
    assert.deepStrictEqual([...ex().countPairs([7])], []);
    assert.deepStrictEqual([...ex().countPairs([])], []);
    assert.deepStrictEqual([...ex().countPairs([5, 5, 5])], [["5,5", 2]], "overlapping pairs count twice");
    assert.deepStrictEqual([...ex().countPairs([300, 4, 30, 4])], [["300,4", 1], ["4,30", 1], ["30,4", 1]]);
  });

  exercise("2.2 mergePair", {
    points: 1,
    hint: "从左往右扫描,合并后的两个位置不能再参与下一次匹配;不要改动输入数组",
    code: "从左往右走:如果 ids[i] 和 ids[i+1] 正好是这一对,放入 newId 并让 i 多跳一格;否则放入 ids[i]",
    libraryTwins: ["bpeTrace"],
  }, () => {
    assert.deepStrictEqual(ex().mergePair([5, 6, 6, 7, 9, 1], [6, 7], 99), [5, 6, 99, 9, 1]);
    assert.deepStrictEqual(ex().mergePair([1, 1, 1], [1, 1], 4), [4, 1]);
    assert.deepStrictEqual(ex().mergePair([1, 1, 1, 1], [1, 1], 4), [4, 4]);
    assert.deepStrictEqual(ex().mergePair([6, 7], [7, 6], 9), [6, 7], "order matters: (7, 6) is not (6, 7)");
    const ids = [1, 2, 1, 2];
    assert.deepStrictEqual(ex().mergePair(ids, [1, 2], 3), [3, 3]);
    assert.deepStrictEqual(ids, [1, 2, 1, 2], "the input must not be modified");
  });

  exercise("2.3 encodeWithMerges", {
    points: 2,
    hint: "编码时按合并学到的先后顺序(编号最小的先合并),而不是按文本里从左到右;直到没有可合并的对为止,可能只剩一个 token",
    code: "先把 merges 变成 Map(\"a,b\" → r);循环:用 countPairs 找出当前所有相邻对里 r 最小的,mergePair 成 256 + r;找不到就结束",
    libraryTwins: ["ByteBPETokenizer", "bpeTrace"],
  }, async () => {
    assert.deepStrictEqual(ex().encodeWithMerges("aaabdaaabac", GOLDEN_MERGES), [258, 100, 258, 97, 99]);
    assert.deepStrictEqual(ex().encodeWithMerges("明", []), [230, 152, 142]);
    assert.deepStrictEqual(ex().encodeWithMerges("", GOLDEN_MERGES), []);
    assert.deepStrictEqual(ex().encodeWithMerges("aaaa", [[97, 97], [256, 256]]), [257], "merging goes on down to a single token");
    assert.deepStrictEqual(ex().encodeWithMerges("月", [[230, 156], [256, 136]]), [257], "one character, one token");
    // The merge learned first wins, wherever it is in the text: (b, c) is merge 0, (a, b) is merge 1.
    assert.deepStrictEqual(ex().encodeWithMerges("abc", [[98, 99], [97, 98]]), [97, 256]);
    // Same ids as the course's tokenizer on a whole poem (one chunk, no special tokens).
    const tok = await ByteBPETokenizer.train([POEM, POEM, POEM], { vocabSize: 300, specialTokens: [], preSplit: "none" });
    tok.merges.forEach((_, r) => assert.strictEqual(tok.mergeId(r), 256 + r));
    assert.deepStrictEqual(ex().encodeWithMerges(POEM, tok.merges.map(([a, b]) => [a, b])), tok.encode(POEM));
  });

  exercise("2.4 decodeIds", {
    points: 1,
    hint: "解码要先把每个 id 还原成字节,全部拼好后再一次性按 UTF-8 解码:一个汉字可能被拆在两个 id 里",
    code: "先造一张表 vocab[id] = 字节数组:0–255 是 [b],256 + r 是 vocab[a] 和 vocab[b] 拼起来;把 ids 的字节全部接起来,最后一次性用 TextDecoder 解码",
    libraryTwins: ["ByteBPETokenizer", "tokenStringToBytes"],
  }, () => {
    assert.strictEqual(ex().decodeIds([258, 100, 258, 97, 99], GOLDEN_MERGES), "aaabdaaabac");
    assert.strictEqual(ex().decodeIds([230, 256], [[152, 142]]), "明", "a character split across two ids");
    assert.strictEqual(ex().decodeIds([], GOLDEN_MERGES), "");
    assert.strictEqual(ex().decodeIds([...utf8("月光 😀")], []), "月光 😀");
    const merges: [number, number][] = [[230, 152], [256, 142], [257, 230]];
    assert.strictEqual(ex().decodeIds([258, 156, 136], merges), "明月", "merges of merges");
  });

  exercise("2.5 wordPieceTokenize", {
    points: 2,
    hint: "WordPiece 是贪心的最长匹配:从词的开头起每次取最长的在词表里的片段,词中间的片段带 ##;按字符切,不是按 UTF-16",
    code: "外层循环记住 start;内层从 end = 词长开始递减,片段 = (start > 0 ? \"##\" : \"\") + chars.slice(start, end).join(\"\");在词表里就收下并令 start = end;一个都找不到就返回 [unk]",
    libraryTwins: ["WordPieceTokenizer"],
  }, () => {
    const vocab = new Set(["明", "明月", "##月", "##光", "##明月光"]);
    assert.deepStrictEqual(ex().wordPieceTokenize("明月光", vocab), ["明月", "##光"]);
    assert.deepStrictEqual(ex().wordPieceTokenize("月光", vocab), ["[UNK]"]);
    assert.deepStrictEqual(ex().wordPieceTokenize("明明月光", vocab), ["明", "##明月光"], "longest match first");
    assert.deepStrictEqual(ex().wordPieceTokenize("明月霜", vocab, "<unk>"), ["<unk>"]);
    assert.deepStrictEqual(ex().wordPieceTokenize("un😀able", new Set(["un", "##😀", "##able", "##a"])), ["un", "##😀", "##able"], "split by characters, not UTF-16 units");
    // Same pieces as the course's WordPiece, on its own vocabulary.
    const bytes = Array.from({ length: 512 }, (_, b) => ({ bytes: Uint8Array.of(b & 255), cont: b >= 256 }));
    const extra = ["明", "明月", "##光", "##月光", "##上霜"];
    const wp = new WordPieceTokenizer([...bytes, ...extra.map((e) => ({ bytes: utf8(e.replace("##", "")), cont: e.startsWith("##") }))], { preSplit: "none" });
    for (const word of ["明月光", "明月上霜", "明光"]) {
      assert.deepStrictEqual(ex().wordPieceTokenize(word, new Set(extra)), wp.encode(word).map((id) => wp.displayToken(id)), word);
    }
  });

  exercise("2.6 viterbiSegment", {
    points: 2,
    hint: "Viterbi 是动态规划:best[end] 记录切到 end 为止的最大对数概率总和;按字符切,不是按 UTF-16",
    code: "best = new Array(n + 1).fill(-Infinity),best[0] = 0;两层循环 end、start,片段在 logProbs 里就试着更新 best[end] 并记下 from[end] = start;最后从 n 沿 from 往回走再反转",
    libraryTwins: ["UnigramTokenizer"],
  }, () => {
    const lp = new Map([["明", -5], ["月", -5], ["光", -5], ["明月", -6], ["月光", -8]]);
    assert.deepStrictEqual(ex().viterbiSegment("明月光", lp), ["明月", "光"]);
    lp.set("月光", -5.5);
    assert.deepStrictEqual(ex().viterbiSegment("明月光", lp), ["明", "月光"], "now 明 + 月光 = −10.5 wins");
    assert.deepStrictEqual(ex().viterbiSegment("光", lp), ["光"]);
    assert.deepStrictEqual(ex().viterbiSegment("", lp), []);
    const emoji = new Map([["😀", -1], ["月", -2], ["😀月", -2.5]]);
    assert.deepStrictEqual(ex().viterbiSegment("😀月😀", emoji), ["😀月", "😀"], "split by characters, not UTF-16 units");
    // Same segmentation as the course's Unigram model.
    const pieces = [["床", -6], ["前", -6], ["明", -5], ["月", -5], ["光", -5], ["明月", -6], ["月光", -8], ["床前", -7], ["前明", -9]] as const;
    const uni = new UnigramTokenizer(pieces.map(([piece, score]) => ({ piece, score })), { preSplit: "none" });
    assert.deepStrictEqual(ex().viterbiSegment("床前明月光", new Map(pieces)), uni.encode("床前明月光").map((id) => uni.idToToken(id)));
  });

  exercise("2.7 trainBPE", {
    points: 2,
    hint: "每一步合并出现次数最多的一对;次数相同时取 ID 较小的一对(先比第一个 ID,再比第二个),与第 2 章正文相同。对不上时先看失败信息里是哪一步平局",
    code: "循环 numMerges 次:counts = countPairs(ids);遍历 counts,split(\",\") 成 [a, b],次数更大、或次数相同而 (a, b) 更小时替换;ids = mergePair(ids, [a, b], 256 + r)",
    libraryTwins: ["ByteBPETokenizer", "bpeTrace", "pairStatistics"],
  }, async () => {
    assert.deepStrictEqual(ex().trainBPE("aaabdaaabac", 3), [[97, 97], [97, 98], [256, 257]], "step 2 is a tie, (256, 97) against (97, 98): the smaller ids win");
    assert.deepStrictEqual(ex().trainBPE("ab ab ab", 2), [[97, 98], [32, 256]], "step 2 is a tie, (256, 32) against (32, 256): the smaller ids win");
    assert.deepStrictEqual(ex().trainBPE("zzyy", 1), [[121, 121]], "a three-way tie: (y, y) has the smallest ids, though (z, z) comes first in the text");
    assert.deepStrictEqual(ex().trainBPE("ab", 5), [[97, 98]], "stops when no pair is left");
    assert.deepStrictEqual(ex().trainBPE("", 3), []);
    const merges = ex().trainBPE(POEM, 20);
    assert.strictEqual(merges.length, 20);
    // E6 98 starts 明 (twice) and 是; E6 9C starts 月 (twice) and 望: three times each, 152 < 156.
    assert.deepStrictEqual(merges.slice(0, 2), [[230, 152], [230, 156]]);
    // The same merges as the course's tokenizer for as long as it merges (it stops at pairs seen once).
    const tok = await ByteBPETokenizer.train([POEM], { vocabSize: 256 + 20, specialTokens: [], preSplit: "none" });
    assert.ok(tok.merges.length >= 10, `the library learned only ${tok.merges.length} merges`);
    assert.deepStrictEqual(merges.slice(0, tok.merges.length), tok.merges.map(([a, b]) => [a, b]), "the same merges as ByteBPETokenizer.train (the same tie rule as the chapter's prose)");
  });
});
