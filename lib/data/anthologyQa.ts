/**
 * Questions about the poems pretraining read many times (唐诗三百首, mixed into chapter 5's stream): the data with
 * which chapter 6 can show what SFT is for. The base model has read these poems dozens of times and can recite
 * them; it has never been asked about them. SFT on some poems' questions should let it answer the same kinds of
 * question about the other poems, from what it learned in pretraining (the book's 除夕夜 → 饺子).
 *
 * Five templates, asked about every line a question can quote (4 to 9 characters):
 *
 *   nextLine      「床前明月光」的下一句是什么？          → 下一句是「疑是地上霜」。
 *   previousLine  「疑是地上霜」的上一句是什么？          → 上一句是「床前明月光」。
 *   author        「床前明月光」是谁的诗句？              → 作者是「李白」。
 *   title         「床前明月光」出自哪首诗？              → 出自「静夜思」。
 *   form          「床前明月光，疑是地上霜」出自一首什么体裁的诗？ → 这是一首「五言绝句」。   (one per couplet)
 *
 * Split by poem, fixed before any training: a salted hash of the poem (`qa-anthology|` + chapter 1's split key) puts
 * 30% of the poems in "heldout" — SFT never sees a question about them — and 70% in "train". Asking about every line
 * gives each held-out row a few hundred questions, enough for a 95% interval of about ±5 points.
 */
import { classifyForm, poemLines } from "./form";
import { namesAuthor } from "./poetry";
import type { QaItem, QaTemplate } from "./qa";
import { fnv1a32, mix32 } from "./hash";
import { splitKey } from "./split";

/** The templates chapter 6 asks about the anthology (QaTemplate has them all). */
export type AnthologyTemplate = Extract<QaTemplate, "nextLine" | "previousLine" | "author" | "title" | "form">;
export const ANTHOLOGY_TEMPLATES: readonly AnthologyTemplate[] = Object.freeze(["nextLine", "previousLine", "author", "title", "form"] as AnthologyTemplate[]);

/** Share of the anthology's poems whose questions SFT never trains on. */
export const ANTHOLOGY_HELDOUT_FRACTION = 0.3;

/** A poem as the anthology gives it (lib/train/mixture.ts `anthology(corpus).poems`). */
export interface AnthologyQaPoem {
  readonly title: string;
  readonly author: string;
  readonly paragraphs: readonly string[];
}

/**
 * One question about an anthology poem: a QaItem whose `poemId` is the poem's split key (chapter 1's `splitKey`)
 * and whose split is "train" or "heldout" — the anthology's own held-out poems, a set apart from the corpus's.
 */
export type AnthologyQaItem = QaItem & { readonly template: AnthologyTemplate; readonly split: "train" | "heldout" };

/** The split of a poem's questions, from a salted hash of the poem alone (never from its questions or scores). */
export function anthologyQaSplit(poem: AnthologyQaPoem, heldoutFraction = ANTHOLOGY_HELDOUT_FRACTION): "train" | "heldout" {
  return mix32(fnv1a32("qa-anthology|" + splitKey(poem))) / 2 ** 32 < heldoutFraction ? "heldout" : "train";
}

/** Lines short enough to quote (a 古体 poem's lines are 5 or 7 characters; longer pieces are not lines). */
function quotable(line: string): boolean {
  const n = [...line].length;
  return n >= 4 && n <= 9;
}

/** One of two phrasings, fixed by the poem, the line and the template. */
function phrasing(key: string, purpose: string, options: readonly [string, string]): string {
  return options[mix32(fnv1a32(`${purpose}|${key}`)) % 2];
}

/**
 * Whether a poem's source can be cited: a poet who is named and a title without quotation brackets of its own.
 * @example hasCitableSource({ title: "静夜思", author: "李白", paragraphs: [] }) // true
 */
export function hasCitableSource(poem: Pick<AnthologyQaPoem, "title" | "author">): boolean {
  return namesAuthor(poem.author) && !!poem.title && !/[「」《》]/.test(poem.title);
}

/**
 * Every question about one poem, line by line.
 * @example anthologyQaItems({ title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"] })
 *   // 3 nextLine, 3 previousLine, 4 author, 4 title, 2 form questions
 */
export function anthologyQaItems(poem: AnthologyQaPoem, heldoutFraction = ANTHOLOGY_HELDOUT_FRACTION, style: AnthologyAnswerStyle = "direct"): AnthologyQaItem[] {
  const poemKey = splitKey(poem);
  const base = { poemId: poemKey, split: anthologyQaSplit(poem, heldoutFraction) };
  const lines = poemLines(poem.paragraphs);
  const form = classifyForm(poem.paragraphs);
  const items: AnthologyQaItem[] = [];
  if (style === "cite") return citedItems(poem, base, lines, form);
  lines.forEach((line, i) => {
    if (!quotable(line)) return;
    const key = `${poemKey}|${i}`;
    const next = lines[i + 1];
    if (next !== undefined && quotable(next)) {
      const q = phrasing(key, "next", [`「${line}」的下一句是什么？`, `「${line}」的下一句是？`]);
      items.push({ ...base, template: "nextLine", prompt: q, answer: `下一句是「${next}」。`, expected: next });
    }
    const prev = lines[i - 1];
    if (prev !== undefined && quotable(prev)) {
      const q = phrasing(key, "prev", [`「${line}」的上一句是什么？`, `「${line}」的上一句是？`]);
      items.push({ ...base, template: "previousLine", prompt: q, answer: `上一句是「${prev}」。`, expected: prev });
    }
    if (namesAuthor(poem.author)) {
      const q = phrasing(key, "author", [`「${line}」是谁的诗句？`, `「${line}」是谁写的？`]);
      items.push({ ...base, template: "author", prompt: q, answer: `作者是「${poem.author}」。`, expected: poem.author });
    }
    if (poem.title && !/[「」]/.test(poem.title)) {
      const q = phrasing(key, "title", [`「${line}」出自哪首诗？`, `「${line}」是哪首诗里的？`]);
      items.push({ ...base, template: "title", prompt: q, answer: `出自「${poem.title}」。`, expected: poem.title });
    }
    if (i % 2 === 0 && next !== undefined && quotable(next)) {
      const q = phrasing(key, "form", [`「${line}，${next}」出自一首什么体裁的诗？`, `「${line}，${next}」所在的诗是什么体裁？`]);
      items.push({ ...base, template: "form", prompt: q, answer: `这是一首「${form}」。`, expected: form });
    }
  });
  return items;
}

/**
 * How the answers are written. "direct": 下一句是「疑是地上霜」。 "cite": every question about a line is answered by
 * citing its couplet with the poet and title, as books quote poems: 「床前明月光，疑是地上霜」——李白《静夜思》, and
 * the question decides which part is scored (citedPart). The model then recalls in the direction it read: the
 * couplet from its first line, the source after the couplet.
 */
export type AnthologyAnswerStyle = "direct" | "cite";

/** Questions about the couplets of a poem, answered by citing the couplet (style "cite"). */
function citedItems(poem: AnthologyQaPoem, base: { poemId: string; split: "train" | "heldout" }, lines: readonly string[], form: string): AnthologyQaItem[] {
  const items: AnthologyQaItem[] = [];
  const known = hasCitableSource(poem);
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [first, second] = [lines[i], lines[i + 1]];
    if (!quotable(first) || !quotable(second)) continue;
    const key = `${base.poemId}|${i}`;
    const cite = `「${first}，${second}」${known ? `——${poem.author}《${poem.title}》` : ""}`;
    const ask = (template: AnthologyTemplate, prompt: string, expected: string) => items.push({ ...base, template, prompt, answer: cite, expected });
    ask("nextLine", phrasing(key, "next", [`「${first}」的下一句是什么？`, `「${first}」的下一句是？`]), second);
    ask("previousLine", phrasing(key, "prev", [`「${second}」的上一句是什么？`, `「${second}」的上一句是？`]), first);
    if (known) {
      ask("author", phrasing(key, "author", [`「${first}」是谁的诗句？`, `「${first}」是谁写的？`]), poem.author);
      ask("title", phrasing(key, "title", [`「${first}」出自哪首诗？`, `「${first}」是哪首诗里的？`]), poem.title);
    }
    const q = phrasing(key, "form", [`「${first}，${second}」出自一首什么体裁的诗？`, `「${first}，${second}」所在的诗是什么体裁？`]);
    items.push({ ...base, template: "form", prompt: q, answer: `这是一首「${form}」。`, expected: form });
  }
  return items;
}

/** Whether an answer is a citation (style "cite") rather than one sentence with the answer in 「」. */
export function isCitation(answer: string): boolean {
  return answer.startsWith("「") && /」(——|$)/.test(answer);
}

/**
 * The part of a cited reply that a question asks for: the first or second line of the couplet in 「」, the poet
 * after ——, the title in 《》. Null when the reply is not a citation or lacks that part.
 * @example citedPart("author", "「床前明月光，疑是地上霜」——李白《静夜思》")  // "李白"
 */
export function citedPart(template: QaTemplate, reply: string): string | null {
  const m = /「([^「」，]*)，([^「」]*)」(?:——([^《「」]*)《([^》]*)》)?/u.exec(reply);
  if (!m) return null;
  const part = { previousLine: m[1], nextLine: m[2], author: m[3], title: m[4] }[template as "previousLine" | "nextLine" | "author" | "title"];
  return part === undefined ? null : part.trim();
}

/** Every question about a list of poems, in the poems' order. */
export function buildAnthologyQa(poems: readonly AnthologyQaPoem[], options: { heldoutFraction?: number; style?: AnthologyAnswerStyle } = {}): AnthologyQaItem[] {
  return poems.flatMap((p) => anthologyQaItems(p, options.heldoutFraction, options.style));
}
