/** Plausible wrong answers to chapter 10's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import * as S from "../../../solutions/10-reasoning";
import type { Mutant } from "../../grading";

/** formTrace with a chosen line splitter, line length and kind-from-line-count. */
const traceWith = (split: RegExp, length: (line: string) => number, kindOf: (lines: number) => string | null) => (ps: readonly string[]) => {
  const lines = ps.join("").split(split).filter((l) => l !== "");
  const lengths = new Set(lines.map(length));
  const n = [...lengths][0];
  const meter = lengths.size === 1 ? (n === 5 ? "五言" : n === 7 ? "七言" : null) : null;
  const kind = kindOf(lines.length);
  if (!meter || !kind) return null;
  const thinking = `共${lines.length}句，每句${n}字：${meter}，${kind}。`, answer = `这首诗是「${meter}${kind}」。`;
  return { thinking, answer, response: `<think>${thinking}</think>${answer}` };
};

export const mutants: Mutant<typeof S>[] = [
  { exercise: "10.1 parseResponse", mistake: "does not check that there is exactly one pair of tags", patch: { parseResponse: (r) => { const t = r.trim(); if (!t.startsWith("<think>")) return null; const e = t.indexOf("</think>"); if (e < 0) return null; const thinking = t.slice(7, e).trim(), answer = t.slice(e + 8).trim(); return thinking && answer ? { thinking, answer } : null; } } },
  { exercise: "10.1 parseResponse", mistake: "accepts an empty thinking", patch: { parseResponse: (r) => S.parseResponse(r.replace(/<think>\s*<\/think>/, "<think>(空)</think>")) ?? null } },
  { exercise: "10.1 parseResponse", mistake: "does not trim the parts", patch: { parseResponse: (r) => { const p = S.parseResponse(r); if (!p) return null; const t = r.trim(), e = t.indexOf("</think>"); return { thinking: t.slice(7, e), answer: t.slice(e + 8) }; } } },
  { exercise: "10.2 formatCorrectnessReward", mistake: "looks for 「…」 in the whole response, thinking included", patch: { formatCorrectnessReward: (r, want) => { if (!S.parseResponse(r)) return 0; const m = /「([^「」]*)」/u.exec(r); return 0.2 + (m !== null && m[1].trim() === want ? 1 : 0); } } },
  { exercise: "10.2 formatCorrectnessReward", mistake: "checks the last 「…」, not the first", patch: { formatCorrectnessReward: (r, want) => { const p = S.parseResponse(r); if (!p) return 0; const all = [...p.answer.matchAll(/「([^「」]*)」/gu)]; const m = all[all.length - 1]; return 0.2 + (m !== undefined && m[1].trim() === want ? 1 : 0); } } },
  { exercise: "10.2 formatCorrectnessReward", mistake: "no format bonus on a right answer", patch: { formatCorrectnessReward: (r, want) => { const x = S.formatCorrectnessReward(r, want); return x > 1 ? 1 : x; } } },
  { exercise: "10.3 formTrace", mistake: "counts UTF-16 units, not characters", patch: { formTrace: traceWith(/[，。、；：？！]+/u, (l) => l.length, (n) => (n === 4 ? "绝句" : n === 8 ? "律诗" : null)) } },
  { exercise: "10.3 formTrace", mistake: "splits lines on ， and 。 only", patch: { formTrace: traceWith(/[，。]+/u, (l) => [...l].length, (n) => (n === 4 ? "绝句" : n === 8 ? "律诗" : null)) } },
  { exercise: "10.3 formTrace", mistake: "any poem of more than four lines is a 律诗", patch: { formTrace: traceWith(/[，。、；：？！]+/u, (l) => [...l].length, (n) => (n === 4 ? "绝句" : n > 4 ? "律诗" : null)) } },
  { exercise: "10.3 formTrace", mistake: "counts paragraphs, not lines", patch: { formTrace: (ps) => { const t = S.formTrace(ps); if (!t) return null; const thinking = t.thinking.replace(/^共\d+句/u, `共${ps.length}句`); return { thinking, answer: t.answer, response: `<think>${thinking}</think>${t.answer}` }; } } },
];
