/**
 * 数据统计: is the corpus large, varied and clean enough? Statistics with danfojs, returned as plain rows
 * for `table()` and `plot()` (lib/display.ts).
 *
 * The book asks for 质量 and 多样性; numbers make both visible: how many poems each collection gives
 * and how many poets (a corpus of one poet would teach one voice), which forms (a model trained only on
 * 五言绝句 could not write a 词), how long the samples are (what the context window must hold), and how
 * many distinct characters it takes to cover the text (what the tokenizer of chapter 2 must learn).
 *
 * danfojs is loaded on first use: it brings TensorFlow.js with it, and most users of lib/data never need it.
 */
import type * as Dfd from "danfojs-node";
import type { Row } from "../display";
import { ALLOWED_PUNCTUATION, countHan } from "./clean";
import { FORMS, poemLines } from "./form";
import type { PoemRecord } from "./pipeline";
import { collectionInfo } from "./poetry";
import { SPLITS } from "./split";

let dfdModule: typeof Dfd | null = null;

/** The danfojs-node module, required on first use. */
export function danfo(): typeof Dfd {
  return (dfdModule ??= require("danfojs-node") as typeof Dfd);
}

const frames = new WeakMap<readonly PoemRecord[], Dfd.DataFrame>();

/**
 * One row per poem: id, collection (its Chinese name), author, form, split, chars (Han characters), lines (句).
 * The frame the other statistics are computed from (built once per array of poems); use it for your own questions.
 */
export function poemFrame(poems: readonly PoemRecord[]): Dfd.DataFrame {
  const cached = frames.get(poems);
  if (cached) return cached;
  if (poems.length === 0) throw new Error("poemFrame: no poems (is the poems.jsonl empty?)");
  const dfd = danfo();
  const columns = {
    id: poems.map((p) => p.id),
    collection: poems.map((p) => collectionInfo(p.collection).label),
    author: poems.map((p) => p.author),
    form: poems.map((p) => p.form),
    split: poems.map((p) => p.split),
    chars: poems.map((p) => countHan(p.paragraphs.join(""))),
    lines: poems.map((p) => poemLines(p.paragraphs).length),
  };
  // Giving the types saves danfojs from inspecting 80,000 values per column to guess them.
  const df = new dfd.DataFrame(columns, { dtypes: ["string", "string", "string", "string", "string", "int32", "int32"] });
  frames.set(poems, df);
  return df;
}

/** A danfojs frame as plain row objects. */
function rows(df: Dfd.DataFrame): Row[] {
  return danfo().toJSON(df, { format: "column" }) as Row[];
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Per collection: poems, distinct authors, and the mean, shortest and longest length in Han characters.
 * @example statsByCollection(poems) // [{ collection: "全唐诗", poems: 50751, authors: 3006, meanChars: 48.6, minChars: 10, maxChars: 350 }, …]
 */
export function statsByCollection(poems: readonly PoemRecord[]): Row[] {
  const lengths = rows(poemFrame(poems).groupby(["collection"]).agg({ chars: ["count", "mean", "min", "max"] }));
  const authors = new Map<string, Set<string>>();
  for (const p of poems) {
    const label = collectionInfo(p.collection).label;
    if (!authors.has(label)) authors.set(label, new Set());
    authors.get(label)!.add(p.author);
  }
  return lengths
    .map((r) => ({
      collection: r.collection,
      poems: r.chars_count,
      authors: authors.get(r.collection as string)?.size ?? 0,
      meanChars: round(r.chars_mean as number),
      minChars: r.chars_min,
      maxChars: r.chars_max,
    }))
    .sort((a, b) => (b.poems as number) - (a.poems as number));
}

/**
 * The `n` authors with the most poems (anonymous ones, 佚名 and 无名氏, included: they are many), with the
 * collection most of their poems come from.
 * @example topAuthors(poems, 3) // [{ author: "白居易", poems: 2869, collection: "全唐诗" }, …]
 */
export function topAuthors(poems: readonly PoemRecord[], n = 20): Row[] {
  const vc = poemFrame(poems)["author"].valueCounts() as Dfd.Series;
  const counts = (vc.index as string[]).map((author, i) => ({ author, poems: vc.values[i] as number }));
  counts.sort((a, b) => b.poems - a.poems || (a.author < b.author ? -1 : 1));
  const top = counts.slice(0, n);
  const home = new Map<string, Map<string, number>>(top.map((a) => [a.author, new Map()]));
  for (const p of poems) {
    const m = home.get(p.author);
    if (m) m.set(p.collection, (m.get(p.collection) ?? 0) + 1);
  }
  return top.map(({ author, poems: k }) => {
    const [main] = [...home.get(author)!].sort((a, b) => b[1] - a[1])[0];
    return { author, poems: k, collection: collectionInfo(main).label };
  });
}

/**
 * Poems per form (体裁), in the order of {@link FORMS}, with each form's share of the corpus.
 * @example formCounts(poems) // [{ form: "五言绝句", poems: 3780, share: 0.054 }, …]
 */
export function formCounts(poems: readonly PoemRecord[]): Row[] {
  const vc = poemFrame(poems)["form"].valueCounts() as Dfd.Series;
  const counts = new Map((vc.index as string[]).map((f, i) => [f, vc.values[i] as number]));
  return FORMS.filter((f) => counts.has(f)).map((form) => ({ form, poems: counts.get(form)!, share: round(counts.get(form)! / poems.length, 3) }));
}

/**
 * Poems and characters per split: the train/validation/test proportions actually obtained.
 */
export function splitCounts(poems: readonly PoemRecord[]): Row[] {
  const df = poemFrame(poems);
  const by = new Map(rows(df.groupby(["split"]).agg({ chars: ["count", "sum"] })).map((r) => [r.split, r]));
  return SPLITS.map((split) => ({
    split,
    poems: by.get(split)?.chars_count ?? 0,
    share: round(((by.get(split)?.chars_count as number) ?? 0) / poems.length, 3),
    chars: by.get(split)?.chars_sum ?? 0,
  }));
}

/**
 * Length distribution: how many poems have 0–9, 10–19, … Han characters (bins of `binWidth`), plus summary
 * statistics (from danfojs' describe()) in {@link lengthSummary}.
 * @example lengthHistogram(poems, 20) // [{ from: 0, to: 19, poems: 0 }, { from: 20, to: 39, poems: 19321 }, …]
 */
export function lengthHistogram(poems: readonly PoemRecord[], binWidth = 10): Row[] {
  if (!(Number.isInteger(binWidth) && binWidth > 0)) throw new Error(`binWidth must be a positive integer, got ${binWidth}`);
  const chars = poemFrame(poems)["chars"].values as number[];
  const bins = new Array<number>(Math.floor(Math.max(...chars) / binWidth) + 1).fill(0);
  for (const c of chars) bins[Math.floor(c / binWidth)]++;
  return bins.map((n, i) => ({ from: i * binWidth, to: (i + 1) * binWidth - 1, poems: n }));
}

/** count, mean, std, min, median, max of the poems' lengths in Han characters (danfojs' describe()). */
export function lengthSummary(poems: readonly PoemRecord[]): Row[] {
  const d = poemFrame(poems)["chars"].describe() as Dfd.Series;
  return (d.index as string[]).filter((k) => k !== "variance").map((stat, i) => ({ stat, chars: round(d.values[i] as number, 2) }));
}

/** Each character with its number of occurrences in the poems' text (punctuation excluded), most frequent first. */
export function characterCounts(poems: readonly PoemRecord[]): readonly { readonly char: string; readonly count: number }[] {
  const cached = charCounts.get(poems);
  if (cached) return cached;
  const counts = new Map<string, number>();
  const punctuation = new Set(ALLOWED_PUNCTUATION);
  // Cleaned poems hold only Han characters and ALLOWED_PUNCTUATION, so skipping the punctuation is enough.
  for (const p of poems) for (const line of p.paragraphs) for (const ch of line) if (!punctuation.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const sorted = [...counts].map(([char, count]) => ({ char, count })).sort((a, b) => b.count - a.count || (a.char < b.char ? -1 : 1));
  charCounts.set(poems, sorted);
  return sorted;
}

const charCounts = new WeakMap<readonly PoemRecord[], readonly { readonly char: string; readonly count: number }[]>();

/**
 * Character coverage: how many of the most frequent distinct characters it takes to cover 50%, 90%, 99%, …
 * of all character occurrences. A few hundred characters make up half the text; the long tail of rare ones
 * is what a character-level vocabulary pays for, and what subword tokenizers (chapter 2) handle better.
 * @example characterCoverage(poems) // [{ coverage: 0.5, characters: 280, shareOfDistinct: 0.035 }, …]
 */
export function characterCoverage(poems: readonly PoemRecord[], levels: readonly number[] = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1]): Row[] {
  const dfd = danfo();
  const counts = characterCounts(poems);
  if (counts.length === 0) return [];
  const cum = (new dfd.Series(counts.map((c) => c.count)).cumSum() as Dfd.Series).values as number[];
  const total = cum[cum.length - 1];
  return levels.map((level) => {
    const k = cum.findIndex((c) => c >= level * total - 1e-9) + 1;
    return { coverage: level, characters: k, shareOfDistinct: round(k / counts.length, 3) };
  });
}

/**
 * The coverage curve for a chart: after the k most frequent characters, the share of the text covered.
 * `points` values of k, spaced evenly on a log scale (1, 2, 5, 10, … up to all characters).
 */
export function coverageCurve(poems: readonly PoemRecord[], points = 60): Row[] {
  const counts = characterCounts(poems);
  const total = counts.reduce((n, c) => n + c.count, 0);
  const ks = [...new Set(Array.from({ length: points }, (_, i) => Math.round(Math.exp((Math.log(counts.length) * i) / (points - 1)))))];
  const out: Row[] = [];
  let covered = 0, k = 0;
  for (const target of ks) {
    while (k < target) covered += counts[k++].count;
    out.push({ characters: k, coverage: round(covered / total, 4) });
  }
  return out;
}
