import * as assert from "assert";
import { parseReasoning } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/10-reasoning")>("10-reasoning");

const GOOD: [string, string, string][] = [
  ["<think>共4句，每句5字。</think>这首诗是「五言绝句」。", "共4句，每句5字。", "这首诗是「五言绝句」。"],
  ["  <think>\n想一想\n</think>\n下一句是「疑是地上霜」。 ", "想一想", "下一句是「疑是地上霜」。"],
];
const BAD = [
  "这首诗是「五言绝句」。",
  "答案：<think>想</think>五言绝句",
  "<think>数一数：共4句",
  "<think>想</think>",
  "<think>   </think>五言绝句",
  "<think>想</think>答</think>",
  "<think><think>想</think>答",
  "</think>答<think>想",
  "",
];

const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-9, `${what}: got ${got}, expected ${want}`);

describe("chapter 10 — 推理模型训练", () => {
  exercise("10.1 parseResponse", {
    points: 2,
    hint: "合格的格式:以唯一一对 <think>…</think> 开头,思考和答案去掉空白后都不能为空",
    code: "先 trim();检查 startsWith(\"<think>\"),用 split(\"<think>\").length - 1 数标签个数;用 indexOf(\"</think>\") 切出两部分,各自 trim() 后都不能为空",
    libraryTwins: ["parseReasoning"],
  }, () => {
    for (const [text, thinking, answer] of GOOD) assert.deepStrictEqual(ex().parseResponse(text), { thinking, answer }, JSON.stringify(text));
    for (const text of BAD) {
      assert.strictEqual(ex().parseResponse(text), null, `${JSON.stringify(text)} is malformed: return null`);
      assert.strictEqual(parseReasoning(text).ok, false, "the grader's own case list agrees with lib");
    }
  });

  exercise("10.2 formatCorrectnessReward", {
    points: 2,
    hint: "答案只看 </think> 之后的部分:思考里的「…」不算,否则策略会学会把答案写在思考里骗奖励",
    code: "parseResponse 返回 null 就给 0;否则先得 0.2,再用 /「([^「」]*)」/u 取答案里第一对「」中的文字,等于 expected 就加 1",
    libraryTwins: ["reasoningReward", "parseReasoning", "checkReasoningAnswer", "reasoningScorer", "answerPart", "extractAnswer"],
  }, () => {
    const r = (text: string, expected: string) => ex().formatCorrectnessReward(text, expected);
    close(r("<think>共4句，每句5字。</think>这首诗是「五言绝句」。", "五言绝句"), 1.2, "well-formed and right");
    close(r("<think>共8句，每句5字。</think>这首诗是「五言律诗」。", "五言绝句"), 0.2, "well-formed but wrong");
    close(r("<think>想</think>五言绝句", "五言绝句"), 0.2, "right words but not in 「」");
    close(r("<think>想</think>下一句是「疑是地上霜」，作者是「李白」。", "疑是地上霜"), 1.2, "the first 「」 counts");
    close(r("<think>想</think>作者是「李白」，下一句是「疑是地上霜」。", "疑是地上霜"), 0.2, "only the first 「」 counts");
    close(r("这首诗是「五言绝句」。", "五言绝句"), 0, "no reasoning: nothing, even when right");
    close(r("<think>是「五言绝句」吗？</think>不知道", "五言绝句"), 0.2, "「…」 inside the thinking is not the answer: a policy would learn to hide answers there");
    close(r("<think>先想「五言律诗」，不对。</think>是「五言绝句」。", "五言绝句"), 1.2, "the answer's 「…」, not the first in the thinking");
    close(r("<think>共4句</think>", "五言绝句"), 0, "no answer");
  });
});
