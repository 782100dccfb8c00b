/**
 * 推理数据 (chapter 10): questions about the corpus whose answers carry their reasoning, written by a program.
 *
 * A reasoning model writes its working out before it answers. To teach ours, we need samples whose answers carry
 * that process, and we need to know that every one of them is right. We write them from the corpus itself, so the
 * "reasoning teacher" is this file: a program that cannot be wrong about a poem it holds.
 *
 * The default tasks (DEFAULT_REASONING_TASKS) are questions the course model cannot answer in one step but can in
 * a few reliable ones, every step read off the poem in the prompt:
 *
 *   user:       独坐幽篁里，弹琴复长啸。深林人不知，明月来相照。
 *               第2句的第4个字是什么？
 *   assistant:  <think>独坐幽篁里，1弹2琴3复4长，第4字是长。</think>是「长」。
 *
 *   user:       江南好，风景旧曾谙。日出江花红胜火，春来江水绿如蓝。能不忆江南。
 *               这首诗一共有多少个字（不算标点）？
 *   assistant:  <think>各句字数3，5，7，7，5；累计3，8，15，22，27。</think>一共「27」个字。
 *
 *   user:       床前明月光，疑是地上霜。举头望明月，低头思故乡。
 *               按普通话，这首诗第二句和第四句押韵吗？
 *   assistant:  <think>床前明月光，疑是地上霜。霜uang唐；举头望明月，低头思故乡。乡iang唐；同韵。</think>
 *               押韵，都是「唐」韵。
 *
 * the final question, two hops (the character question's steps, then the character's final):
 *
 *   user:       独坐幽篁里，弹琴复长啸。深林人不知，明月来相照。
 *               第3句的第2个字，普通话韵母是什么？
 *   assistant:  <think>独坐幽篁里，弹琴复长啸。1深2林，第2字是林。林in。</think>韵母是「in」。
 *
 * and the find question, the character question reversed:
 *
 *   user:       床前明月光，疑是地上霜。举头望明月，低头思故乡。
 *               「上」字在第几句第几个字？
 *   assistant:  <think>第1句床前明月光，第2句疑是地上；1疑2是3地4上，在第2句第4字。</think>在「第2句第4字」。
 *
 * The character and rhyme traces walk the poem from its start, copying it as the prompt has it: every copied
 * character is the one after the previous one in the prompt (75–83% of lines copied exactly at full size). The first
 * traces jumped to line i ("第2句弹琴复长啸"), which the model fine-tuned 360 steps never copied right (0% of 300); the
 * walk was written to avoid that jump. A control run showed the cause was the steps, not the jump: the first traces
 * fine-tuned 800 steps copy line i 63.3% of the time and answer 86.3% of the character questions, above the walk's
 * 73.0% (notebook 10, 10.5). The walk is kept because the chapter's committed outputs come from it.
 *
 * Two more (form, nextLine) are kept for comparison: the first is answered in one step, the second needs recall.
 *
 * The traces are compact on purpose: the course model sees 128 tokens at once, reasoning samples are cut one
 * character per token (encodeByChar), and a 七言绝句 with the question already takes about 50 of them; a question
 * whose sample does not fit (the rhyme question of a 七言律诗) is left out of training and evaluation.
 *
 * Answers are correct by construction: the counts, the form, the next line and the author are read off the poem, and
 * the finals come from a pinyin library (lib/data/rhyme.ts), asked only about characters with a single reading
 * (test/lib/reasoning-data.test.ts checks them against the corpus and the library). The answers follow chapter 6's
 * style (the checked part in 「」). Items are split by poem exactly as chapter 6's questions are (`qaSplitOf`): "train" poems are the ones
 * SFT and this chapter train on, "heldout" poems were read by pretraining but never asked about, "unseen" poems
 * were never read at all. So a held-out question is about a poem no training question mentioned.
 *
 * The rhyme question is about today's Mandarin, not the poet's: the finals are modern readings and the groups are
 * 中华新韵's, while Tang poets rhymed by 平水韵 (Middle Chinese), so some lines that rhymed then do not now. The
 * question says 按普通话, and its answer is defined by the modern finals alone.
 *
 * More tasks fit the same shape: a task is a function from a poem to items (see REASONING_TASKS).
 */
import { fnv1a32, mix32 } from "./hash";
import { type Form, poemLines } from "./form";
import { ensureCorpus, loadPoems, type CorpusOptions, type PoemRecord } from "./pipeline";
import { namesAuthor } from "./poetry";
import { type QaSplit, QA_SPLITS, qaSplitOf } from "./qa";
import { type CharRhyme, charRhyme } from "./rhyme";

/** The kinds of question. */
export type ReasoningTask = "count" | "charAt" | "charFinal" | "rhyme" | "find" | "form" | "nextLine";
/** Every task this file can write, in the order tables list them. */
export const REASONING_TASKS: readonly ReasoningTask[] = Object.freeze(["count", "charAt", "charFinal", "rhyme", "find", "form", "nextLine"] as ReasoningTask[]);

/**
 * The tasks the chapter trains and scores by default: questions meant to need several steps read off the poem in the
 * prompt. At full size (800 steps, from the previous SFT model) only the character question turned out to be one:
 * answers alone 3.0%, traces 73.0%. Fine-tuned on answers alone, the model answers the rhyme question in one step
 * better (71.3%) than with traces (55.0%), whose weakest step (a final) is right about half the time; on the count
 * question answers alone scored 59.7%, traces 45.7% in one run and 56.7% in another with the same count traces, so
 * no claim. The chapter keeps them as its counter-examples. The first full-size runs showed why the other two are
 * left out: the form question is answered in one step (96–98% with answers alone, so a trace has nothing to add),
 * and the next line and author must be recalled from pretraining, which no trace can supply (0% either way).
 *
 * The find question (字在哪里) joined the defaults with its second trace (see findQuestion): it is the character
 * question reversed, so it also needs the poem searched, which one step cannot do (answers alone 7.3%, base rate
 * 7.0%, in the run from chapter 6's new SFT model). That run (800 steps) showed the new SFT model needs more steps
 * before it copies line 3 in a trace (0% of 234; trained on to 1,600 steps, 85.2%): see REASONING_PRESETS.
 * With its second trace it is still not learned (2.3%–6.0% in three full-size runs of 1,600–2,400 steps, base rate
 * 7.0%): the step that decides where to stop, comparing the character just written with the question's, is right
 * under 10% of the time. It then had the fewest training questions (3,216; the character question 11,696); with
 * three per training poem (9,648, see findQuestions) it stays at its base rate (4.0–4.7% on three seeds): the stop is a
 * comparison by content, which this model does not learn reliably in the chapter's training.
 *
 * The final question (第i句第j字的韵母) joined them as a second task the character question's trace makes possible:
 * two hops, where the model fails the first in one step; see charFinalQuestion. At full size (2,000 steps, five tasks,
 * three seeds) with its first trace ("…，第2字是林，韵母in。"): traces 43.0%, 17.0% and 40.7%, answers alone 5.3%,
 * base rate 9.3%; the character question 93.7%, 95.3% and 94.7% against 3.0%. Its second trace writes the final
 * right after the character, as the rhyme trace does (see charFinalQuestion): 52.3%, 51.0% and 52.3% on three seeds.
 */
export const DEFAULT_REASONING_TASKS: readonly ReasoningTask[] = Object.freeze(["count", "charAt", "charFinal", "rhyme", "find"] as ReasoningTask[]);

/** What a table calls each kind of question. */
export const REASONING_TASK_LABELS: Readonly<Record<ReasoningTask, string>> = Object.freeze({
  count: "字数",
  charAt: "第i句第j字",
  charFinal: "第i句第j字的韵母",
  rhyme: "押韵",
  find: "字在哪里",
  form: "体裁",
  nextLine: "下一句+作者",
});

/** The tags around the reasoning (special tokens of the course's tokenizer). */
export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";

/** The four forms the form question chooses between, in the order the question lists them. */
export const FORM_CHOICES: readonly Form[] = Object.freeze(["五言绝句", "七言绝句", "五言律诗", "七言律诗"] as Form[]);

export const FORM_QUESTION = "这首诗是五言绝句、七言绝句、五言律诗还是七言律诗？";

export const RHYME_QUESTION = "按普通话，这首诗第二句和第四句押韵吗？";

export const COUNT_QUESTION = "这首诗一共有多少个字（不算标点）？";

/** The character question's words: 第2句的第4个字是什么？ */
export function charAtAsk(line: number, position: number): string {
  for (const [name, v] of [["line", line], ["position", position]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`charAtAsk: ${name} must be a whole number from 1, got ${v}`);
  }
  return `第${line}句的第${position}个字是什么？`;
}

/** The final question's words: 第2句的第4个字，普通话韵母是什么？ */
export function charFinalAsk(line: number, position: number): string {
  return charAtAsk(line, position).replace(/是什么？$/u, "，普通话韵母是什么？");
}

/** The find question's words: 「上」字在第几句第几个字？ */
export function findAsk(char: string): string {
  if ([...char].length !== 1 || !/\p{Script=Han}/u.test(char)) throw new Error(`findAsk: the character must be one Han character, got ${JSON.stringify(char)}`);
  return `「${char}」字在第几句第几个字？`;
}

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
  /**
   * The facts a correct answer states: { count: "20" }, { char: "上", line: "2", position: "4" } (only char is
   * checked), { line: "2", position: "4", char: "上" } for the find question (line and position checked),
   * { rhymes: "押韵", groups: "唐" } ({ rhymes: "不押韵", groups: "皆、麻" }: the groups of lines 2 and 4),
   * { form: "五言绝句" }, or { nextLine: "疑是地上霜", author: "李白" }.
   */
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

/** The lines, meter and kind of a 绝句 or 律诗 (4 or 8 lines, all of 5 or all of 7 characters; not 词), else null. */
function regularShape(poem: PoemRecord): { lines: string[]; meter: "五言" | "七言"; kind: "绝句" | "律诗" } | null {
  if (poem.collection === "songci") return null;
  const lines = poemLines(poem.paragraphs);
  const counts = lines.map(chars);
  const meter = counts.every((c) => c === 5) ? "五言" : counts.every((c) => c === 7) ? "七言" : null;
  const kind = lines.length === 4 ? "绝句" : lines.length === 8 ? "律诗" : null;
  return meter && kind ? { lines, meter, kind } : null;
}

/**
 * The form question about a poem, or null when its shape is none of the four (词, 排律, 杂言, …).
 * The trace does what a reader does: count the lines, count the characters of a line (every line of the four
 * forms has the same length), conclude from the two counts.
 */
export function formQuestion(poem: PoemRecord, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  const shape = regularShape(poem);
  if (!shape) return null;
  const { lines, meter, kind } = shape;
  const form = `${meter}${kind}` as Form;
  const answer = `这首诗是「${form}」。`;
  const thinking = `共${lines.length}句，每句${chars(lines[0])}字：${meter}，${kind}。`;
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

/**
 * A regular poem's text as its lines, each with the one punctuation mark that follows it in the text
 * (["床前明月光", "，"], ["疑是地上霜", "。"], …), or null when the text is anything else (a quote, a note, two marks
 * in a row): a trace that copies the text must copy exactly what the prompt shows.
 */
function lineSegments(text: string, lines: readonly string[]): [string, string][] | null {
  const out: [string, string][] = [];
  let at = 0;
  for (const line of lines) {
    if (!text.startsWith(line, at)) return null;
    at += line.length;
    const mark = text[at];
    if (mark === undefined || !/^[，。？！；]$/u.test(mark)) return null;
    out.push([line, mark]);
    at += 1;
  }
  return at === text.length ? out : null;
}

/**
 * The rhyme question about a 绝句 or 律诗: do lines 2 and 4 rhyme, by today's Mandarin? The trace does what a reader
 * does: take the last character of each line, say its final (韵母, no tone) and its group in 中华新韵, compare.
 * In 绝句 and 律诗 alike the even lines carry the rhyme (line 1 may or may not): lines 2 and 4 are the first two.
 *
 * The trace walks the poem from its start, copying it exactly as the prompt has it (marks included) up to the end
 * of line 2, then writes that line's last character with its final and group; then lines 3 and 4 the same way:
 *   床前明月光，疑是地上霜。霜uang唐；举头望明月，低头思故乡。乡iang唐；同韵。
 * Why a walk: each copied token is the one that follows the previous one in the prompt, and the last character is
 * the one just before the mark just written. It was written because the first traces ("第2句" and a copy of line 2)
 * were never copied right after 360 steps; at 800 steps they are as good as the walk (57.7% against 55.0%; see the
 * file comment).
 * Null when the poem is not one of the four forms, its text is not lines and single marks, or either last
 * character has no single reading (polyphonic, not Han: see charRhyme), so that no answer rests on a guessed reading.
 */
export function rhymeQuestion(poem: PoemRecord, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  const lines = regularShape(poem)?.lines;
  if (!lines) return null;
  const text = poem.paragraphs.join("");
  const segments = lineSegments(text, lines);
  if (!segments) return null;
  const [a, b] = [lines[1], lines[3]].map((l) => charRhyme([...l].at(-1)!));
  if (!a || !b) return null;
  const same = a.group === b.group;
  const walk = (from: number, to: number) => segments.slice(from, to).map(([l, m]) => l + m).join("");
  const foot = (r: CharRhyme) => `${r.char}${r.final}${r.group}`;
  const thinking = `${walk(0, 2)}${foot(a)}；${walk(2, 4)}${foot(b)}；${same ? "同韵" : "不同韵"}。`;
  const answer = same ? `押韵，都是「${a.group}」韵。` : `不押韵：「${a.group}」韵和「${b.group}」韵。`;
  return {
    task: "rhyme",
    prompt: `${text}\n${RHYME_QUESTION}`,
    thinking,
    answer,
    response: reasoningResponse(thinking, answer),
    expected: { rhymes: same ? "押韵" : "不押韵", groups: same ? a.group : `${a.group}、${b.group}` },
    poemId: poem.id,
    split,
  };
}

/** The punctuation poemLines splits on: a poem whose text is its lines and these alone can be counted exactly. */
const LINE_BREAKS = /[，。、；：？！“”‘’《》]/gu;

/** Longest poem the count question asks about: with the question and the trace it must fit 128 tokens. */
export const COUNT_MAX_CHARS = 40;

/**
 * The count question: how many characters has the poem (punctuation not counted)? Asked only about poems whose
 * lines differ in length (杂言, 词): in a 五言 or 七言 poem the answer is lines × 5 or 7, which the model reads
 * off the form in one step. The trace counts each line, then adds them up one line at a time, so that every step is
 * a small count or a one-digit addition:
 *   各句字数3，3，7，5；累计3，6，13，18。
 * Null for poems of 1 line or more than 8, a line over 9 characters, over {@link COUNT_MAX_CHARS} characters, all
 * lines of one length, or text other than lines and poemLines' punctuation (a character the split does not see
 * would make the count ambiguous).
 */
export function countQuestion(poem: PoemRecord, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  const text = poem.paragraphs.join("");
  const lines = poemLines(poem.paragraphs);
  if (lines.length < 2 || lines.length > 8 || text.replace(LINE_BREAKS, "") !== lines.join("")) return null;
  const counts = lines.map(chars);
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.some((c) => c > 9) || total > COUNT_MAX_CHARS || new Set(counts).size === 1) return null;
  let run = 0;
  const cumulative = counts.map((c) => (run += c));
  const thinking = `各句字数${counts.join("，")}；累计${cumulative.join("，")}。`;
  const answer = `一共「${total}」个字。`;
  return {
    task: "count",
    prompt: `${text}\n${COUNT_QUESTION}`,
    thinking,
    answer,
    response: reasoningResponse(thinking, answer),
    expected: { count: String(total) },
    poemId: poem.id,
    split,
  };
}

/**
 * The character question about a 绝句: which character is at line i, position j (both chosen by the poem's id)?
 * The trace walks the poem from its start, copying lines 1 … i−1 exactly as the prompt has them (marks included),
 * then writes line i with each character's position before it, up to position j, and names the character it
 * stopped at:
 *   床前明月光，1疑2是3地4上，第4字是上。
 * Every step is one the model learns: a copied character is the one that follows the previous one in the prompt,
 * the number before it is one more than the last, stopping at j is counting to a number the question gives (as the
 * walk stops at line i), and the answer is the character just written. The second trace numbered the whole line
 * and read off "the character after the number j" (床前明月光，1疑2是3地4上5霜，第4字是上。): that step means
 * finding a token by what it is, not where it is, and only some training runs learned it (the question right
 * 16.7–26.0% in three full-size runs from the start, 85.3% and 97.3% in two trained on from a checkpoint; notebook 10,
 * 10.5). With this trace, 92.0%, 94.7% and 91.0% on three seeds. The first trace, "第2句" and a copy of line 2, is in
 * the file comment.
 * Null when the poem is not a 绝句 or its text is not lines and single marks.
 */
export function charAtQuestion(poem: PoemRecord, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  const at = jueju(poem);
  if (!at) return null;
  const h = mix32(fnv1a32(`${poem.id}:charAt`));
  const i = 1 + (h % 4);
  const j = 1 + ((h >>> 8) % [...at.lines[i - 1]].length);
  const { thinking: walk, char: c } = walkTo(at.segments, i, j);
  const thinking = `${walk}。`;
  const answer = `是「${c}」。`;
  return {
    task: "charAt",
    prompt: `${at.text}\n${charAtAsk(i, j)}`,
    thinking,
    answer,
    response: reasoningResponse(thinking, answer),
    expected: { char: c, line: String(i), position: String(j) },
    poemId: poem.id,
    split,
  };
}

/** A 绝句's text, lines and line segments, or null when the poem is not a 绝句 or its text is not lines and single marks. */
function jueju(poem: PoemRecord): { text: string; lines: string[]; segments: [string, string][] } | null {
  const shape = regularShape(poem);
  if (!shape || shape.kind !== "绝句") return null;
  const text = poem.paragraphs.join("");
  const segments = lineSegments(text, shape.lines);
  return segments ? { text, lines: shape.lines, segments } : null;
}

/** The character question's walk to line i, position j ("床前明月光，1疑2是3地4上，第4字是上", no final mark) and the character. */
function walkTo(segments: readonly [string, string][], i: number, j: number): { thinking: string; char: string } {
  const line = [...segments[i - 1][0]];
  const before = segments.slice(0, i - 1).map(([l, m]) => l + m).join("");
  const numbered = line.slice(0, j).map((ch, k) => `${k + 1}${ch}`).join("");
  return { thinking: `${before}${numbered}，第${j}字是${line[j - 1]}`, char: line[j - 1] };
}

/**
 * The final question about a 绝句: what is the final (韵母, by today's Mandarin) of the character at line i,
 * position j? Two hops: find the character (the character question), then recall its final, which the model
 * learns from the training questions as it learns any fact. The trace is the character question's walk, then the
 * character again with its final right after it, as the rhyme trace writes a line's last character ("乡iang唐"):
 *   床前明月光，1疑2是3地4上，第4字是上。上ang。
 * One step would have to do both hops at once, and the first one alone is what the model fails at in one step
 * (the character question answered without a trace). The place is chosen by the poem's id among the characters that
 * have a single reading (see charRhyme), independently of the poem's character question.
 * The first trace wrote "…，第4字是上，韵母ang。": the final came three tokens after the character, so the model had
 * to look back for it. With it the walk was as reliable as the character question's (the character named right
 * 92–96% of the time on three seeds) and the final was the weak step: 43.0%, 17.0% and 40.7% right, while the same
 * runs wrote the final of a line's last character in the rhyme trace, straight after it, right 74–77% of the time
 * (notebook 10, 10.5; the second seed wrote a final beginning with i for 296 of 300 questions). A final is recalled,
 * not read, and a trace cannot supply a fact the model has not learned; the second trace asks for it where the rhyme
 * questions already teach it. With it three seeds answer 52.3%, 51.0% and 52.3% (the final step 50.0–52.0% right, no
 * seed collapsing onto one first letter).
 * Null when the poem is not a 绝句, its text is not lines and single marks, or no character has a single reading.
 */
export function charFinalQuestion(poem: PoemRecord, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  const at = jueju(poem);
  if (!at) return null;
  const places = at.lines.flatMap((l, i) => [...l].flatMap((c, j) => (charRhyme(c) ? [[i + 1, j + 1] as const] : [])));
  if (places.length === 0) return null;
  const [i, j] = places[mix32(fnv1a32(`${poem.id}:charFinal`)) % places.length];
  const { thinking: walk, char: c } = walkTo(at.segments, i, j);
  const { final } = charRhyme(c)!;
  const thinking = `${walk}。${c}${final}。`;
  const answer = `韵母是「${final}」。`;
  return {
    task: "charFinal",
    prompt: `${at.text}\n${charFinalAsk(i, j)}`,
    thinking,
    answer,
    response: reasoningResponse(thinking, answer),
    expected: { final, char: c, line: String(i), position: String(j) },
    poemId: poem.id,
    split,
  };
}

/**
 * The find question about a 五言绝句: where is character X (a Han character the poem has exactly once, chosen by the
 * poem's id)? The reverse of the character question: there the place is given and the character asked; here the
 * character is given, and finding it means searching the poem. The trace copies the poem line by line, each line
 * after its label, and stops once it has written X; then it writes that last line again with each character's
 * position before it, and reads off the label and the number before X:
 *   第1句床前明月光，第2句疑是地上；1疑2是3地4上，在第2句第4字。
 * Every step is local: a label is one more than the last, a copied character is the one after the previous one in
 * the prompt (or, in the numbered copy, in the trace), "stop here" compares the character just written with the one
 * in the question, and the answer reads the last label and number written. The first version numbered every line
 * it read ("第1句1床2前3明4月5光，第2句1疑2是3地4上，…"): its one full-size run (1,600 steps) copied line 3 in it
 * right 38.3% of the time and answered 3.3% of 150 (notebook 10, 10.5); this one copies plainly, as the walks of the
 * character and rhyme questions do, and numbers one line. Only 五言绝句: a 七言绝句's trace with its prompt would not
 * leave room for the answer in the course model's 128 tokens.
 * Null when the poem is not a 五言绝句, its text is not lines and single marks, or no Han character occurs once.
 */
export function findQuestion(poem: PoemRecord, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  return findQuestions(poem, split, 1)[0] ?? null;
}

/**
 * Up to `max` find questions about one poem, each about another character: first {@link findQuestion}'s, then the
 * poem's other once-only characters in an order fixed by the poem's id. The training poems are asked
 * {@link FIND_PER_TRAINING_POEM} of them (only 五言绝句 have find questions, so one each gave find a quarter of the
 * training questions the character question has); held-out and unseen poems keep one, so the evaluation is unchanged.
 */
export function findQuestions(poem: PoemRecord, split: QaSplit, max: number): ReasoningItem[] {
  const shape = regularShape(poem);
  if (!shape || shape.kind !== "绝句" || shape.meter !== "五言") return [];
  const text = poem.paragraphs.join("");
  if (!lineSegments(text, shape.lines)) return [];
  const all = shape.lines.flatMap((l) => [...l]);
  const once = all.filter((c) => /\p{Script=Han}/u.test(c) && all.indexOf(c) === all.lastIndexOf(c));
  if (once.length === 0) return [];
  const first = once[mix32(fnv1a32(`${poem.id}:find`)) % once.length];
  const key = (c: string) => mix32(fnv1a32(`${poem.id}:find:${c}`));
  const rest = once.filter((c) => c !== first).sort((a, b) => key(a) - key(b));
  return [first, ...rest].slice(0, max).map((c) => findItem(poem, text, shape.lines, c, split));
}

/** The training poems' find questions per poem (see findQuestions). */
export const FIND_PER_TRAINING_POEM = 3;

function findItem(poem: PoemRecord, text: string, lines: readonly string[], c: string, split: QaSplit): ReasoningItem {
  const i = 1 + lines.findIndex((l) => [...l].includes(c));
  const j = 1 + [...lines[i - 1]].indexOf(c);
  const upToX = [...lines[i - 1]].slice(0, j);
  const walk = lines.slice(0, i).map((l, k) => `第${k + 1}句${k === i - 1 ? upToX.join("") : l}`);
  const numbered = upToX.map((ch, k) => `${k + 1}${ch}`).join("");
  const place = `第${i}句第${j}字`;
  const thinking = `${walk.join("，")}；${numbered}，在${place}。`;
  const answer = `在「${place}」。`;
  return {
    task: "find",
    prompt: `${text}\n${findAsk(c)}`,
    thinking,
    answer,
    response: reasoningResponse(thinking, answer),
    expected: { line: String(i), position: String(j), char: c },
    poemId: poem.id,
    split,
  };
}

/** Authors that name nobody: a question about them has no answer to learn. */

/**
 * The next-line question about a 绝句: 「X」的下一句是什么？这首诗的作者是谁？ The trace recalls the poem, finds X in
 * it and reads off the line after it. X is the first line of a couplet (line 1 or 3, chosen by the poem's id), so
 * the answer is its partner. Null when the poem is not a 绝句, has no named author, or X is not unique (`isUnique`
 * says whether a line occurs in exactly one poem: otherwise the question would have two right answers).
 */
export function nextLineQuestion(poem: PoemRecord, isUnique: (line: string) => boolean = () => true, split: QaSplit = qaSplitOf(poem)): ReasoningItem | null {
  if (poem.collection === "songci" || !namesAuthor(poem.author)) return null;
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
  /** Which tasks (default {@link DEFAULT_REASONING_TASKS}). */
  readonly tasks?: readonly ReasoningTask[];
  /** The split of a poem's items (default: chapter 6's `qaSplitOf`, so both chapters hold out the same poems). */
  readonly split?: (poem: PoemRecord) => QaSplit;
}

/**
 * Every question the tasks can ask about `poems`, in poem order. Lines are checked for uniqueness across all of
 * `poems`, so pass the whole corpus even when only some splits are wanted.
 */
export function reasoningItems(poems: readonly PoemRecord[], options: ReasoningDataOptions = {}): ReasoningItem[] {
  const tasks = new Set(options.tasks ?? DEFAULT_REASONING_TASKS);
  for (const t of tasks) if (!REASONING_TASKS.includes(t)) throw new Error(`reasoningItems: unknown task '${t}' (known: ${REASONING_TASKS.join(", ")})`);
  const splitOf = options.split ?? ((p: PoemRecord) => qaSplitOf(p));
  const seen = new Map<string, number>();
  if (tasks.has("nextLine")) for (const p of poems) for (const l of new Set(poemLines(p.paragraphs))) seen.set(l, (seen.get(l) ?? 0) + 1);
  const isUnique = (line: string) => seen.get(line) === 1;
  const out: ReasoningItem[] = [];
  for (const p of poems) {
    const split = splitOf(p);
    if (tasks.has("count")) {
      const c = countQuestion(p, split);
      if (c) out.push(c);
    }
    if (tasks.has("charAt")) {
      const c = charAtQuestion(p, split);
      if (c) out.push(c);
    }
    if (tasks.has("charFinal")) {
      const c = charFinalQuestion(p, split);
      if (c) out.push(c);
    }
    if (tasks.has("form")) {
      const f = formQuestion(p, split);
      if (f) out.push(f);
    }
    if (tasks.has("nextLine")) {
      const n = nextLineQuestion(p, isUnique, split);
      if (n) out.push(n);
    }
    if (tasks.has("rhyme")) {
      const r = rhymeQuestion(p, split);
      if (r) out.push(r);
    }
    if (tasks.has("find")) out.push(...findQuestions(p, split, split === "train" ? FIND_PER_TRAINING_POEM : 1));
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
  const present = REASONING_TASKS.filter((t) => QA_SPLITS.some((s) => data[s].some((i) => i.task === t)));
  return present.map((task) => {
    const row = { task, train: 0, heldout: 0, unseen: 0 };
    for (const s of QA_SPLITS) row[s] = data[s].filter((i) => i.task === task).length;
    return row;
  });
}

// ---------------------------------------------------------------- checking an answer

/** Whether an answer is right, and which of its facts are. */
export interface AnswerCheck {
  readonly correct: boolean;
  /** Each expected fact: stated correctly or not (form; nextLine and author; rhymes and groups). */
  readonly parts: Readonly<Record<string, boolean>>;
}

/**
 * Checks a final answer (the text after </think>) against an item's expected facts.
 *   count:    exactly one number is stated, and it is the count ("一共「18」个字。"; "18" counts too).
 *   charAt:   exactly one 「…」, holding the character ("是「上」。").
 *   charFinal: exactly one 「…」, holding the final ("韵母是「ang」。").
 *   find:     exactly one 「…」, naming the line and position ("在「第2句第4字」。"; 第4个字 counts too).
 *   form:     exactly one of the four forms is named, and it is the right one ("这首诗是五言绝句。" counts;
 *             "五言绝句或七言绝句" does not: listing every choice must not score).
 *   nextLine: the line in the first 「…」 is the next line, and 作者是「…」 names the author (the 「」 may be left out).
 *   rhyme:    the one verdict stated (押韵 or 不押韵, not both) is right, and the groups named in 「…」 are the expected
 *             ones, in any order ("押韵，都是「唐」韵。"; "不押韵：「皆」韵和「麻」韵。").
 * @example checkReasoningAnswer({ task: "form", expected: { form: "五言绝句" } }, "这首诗是「五言绝句」。") // { correct: true, … }
 */
export function checkReasoningAnswer(item: Pick<ReasoningItem, "task" | "expected">, answer: string): AnswerCheck {
  const a = answer.replace(/\s+/g, "");
  if (item.task === "count") {
    // Exactly one number stated: listing several must not score.
    const numbers = a.match(/\d+/gu) ?? [];
    const ok = numbers.length === 1 && numbers[0] === item.expected.count;
    return { correct: ok, parts: { count: ok } };
  }
  if (item.task === "charAt") {
    const quoted = [...a.matchAll(/「([^」]*)」/gu)].map((m) => m[1]);
    const ok = quoted.length === 1 && quoted[0] === item.expected.char;
    return { correct: ok, parts: { char: ok } };
  }
  if (item.task === "charFinal") {
    const quoted = [...a.matchAll(/「([^」]*)」/gu)].map((m) => m[1]);
    const ok = quoted.length === 1 && quoted[0] === item.expected.final;
    return { correct: ok, parts: { final: ok } };
  }
  if (item.task === "find") {
    // Exactly one 「…」, naming the place: 在「第2句第4字」。 (the 个 of the question's wording is allowed).
    const quoted = [...a.matchAll(/「([^」]*)」/gu)].map((m) => m[1]);
    const place = quoted.length === 1 ? /^第(\d+)句第(\d+)个?字$/u.exec(quoted[0]) : null;
    const ok = place !== null && place[1] === item.expected.line && place[2] === item.expected.position;
    return { correct: ok, parts: { place: ok } };
  }
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
  if (item.task === "rhyme") {
    const no = a.split("不押韵").length - 1;
    const yes = a.split("押韵").length - 1 - no;
    const verdict = no > 0 && yes === 0 ? "不押韵" : yes > 0 && no === 0 ? "押韵" : null;
    const named = [...a.matchAll(/「([^」]*)」/gu)].map((m) => m[1]).sort();
    const parts = { rhymes: verdict === item.expected.rhymes, groups: named.join("、") === item.expected.groups.split("、").sort().join("、") };
    return { correct: parts.rhymes && parts.groups, parts };
  }
  throw new Error(`checkReasoningAnswer: unknown task '${(item as { task: string }).task}'`);
}
