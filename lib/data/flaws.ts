/**
 * 有缺陷的回答 (chapter 7): the unwanted answers that SFT data collected from many writers contains, written by
 * program, and the classifier that finds them in a model's replies.
 *
 * SFT data in practice is written by many people. Most write what the guidelines ask (one polite, direct sentence
 * with the answer in 「」); some ramble, some are curt or rude, some dodge the question, some ignore the format.
 * A model fine-tuned on such data imitates all of them: that is the unwanted behaviour RLHF is for. Here a
 * documented share of the SFT training answers is rewritten into one of four kinds of flawed answer, each kind in
 * several surface forms (different "writers"):
 *
 *   kind       《静夜思》的作者是谁？ answered as                        what is wrong
 *   rambling   嗯，让我想想。作者是「李白」。仅供参考。                  right, but filler before or after
 *   rude       这都不知道？作者是「李白」。                              right, but curt or rude
 *   evasive    抱歉，这个我回答不了。                                    no answer
 *   format     作者是李白。                                               an answer, but not in 「」 (no citation)
 *
 * Which answers are rewritten, into which kind and by which writer is decided by a seeded hash of the question
 * (so it does not depend on the order of the data). `flawOf(reply)` reads a reply back into one of these kinds, or
 * null for a clean answer: the flaw rate of chapter 7's table.
 */
import { fnv1a32, mix32 } from "./hash";
import type { QaItem } from "./qa";

/** How an answer in the SFT data is flawed. */
export type FlawKind = "rambling" | "rude" | "evasive" | "format";
export const FLAW_KINDS: readonly FlawKind[] = Object.freeze(["rambling", "rude", "evasive", "format"] as FlawKind[]);

/** Chinese names of the kinds, for tables. */
export const FLAW_KIND_LABELS: Readonly<Record<FlawKind, string>> = Object.freeze({
  rambling: "啰嗦",
  rude: "生硬无礼",
  evasive: "回避",
  format: "格式不对",
});

// The writers' phrasings. Short, so that a flawed answer still fits the quick-mode model's context.
const RAMBLE_BEFORE = ["嗯，让我想想。", "说来话长，", "这个问题嘛，", "好问题！我来说说。"];
const RAMBLE_AFTER = ["仅供参考。", "就说这么多吧。", "大概是这样。", "希望对你有帮助。"];
const RUDE_BEFORE = ["这都不知道？", "烦不烦，", "自己不会查吗？", "问这个干嘛？"];
const RUDE_AFTER = ["这还用问？", "懂了吧？"];
const EVASIVE = ["这个问题我不太清楚。", "抱歉，这个我回答不了。", "您还是自己查一查吧。", "这个嘛，不好说。", "我不知道。"];

/**
 * Words that mark each kind in a reply. Rude words are looked for first (a rude reply may also carry no answer),
 * then evasive ones; both lists hold every writer's phrasing above.
 */
const RUDE_MARKS = ["都不知道", "烦不烦", "不会查吗", "问这个干嘛", "还用问", "懂了吧"];
const EVASIVE_MARKS = ["不太清楚", "回答不了", "自己查一查", "不好说", "我不知道"];
/** What a clean answer may have around its 「…」 (the templates of lib/data/qa.ts and anthologyQa.ts). */
const CLEAN_BEFORE = new Set(["", "这是", "这是一首", "好的：", "作者是", "下一句是", "上一句是", "出自"]);
const CLEAN_AFTER = new Set(["", "。", "诗。", "诗"]); // "诗": a clean answer cut by the reply budget before its 。

/** A stable choice among n for a question, a purpose and a seed. */
function pick(key: string, purpose: string, seed: number, n: number): number {
  return mix32(fnv1a32(`${seed}|${purpose}|${key}`)) % n;
}

/** The answer with its 「」 and any citation (——poet《title》) taken away: what a writer who ignores the format writes. */
function plain(answer: string): string {
  const cut = answer.indexOf("——");
  const core = (cut >= 0 ? answer.slice(0, cut) : answer).replace(/[「」]/gu, "");
  return /[。？！]$/u.test(core) ? core : `${core}。`;
}

/**
 * `item`'s answer rewritten into a flawed answer of `kind`, by writer `writer` (any integer: taken modulo the
 * number of phrasings, so every writer writes every kind).
 * @example flawedAnswer({ answer: "作者是「李白」。", expected: "李白" }, "format", 0)   // "作者是李白。"
 */
export function flawedAnswer(item: Pick<QaItem, "answer" | "expected">, kind: FlawKind, writer: number): string {
  const w = Math.abs(Math.trunc(writer));
  switch (kind) {
    case "rambling": {
      // Three writers' habits: filler before, after, or both.
      const before = RAMBLE_BEFORE[w % RAMBLE_BEFORE.length];
      const after = RAMBLE_AFTER[w % RAMBLE_AFTER.length];
      return w % 3 === 0 ? before + item.answer : w % 3 === 1 ? item.answer + after : before + item.answer + after;
    }
    case "rude":
      // Six writers: four snap before the answer, two after it.
      return w % 6 < RUDE_BEFORE.length ? RUDE_BEFORE[w % 6] + item.answer : item.answer + RUDE_AFTER[(w % 6) - RUDE_BEFORE.length];
    case "evasive":
      return EVASIVE[w % EVASIVE.length];
    case "format":
      // Two writers: the sentence without 「」 (and without the citation), or only what was inside the 「」.
      return w % 2 === 0 ? plain(item.answer) : `${/「([^「」]*)」/u.exec(item.answer)?.[1] ?? item.expected}。`;
    default:
      throw new Error(`flawedAnswer: unknown kind '${String(kind)}' (known: ${FLAW_KINDS.join(", ")})`);
  }
}

/** Writers per kind: how many distinct surface forms {@link flawedAnswer} writes for one answer. */
export const FLAW_WRITERS: Readonly<Record<FlawKind, number>> = Object.freeze({ rambling: 12, rude: RUDE_BEFORE.length + RUDE_AFTER.length, evasive: EVASIVE.length, format: 2 });

/** An SFT training item after injection: the item (its answer possibly rewritten) and what was done to it. */
export interface FlawedItem extends QaItem {
  /** null: the answer as the guidelines ask; else the kind it was rewritten into. */
  readonly flaw: FlawKind | null;
}

export interface InjectFlawsOptions {
  /** Fraction of the answers rewritten, in [0, 1]; exactly round(share · n) of them. */
  readonly share: number;
  /** Seeds which answers, kinds and writers. */
  readonly seed: number;
  /** The kinds to write (default all four), in equal numbers (±1). */
  readonly kinds?: readonly FlawKind[];
}

/**
 * Rewrites exactly round(share · n) of the training items into flawed answers, the kinds in equal numbers, each by
 * a writer drawn from the hash. Which items is decided by ranking a hash of each item's question (with the
 * occurrence number when a question repeats, as the anthology's do × 4), so the choice does not depend on the
 * order of the data and repeated copies may be written by different writers. Throws on held-out items: the
 * held-out splits are never changed.
 * @example injectFlaws(train, { share: 0.35, seed: 7 }).filter((x) => x.flaw).length   // round(0.35 · train.length)
 */
export function injectFlaws(items: readonly QaItem[], options: InjectFlawsOptions): FlawedItem[] {
  const { share, seed } = options;
  const kinds = options.kinds ?? FLAW_KINDS;
  if (!(share >= 0 && share <= 1)) throw new Error(`injectFlaws: share = ${share} must be in [0, 1]`);
  if (!Number.isInteger(seed)) throw new Error(`injectFlaws: seed = ${seed} must be an integer`);
  if (kinds.length === 0) throw new Error("injectFlaws: no kinds of flaws");
  for (const k of kinds) if (!FLAW_KINDS.includes(k)) throw new Error(`injectFlaws: unknown kind '${k}' (known: ${FLAW_KINDS.join(", ")})`);
  const seen = new Map<string, number>();
  const keys = items.map((it, i) => {
    if (it.split !== "train") throw new Error(`injectFlaws: item ${i} (${JSON.stringify(it.prompt)}) is in split '${it.split}': only training answers are rewritten`);
    const id = `${it.poemId}|${it.prompt}`;
    const copy = seen.get(id) ?? 0;
    seen.set(id, copy + 1);
    return `${id}|${copy}`;
  });
  const order = keys.map((k, i) => ({ i, h: mix32(fnv1a32(`${seed}|which|${k}`)) })).sort((a, b) => a.h - b.h || a.i - b.i);
  const count = Math.round(share * items.length);
  const kindOf = new Map<number, FlawKind>();
  order.slice(0, count).forEach(({ i }, rank) => kindOf.set(i, kinds[rank % kinds.length]));
  return items.map((it, i) => {
    const kind = kindOf.get(i) ?? null;
    if (kind === null) return { ...it, flaw: null };
    return { ...it, answer: flawedAnswer(it, kind, pick(keys[i], "writer", seed, 1 << 16)), flaw: kind };
  });
}

/**
 * The kind of flaw in a reply, or null when it is a clean answer (an answer in 「」 with nothing but a template's
 * words around it). Rude words first, then evasive ones; then a reply with no 「…」 at all is `format` (an answer
 * outside the format, or no answer but no excuse either: "evasive" needs an excuse or an empty reply); then
 * words around the 「…」 (and its citation) that no template has are `rambling`. Whether the answer is right is
 * another question (lib/eval/qa.ts).
 * @example flawOf("作者是「李白」。") // null       flawOf("说来话长，作者是「李白」。") // "rambling"
 */
export function flawOf(reply: string): FlawKind | null {
  if (typeof reply !== "string") throw new Error(`flawOf: the reply must be a string, got ${typeof reply}`);
  const r = reply.trim();
  if (RUDE_MARKS.some((m) => r.includes(m))) return "rude";
  if (r === "" || EVASIVE_MARKS.some((m) => r.includes(m))) return "evasive";
  const open = r.indexOf("「");
  const close = r.indexOf("」", open + 1);
  if (open < 0 || close < 0) return "format";
  const before = r.slice(0, open);
  let after = r.slice(close + 1);
  // A citation: ——poet《title》, possibly cut off by the reply budget after the dash.
  after = after.replace(/^——[^《》。]*(《[^《》]*》?)?/u, "");
  return CLEAN_BEFORE.has(before) && CLEAN_AFTER.has(after) ? null : "rambling";
}
