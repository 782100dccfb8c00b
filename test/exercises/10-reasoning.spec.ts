import * as assert from "assert";
import { checkReasoningAnswer, formQuestion, parseReasoning, type PoemRecord } from "tiaoyu";
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

  exercise("10.3 formTrace", {
    points: 2,
    hint: "推理过程要像读者那样:先按标点切出句子,数句数和每句的字数(按字符,不是 UTF-16 长度),再由两个数下结论;四种体裁之外返回 null。格式照题目说明一字不差",
    code: "lines = paragraphs.join(\"\").split(/[，。、；：？！]+/u).filter(非空);字数用 [...line].length;字数都相同且为 5/7、句数为 4/8 时拼出 thinking、answer 和 `<think>${thinking}</think>${answer}`",
    libraryTwins: ["formQuestion", "reasoningItems", "poemLines", "meterOf", "classifyForm", "reasoningResponse"],
  }, () => {
    const poem = (id: string, paragraphs: string[]) => ({ id, collection: "tang", title: id, author: "佚名", paragraphs, form: "其他", split: "train" }) as unknown as PoemRecord;
    const forms: string[][] = [
      ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"],
      ["朝辞白帝彩云间，千里江陵一日还。", "两岸猿声啼不住，轻舟已过万重山。"],
      ["国破山河在，城春草木深。", "感时花溅泪，恨别鸟惊心。", "烽火连三月，家书抵万金。", "白头搔更短，浑欲不胜簪。"],
      ["风急天高猿啸哀，渚清沙白鸟飞回。", "无边落木萧萧下，不尽长江滚滚来。", "万里悲秋常作客，百年多病独登台。", "艰难苦恨繁华尽，潦倒新停浊酒杯。"],
      ["谁家玉笛暗飞声？散入春风满洛城！", "此夜曲中闻折柳；何人不起故园情："], // lines end in ？！；：
      ["𠀋前明月光，疑是地上霜。", "举头望明月，低头思故乡。"], // 𠀋 is one character but two UTF-16 units
    ];
    for (const [i, paragraphs] of forms.entries()) {
      const mine = ex().formTrace(paragraphs);
      const lib = formQuestion(poem(`p${i}`, paragraphs));
      assert.ok(lib, "(the grader's poem is one of the four forms)");
      assert.deepStrictEqual(mine, { thinking: lib.thinking, answer: lib.answer, response: lib.response }, paragraphs.join(""));
      // Checked by program, as chapter 10's reward checks a model's trace: it parses and its answer is right.
      const parsed = parseReasoning(mine!.response);
      assert.ok(parsed.ok, `your response does not parse: ${mine!.response}`);
      assert.ok(checkReasoningAnswer({ task: "form", expected: lib.expected }, parsed.answer).correct, `the checker does not accept the answer ${parsed.answer}`);
    }
    for (const paragraphs of [
      ["床前明月光，疑是地上霜。"], // two lines
      ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。", "床前明月光，疑是地上霜。"], // six lines
      ["春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少也。"], // lines of different lengths
      ["关关雎鸠，在河之洲。", "窈窕淑女，君子好逑。"], // 四言
      [],
    ]) assert.strictEqual(ex().formTrace(paragraphs), null, `${JSON.stringify(paragraphs)} is none of the four forms: return null`);
  });
});
