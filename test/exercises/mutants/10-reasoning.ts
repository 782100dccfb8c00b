/** Plausible wrong answers to chapter 10's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import * as S from "../../../solutions/10-reasoning";
import type { Mutant } from "../../grading";

export const mutants: Mutant<typeof S>[] = [
  { exercise: "10.1 parseResponse", mistake: "does not check that there is exactly one pair of tags", patch: { parseResponse: (r) => { const t = r.trim(); if (!t.startsWith("<think>")) return null; const e = t.indexOf("</think>"); if (e < 0) return null; const thinking = t.slice(7, e).trim(), answer = t.slice(e + 8).trim(); return thinking && answer ? { thinking, answer } : null; } } },
  { exercise: "10.1 parseResponse", mistake: "accepts an empty thinking", patch: { parseResponse: (r) => S.parseResponse(r.replace(/<think>\s*<\/think>/, "<think>(空)</think>")) ?? null } },
  { exercise: "10.1 parseResponse", mistake: "does not trim the parts", patch: { parseResponse: (r) => { const p = S.parseResponse(r); if (!p) return null; const t = r.trim(), e = t.indexOf("</think>"); return { thinking: t.slice(7, e), answer: t.slice(e + 8) }; } } },
  { exercise: "10.2 formatCorrectnessReward", mistake: "looks for 「…」 in the whole response, thinking included", patch: { formatCorrectnessReward: (r, want) => { if (!S.parseResponse(r)) return 0; const m = /「([^「」]*)」/u.exec(r); return 0.2 + (m !== null && m[1].trim() === want ? 1 : 0); } } },
  { exercise: "10.2 formatCorrectnessReward", mistake: "checks the last 「…」, not the first", patch: { formatCorrectnessReward: (r, want) => { const p = S.parseResponse(r); if (!p) return 0; const all = [...p.answer.matchAll(/「([^「」]*)」/gu)]; const m = all[all.length - 1]; return 0.2 + (m !== undefined && m[1].trim() === want ? 1 : 0); } } },
  { exercise: "10.2 formatCorrectnessReward", mistake: "no format bonus on a right answer", patch: { formatCorrectnessReward: (r, want) => { const x = S.formatCorrectnessReward(r, want); return x > 1 ? 1 : x; } } },
];
