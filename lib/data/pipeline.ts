/**
 * The chapter-1 pipeline: collections → simplified → cleaned → deduplicated → split → JSONL files.
 *
 *   datasets/poems/train.jsonl        {"text": "<s>…</s>"} one poem a line (the book's format)
 *   datasets/poems/validation.jsonl
 *   datasets/poems/test.jsonl
 *   datasets/poems/poems.jsonl        the cleaned poems with their metadata (for later chapters)
 *   datasets/poems/report.json        the counts: in, dropped per reason, duplicates, out per split
 *
 * Quick mode (TIAOYU_QUICK=1) builds `datasets/poems-quick/` from a small, fixed subset (every 20th Tang poem,
 * every 10th Song lyric) so CI runs in seconds; full size is the whole of every collection.
 *
 * Each poem streams through the steps one at a time; only the deduplicator remembers earlier poems.
 * Every file is written atomically, and report.json last: a build that dies halfway leaves the previous
 * corpus in place, and `ensureCorpus` trusts a corpus only when its report matches the current settings.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { datasetsDir, isQuick } from "../course";
import { writeFileAtomic } from "../io/atomic";
import type { Row } from "../display";
import { CleanOptions, CLEANING_STEPS, cleanLines, cleanTitle, DEFAULT_CLEAN_OPTIONS, DROP_REASONS, DropReason, type DropStep } from "./clean";
import { toSimplified } from "./convert";
import { DEFAULT_DEDUP_OPTIONS, DedupOptions, Deduplicator } from "./dedup";
import { classifyForm, Form, FORMS } from "./form";
import { expectObject, JsonlReader, JsonlWriter, openJsonl, readJsonl, stringArrayField, stringField } from "./jsonl";
import { COLLECTION_NAMES, collectionInfo, CollectionName, poetryDir, poetryVersion, type RawPoem, readCollection, type ReadCollectionOptions } from "./poetry";
import { sampleLine, toSample } from "./sample";
import { assignSplit, DEFAULT_SPLIT_RATIOS, SplitName, SplitRatios, SPLITS, splitKey } from "./split";

/**
 * Bump when a change to the pipeline changes its output, so that every cached corpus is rebuilt.
 * (Settings are part of the cache key already; this covers changes to the code itself.)
 */
export const PIPELINE_VERSION = 3;

/** One cleaned poem as stored in poems.jsonl. */
export interface PoemRecord {
  /** `<collection>-<index in the collection>`, e.g. "tang-1234": stable for a given chinese-poetry version. */
  readonly id: string;
  readonly collection: CollectionName;
  readonly title: string;
  readonly author: string;
  /** The cleaned lines, simplified; their concatenation is the sample's text between <s> and </s>. */
  readonly paragraphs: readonly string[];
  readonly form: Form;
  readonly split: SplitName;
}

/** Every 20th Tang poem, every 10th Song lyric, all of 唐诗三百首 and 诗经: about 5,600 poems, built in seconds. */
export const QUICK_STRIDES: Readonly<Record<CollectionName, number>> = Object.freeze({ tang: 20, tang300: 1, songci: 10, shijing: 1 });

export interface CorpusOptions {
  /** Small subset (default: TIAOYU_QUICK). */
  readonly quick?: boolean;
  /** Folder name under datasets/ (default "poems", or "poems-quick" in quick mode). */
  readonly name?: string;
  /** Output folder (default datasets/<name>). */
  readonly dir?: string;
  /** Which collections, in processing order (default all of COLLECTIONS). */
  readonly collections?: readonly CollectionName[];
  /** Keep every n-th poem of a collection (default 1, or QUICK_STRIDES in quick mode). */
  readonly strides?: Partial<Record<CollectionName, number>>;
  /** At most this many poems per collection (after the stride). For tests. */
  readonly limit?: number;
  readonly ratios?: SplitRatios;
  readonly clean?: Partial<CleanOptions>;
  readonly dedup?: Partial<DedupOptions>;
  /** Another chinese-poetry dist/ folder (tests use a small fixture). */
  readonly sourceDir?: string;
  /** Rebuild even if an up-to-date corpus exists. */
  readonly force?: boolean;
  /** Called as the build goes: after every 5,000 poems and at the end of each collection. */
  readonly onProgress?: (p: CorpusProgress) => void;
}

export interface CorpusProgress {
  readonly collection: CollectionName;
  readonly label: string;
  /** Poems read from this collection so far. */
  readonly read: number;
  /** Poems kept (written) from this collection so far. */
  readonly kept: number;
  /** True once the collection is finished. */
  readonly done: boolean;
}

export interface CollectionCounts {
  readonly label: string;
  /** Poems read (in = dropped + duplicates + out). */
  in: number;
  dropped: number;
  duplicates: number;
  out: number;
}

/** A pair of duplicates found by the build, for the notebook to show. */
export interface DuplicateExample {
  readonly kind: "exact" | "near";
  readonly similarity: number;
  readonly kept: { readonly id: string; readonly title: string; readonly author: string; readonly text: string };
  readonly dropped: { readonly id: string; readonly title: string; readonly author: string; readonly text: string };
}

/** report.json: what went in, what was dropped and why, what came out. */
export interface CorpusReport {
  readonly name: string;
  readonly pipelineVersion: number;
  /** Hash of everything that determines the output: a different hash means the corpus is stale. */
  readonly configHash: string;
  readonly settings: CorpusSettingsSummary;
  readonly builtAt: string;
  readonly seconds: number;
  readonly in: number;
  readonly out: number;
  readonly collections: Partial<Record<CollectionName, CollectionCounts>>;
  readonly dropped: Record<DropReason, number>;
  readonly duplicates: { exact: number; near: number };
  readonly splits: Record<SplitName, number>;
  readonly forms: Partial<Record<Form, number>>;
  readonly duplicateExamples: readonly DuplicateExample[];
}

/** The settings a corpus was built with (what the cache key is made of). */
export interface CorpusSettingsSummary {
  readonly quick: boolean;
  readonly collections: readonly CollectionName[];
  readonly strides: Readonly<Record<CollectionName, number>>;
  readonly limit: number | null;
  readonly ratios: SplitRatios;
  readonly clean: CleanOptions;
  readonly dedup: DedupOptions;
  readonly poetryVersion: string;
  readonly sourceDir: string | null;
}

/** Where a corpus is, and its report. */
export interface CorpusInfo {
  readonly name: string;
  readonly dir: string;
  /** The sample files, one per split. */
  readonly files: Readonly<Record<SplitName, string>>;
  /** poems.jsonl: the poems with metadata. */
  readonly poemsFile: string;
  readonly reportFile: string;
  readonly report: CorpusReport;
  /** True when `ensureCorpus` found it already built. */
  readonly cached: boolean;
}

interface Settings {
  readonly name: string;
  readonly dir: string;
  readonly summary: CorpusSettingsSummary;
  readonly configHash: string;
}

function resolveSettings(options: CorpusOptions): Settings {
  const quick = options.quick ?? isQuick();
  const name = options.name ?? (quick ? "poems-quick" : "poems");
  const collections = [...(options.collections ?? COLLECTION_NAMES)];
  collections.forEach((c) => collectionInfo(c));
  if (new Set(collections).size !== collections.length) throw new Error(`collections listed twice: ${collections.join(", ")}`);
  const base = quick ? QUICK_STRIDES : Object.fromEntries(COLLECTION_NAMES.map((c) => [c, 1]));
  const strides = { ...base, ...options.strides } as Record<CollectionName, number>;
  const summary: CorpusSettingsSummary = {
    quick,
    collections,
    strides,
    limit: options.limit ?? null,
    ratios: { ...DEFAULT_SPLIT_RATIOS, ...options.ratios },
    clean: { ...DEFAULT_CLEAN_OPTIONS, ...options.clean },
    dedup: { ...DEFAULT_DEDUP_OPTIONS, ...options.dedup },
    poetryVersion: poetryVersion(),
    sourceDir: options.sourceDir ? path.resolve(options.sourceDir) : null,
  };
  const configHash = crypto.createHash("sha256").update(JSON.stringify({ v: PIPELINE_VERSION, ...summary })).digest("hex").slice(0, 16);
  return { name, dir: options.dir ?? datasetsDir(name), summary, configHash };
}

function corpusPaths(dir: string): Pick<CorpusInfo, "files" | "poemsFile" | "reportFile"> {
  const files = Object.fromEntries(SPLITS.map((s) => [s, path.join(dir, `${s}.jsonl`)])) as Record<SplitName, string>;
  return { files, poemsFile: path.join(dir, "poems.jsonl"), reportFile: path.join(dir, "report.json") };
}

const zeros = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

/**
 * A collection's poems converted to simplified Chinese (title, author and lines), not yet cleaned:
 * the first step of the pipeline, and what the notebook shows cleaning examples on.
 * @example const [p] = readSimplified("tang", { limit: 1 }); // 帝京篇十首 一: 秦川雄帝宅，函谷壮皇居。…
 */
export function* readSimplified(name: CollectionName, options: ReadCollectionOptions = {}): Generator<RawPoem> {
  for (const raw of readCollection(name, options)) {
    // One OpenCC call per poem, not per line: its per-call cost is larger than the work on a short line.
    const paragraphs = toSimplified(raw.paragraphs.join("\n")).split("\n");
    yield { ...raw, title: toSimplified(raw.title), author: toSimplified(raw.author), paragraphs };
  }
}

/** Builds the corpus (always; see {@link ensureCorpus} for the cached version). */
export async function buildCorpus(options: CorpusOptions = {}): Promise<CorpusInfo> {
  const s = resolveSettings(options);
  const { summary } = s;
  const t0 = performance.now();
  const info = corpusPaths(s.dir);

  const collections: Partial<Record<CollectionName, CollectionCounts>> = {};
  const dropped = zeros(DROP_REASONS);
  const duplicates = { exact: 0, near: 0 };
  const splits = zeros(SPLITS);
  const forms: Partial<Record<Form, number>> = {};
  const examples: DuplicateExample[] = [];
  const keptText = new Map<string, DuplicateExample["kept"]>(); // for duplicate examples only
  const dedup = new Deduplicator(summary.dedup);

  const writers: Record<SplitName, JsonlWriter<string>> = {} as Record<SplitName, JsonlWriter<string>>;
  let poemsOut: JsonlWriter<PoemRecord> | null = null;
  try {
    for (const split of SPLITS) writers[split] = await openJsonl<string>(info.files[split], sampleLine);
    poemsOut = await openJsonl<PoemRecord>(info.poemsFile);

    for (const name of summary.collections) {
      const { label } = collectionInfo(name);
      const counts: CollectionCounts = (collections[name] = { label, in: 0, dropped: 0, duplicates: 0, out: 0 });
      const progress = (done: boolean) => options.onProgress?.({ collection: name, label, read: counts.in, kept: counts.out, done });
      const source = readSimplified(name, { stride: summary.strides[name], limit: summary.limit ?? undefined, dir: options.sourceDir ?? poetryDir() });
      for (const raw of source) {
        if (++counts.in % 5000 === 0) progress(false);
        const cleaned = cleanLines(raw.paragraphs, summary.clean);
        if (!cleaned.ok) {
          dropped[cleaned.reason]++;
          counts.dropped++;
          continue;
        }
        const paragraphs = cleaned.paragraphs;
        const id = `${name}-${raw.index}`;
        const title = cleanTitle(raw.title);
        const author = cleanTitle(raw.author) || "佚名";
        const text = paragraphs.join("");
        const dup = dedup.check(id, text);
        if (dup) {
          duplicates[dup.kind]++;
          counts.duplicates++;
          // Keep a few examples of each kind, and of twins across collections (唐诗三百首 inside 全唐诗).
          const collectionOf = (id: string) => id.slice(0, id.lastIndexOf("-"));
          const cross = collectionOf(dup.of) !== name;
          const like = examples.filter((e) => e.kind === dup.kind && (collectionOf(e.kept.id) !== collectionOf(e.dropped.id)) === cross);
          if (like.length < (dup.kind === "near" ? 4 : 2)) {
            examples.push({ kind: dup.kind, similarity: dup.similarity, kept: keptText.get(dup.of)!, dropped: { id, title, author, text } });
          }
          continue;
        }
        keptText.set(id, { id, title, author, text });
        const split = assignSplit(splitKey({ title, author, paragraphs }), summary.ratios);
        const form = classifyForm(paragraphs, name);
        await writers[split].write(toSample(paragraphs));
        await poemsOut.write({ id, collection: name, title, author, paragraphs, form, split });
        splits[split]++;
        forms[form] = (forms[form] ?? 0) + 1;
        counts.out++;
      }
      progress(true);
    }

    for (const split of SPLITS) await writers[split].commit();
    await poemsOut.commit();
  } catch (e) {
    for (const w of [...Object.values(writers), poemsOut]) await w?.abort();
    throw e;
  }

  const total = (k: "in" | "out") => Object.values(collections).reduce((n, c) => n + c![k], 0);
  const orderedForms = Object.fromEntries(FORMS.filter((f) => forms[f]).map((f) => [f, forms[f]!]));
  const report: CorpusReport = {
    name: s.name,
    pipelineVersion: PIPELINE_VERSION,
    configHash: s.configHash,
    settings: summary,
    builtAt: new Date().toISOString(),
    seconds: Math.round((performance.now() - t0) / 10) / 100,
    in: total("in"),
    out: total("out"),
    collections,
    dropped,
    duplicates,
    splits,
    forms: orderedForms,
    duplicateExamples: examples,
  };
  // Written last: a report that matches the settings is the mark of a complete corpus.
  await writeFileAtomic(info.reportFile, JSON.stringify(report, null, 2) + "\n");
  return { name: s.name, dir: s.dir, ...info, report, cached: false };
}

/** Reads a corpus's report.json, or null when there is none or it cannot be parsed. */
function readReport(file: string): CorpusReport | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as CorpusReport;
  } catch {
    return null;
  }
}

/**
 * The corpus for these options: returned at once when it is already built with the same settings,
 * built (and cached under datasets/) when it is missing or stale.
 * @example const corpus = await ensureCorpus();   // datasets/poems, or datasets/poems-quick in quick mode
 *          for await (const text of readSamples(corpus.files.train)) …
 */
export async function ensureCorpus(options: CorpusOptions = {}): Promise<CorpusInfo> {
  const s = resolveSettings(options);
  if (!options.force) {
    const paths = corpusPaths(s.dir);
    const report = readReport(paths.reportFile);
    const complete = [...Object.values(paths.files), paths.poemsFile].every((f) => fs.existsSync(f));
    if (report && report.configHash === s.configHash && complete) return { name: s.name, dir: s.dir, ...paths, report, cached: true };
  }
  return buildCorpus(options);
}

/** Validates one poems.jsonl line. */
function toPoemRecord(value: unknown): PoemRecord {
  const o = expectObject(value);
  const collection = stringField(o, "collection");
  if (!(COLLECTION_NAMES as readonly string[]).includes(collection)) throw new Error(`unknown collection '${collection}'`);
  const split = stringField(o, "split");
  if (!(SPLITS as readonly string[]).includes(split)) throw new Error(`unknown split '${split}'`);
  const form = stringField(o, "form");
  if (!(FORMS as readonly string[]).includes(form)) throw new Error(`unknown form '${form}'`);
  return {
    id: stringField(o, "id"),
    collection: collection as CollectionName,
    title: stringField(o, "title"),
    author: stringField(o, "author"),
    paragraphs: stringArrayField(o, "paragraphs"),
    form: form as Form,
    split: split as SplitName,
  };
}

/**
 * Reads poems.jsonl (the cleaned poems with metadata) as a stream of {@link PoemRecord}s.
 * @example for await (const p of readPoems(corpus.poemsFile)) if (p.author === "李白") console.log(p.title);
 */
export function readPoems(file: string, options: { skipInvalid?: boolean } = {}): JsonlReader<PoemRecord> {
  return readJsonl(file, { ...options, validate: toPoemRecord });
}

/** All poems of a poems.jsonl in an array (about 80,000 at full size: a few tens of MB). */
export async function loadPoems(file: string): Promise<PoemRecord[]> {
  const out: PoemRecord[] = [];
  for await (const p of readPoems(file)) out.push(p);
  return out;
}

/**
 * The report's counts as table rows, one per collection plus a total:
 * collection, in, dropped, duplicates, out (and in = dropped + duplicates + out on every row).
 */
export function reportRows(report: CorpusReport): Row[] {
  const rows: Row[] = Object.values(report.collections).map((c) => ({ collection: c!.label, in: c!.in, dropped: c!.dropped, duplicates: c!.duplicates, out: c!.out }));
  const sum = (k: "in" | "dropped" | "duplicates" | "out") => rows.reduce((n, r) => n + (r[k] as number), 0);
  rows.push({ collection: "合计", in: sum("in"), dropped: sum("dropped"), duplicates: sum("duplicates"), out: sum("out") });
  return rows;
}

/** Dropped poems per reason, with the reason in words (from CLEANING_STEPS). */
export function droppedRows(report: CorpusReport): Row[] {
  return DROP_REASONS.map((reason) => ({
    reason,
    why: (CLEANING_STEPS.find((s) => s.name === reason) as DropStep).reason,
    poems: report.dropped[reason],
  }));
}

/** The duplicate pairs the build found (a sample of them), for a table: kind, similarity, kept, dropped. */
export function duplicateRows(report: CorpusReport, maxChars = 24): Row[] {
  const cut = (t: string) => (t.length > maxChars ? t.slice(0, maxChars) + "……" : t);
  return report.duplicateExamples.map((e) => ({
    kind: e.kind,
    similarity: Math.round(e.similarity * 100) / 100,
    kept: `${e.kept.id} ${e.kept.title}（${e.kept.author}）`,
    keptText: cut(e.kept.text),
    dropped: `${e.dropped.id} ${e.dropped.title}（${e.dropped.author}）`,
    droppedText: cut(e.dropped.text),
  }));
}

/** Poems per split: how many and what share of the output. */
export function splitRows(report: CorpusReport): Row[] {
  return SPLITS.map((split) => ({ split, poems: report.splits[split], share: Math.round((report.splits[split] / report.out) * 1000) / 1000 }));
}
