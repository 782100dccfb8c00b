/**
 * 问答数据: the question–answer pairs of supervised fine-tuning (chapter 6), generated from the poems' metadata.
 *
 * SFT needs labelled examples, one question and one good answer each. We write them ourselves from what
 * poems.jsonl knows about every poem, with a few templates:
 *
 *   author     《静夜思》的作者是谁？                  → 作者是「李白」。            expected 李白
 *   nextLine   「床前看月光」的下一句是什么？          → 下一句是「疑是地上霜」。    expected 疑是地上霜
 *   meter      「床前看月光，疑是地上霜」是五言还是七言？ → 这是「五言」诗。          expected 五言
 *   topic      写一句关于月亮的诗。                    → 好的：「举头望山月」。      expected 月 (any line with 月 counts)
 *
 * Every answer is one polite, direct sentence, with the part that is checked inside 「」, so one extractor
 * (`extractAnswer` in lib/train/chat.ts) reads the answer of every template. `expected` stores it too.
 *
 * Splits, by poem and deterministic (every question about a poem lands in the same split):
 *   - poems of chapter 1's validation and test splits → "unseen": no stage of the course ever read them.
 *   - poems of chapter 1's train split (the ones pretraining read) are split again by a hash of the poem:
 *     90% "train" (SFT learns their questions), 10% "heldout" (SFT never sees their questions).
 * The held-out score is the one chapter 6 reports: the pretrained model has read these poems (it knows that 疑是地上霜
 * follows 床前看月光), but was never shown these questions, so a right answer means SFT taught it to *answer*
 * with what it knew, not that it memorised the answer during SFT (the book's 除夕夜 example). "unseen" shows the
 * other side: what SFT cannot do. It teaches a format, not facts the model never read (authors and titles are not
 * in the pretraining text at all), while meter and topic questions can be answered for any poem.
 */
import * as fs from "fs";
import * as path from "path";
import { datasetsDir } from "../course";
import { poemLines, meterOf } from "./form";
import { fnv1a32, mix32 } from "./hash";
import { expectObject, readJsonl, stringField, writeJsonl } from "./jsonl";
import { type CorpusInfo, type CorpusOptions, ensureCorpus, type PoemRecord, readPoems } from "./pipeline";
import { namesAuthor } from "./poetry";
import { splitKey } from "./split";

/**
 * The question templates: the four of this file, asked once per corpus poem, and three more that chapter 6 asks
 * line by line about the anthology (previousLine, title, form: lib/data/anthologyQa.ts, which asks author and
 * nextLine too, quoting a line instead of the title).
 */
export type QaTemplate = "author" | "nextLine" | "meter" | "topic" | "previousLine" | "title" | "form";
export const QA_TEMPLATES: readonly QaTemplate[] = Object.freeze(["author", "nextLine", "meter", "topic", "previousLine", "title", "form"] as QaTemplate[]);

/** Chinese names of the templates, for tables. */
export const QA_TEMPLATE_LABELS: Readonly<Record<QaTemplate, string>> = Object.freeze({
  author: "作者",
  nextLine: "下一句",
  meter: "五言/七言",
  topic: "写一句诗",
  previousLine: "上一句",
  title: "题目",
  form: "体裁",
});

/** Which questions SFT trains on ("train"), which it is scored on ("heldout"), and poems no stage read ("unseen"). */
export type QaSplit = "train" | "heldout" | "unseen";
export const QA_SPLITS: readonly QaSplit[] = Object.freeze(["train", "heldout", "unseen"] as QaSplit[]);

/** One question–answer pair (one line of qa.jsonl). */
export interface QaItem {
  /** The user's question, plain text. */
  readonly prompt: string;
  /** The answer to learn: one polite sentence with the checked part in 「」. */
  readonly answer: string;
  /** What `extractAnswer(answer)` gives: the part that is checked (for `topic`, the keyword the line must contain). */
  readonly expected: string;
  readonly template: QaTemplate;
  /** The poem the question is about (poems.jsonl's id). */
  readonly poemId: string;
  readonly split: QaSplit;
}

/** Bump when the templates or the split change, so a cached qa.jsonl is rebuilt. */
export const QA_VERSION = 1;

/** Share of chapter 1's train poems whose questions SFT does not train on. */
export const QA_HELDOUT_FRACTION = 0.1;

/** The split of a poem's questions (see the file comment). Uses a salted hash, independent of chapter 1's. */
export function qaSplitOf(poem: Pick<PoemRecord, "title" | "author" | "paragraphs" | "split">, heldoutFraction = QA_HELDOUT_FRACTION): QaSplit {
  if (poem.split !== "train") return "unseen";
  return mix32(fnv1a32("qa|" + splitKey(poem))) / 2 ** 32 < heldoutFraction ? "heldout" : "train";
}


/** Topics of the `topic` template: the character a line must contain, and how the question names it. */
export const QA_TOPICS: readonly (readonly [string, string])[] = Object.freeze([
  ["月", "月亮"],
  ["春", "春天"],
  ["秋", "秋天"],
  ["雪", "雪"],
  ["花", "花"],
  ["酒", "酒"],
  ["雨", "雨"],
  ["山", "山"],
  ["柳", "柳树"],
  ["乡", "故乡"],
] as [string, string][]);

/** A stable number for a poem and a purpose: picks phrasings and lines reproducibly. */
function pick(poemId: string, purpose: string, n: number): number {
  return mix32(fnv1a32(`${purpose}|${poemId}`)) % n;
}

/** Lines short enough to quote in a question: 4 to 9 characters (a 词's long lines would crowd the context). */
function quotable(line: string): boolean {
  const n = [...line].length;
  return n >= 4 && n <= 9;
}

/** What buildQa needs to know about the whole corpus: which titles name exactly one poet. */
export interface QaContext {
  /** Title → its authors over the whole corpus; a title with several authors (句, 无题, 浣溪沙) gets no author question. */
  readonly titleAuthors: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Collects the {@link QaContext} of a set of poems. */
export function qaContext(poems: Iterable<Pick<PoemRecord, "title" | "author">>): QaContext {
  const titleAuthors = new Map<string, Set<string>>();
  for (const p of poems) {
    let s = titleAuthors.get(p.title);
    if (!s) titleAuthors.set(p.title, (s = new Set()));
    s.add(p.author);
  }
  return { titleAuthors };
}

/**
 * The questions about one poem: at most one per template, phrasing and line chosen by a hash of the poem id, so
 * the same poem always gives the same questions.
 * @example qaItemsForPoem({ id: "tang-8125", title: "静夜思", author: "李白", paragraphs: ["床前看月光，疑是地上霜。", …], … }, ctx)
 *          // [{ template: "author", prompt: "《静夜思》的作者是谁？", answer: "作者是「李白」。", expected: "李白", … }, …]
 */
export function qaItemsForPoem(poem: PoemRecord, context: QaContext, heldoutFraction = QA_HELDOUT_FRACTION): QaItem[] {
  const split = qaSplitOf(poem, heldoutFraction);
  const base = { poemId: poem.id, split };
  const items: QaItem[] = [];
  const lines = poemLines(poem.paragraphs);

  // author: only where the title names one poem's poet, and a poet is known. Song lyrics are titled by their tune
  // (浣溪沙 has hundreds of authors) and are left out by the same rule.
  const authors = context.titleAuthors.get(poem.title);
  if (namesAuthor(poem.author) && authors?.size === 1 && [...poem.title].length <= 12 && !/\s/.test(poem.title)) {
    const q = [`《${poem.title}》的作者是谁？`, `《${poem.title}》是谁写的？`][pick(poem.id, "author", 2)];
    items.push({ ...base, template: "author", prompt: q, answer: `作者是「${poem.author}」。`, expected: poem.author });
  }

  // nextLine: the first line of a couplet and its second line (the pairs a poem is built from: 0→1, 2→3, …).
  const pairs: number[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) if (quotable(lines[i]) && quotable(lines[i + 1])) pairs.push(i);
  if (pairs.length > 0) {
    const i = pairs[pick(poem.id, "nextLine", pairs.length)];
    const q = [`「${lines[i]}」的下一句是什么？`, `「${lines[i]}」的下一句是？`][pick(poem.id, "nextLine-q", 2)];
    items.push({ ...base, template: "nextLine", prompt: q, answer: `下一句是「${lines[i + 1]}」。`, expected: lines[i + 1] });
  }

  // meter: judged from the first couplet, which the question quotes (the answer can be counted, not only recalled).
  const meter = meterOf(poem.paragraphs);
  if ((meter === "五言" || meter === "七言") && lines.length >= 2 && poem.collection !== "songci") {
    const couplet = `${lines[0]}，${lines[1]}`;
    const q = [`「${couplet}」是五言还是七言？`, `「${couplet}」是五言诗还是七言诗？`][pick(poem.id, "meter", 2)];
    items.push({ ...base, template: "meter", prompt: q, answer: `这是「${meter}」诗。`, expected: meter });
  }

  // topic: a line of this poem on one of the topics (the first topic in a poem-specific order that it has).
  const start = pick(poem.id, "topic", QA_TOPICS.length);
  for (let k = 0; k < QA_TOPICS.length; k++) {
    const [ch, word] = QA_TOPICS[(start + k) % QA_TOPICS.length];
    const line = lines.find((l) => l.includes(ch) && quotable(l));
    if (line) {
      const q = [`写一句关于${word}的诗。`, `请写一句关于${word}的诗。`][pick(poem.id, "topic-q", 2)];
      items.push({ ...base, template: "topic", prompt: q, answer: `好的：「${line}」。`, expected: ch });
      break;
    }
  }
  return items;
}

/**
 * Whether an extracted answer is right: exact match, except for `topic`, where any line of 4 to 9 characters
 * that contains the keyword is right (there are many good answers to 写一句关于月亮的诗).
 * @example isCorrectAnswer({ template: "author", expected: "李白" }, "李白")  // true
 *          isCorrectAnswer({ template: "topic", expected: "月" }, "举头望明月") // true
 */
export function isCorrectAnswer(item: Pick<QaItem, "template" | "expected">, extracted: string | null): boolean {
  if (extracted === null) return false;
  if (item.template === "topic") return extracted.includes(item.expected) && quotable(extracted);
  return extracted === item.expected;
}

/** Every question of a list of poems, in the poems' order. */
export function buildQa(poems: readonly PoemRecord[], options: { heldoutFraction?: number } = {}): QaItem[] {
  const context = qaContext(poems);
  return poems.flatMap((p) => qaItemsForPoem(p, context, options.heldoutFraction));
}

/** Validates one qa.jsonl line. */
function toQaItem(value: unknown): QaItem {
  const o = expectObject(value);
  const template = stringField(o, "template");
  if (!(QA_TEMPLATES as readonly string[]).includes(template)) throw new Error(`unknown template '${template}'`);
  const split = stringField(o, "split");
  if (!(QA_SPLITS as readonly string[]).includes(split)) throw new Error(`unknown split '${split}'`);
  return {
    prompt: stringField(o, "prompt"),
    answer: stringField(o, "answer"),
    expected: stringField(o, "expected"),
    template: template as QaTemplate,
    poemId: stringField(o, "poemId"),
    split: split as QaSplit,
  };
}

/** Reads a qa.jsonl (lines are checked: a bad one names its line number). */
export async function readQa(file: string): Promise<QaItem[]> {
  const out: QaItem[] = [];
  for await (const item of readJsonl(file, { validate: toQaItem })) out.push(item);
  return out;
}

export interface QaDataset {
  /** datasets/qa/qa.jsonl (qa-quick in quick mode). */
  readonly file: string;
  readonly items: readonly QaItem[];
  /** Questions per split and template. */
  readonly counts: Readonly<Record<QaSplit, Readonly<Record<QaTemplate, number>>>>;
  /** True when qa.jsonl was found up to date. */
  readonly cached: boolean;
}

function countItems(items: readonly QaItem[]): Record<QaSplit, Record<QaTemplate, number>> {
  const counts = Object.fromEntries(QA_SPLITS.map((s) => [s, Object.fromEntries(QA_TEMPLATES.map((t) => [t, 0]))])) as Record<QaSplit, Record<QaTemplate, number>>;
  for (const it of items) counts[it.split][it.template]++;
  return counts;
}

/**
 * The question–answer dataset of the course's corpus: datasets/qa[-quick]/qa.jsonl, rebuilt when the corpus or
 * the templates change (a few seconds: it is all string work). In quick mode it comes from the quick corpus.
 * @example const qa = await ensureQa();  qa.items.filter((q) => q.split === "heldout")
 */
export async function ensureQa(options: { corpus?: CorpusInfo; corpusOptions?: CorpusOptions; dir?: string; force?: boolean } = {}): Promise<QaDataset> {
  const corpus = options.corpus ?? (await ensureCorpus(options.corpusOptions));
  const dir = options.dir ?? datasetsDir(corpus.report.settings.quick ? "qa-quick" : "qa");
  const file = path.join(dir, "qa.jsonl");
  const metaFile = path.join(dir, "meta.json");
  const key = { version: QA_VERSION, corpusConfigHash: corpus.report.configHash, heldoutFraction: QA_HELDOUT_FRACTION };
  if (!options.force && fs.existsSync(file) && fs.existsSync(metaFile)) {
    try {
      const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as typeof key;
      if (meta.version === key.version && meta.corpusConfigHash === key.corpusConfigHash && meta.heldoutFraction === key.heldoutFraction) {
        const items = await readQa(file);
        return { file, items, counts: countItems(items), cached: true };
      }
    } catch {
      // unreadable meta: rebuild
    }
  }
  const poems: PoemRecord[] = [];
  for await (const p of readPoems(corpus.poemsFile)) poems.push(p);
  const items = buildQa(poems);
  fs.mkdirSync(dir, { recursive: true });
  await writeJsonl(file, items);
  // meta.json last: its presence says qa.jsonl is complete.
  fs.writeFileSync(metaFile, JSON.stringify({ ...key, items: items.length }, null, 1) + "\n");
  return { file, items, counts: countItems(items), cached: false };
}

/** The counts as table rows: one per template, a column per split. */
export function qaCountRows(dataset: Pick<QaDataset, "counts">): Record<string, string | number>[] {
  return QA_TEMPLATES.filter((t) => QA_SPLITS.some((s) => dataset.counts[s][t] > 0)).map((t) => ({
    template: t,
    题型: QA_TEMPLATE_LABELS[t],
    ...Object.fromEntries(QA_SPLITS.map((s) => [s, dataset.counts[s][t]])),
  }));
}
