import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildCorpus, CorpusInfo, CorpusOptions, ensureCorpus, formCounts, loadPoems, PoemRecord, readPoems, readSamples,
  SPLITS, statsByCollection, toSample, characterCoverage, lengthHistogram, topAuthors, splitCounts,
} from "tiaoyu";

const FIXTURE = path.join(__dirname, "..", "fixtures", "data", "chinese-poetry");

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("data/pipeline on a hand-made slice of chinese-poetry", () => {
  let dir: string;
  let corpus: CorpusInfo;
  // Even ratios, so that a dozen poems still put some in every split.
  const ratios = { train: 0.4, validation: 0.3, test: 0.3 };
  const options = (extra: Partial<CorpusOptions> = {}): CorpusOptions => ({ quick: false, sourceDir: FIXTURE, dir: path.join(dir, "poems"), ratios, ...extra });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-corpus-"));
    corpus = await buildCorpus(options());
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("counts add up: in = out + dropped + duplicates, per collection and in total", () => {
    const r = corpus.report;
    const dropped = Object.values(r.dropped).reduce((a, b) => a + b, 0);
    const dups = r.duplicates.exact + r.duplicates.near;
    assert.strictEqual(r.in, r.out + dropped + dups);
    for (const c of Object.values(r.collections)) assert.strictEqual(c!.in, c!.out + c!.dropped + c!.duplicates, c!.label);
    assert.strictEqual(SPLITS.reduce((n, s) => n + r.splits[s], 0), r.out);
  });

  it("gives the counts worked out by hand for the fixture", () => {
    const r = corpus.report;
    assert.deepStrictEqual(
      Object.fromEntries(Object.entries(r.collections).map(([k, c]) => [k, [c!.in, c!.dropped, c!.duplicates, c!.out]])),
      { tang: [17, 7, 2, 8], tang300: [2, 0, 1, 1], songci: [3, 1, 0, 2], shijing: [1, 0, 0, 1] },
    );
    assert.deepStrictEqual(r.dropped, { missing: 1, editorial: 1, unencodable: 1, foreign: 2, empty: 1, tooShort: 1, tooLong: 1 });
    assert.deepStrictEqual(r.duplicates, { exact: 2, near: 1 });
    const near = r.duplicateExamples.find((e) => e.kind === "near")!;
    assert.deepStrictEqual([near.kept.id, near.dropped.id, near.dropped.author], ["tang-3", "tang-13", "朱斌"]);
  });

  it("writes the files: samples match poems.jsonl line for line and split for split", async () => {
    const poems = await collect(readPoems(corpus.poemsFile));
    assert.strictEqual(poems.length, corpus.report.out);
    for (const split of SPLITS) {
      const samples = await collect(readSamples(corpus.files[split]));
      assert.ok(samples.length > 0, `no poem in ${split}`);
      assert.deepStrictEqual(samples, poems.filter((p) => p.split === split).map((p) => toSample(p.paragraphs)), split);
    }
    const byId = new Map(poems.map((p) => [p.id, p]));
    assert.deepStrictEqual(byId.get("tang-0"), {
      id: "tang-0", collection: "tang", title: "静夜思", author: "李白",
      paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"], form: "五言绝句", split: byId.get("tang-0")!.split,
    } satisfies PoemRecord);
    assert.deepStrictEqual(byId.get("tang-6")!.paragraphs, ["阑风长雨秋纷纷，四海八荒同一云。", "去马来牛不复辨，浊泾清渭何当分。"]);
    assert.deepStrictEqual(byId.get("tang-7")!.paragraphs, ["兄弟相怜爱，同生莫异居。", "为人欲得别，此则是兵奴。"]);
    assert.strictEqual(byId.get("songci-0")!.form, "词");
    assert.strictEqual(byId.get("shijing-0")!.form, "四言");
    assert.ok(!byId.has("tang300-0"), "唐诗三百首's 静夜思 is a duplicate of 全唐诗's");
    for (const p of poems) assert.ok(!/[□\[\]{}（）\s]/.test(p.paragraphs.join("")), `${p.id}: no placeholder, bracket, note or space survives cleaning`);
    assert.deepStrictEqual(fs.readdirSync(corpus.dir).sort(), ["poems.jsonl", "report.json", "test.jsonl", "train.jsonl", "validation.jsonl"]);
  });

  it("a poem keeps its split whatever else is in the corpus", async () => {
    const all = new Map((await loadPoems(corpus.poemsFile)).map((p) => [p.id, p.split]));
    const only = await buildCorpus(options({ dir: path.join(dir, "tang-only"), collections: ["tang"], strides: { tang: 2 } }));
    // Poems kept in both builds (a duplicate in one may be kept in the other, when its twin is left out).
    const both = (await loadPoems(only.poemsFile)).filter((p) => all.has(p.id));
    assert.ok(both.length >= 3, `only ${both.length} poems in common`);
    for (const p of both) assert.strictEqual(p.split, all.get(p.id), p.id);
  });

  it("ensureCorpus returns the built corpus at once, and rebuilds when settings change or a file is missing", async () => {
    const again = await ensureCorpus(options());
    assert.strictEqual(again.cached, true);
    assert.strictEqual(again.report.builtAt, corpus.report.builtAt);
    const changed = await ensureCorpus(options({ clean: { minChars: 12 } }));
    assert.strictEqual(changed.cached, false);
    assert.notStrictEqual(changed.report.configHash, corpus.report.configHash);
    fs.rmSync(changed.files.test);
    const rebuilt = await ensureCorpus(options({ clean: { minChars: 12 } }));
    assert.strictEqual(rebuilt.cached, false);
    assert.ok(fs.existsSync(rebuilt.files.test));
    assert.strictEqual((await ensureCorpus(options({ clean: { minChars: 12 } }))).cached, true);
  });

  it("a build that fails midway leaves the previous corpus intact and no temporary files", async () => {
    const target = path.join(dir, "broken");
    const good = await buildCorpus(options({ dir: target }));
    const before = Object.fromEntries(fs.readdirSync(target).map((f) => [f, fs.readFileSync(path.join(target, f))]));
    // A copy of the fixture whose Song lyrics are not valid JSON: the build fails after the Tang poems are written.
    const src = path.join(dir, "src");
    fs.cpSync(FIXTURE, src, { recursive: true });
    fs.writeFileSync(path.join(src, "songci", "ci.song.1000.json"), "[{ broken");
    await assert.rejects(buildCorpus(options({ dir: target, sourceDir: src })), /cannot read .*ci\.song\.1000\.json/);
    assert.deepStrictEqual(fs.readdirSync(target).sort(), Object.keys(before).sort());
    for (const [f, bytes] of Object.entries(before)) assert.ok(fs.readFileSync(path.join(target, f)).equals(bytes), f);
    assert.strictEqual((await ensureCorpus(options({ dir: target }))).report.builtAt, good.report.builtAt);
  });

  it("statistics come back as plain rows", async function () {
    this.timeout(60_000); // the first call loads danfojs
    const poems = await loadPoems(corpus.poemsFile);
    const byCollection = statsByCollection(poems);
    assert.deepStrictEqual(byCollection.slice(0, 2).map((r) => [r.collection, r.poems]), [["全唐诗", 8], ["宋词", 2]]);
    assert.deepStrictEqual(byCollection.slice(2).map((r) => `${r.collection} ${r.poems}`).sort(), ["唐诗三百首 1", "诗经 1"]);
    assert.strictEqual(byCollection.find((r) => r.collection === "全唐诗")!.authors, 7);
    const forms = formCounts(poems);
    assert.strictEqual(forms.reduce((n, r) => n + (r.poems as number), 0), poems.length);
    assert.strictEqual(forms.find((r) => r.form === "五言绝句")!.poems, 8);
    assert.strictEqual(topAuthors(poems, 1)[0].author, "王维"); // 相思, 鹿柴 and 送别
    assert.strictEqual(lengthHistogram(poems, 10).reduce((n, r) => n + (r.poems as number), 0), poems.length);
    assert.deepStrictEqual(splitCounts(poems).map((r) => r.split), ["train", "validation", "test"]);
    const cov = characterCoverage(poems, [0.5, 1]);
    assert.ok((cov[0].characters as number) < (cov[1].characters as number));
  });
});
