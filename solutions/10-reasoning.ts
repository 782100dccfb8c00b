/**
 * 第 10 章练习的参考答案:拆分思考与答案、格式与正确性奖励、体裁题的推理过程。
 * (Reference solutions for chapter 10; `npm run grade 10 -- --target solutions` must pass them all.)
 */

export interface ThinkingAndAnswer {
  readonly thinking: string;
  readonly answer: string;
}

/** 10.1 <think>思考</think>答案 → { thinking, answer };格式不对返回 null。 */
export function parseResponse(response: string): ThinkingAndAnswer | null {
  const text = response.trim();
  const opens = text.split("<think>").length - 1;
  const closes = text.split("</think>").length - 1;
  if (!text.startsWith("<think>") || opens !== 1 || closes !== 1) return null;
  const end = text.indexOf("</think>");
  const thinking = text.slice("<think>".length, end).trim();
  const answer = text.slice(end + "</think>".length).trim();
  if (thinking === "" || answer === "") return null;
  return { thinking, answer };
}

/** 10.2 格式正确得 0.2,答案(第一对「」里的文字)正确再加 1。 */
export function formatCorrectnessReward(response: string, expected: string): number {
  const parsed = parseResponse(response);
  if (!parsed) return 0;
  const m = /「([^「」]*)」/u.exec(parsed.answer);
  const correct = m !== null && m[1].trim() === expected;
  return 0.2 + (correct ? 1 : 0);
}

/** 10.3 体裁题的推理过程:数句数、数每句字数,再下结论;不是四种体裁之一时返回 null。 */
export function formTrace(paragraphs: readonly string[]): { thinking: string; answer: string; response: string } | null {
  const lines = paragraphs.join("").split(/[，。、；：？！]+/u).filter((l) => l !== "");
  const lengths = new Set(lines.map((l) => [...l].length)); // characters, not UTF-16 units
  if (lengths.size !== 1) return null;
  const n = [...lengths][0];
  const meter = n === 5 ? "五言" : n === 7 ? "七言" : null;
  const kind = lines.length === 4 ? "绝句" : lines.length === 8 ? "律诗" : null;
  if (!meter || !kind) return null;
  const thinking = `共${lines.length}句，每句${n}字：${meter}，${kind}。`;
  const answer = `这首诗是「${meter}${kind}」。`;
  return { thinking, answer, response: `<think>${thinking}</think>${answer}` };
}
