import * as assert from "assert";
import { assignSplit, fnv1a32 as libFnv } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/01-data")>("01-data");

describe("chapter 01 — 数据收集与处理", () => {
  exercise("1.1 wrapSample", {
    points: 1,
    hint: "样本是一行 JSON:文本要包上 <s>…</s>,并按 JSON 规则转义。复习本章「样本格式」一节",
    code: '先拼出文本 "<s>" + paragraphs.join("") + "</s>",再写成 `{"text": ${JSON.stringify(文本)}}`(冒号后有空格)',
    libraryTwins: ["toSample"],
  }, () => {
    assert.strictEqual(
      ex().wrapSample(["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"]),
      '{"text": "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>"}',
    );
    assert.strictEqual(ex().wrapSample([]), '{"text": "<s></s>"}');
    const tricky = ex().wrapSample(['他说"好"', "\\n"]);
    assert.deepStrictEqual(JSON.parse(tricky), { text: '<s>他说"好"\\n</s>' }, "quotes and backslashes must be escaped as JSON");
    const control = ex().wrapSample(["床前\t明月光，", "疑是\n地上霜。\u0001"]);
    assert.ok(!/[\u0000-\u001f]/.test(control), "a tab, newline or other control character must be escaped: the sample must stay one line of JSON");
    assert.deepStrictEqual(JSON.parse(control), { text: "<s>床前\t明月光，疑是\n地上霜。\u0001</s>" });
  });

  exercise("1.2 normalizeLine", {
    points: 1,
    hint: "看看是哪一种没处理好:空白(包括全角空格、制表符)还是某个半角标点。复习「清洗规则」",
    code: "先用 line.replace(/\\s+/g, \"\") 去掉空白,再用一张 {',': '，', …} 对照表和 replace 的回调函数换标点",
    libraryTwins: ["normalizePunctuation", "normalizeWhitespace", "cleanLines"],
  }, () => {
    assert.strictEqual(ex().normalizeLine(" 床前明月光, 疑是地上霜."), "床前明月光，疑是地上霜。");
    assert.strictEqual(ex().normalizeLine("何处?\u3000归去!\t且住;听:"), "何处？归去！且住；听：");
    assert.strictEqual(ex().normalizeLine("春眠不觉晓，处处闻啼鸟。"), "春眠不觉晓，处处闻啼鸟。");
    assert.strictEqual(ex().normalizeLine(""), "");
    assert.strictEqual(ex().normalizeLine("春,夏,秋,冬. 一,二!三!"), "春，夏，秋，冬。一，二！三！", "every occurrence of a mark is replaced, not only the first");
  });

  exercise("1.3 isIncomplete", {
    points: 1,
    hint: "缺字有四种记号:□、■、（缺）、（阙）;只有注里的字不算缺字。对照失败信息里的那首诗",
    code: "一个正则表达式就能同时匹配这几种情况,用 .test(text);注意注里的括号是全角的（）",
    libraryTwins: ["hasMissingCharacters", "hasEditorialMarks"],
  }, () => {
    for (const t of ["冰□已镂津。", "■■", "白日依山尽，（缺）入海流。", "（阙）"]) assert.strictEqual(ex().isIncomplete(t), true, t);
    for (const t of ["床前明月光，疑是地上霜。", "缺月挂疏桐", "", "（一作明月）"]) assert.strictEqual(ex().isIncomplete(t), false, t);
  });

  exercise("1.4 dedupExact", {
    points: 2,
    hint: "想清楚「重复」的键是什么:只比较汉字;保留每组第一条原样的文本,顺序不变",
    code: "键只留汉字:t.match(/\\p{Script=Han}/gu) 找出所有汉字再 join;用一个 Set 记录见过的键,filter 只留第一次出现的",
    libraryTwins: ["dedupExact", "dedupKey", "Deduplicator"],
  }, () => {
    assert.deepStrictEqual(
      ex().dedupExact(["床前明月光，疑是地上霜。", "床前明月光 疑是地上霜", "春眠不觉晓", "床前明月光,疑是地上霜!"]),
      ["床前明月光，疑是地上霜。", "春眠不觉晓"],
    );
    assert.deepStrictEqual(ex().dedupExact(["乙", "甲", "乙", "甲。"]), ["乙", "甲"], "keep the first of each, in the original order");
    assert.deepStrictEqual(ex().dedupExact(["床前明月光", "床前看月光"]), ["床前明月光", "床前看月光"], "one different character is not an exact duplicate");
    assert.deepStrictEqual(ex().dedupExact([]), []);
  });

  exercise("1.5 fnv1a32", {
    points: 1,
    hint: "FNV-1a 处理的是 UTF-8 字节而不是字符,每一步先异或再乘,结果是无符号 32 位数。复习「哈希划分」",
    code: "从 0x811c9dc5 开始,逐个处理 new TextEncoder().encode(text) 的字节:先异或,再用 Math.imul 乘;最后 >>> 0 变成无符号数",
    libraryTwins: ["fnv1a32", "splitHash"],
  }, () => {
    assert.strictEqual(ex().fnv1a32(""), 0x811c9dc5);
    assert.strictEqual(ex().fnv1a32("a"), 0xe40c292c);
    assert.strictEqual(ex().fnv1a32("foobar"), 0xbf9cf968);
    for (const s of ["床前明月光", "静夜思|李白|床前明月光，疑是地上霜。", "🌙"]) assert.strictEqual(ex().fnv1a32(s), libFnv(s), `fnv1a32(${JSON.stringify(s)}): hash the UTF-8 bytes, not the characters`);
  });

  exercise("1.6 splitOf", {
    points: 2,
    hint: "划分只由键的哈希决定:u 落在 [0, 1) 的哪一段,就分到哪个集合。复习「哈希划分」",
    code: "u = mix32(fnv1a32(key)) / 2 ** 32;依次和 train、train + validation 比较",
    libraryTwins: ["assignSplit", "splitHash", "fnv1a32", "qaSplitOf"],
  }, () => {
    const ratios = { train: 0.9, validation: 0.05, test: 0.05 };
    const even = { train: 0.34, validation: 0.33, test: 0.33 };
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const key = `题${i}|作者${i % 13}|首句${i * 7}`;
      for (const r of [ratios, even]) {
        const got = ex().splitOf(key, r);
        assert.strictEqual(got, assignSplit(key, r), `splitOf(${JSON.stringify(key)}) should be ${assignSplit(key, r)}`);
        seen.add(got);
      }
    }
    assert.deepStrictEqual([...seen].sort(), ["test", "train", "validation"]);
  });
});
