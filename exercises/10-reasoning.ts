/**
 * 第 10 章练习:推理模型的输出——把回答拆成"思考"和"答案"两部分,可验证的"格式 + 正确性"奖励,以及为一道体裁题写出能被程序检查的推理过程。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 10` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 10 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 这一章只处理字符串,不需要张量。
 */
import { todo } from "tiaoyu";

/** 拆开之后的回答。 */
export interface ThinkingAndAnswer {
  readonly thinking: string;
  readonly answer: string;
}

/**
 * 10.1 把推理模型的回答拆成思考部分和答案部分;格式不对就返回 null。
 *
 * 格式正确(well-formed)的回答:
 *   - 去掉首尾空白之后,以 <think> 开头;
 *   - 恰好有一个 <think> 和一个 </think>,而且 </think> 在 <think> 之后;
 *   - 两个标签之间的思考内容(去掉首尾空白)不为空;
 *   - </think> 之后的答案(去掉首尾空白)不为空。
 * 返回的 thinking 和 answer 都去掉首尾空白。
 *
 * @example
 *   parseResponse("<think>共4句，每句5字。</think>这首诗是「五言绝句」。")
 *   // → { thinking: "共4句，每句5字。", answer: "这首诗是「五言绝句」。" }
 *   parseResponse("这首诗是「五言绝句」。")        // → null(没有思考部分)
 *   parseResponse("<think>数一数：共4句")          // → null(<think> 没有闭合)
 *   parseResponse("<think>想</think>")             // → null(没有答案)
 */
export function parseResponse(response: string): ThinkingAndAnswer | null {
  return todo("10.1 parseResponse");
}

/**
 * 10.2 格式与正确性奖励(可验证的奖励,GRPO 之类的强化学习用它给回答打分)
 *
 *   - 格式不对(parseResponse 返回 null):奖励 0,哪怕答案碰巧是对的——奖励的是"先推理再回答";
 *   - 格式正确:得 0.2;
 *   - 格式正确且答案正确:再加 1,共 1.2。
 * 答案正确的意思:答案部分里第一对「」中的文字(去掉首尾空白)与 expected 完全相同。
 *
 * @example
 *   formatCorrectnessReward("<think>共4句，每句5字。</think>这首诗是「五言绝句」。", "五言绝句")  // 1.2
 *   formatCorrectnessReward("<think>共8句，每句5字。</think>这首诗是「五言律诗」。", "五言绝句")  // 0.2
 *   formatCorrectnessReward("这首诗是「五言绝句」。", "五言绝句")                                // 0
 */
export function formatCorrectnessReward(response: string, expected: string): number {
  return todo("10.2 formatCorrectnessReward");
}

/**
 * 10.3 为体裁题写出推理过程(build a reasoning trace)
 *
 * 本章的体裁题问"这首诗是五言绝句、七言绝句、五言律诗还是七言律诗？",推理过程像读者一样:数句数,数每句的字数,
 * 再下结论。给定一首诗的各段 `paragraphs`,按标点 ，。、；：？！ 切成句子(去掉空句),然后:
 *   - 所有句子字数相同且为 5 或 7(五言 / 七言),句数为 4 或 8(绝句 / 律诗)时,返回
 *       thinking = "共{句数}句，每句{字数}字：{五言|七言}，{绝句|律诗}。"
 *       answer   = "这首诗是「{体裁}」。"
 *       response = "<think>" + thinking + "</think>" + answer
 *   - 否则(词、排律、杂言……)返回 null。
 * 注意:字数按字符数,不是 UTF-16 长度(有些生僻字在 UTF-16 里占两个单位)。
 * 你的 response 会交给本章的检查程序:格式要能被 10.1 解析,答案要被判为正确。
 *
 * @example
 *   formTrace(["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"])
 *   // → { thinking: "共4句，每句5字：五言，绝句。", answer: "这首诗是「五言绝句」。",
 *   //     response: "<think>共4句，每句5字：五言，绝句。</think>这首诗是「五言绝句」。" }
 */
export function formTrace(paragraphs: readonly string[]): { thinking: string; answer: string; response: string } | null {
  return todo("10.3 formTrace");
}
