/**
 * 数据收集: the collections of classical poetry we train on, read from the `chinese-poetry` npm package.
 *
 * Nothing is downloaded at run time: the package ships the JSON files (node_modules/chinese-poetry/dist/).
 * Each collection has its own file layout and field names; this file turns them all into one shape,
 * {@link RawPoem}: a title, an author and the poem's lines, still as the source wrote them (the Tang poems in
 * traditional characters, with the editors' notes and placeholders that chapter 1 cleans away).
 *
 * Several collections, not one, for the book's 多样性 (diversity): regulated Tang verse, the Song lyrics
 * (词, lines of uneven length set to tunes), and the much older four-character songs of the 诗经.
 * 唐诗三百首 is included on purpose although nearly all of it is already in 全唐诗: merging sources always
 * brings duplicates, and this is how the course sees deduplication at work.
 */
import * as fs from "fs";
import * as path from "path";

/** The collections we read, in the order they are processed (duplicates keep the copy seen first). */
export type CollectionName = "tang" | "tang300" | "songci" | "shijing";

export interface CollectionInfo {
  readonly name: CollectionName;
  /** The collection's Chinese name, for tables and charts. */
  readonly label: string;
  /** The source's script: traditional sources are converted to simplified (see convert.ts). */
  readonly script: "traditional" | "simplified";
  /** Where it lives under node_modules/chinese-poetry/dist/. */
  readonly source: string;
}

export const COLLECTIONS: readonly CollectionInfo[] = Object.freeze([
  { name: "tang", label: "全唐诗", script: "traditional", source: "quantangshi/poet.tang.*.json" },
  { name: "tang300", label: "唐诗三百首", script: "traditional", source: "mengxue/tangshisanbaishou.json" },
  { name: "songci", label: "宋词", script: "simplified", source: "songci/ci.song.*.json" },
  { name: "shijing", label: "诗经", script: "simplified", source: "shijing/shijing.json" },
] as const);

export const COLLECTION_NAMES: readonly CollectionName[] = Object.freeze(COLLECTIONS.map((c) => c.name));

/** The info of one collection, or an error listing the known names. */
export function collectionInfo(name: string): CollectionInfo {
  const c = COLLECTIONS.find((x) => x.name === name);
  if (!c) throw new Error(`unknown collection '${name}': use one of ${COLLECTION_NAMES.join(", ")}`);
  return c;
}

/** One poem as its source has it, in the common shape. */
export interface RawPoem {
  readonly collection: CollectionName;
  /** Position within the collection (files in numeric order, items in file order): a stable id. */
  readonly index: number;
  readonly title: string;
  readonly author: string;
  /** The poem's lines as the source splits them (usually one couplet per entry). */
  readonly paragraphs: readonly string[];
}

/** The folder of the chinese-poetry data files. */
export function poetryDir(): string {
  return path.join(path.dirname(require.resolve("chinese-poetry/package.json")), "dist");
}

/** The installed chinese-poetry version: part of the corpus's cache key, since new data means a new corpus. */
export function poetryVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(poetryDir(), "..", "package.json"), "utf8")) as { version: string }).version;
}

/**
 * Files matching `<prefix><number>.json` in numeric order (poet.tang.0, 1000, 2000, … not 0, 1000, 10000, …).
 * Only those: quantangshi/ also holds poet.song.* (Song poems), authors.*.json and error/ (entries the
 * data's maintainers marked as broken), none of which belong in the Tang collection.
 */
function numberedFiles(dir: string, prefix: string): string[] {
  const re = new RegExp(`^${prefix.replace(/\./g, "\\.")}(\\d+)\\.json$`);
  return fs
    .readdirSync(dir)
    .map((f) => [f, re.exec(f)] as const)
    .filter((x): x is readonly [string, RegExpExecArray] => x[1] !== null)
    .sort((a, b) => Number(a[1][1]) - Number(b[1][1]))
    .map(([f]) => path.join(dir, f));
}

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** A string field of a source record, or "" (sources leave some out: 诗经 has no author). */
function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function lines(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new Error(`${where}: expected an array of lines, got ${typeof v}`);
  return v.map((x) => (typeof x === "string" ? x : String(x)));
}

type Entry = { title: string; author: string; paragraphs: string[] };

/** Each collection's records in source order, converted to {@link Entry}. */
function* entries(name: CollectionName, dir: string): Generator<Entry> {
  switch (name) {
    case "tang":
      for (const file of numberedFiles(path.join(dir, "quantangshi"), "poet.tang.")) {
        const items = readJsonFile(file) as Record<string, unknown>[];
        for (const [i, p] of items.entries()) {
          yield { title: str(p.title), author: str(p.author), paragraphs: lines(p.paragraphs, `${file} item ${i}`) };
        }
      }
      return;
    case "tang300": {
      // { title, content: [ { type: "五言絕句", content: [ { chapter, subchapter, author, paragraphs } ] } ] }
      const file = path.join(dir, "mengxue", "tangshisanbaishou.json");
      const book = readJsonFile(file) as { content: { content: Record<string, unknown>[] }[] };
      for (const group of book.content) {
        for (const p of group.content) yield { title: str(p.chapter), author: str(p.author), paragraphs: lines(p.paragraphs, file) };
      }
      return;
    }
    case "songci":
      // A 词 has no title of its own in this data: it is known by its tune (词牌, `rhythmic`), e.g. 水调歌头.
      for (const file of numberedFiles(path.join(dir, "songci"), "ci.song.")) {
        const items = readJsonFile(file) as Record<string, unknown>[];
        for (const [i, p] of items.entries()) {
          yield { title: str(p.rhythmic), author: str(p.author), paragraphs: lines(p.paragraphs, `${file} item ${i}`) };
        }
      }
      return;
    case "shijing": {
      // Each `content` entry is a stanza (章) of several lines; the songs are anonymous.
      const file = path.join(dir, "shijing", "shijing.json");
      for (const [i, p] of (readJsonFile(file) as Record<string, unknown>[]).entries()) {
        yield { title: str(p.title), author: "佚名", paragraphs: lines(p.content, `${file} item ${i}`) };
      }
      return;
    }
  }
}

export interface ReadCollectionOptions {
  /** Keep only every `stride`-th poem (index % stride === 0): a small subset spread over the whole collection. */
  readonly stride?: number;
  /** Stop after this many poems (after the stride). */
  readonly limit?: number;
  /** Another copy of the chinese-poetry dist/ folder (tests use a small fixture). */
  readonly dir?: string;
}

/**
 * Reads one collection, file by file, as {@link RawPoem}s.
 * @example for (const p of readCollection("tang", { limit: 1 })) console.log(p.title, p.paragraphs[0]);
 *          // 帝京篇十首 一 秦川雄帝宅，函谷壯皇居。
 */
export function* readCollection(name: CollectionName, options: ReadCollectionOptions = {}): Generator<RawPoem> {
  collectionInfo(name);
  const stride = options.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`stride must be a positive integer, got ${stride}`);
  const limit = options.limit ?? Infinity;
  let index = 0;
  let taken = 0;
  for (const e of entries(name, options.dir ?? poetryDir())) {
    const i = index++;
    if (i % stride !== 0) continue;
    if (taken++ >= limit) return;
    yield { collection: name, index: i, ...e };
  }
}

/** The words the sources (and chapter 1, for a missing author) use for "unknown": they name nobody. */
const ANONYMOUS = new Set(["", "佚名", "无名氏", "不详"]);

/**
 * Whether an author field names a poet (not 佚名, 无名氏, 不详 or empty): a question "who wrote it?" has an answer.
 * @example namesAuthor("李白") // true;  namesAuthor("佚名") // false
 */
export function namesAuthor(author: string): boolean {
  return !ANONYMOUS.has(author.trim());
}
