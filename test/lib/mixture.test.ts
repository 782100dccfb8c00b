/**
 * The pretraining data mixture: the anthology (唐诗三百首) added to the training stream several times, each copy in
 * its own order, and never with a poem whose copy is held out for validation or test.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { anthology, attributedSample, canMixAnthology, citedCouplets, type CorpusInfo, DEFAULT_CLEAN_OPTIONS, DEFAULT_DEDUP_OPTIONS, ensureTokenStream, mixStream, readSamples } from "tiaoyu";
import { POEMS, poemTokenizer, writeSamples } from "./train_fixtures";

describe("train/mixture", () => {
  let dir: string;
  const tok = poemTokenizer();
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-mixture-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("appends the anthology `repeat` times, every poem once per copy, copies in different seeded orders", async () => {
    const file = writeSamples(dir, "train.jsonl", POEMS.slice(0, 2));
    const train = await ensureTokenStream(file, () => readSamples(file), tok);
    const extra = POEMS.slice(2).map((p) => `<s>${p}</s>`);
    const mixed = mixStream(train, extra, tok, 3, 1);

    const perCopy = extra.reduce((n, s) => n + tok.encode(s, { allowedSpecial: "all" }).length, 0);
    assert.strictEqual(mixed.tokens.length, train.tokens.length + 3 * perCopy);
    assert.strictEqual(mixed.samples, train.samples + 3 * extra.length);
    assert.deepStrictEqual(Array.from(mixed.tokens.subarray(0, train.tokens.length)), Array.from(train.tokens), "the corpus comes first, unchanged");

    const copies = [0, 1, 2].map((c) => {
      const start = train.tokens.length + c * perCopy;
      return tok.decode(mixed.tokens.subarray(start, start + perCopy)).match(/<s>.*?<\/s>/g)!;
    });
    for (const copy of copies) assert.deepStrictEqual([...copy].sort(), [...extra].sort(), "each copy holds every anthology poem once");
    assert.ok(new Set(copies.map((c) => c.join())).size > 1, "the copies are not all in the same order");

    const again = mixStream(train, extra, tok, 3, 1);
    assert.deepStrictEqual(Array.from(again.tokens), Array.from(mixed.tokens), "same seed, same stream (a resumed run needs it)");
    assert.strictEqual(mixStream(train, extra, tok, 0, 1), train, "repeat 0 leaves the stream alone");
    assert.throws(() => mixStream(train, extra, tok, 1.5, 1), /repeat 1\.5 must be a whole number/);
  });

  it("takes 唐诗三百首 cleaned as the corpus is, leaving out poems held out for validation or test", async function () {
    this.timeout(60_000);
    // A corpus whose validation split holds 春晓 and whose test split holds 登鹳雀楼 (with other punctuation).
    const files = {
      train: writeSamples(dir, "train.jsonl", [POEMS[3]]),
      validation: writeSamples(dir, "validation.jsonl", [POEMS[1]]),
      test: writeSamples(dir, "test.jsonl", ["白日依山尽 黄河入海流 欲穷千里目 更上一层楼"]),
    };
    const corpus = { files, report: { settings: { clean: DEFAULT_CLEAN_OPTIONS, dedup: DEFAULT_DEDUP_OPTIONS } } } as unknown as CorpusInfo;
    const a = await anthology(corpus);
    assert.strictEqual(a.collection, "tang300");
    assert.ok(a.samples.length > 250, `${a.samples.length} poems`);
    assert.ok(a.samples.every((s) => /^<s>[^<>]+<\/s>$/.test(s)), "samples are <s>…</s>");
    assert.ok(a.samples.some((s) => s.startsWith("<s>床前明月光")), "静夜思 in its familiar wording, simplified");
    assert.ok(!a.samples.some((s) => s.includes("春眠不觉晓")), "春晓 is in the validation split: left out");
    assert.ok(!a.samples.some((s) => s.includes("白日依山尽")), "登鹳雀楼 is in the test split: left out");
    assert.ok(a.samples.some((s) => s.includes("千山鸟飞绝")), "a poem only in the training split stays");
    assert.strictEqual(a.heldOut, 2);
  });

  it("can end each anthology poem with its poet and title, where a left-to-right model learns them from the lines", async function () {
    this.timeout(60_000);
    const poem = { title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"] };
    assert.strictEqual(attributedSample(poem), "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。——李白《静夜思》</s>");
    assert.strictEqual(attributedSample({ ...poem, author: "佚名" }), "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>", "no poet known: the plain poem");
    assert.strictEqual(attributedSample({ ...poem, title: "" }), "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>", "no title: the plain poem");
    assert.deepStrictEqual(citedCouplets(poem), ["<s>床前明月光，疑是地上霜。——李白《静夜思》</s>", "<s>举头望明月，低头思故乡。——李白《静夜思》</s>"]);
    assert.deepStrictEqual(citedCouplets({ ...poem, author: "佚名" }), [], "nothing to cite without a poet");
    const files = {
      train: writeSamples(dir, "train.jsonl", [POEMS[3]]),
      validation: writeSamples(dir, "validation.jsonl", [POEMS[1]]),
      test: writeSamples(dir, "test.jsonl", [POEMS[2]]),
    };
    const a = await anthology({ files, report: { settings: { clean: DEFAULT_CLEAN_OPTIONS, dedup: DEFAULT_DEDUP_OPTIONS } } } as unknown as CorpusInfo);
    const jys = a.poems.find((p) => p.paragraphs[0]?.startsWith("床前明月光"));
    assert.ok(jys, "静夜思 is in the anthology");
    assert.strictEqual(attributedSample(jys!), `${a.samples[a.poems.indexOf(jys!)].slice(0, -4)}——李白《静夜思》</s>`, "the anthology's own sample, with the attribution before </s>");
  });

  it("mixes the anthology only into a corpus chapter 1 built from it, and says why not otherwise", async () => {
    const settings = (collections: string[]) => ({ clean: DEFAULT_CLEAN_OPTIONS, dedup: DEFAULT_DEDUP_OPTIONS, collections });
    const corpus = (report: unknown) => ({ dir: dir, files: {}, report }) as unknown as CorpusInfo;
    assert.strictEqual(canMixAnthology(corpus({ settings: settings(["tang", "tang300"]) })), true);
    assert.strictEqual(canMixAnthology(corpus({ settings: settings(["tang", "songci"]) })), false);
    assert.strictEqual(canMixAnthology(corpus(undefined)), false);
    await assert.rejects(anthology(corpus(undefined)), /has no report\.json settings/);
  });
});
