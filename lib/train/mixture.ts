/**
 * The pretraining data mixture: the whole corpus once, plus an anthology of famous poems (唐诗三百首) several times.
 *
 *   train stream   <s>秦川雄帝宅…</s> <s>岩廊罢机务…</s> … (64,485 poems, each once: chapter 1 removed duplicates)
 *   + anthology    <s>床前明月光…</s> <s>春眠不觉晓…</s> … (316 poems) × repeat, each copy in its own shuffled order
 *
 * Why: what "everybody knows" is what everybody has read many times. On the web a line like 床前明月光 appears in
 * thousands of pages; in our deduplicated corpus it appears once (or, for 静夜思, only in its Song-era wording
 * 床前看月光). One sighting per pass is not enough for a small model to recite it. Large pretraining runs solve the
 * same problem the same way: GPT-3 read its Wikipedia and book sources several times per pass over the web crawl,
 * and later models up-weight curated data. Repeating a small set many times also means the model memorizes it —
 * which, for 词语接龙 on famous poems, is the point.
 *
 * Only the training stream changes. Anthology poems whose copy in the corpus landed in the validation or test split
 * are left out, so the held-out numbers stay honest.
 */
import { jaccard, shingles, dedupKey, DEFAULT_DEDUP_OPTIONS } from "../data/dedup";
import { cleanLines } from "../data/clean";
import { poemLines } from "../data/form";
import type { CorpusInfo } from "../data/pipeline";
import { type AnthologyAnswerStyle, type AnthologyQaItem, buildAnthologyQa, hasCitableSource } from "../data/anthologyQa";
import { readSimplified } from "../data/pipeline";
import type { CollectionName } from "../data/poetry";
import { readSamples, sampleBody, toSample, BOS, EOS } from "../data/sample";
import { Rng } from "../rng";
import type { StreamTokenizer, TokenArray, TokenStream } from "./tokens";

/** One poem of the anthology as pretraining reads it: its cleaned lines, with its title and poet. */
export interface AnthologyPoem {
  readonly title: string;
  readonly author: string;
  readonly paragraphs: readonly string[];
}

/** The anthology, cleaned as chapter 1 cleans the corpus. */
export interface Anthology {
  /** Which collection (default 唐诗三百首). */
  readonly collection: CollectionName;
  /** The samples (`<s>…</s>`) that may be trained on. */
  readonly samples: readonly string[];
  /** The same poems with their titles and poets, in the same order (chapter 6 asks questions about them). */
  readonly poems: readonly AnthologyPoem[];
  /** Poems left out because a copy of them is in the validation or test split. */
  readonly heldOut: number;
  /** Poems chapter 1's cleaning drops (missing characters, too short, …). */
  readonly dropped: number;
}

/**
 * Whether a corpus can take the anthology: it was built by chapter 1's pipeline (it has a report) from collections
 * that include this one, so the anthology is cleaned and held out the same way. A hand-made corpus (tests) cannot.
 */
export function canMixAnthology(corpus: CorpusInfo, collection: CollectionName = "tang300"): boolean {
  return corpus.report?.settings?.collections?.includes(collection) ?? false;
}

/**
 * The anthology's poems, cleaned with the corpus's settings, without those that have a near-duplicate (the corpus's
 * own similarity threshold) in the validation or test split.
 * @example const a = await anthology(corpus);   // 唐诗三百首: 300-odd samples
 */
export async function anthology(corpus: CorpusInfo, collection: CollectionName = "tang300"): Promise<Anthology> {
  if (!corpus.report?.settings) throw new Error(`anthology: the corpus in ${corpus.dir} has no report.json settings (build it with ensureCorpus())`);
  const settings = corpus.report.settings;
  const dedup = { ...DEFAULT_DEDUP_OPTIONS, ...settings.dedup };
  const heldOutShingles: Uint32Array[] = [];
  for (const split of ["validation", "test"] as const) {
    for await (const s of readSamples(corpus.files[split])) heldOutShingles.push(shingles(dedupKey(sampleBody(s)), dedup.shingleSize));
  }
  const samples: string[] = [];
  const poems: AnthologyPoem[] = [];
  let heldOut = 0;
  let dropped = 0;
  for (const raw of readSimplified(collection)) {
    const cleaned = cleanLines(raw.paragraphs, settings.clean);
    if (!cleaned.ok) {
      dropped++;
      continue;
    }
    const mine = shingles(dedupKey(cleaned.paragraphs.join("")), dedup.shingleSize);
    if (heldOutShingles.some((other) => jaccard(mine, other) >= dedup.threshold)) {
      heldOut++;
      continue;
    }
    samples.push(toSample(cleaned.paragraphs));
    poems.push({ title: raw.title, author: raw.author, paragraphs: cleaned.paragraphs });
  }
  return { collection, samples, poems, heldOut, dropped };
}

/**
 * An anthology poem as a sample that ends with who wrote it and its title, the way a poem is cited under its text:
 * `<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。——李白《静夜思》</s>`. Read this way, the poet and the title
 * come after the lines, so a left-to-right model learns to predict them from the lines — the direction in which
 * chapter 6 asks 「床前明月光」是谁的诗句？ (a model that only read them before the lines could not answer that).
 * Poems without a known poet or title keep their plain form.
 * @example attributedSample({ title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。"] })  // "<s>床前明月光，疑是地上霜。——李白《静夜思》</s>"
 */
export function attributedSample(poem: AnthologyPoem): string {
  return hasCitableSource(poem) ? `${BOS}${poem.paragraphs.join("")}——${poem.author}《${poem.title}》${EOS}` : toSample(poem.paragraphs);
}

/**
 * The couplets of an anthology poem, each cited on its own with its source, as quotations of poems usually appear
 * in text: `<s>床前明月光，疑是地上霜。——李白《静夜思》</s>`. Read in pretraining, they tie every couplet to the
 * line before it and to its poet and title over a short distance. None for a poem without a known poet or title.
 */
export function citedCouplets(poem: AnthologyPoem): string[] {
  if (!hasCitableSource(poem)) return [];
  const lines = poemLines(poem.paragraphs);
  const out: string[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) out.push(`${BOS}${lines[i]}，${lines[i + 1]}。——${poem.author}《${poem.title}》${EOS}`);
  return out;
}

/**
 * One copy of the anthology as pretraining reads it: its samples, or with `attribution` each poem followed by its
 * poet and title and its couplets cited on their own (attributedSample, citedCouplets).
 */
export function anthologySamples(a: Pick<Anthology, "samples" | "poems">, attribution: boolean): string[] {
  return attribution ? a.poems.flatMap((p) => [attributedSample(p), ...citedCouplets(p)]) : [...a.samples];
}

/**
 * The training stream followed by `repeat` copies of the anthology, each copy in its own order (seeded, so a resumed
 * run rebuilds the same stream). With repeat 0 the stream is returned unchanged.
 * @example const mixed = mixStream(train, anthologySamples, tok, 20, 1);
 */
export function mixStream(train: TokenStream, samples: readonly string[], tokenizer: StreamTokenizer, repeat: number, seed: number): TokenStream {
  if (!Number.isInteger(repeat) || repeat < 0) throw new Error(`mixStream: repeat ${repeat} must be a whole number ≥ 0`);
  if (repeat === 0 || samples.length === 0) return train;
  const encoded = samples.map((s) => tokenizer.encode(s, { allowedSpecial: [BOS, EOS] }));
  const perCopy = encoded.reduce((n, ids) => n + ids.length, 0);
  const tokens: TokenArray = train.tokens instanceof Uint16Array ? new Uint16Array(train.tokens.length + repeat * perCopy) : new Uint32Array(train.tokens.length + repeat * perCopy);
  tokens.set(train.tokens);
  let n = train.tokens.length;
  const rng = new Rng(seed ^ 0x5eed);
  for (let copy = 0; copy < repeat; copy++) {
    for (const i of rng.shuffle(encoded.map((_, i) => i))) {
      tokens.set(encoded[i], n);
      n += encoded[i].length;
    }
  }
  return { ...train, tokens, samples: train.samples + repeat * samples.length };
}

/**
 * Chapter 6's questions about the anthology's poems (lib/data/anthologyQa.ts), for the poems this corpus's
 * pretraining read; none when the corpus cannot take the anthology. Answered, by default, by citing the couplet
 * (「床前明月光，疑是地上霜」——李白《静夜思》) as the annealed base read it (citedCouplets).
 * @example const questions = await anthologyQuestions(corpus);   // ≈ 5,800: 下一句, 上一句, 作者, 题目, 体裁
 */
export async function anthologyQuestions(corpus: CorpusInfo, style: AnthologyAnswerStyle = "cite"): Promise<AnthologyQaItem[]> {
  if (!canMixAnthology(corpus)) return [];
  return buildAnthologyQa((await anthology(corpus)).poems, { style });
}
