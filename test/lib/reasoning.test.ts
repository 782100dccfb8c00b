import * as assert from "assert";
import { answerPart, parseReasoning, reasoningReward } from "tiaoyu";

describe("train/reasoning: reading a response", () => {
  it("splits a well-formed response into its reasoning and its answer", () => {
    assert.deepStrictEqual(parseReasoning("<think>共4句，每句5字。</think>这首诗是「五言绝句」。"), { ok: true, thinking: "共4句，每句5字。", answer: "这首诗是「五言绝句」。" });
    assert.deepStrictEqual(parseReasoning("  <think> 想一想 </think>\n答案 "), { ok: true, thinking: "想一想", answer: "答案" });
  });

  const bad: [string, RegExp][] = [
    ["这首诗是「五言绝句」。", /does not begin with <think>/],
    ["好的<think>想</think>答", /does not begin with <think>/],
    ["<think>数一数：共4句", /never closed/],
    ["<think>想</think>答</think>", /2 <\/think> tags/],
    ["<think>想<think>再想</think>答", /2 <think> tags/],
    ["<think>  </think>答", /reasoning .* is empty/],
    ["<think>想</think>   ", /no answer/],
    ["", /does not begin/],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const r = parseReasoning(text);
      assert.strictEqual(r.ok, false);
      if (!r.ok) assert.match(r.error, why);
    });
  }

  it("answerPart reads the answer of any response, tags or not", () => {
    assert.strictEqual(answerPart("<think>想</think>答"), "答");
    assert.strictEqual(answerPart("这首诗是「五言绝句」。"), "这首诗是「五言绝句」。");
  });
});

describe("train/reasoning: the verifiable reward", () => {
  const item = { task: "form" as const, expected: { form: "五言绝句" } };
  it("pays for the format, and for a right answer only inside the format", () => {
    assert.deepStrictEqual(reasoningReward("<think>共4句，每句5字。</think>这首诗是「五言绝句」。", item), { reward: 1.2, format: 1, correct: 1 });
    assert.deepStrictEqual(reasoningReward("<think>共8句，每句5字。</think>这首诗是「五言律诗」。", item), { reward: 0.2, format: 1, correct: 0 });
    assert.deepStrictEqual(reasoningReward("这首诗是「五言绝句」。", item), { reward: 0, format: 0, correct: 0 });
    assert.deepStrictEqual(reasoningReward("<think>共4句</think>五言绝句", item, { format: 0, correct: 2 }), { reward: 2, format: 1, correct: 1 });
  });
});
