/** Plausible wrong answers to chapter 2's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import * as S from "../../../solutions/02-tokenizer";
import type { Mutant } from "../../grading";

const bytes = (s: string) => Array.from(new TextEncoder().encode(s));

/** trainBPE with a chosen rule for replacing the best pair, first new id, and the fewest tokens it stops at. */
const trainWith = (better: (count: number, best: number, smaller: boolean) => boolean, firstId: number, stopAt = 1) => (text: string, n: number) => {
  let ids = bytes(text);
  const merges: [number, number][] = [];
  for (let r = 0; r < n && ids.length > stopAt; r++) {
    let pair: [number, number] = [0, 0], best = 0;
    for (const [key, count] of S.countPairs(ids)) {
      const [a, b] = key.split(",").map(Number);
      if (better(count, best, a < pair[0] || (a === pair[0] && b < pair[1]))) (pair = [a, b]), (best = count);
    }
    if (best === 0) break;
    merges.push(pair);
    ids = S.mergePair(ids, pair, firstId + r);
  }
  return merges;
};

export const mutants: Mutant<typeof S>[] = [
  { exercise: "2.1 countPairs", mistake: "overlapping pairs counted once (steps by two after a repeat)", patch: { countPairs: (ids) => { const m = new Map<string, number>(); for (let i = 0; i + 1 < ids.length; i++) { const k = `${ids[i]},${ids[i + 1]}`; m.set(k, (m.get(k) ?? 0) + 1); if (ids[i] === ids[i + 1]) i++; } return m; } } },
  { exercise: "2.1 countPairs", mistake: "a key without the comma", patch: { countPairs: (ids) => { const m = new Map<string, number>(); for (let i = 0; i + 1 < ids.length; i++) { const k = `${ids[i]}${ids[i + 1]}`; m.set(k, (m.get(k) ?? 0) + 1); } return m; } } },
  { exercise: "2.2 mergePair", mistake: "does not skip the merged second element", patch: { mergePair: (ids, [a, b], n) => ids.map((x, i) => (x === a && ids[i + 1] === b ? n : x)) } },
  { exercise: "2.2 mergePair", mistake: "ignores the order of the pair", patch: { mergePair: (ids, [a, b], n) => { const out: number[] = []; for (let i = 0; i < ids.length; i++) { const x = ids[i], y = ids[i + 1]; if (i + 1 < ids.length && ((x === a && y === b) || (x === b && y === a))) { out.push(n); i++; } else out.push(x); } return out; } } },
  { exercise: "2.3 encodeWithMerges", mistake: "its loop stops at two tokens", patch: { encodeWithMerges: (text, merges) => { let ids = bytes(text); const rank = new Map(merges.map(([a, b], r) => [`${a},${b}`, r])); while (ids.length > 2) { let best = Infinity; for (const k of S.countPairs(ids).keys()) best = Math.min(best, rank.get(k) ?? Infinity); if (best === Infinity) break; ids = S.mergePair(ids, merges[best], 256 + best); } return ids; } } },
  { exercise: "2.3 encodeWithMerges", mistake: "merges the leftmost mergeable pair, not the earliest-learned", patch: { encodeWithMerges: (text, merges) => { let ids = bytes(text); const rank = new Map(merges.map(([a, b], r) => [`${a},${b}`, r])); for (;;) { let r: number | undefined; for (let i = 0; i + 1 < ids.length && r === undefined; i++) r = rank.get(`${ids[i]},${ids[i + 1]}`); if (r === undefined) return ids; ids = S.mergePair(ids, merges[r], 256 + r); } } } },
  { exercise: "2.4 decodeIds", mistake: "decodes each id on its own", patch: { decodeIds: (ids, merges) => ids.map((id) => S.decodeIds([id], merges)).join("") } },
  { exercise: "2.4 decodeIds", mistake: "a merge's bytes are its two ids, not their bytes", patch: { decodeIds: (ids, merges) => { const v: number[][] = []; for (let b = 0; b < 256; b++) v.push([b]); for (const [a, b] of merges) v.push([...v[a].slice(0, 1), ...v[b].slice(0, 1)]); return new TextDecoder().decode(Uint8Array.from(ids.flatMap((id) => v[id]))); } } },
  { exercise: "2.5 wordPieceTokenize", mistake: "shortest match first", patch: { wordPieceTokenize: (word, vocab, unk = "[UNK]") => { const cs = [...word], out: string[] = []; let s = 0; while (s < cs.length) { let e = s + 1; let f: string | null = null; for (; e <= cs.length; e++) { const p = (s > 0 ? "##" : "") + cs.slice(s, e).join(""); if (vocab.has(p)) { f = p; break; } } if (f === null) return [unk]; out.push(f); s = e; } return out; } } },
  { exercise: "2.5 wordPieceTokenize", mistake: "splits UTF-16 units, not characters", patch: { wordPieceTokenize: (word, vocab, unk) => { const out = S.wordPieceTokenize(word.split("").join(""), vocab, unk); return /[\ud800-\udfff]/.test(word) ? [unk ?? "[UNK]"] : out; } } },
  { exercise: "2.5 wordPieceTokenize", mistake: "no ## on pieces inside the word", patch: { wordPieceTokenize: (word, vocab, unk) => S.wordPieceTokenize(word, new Set([...vocab].map((p) => p.replace(/^##/, "")).flatMap((p) => [p, "##" + p])), unk).map((p) => p.replace(/^##/, "")) } },
  { exercise: "2.6 viterbiSegment", mistake: "greedy longest match", patch: { viterbiSegment: (text, lp) => { const cs = [...text], out: string[] = []; let s = 0; while (s < cs.length) { let e = cs.length; while (e > s && !lp.has(cs.slice(s, e).join(""))) e--; if (e === s) throw new Error("cannot segment"); out.push(cs.slice(s, e).join("")); s = e; } return out; } } },
  { exercise: "2.6 viterbiSegment", mistake: "splits UTF-16 units, not characters", patch: { viterbiSegment: (text, lp) => (/[\ud800-\udfff]/.test(text) ? text.split("") : S.viterbiSegment(text, lp)) } },
  { exercise: "2.7 trainBPE", mistake: "a tie goes to the pair seen first in the text", patch: { trainBPE: trainWith((c, best) => c > best, 256) } },
  { exercise: "2.7 trainBPE", mistake: "a tie goes to the pair seen last in the text", patch: { trainBPE: trainWith((c, best) => c >= best, 256) } },
  { exercise: "2.7 trainBPE", mistake: "stops when two tokens are left", patch: { trainBPE: (text, n) => trainWith((c, best, smaller) => c > best || (c === best && smaller), 256, 2)(text, n) } },
  { exercise: "2.7 trainBPE", mistake: "numbers new tokens from 255", patch: { trainBPE: trainWith((c, best, smaller) => c > best || (c === best && smaller), 255) } },
];
