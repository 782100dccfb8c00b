/** Plausible wrong answers to chapter 1's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { mix32 } from "tiaoyu";
import * as S from "../../../solutions/01-data";
import type { Mutant } from "../../grading";

export const mutants: Mutant<typeof S>[] = [
  { exercise: "1.1 wrapSample", mistake: "escapes quotes and backslashes by hand, not control characters", patch: { wrapSample: (p) => `{"text": "${("<s>" + p.join("") + "</s>").replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"}` } },
  { exercise: "1.1 wrapSample", mistake: "joins the lines with a newline", patch: { wrapSample: (p) => `{"text": ${JSON.stringify("<s>" + p.join("\n") + "</s>")}}` } },
  { exercise: "1.1 wrapSample", mistake: "no space after the colon", patch: { wrapSample: (p) => JSON.stringify({ text: "<s>" + p.join("") + "</s>" }) } },
  { exercise: "1.2 normalizeLine", mistake: "removes only the first run of white space", patch: { normalizeLine: (l) => l.replace(/\s+/, "").replace(/[,.?!;:]/g, (c) => ({ ",": "，", ".": "。", "?": "？", "!": "！", ";": "；", ":": "：" })[c]!) } },
  { exercise: "1.2 normalizeLine", mistake: "removes ASCII spaces only (not tabs or U+3000)", patch: { normalizeLine: (l) => S.normalizeLine(l.replace(/ /g, "").replace(/[\t\u3000]/g, "_")).replace(/_/g, "\u3000") } },
  { exercise: "1.2 normalizeLine", mistake: "replaces only the first occurrence of each punctuation mark", patch: { normalizeLine: (l) => [[",", "，"], [".", "。"], ["?", "？"], ["!", "！"], [";", "；"], [":", "："]].reduce((s, [a, b]) => s.replace(a, b), l.replace(/\s+/g, "")) } },
  { exercise: "1.3 isIncomplete", mistake: "forgets ■", patch: { isIncomplete: (t) => /□|（缺）|（阙）/.test(t) } },
  { exercise: "1.3 isIncomplete", mistake: "any 缺 or 阙 counts, not only the note", patch: { isIncomplete: (t) => /[□■缺阙]/.test(t) } },
  { exercise: "1.4 dedupExact", mistake: "keeps the last of each group", patch: { dedupExact: (ts) => S.dedupExact([...ts].reverse()).reverse() } },
  { exercise: "1.4 dedupExact", mistake: "the key drops only white space, not punctuation", patch: { dedupExact: (ts) => { const seen = new Set<string>(); return ts.filter((t) => { const k = t.replace(/\s+/g, ""); return seen.has(k) ? false : (seen.add(k), true); }); } } },
  { exercise: "1.5 fnv1a32", mistake: "hashes UTF-16 code units, not UTF-8 bytes", patch: { fnv1a32: (t) => { let h = 0x811c9dc5; for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193); return h >>> 0; } } },
  { exercise: "1.5 fnv1a32", mistake: "returns a signed number (no >>> 0)", patch: { fnv1a32: (t) => S.fnv1a32(t) | 0 } },
  { exercise: "1.6 splitOf", mistake: "skips mix32", patch: { splitOf: (k, r) => { const u = S.fnv1a32(k) / 2 ** 32; return u < r.train ? "train" : u < r.train + r.validation ? "validation" : "test"; } } },
  { exercise: "1.6 splitOf", mistake: "puts validation before train on the unit interval", patch: { splitOf: (k, r) => { const u = mix32(S.fnv1a32(k)) / 2 ** 32; return u < r.validation ? "validation" : u < r.train + r.validation ? "train" : "test"; } } },
];
