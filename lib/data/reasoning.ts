/**
 * 推理数据 (chapter 10): questions about the corpus whose answers carry their reasoning, written by a program.
 *
 * A reasoning model writes its working out before it answers. To teach ours, we need samples whose answers carry
 * that process, and we need to know that every one of them is right. We write them from the corpus itself, so the
 * "reasoning teacher" is this file: a program that cannot be wrong about a poem it holds.
 *
 *   user:       床前明月光，疑是地上霜。举头望明月，低头思故乡。
 *               这首诗是五言绝句、七言绝句、五言律诗还是七言律诗？
 *   assistant:  <think>共4句，每句5字：五言，绝句。</think>这首诗是「五言绝句」。
 *
 *   user:       「床前明月光」的下一句是什么？这首诗的作者是谁？
 *   assistant:  <think>出自李白《静夜思》：床前明月光，疑是地上霜。举头望明月，低头思故乡。它是第1句，下一句是第2句。</think>
 *               下一句是「疑是地上霜」，作者是「李白」。
 *
 * The traces are short on purpose: the course model sees 128 tokens at once, and a 七言律诗 with the question
 * already takes about 90 of them (the course's BPE gives a little over one character per token on poems).
 *
 * Answers are correct by construction: the counts, the form, the next line and the author are read off the poem
 * (test/lib/reasoning-data.test.ts checks them against the corpus). The answers follow chapter 6's style (the checked
 * part in 「」). Items are split by poem exactly as chapter 6's questions are (`qaSplitOf`): "train" poems are the ones
 * SFT and this chapter train on, "heldout" poems were read by pretraining but never asked about, "unseen" poems
 * were never read at all. So a held-out question is about a poem no training question mentioned.
 *
 * More tasks fit the same shape: a task is a function from a poem to items (see REASONING_TASKS). A rhyme task
 * (which even lines rhyme, by their pinyin finals) needs a pinyin library, which the course does not ship yet.
 */
import { fnv1a32, mix32 } from "./hash";
import { type Form, poemLines } from "./form";
import { ensureCorpus, loadPoems, type CorpusOptions, type PoemRecord } from "./pipeline";
import { type QaSplit, QA_SPLITS, qaSplitOf } from "./qa";

/** The kinds of question. */
export type ReasoningTask = "form" | "nextLine";
export const REASONING_TASKS: readonly ReasoningTask[] = Object.freeze(["form", "nextLine"] as ReasoningTask[]);

/** The tags around the reasoning (special tokens of the course's tokenizer). */
export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";

/** The four forms the form question chooses between, in the order the question lists them. */
export const FORM_CHOICES: readonly Form[] = Object.freeze(["五言绝句", "七言绝句", "五言律诗", "七言律诗"] as Form[]);

export const FORM_QUESTION = "这首诗是五言绝句、七言绝句、五言律诗还是七言律诗？";

/** One question with its reasoning trace and answer. */
export interface ReasoningItem {
  readonly task: ReasoningTask;
  /** The user's message. */
  readonly prompt: string;
  /** The reasoning, without the tags. */
  readonly thinking: string;
  /** The final answer, after the reasoning. */
  readonly answer: string;
  /** `<think>thinking</think>answer`: what the model learns to write. */
  readonly response: string;
  /** The facts a correct answer states: { form: "五言绝句" } or { nextLine: "疑是地上霜", author: "李白" }. */
  readonly expected: Readonly<Record<string, string>>;
  readonly poemId: string;
  /** As chapter 6's question of the same poem: train, heldout (read by pretraining, never asked about) or unseen. */
  readonly split: QaSplit;
}

/** `<think>thinking</think>answer` */
export function reasoningResponse(thinking: string, answer: string): string {
  return `${THINK_OPEN}${thinking}${THINK_CLOSE}${answer}`;
}

const chars = (s: string): number => [...s].length;

/**
 * The form question about a poem, or null when its shape is none of the four (词, 排律, 杂言, …).
 * The trace does what a reader does: count the lines, count the characters of a line (every line of the four
 * forms has the same length), conclude from the two counts.
 */
export function formQuestion(poem: PoemRecord, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  const lines = poemLines(poem.paragraphs);
  const counts = lines.map(chars);
  const meter = counts.every((c) => c === 5) ? "五言" : counts.every((c) => c === 7) ? "七言" : null;
  const kind = lines.length === 4 ? "绝句" : lines.length === 8 ? "律诗" : null;
  if (poem.collection === "songci" || !meter || !kind) return null;
  const form = `${meter}${kind}` as Form;
  const answer = `这首诗是「${form}」。`;
  const thinking = `共${lines.length}句，每句${counts[0]}字：${meter}，${kind}。`;
  return {
    task: "form",
    prompt: `${poem.paragraphs.join("")}\n${FORM_QUESTION}`,
    thinking,
    answer,
    response: reasoningResponse(thinking, answer),
    expected: { form },
    poemId: poem.id,
    split,
  };
}

/** Authors that name nobody: a question about them has no answer to learn. */
const NO_AUTHOR = new Set(["", "佚名", "无名氏", "不详"]);

/**
 * The next-line question about a 绝句: 「X」的下一句是什么？这首诗的作者是谁？ The trace recalls the poem, finds X in
 * it and reads off the line after it. X is the first line of a couplet (line 1 or 3, chosen by the poem's id), so
 * the answer is its partner. Null when the poem is not a 绝句, has no named author, or X is not unique (`isUnique`
 * says whether a line occurs in exactly one poem: otherwise the question would have two right answers).
 */
export function nextLineQuestion(poem: PoemRecord, isUnique: (line: string) => boolean = () => true, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  if (poem.collection === "songci" || NO_AUTHOR.has(poem.author.trim())) return null;
  const lines = poemLines(poem.paragraphs);
  const regular = lines.length === 4 && (lines.every((l) => chars(l) === 5) || lines.every((l) => chars(l) === 7));
  if (!regular) return null;
  const k = mix32(fnv1a32(poem.id)) & 1 ? 2 : 0;
  const [x, y] = [lines[k], lines[k + 1]];
  if (!isUnique(x)) return null;
  const text = poem.paragraphs.join("");
  const thinking = `出自${poem.author}《${poem.title}》：${text}它是第${k + 1}句，下一句是第${k + 2}句。`;
  const answer = `下一句是「${y}」，作者是「${poem.author}」。`;
  return {
    task: "nextLine",
    prompt: `「${x}」的下一句是什么？这首诗的作者是谁？`,
    thinking,
    answer,
    response: reasoningResponse(thinking, answer),
    expected: { nextLine: y, author: poem.author },
    poemId: poem.id,
    split,
  };
}

export interface ReasoningDataOptions {
  /** Which tasks (default all). */
  readonly tasks?: readonly ReasoningTask[];
  /** The split of a poem's items (default: chapter 6's `qaSplitOf`, so both chapters hold out the same poems). */
  readonly split?: (poem: PoemRecord) => QaSplit;
}

/**
 * Every question the tasks can ask about `poems`, in poem order. Lines are checked for uniqueness across all of
 * `poems`, so pass the whole corpus even when only some splits are wanted.
 */
export function reasoningItems(poems: readonly PoemRecord[], options: ReasoningDataOptions = {}): ReasoningItem[] {
  const tasks = new Set(options.tasks ?? REASONING_TASKS);
  for (const t of tasks) if (!REASONING_TASKS.includes(t)) throw new Error(`reasoningItems: unknown task '${t}' (known: ${REASONING_TASKS.join(", ")})`);
  const splitOf = options.split ?? ((p: PoemRecord) => qaSplitOf(p));
  const seen = new Map<string, number>();
  if (tasks.has("nextLine")) for (const p of poems) for (const l of new Set(poemLines(p.paragraphs))) seen.set(l, (seen.get(l) ?? 0) + 1);
  const isUnique = (line: string) => seen.get(line) === 1;
  const out: ReasoningItem[] = [];
  for (const p of poems) {
    const split = splitOf(p);
    if (tasks.has("form")) {
      const f = formQuestion(p, split);
      if (f) out.push(f);
    }
    if (tasks.has("nextLine")) {
      const n = nextLineQuestion(p, isUnique, split);
      if (n) out.push(n);
    }
  }
  return out;
}

/** The reasoning items of each split. */
export type ReasoningData = Readonly<Record<QaSplit, readonly ReasoningItem[]>>;

/** Groups items by their split. */
export function splitReasoningItems(items: readonly ReasoningItem[]): ReasoningData {
  const out = { train: [], heldout: [], unseen: [] } as Record<QaSplit, ReasoningItem[]>;
  for (const it of items) out[it.split].push(it);
  return out;
}

/**
 * The reasoning data of chapter 1's corpus (built if missing), by split: a second or two at full size, so it is
 * made on the fly rather than cached.
 * @example const data = await ensureReasoningData(); data.train.length
 */
export async function ensureReasoningData(options: ReasoningDataOptions & { corpus?: CorpusOptions } = {}): Promise<ReasoningData> {
  const corpus = await ensureCorpus(options.corpus);
  return splitReasoningItems(reasoningItems(await loadPoems(corpus.poemsFile), options));
}

/** Number of items per split and task: the table a notebook shows. */
export function reasoningCounts(data: ReasoningData): { task: ReasoningTask; train: number; heldout: number; unseen: number }[] {
  return REASONING_TASKS.map((task) => {
    const row = { task, train: 0, heldout: 0, unseen: 0 };
    for (const s of QA_SPLITS) row[s] = data[s].filter((i) => i.task === task).length;
    return row;
  });
}

// ---------------------------------------------------------------- checking an answer

/** Whether an answer is right, and which of its facts are. */
export interface AnswerCheck {
  readonly correct: boolean;
  /** Each expected fact: stated correctly or not (form; nextLine and author). */
  readonly parts: Readonly<Record<string, boolean>>;
}

/**
 * Checks a final answer (the text after </think>) against an item's expected facts.
 *   form:     exactly one of the four forms is named, and it is the right one ("这首诗是五言绝句。" counts;
 *             "五言绝句或七言绝句" does not: listing every choice must not score).
 *   nextLine: the line in the first 「…」 is the next line, and 作者是「…」 names the author (the 「」 may be left out).
 * @example checkReasoningAnswer({ task: "form", expected: { form: "五言绝句" } }, "这首诗是「五言绝句」。") // { correct: true, … }
 */
export function checkReasoningAnswer(item: Pick<ReasoningItem, "task" | "expected">, answer: string): AnswerCheck {
  const a = answer.replace(/\s+/g, "");
  if (item.task === "form") {
    const named = FORM_CHOICES.filter((f) => a.includes(f));
    const ok = named.length === 1 && named[0] === item.expected.form;
    return { correct: ok, parts: { form: ok } };
  }
  if (item.task === "nextLine") {
    const line = /「([^」]*)」/u.exec(a)?.[1] ?? null;
    const author = /作者是「?([^「」，。；！？,.;!?]+)」?/u.exec(a)?.[1] ?? null;
    const parts = { nextLine: line === item.expected.nextLine, author: author === item.expected.author };
    return { correct: parts.nextLine && parts.author, parts };
  }
  throw new Error(`checkReasoningAnswer: unknown task '${(item as { task: string }).task}'`);
}
