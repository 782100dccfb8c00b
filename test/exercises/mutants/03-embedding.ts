/** Plausible wrong answers to chapter 3's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import * as S from "../../../solutions/03-embedding";
import type { Mutant } from "../../grading";

/** RoPE with its angle computed by `angle(pos, j, d, base)`, and the pairs (j, j + half). */
const ropeWith = (angle: (pos: number, j: number, d: number, base: number) => number) => (x: number[], pos: number, base = 10000) => {
  const half = x.length / 2, out = new Array<number>(x.length);
  for (let j = 0; j < half; j++) {
    const a = angle(pos, j, x.length, base), c = Math.cos(a), s = Math.sin(a);
    out[j] = x[j] * c - x[j + half] * s;
    out[j + half] = x[j] * s + x[j + half] * c;
  }
  return out;
};

export const mutants: Mutant<typeof S>[] = [
  { exercise: "3.1 embeddingLookup", mistake: "returns the table's rows, not copies", patch: { embeddingLookup: (t, ids) => ids.map((id) => { if (!Number.isInteger(id) || id < 0 || id >= t.length) throw new Error("bad id"); return t[id]; }) } },
  { exercise: "3.1 embeddingLookup", mistake: "checks the range but not that an id is an integer", patch: { embeddingLookup: (t, ids) => ids.map((id) => { if (id < 0 || id >= t.length) throw new Error("bad id"); return [...t[Math.floor(id)]]; }) } },
  { exercise: "3.2 applyDropout", mistake: "no rescaling of the kept values", patch: { applyDropout: (x, keep) => x.map((v, i) => (keep[i] ? v : 0)) } },
  { exercise: "3.2 applyDropout", mistake: "scales by (1 − rate) instead of dividing", patch: { applyDropout: (x, keep, rate) => x.map((v, i) => (keep[i] ? v * (1 - rate) : 0)) } },
  { exercise: "3.3 sinusoidalTable", mistake: "exponent i / nEmbd instead of 2i / nEmbd", patch: { sinusoidalTable: (P, D) => Array.from({ length: P }, (_, p) => Array.from({ length: D }, (_, c) => { const i = Math.floor(c / 2), a = p / Math.pow(10000, i / D); return c % 2 ? Math.cos(a) : Math.sin(a); })) } },
  { exercise: "3.3 sinusoidalTable", mistake: "cos in the even columns, sin in the odd", patch: { sinusoidalTable: (P, D) => S.sinusoidalTable(P, D).map((row) => row.map((_, c) => row[c ^ 1])) } },
  { exercise: "3.4 rope", mistake: "ignores base (always 10000)", patch: { rope: ropeWith((pos, j, d) => pos * Math.pow(10000, (-2 * j) / d)) } },
  { exercise: "3.4 rope", mistake: "exponent −j/d instead of −2j/d", patch: { rope: ropeWith((pos, j, d, base) => pos * Math.pow(base, -j / d)) } },
  { exercise: "3.4 rope", mistake: "pairs neighbours (2j, 2j+1) instead of (j, j + half)", patch: { rope: (x, pos, base = 10000) => { const out = [...x]; for (let j = 0; j < x.length / 2; j++) { const a = pos * Math.pow(base, (-2 * j) / x.length), c = Math.cos(a), s = Math.sin(a); out[2 * j] = x[2 * j] * c - x[2 * j + 1] * s; out[2 * j + 1] = x[2 * j] * s + x[2 * j + 1] * c; } return out; } } },
];
