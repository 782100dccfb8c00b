/**
 * Chapter 6's questions about the anthology (lib/data/anthologyQa.ts): five templates asked line by line about the
 * 唐诗三百首 poems pretraining read, split by poem before any training, with enough held-out questions per template
 * for a claim (≥ 300), answers the course's extractor reads back, and the majority answer as the base rate.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ANTHOLOGY_TEMPLATES, anthology, anthologyQaItems, anthologyQaSplit, buildAnthologyQa, type AnthologyQaItem, type CorpusInfo,
  citedPart, hasCitableSource, namesAuthor, DEFAULT_CLEAN_OPTIONS, DEFAULT_DEDUP_OPTIONS, extractAnswer, isCitation, qaMajorityRates,
} from "tiaoyu";
import { writeSamples } from "./train_fixtures";

describe("data/anthologyQa: questions about 唐诗三百首", function () {
  this.timeout(120_000);
  let items: AnthologyQaItem[];
  let poems: number;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-anthology-qa-"));
    try {
      const files = {
        train: writeSamples(dir, "train.jsonl", ["白日依山尽，黄河入海流。"]),
        validation: writeSamples(dir, "validation.jsonl", ["春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"]),
        test: writeSamples(dir, "test.jsonl", ["千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。"]),
      };
      const corpus = { files, report: { settings: { clean: DEFAULT_CLEAN_OPTIONS, dedup: DEFAULT_DEDUP_OPTIONS } } } as unknown as CorpusInfo;
      const a = await anthology(corpus);
      assert.strictEqual(a.poems.length, a.samples.length, "one record per sample");
      poems = a.poems.length;
      items = buildAnthologyQa(a.poems);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("asks the five questions line by line (静夜思)", () => {
    const poem = { title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"] };
    const qs = anthologyQaItems(poem);
    const of = (t: string) => qs.filter((q) => q.template === t);
    assert.deepStrictEqual(of("nextLine").map((q) => q.expected), ["疑是地上霜", "举头望明月", "低头思故乡"]);
    assert.match(of("nextLine")[0].prompt, /^「床前明月光」的下一句是/);
    assert.deepStrictEqual(of("previousLine").map((q) => q.expected), ["床前明月光", "疑是地上霜", "举头望明月"]);
    assert.deepStrictEqual(of("author").map((q) => q.expected), ["李白", "李白", "李白", "李白"]);
    assert.deepStrictEqual(of("title").map((q) => q.answer), ["出自「静夜思」。", "出自「静夜思」。", "出自「静夜思」。", "出自「静夜思」。"]);
    assert.deepStrictEqual(of("form").map((q) => q.prompt.slice(0, 13)), ["「床前明月光，疑是地上霜」", "「举头望明月，低头思故乡」"]);
    assert.deepStrictEqual(of("form").map((q) => q.expected), ["五言绝句", "五言绝句"]);
    assert.ok(qs.every((q) => q.split === anthologyQaSplit(poem)), "every question about a poem is in the poem's split");
  });

  it("style cite: each couplet is cited with its source, and the question decides which part is scored", () => {
    const poem = { title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"] };
    const qs = anthologyQaItems(poem, undefined, "cite");
    const cite = "「床前明月光，疑是地上霜」——李白《静夜思》";
    const first = qs.filter((q) => q.answer === cite);
    assert.deepStrictEqual(first.map((q) => [q.template, q.expected]), [["nextLine", "疑是地上霜"], ["previousLine", "床前明月光"], ["author", "李白"], ["title", "静夜思"]]);
    assert.match(first[1].prompt, /^「疑是地上霜」的上一句/, "上一句 quotes the couplet's second line");
    for (const q of qs) {
      assert.strictEqual(isCitation(q.answer), q.template !== "form");
      const got = isCitation(q.answer) ? citedPart(q.template, q.answer) : extractAnswer(q.answer);
      assert.strictEqual(got, q.expected, `${q.template}: ${q.answer}`);
    }
    assert.strictEqual(citedPart("author", "下一句是「疑是地上霜」。"), null, "not a citation");
    assert.strictEqual(citedPart("author", "「床前明月光，疑是地上霜」"), null, "a couplet without its source names no poet");
    assert.strictEqual(citedPart("nextLine", "「床前明月光，疑是地上霜」"), "疑是地上霜");
    assert.deepStrictEqual(["李白", "佚名", "无名氏", "不详", " "].map(namesAuthor), [true, false, false, false, false]);
    assert.deepStrictEqual([poem, { ...poem, title: "" }, { ...poem, title: "《静夜思》" }].map(hasCitableSource), [true, false, false]);
    const anonymous = anthologyQaItems({ ...poem, author: "佚名" }, undefined, "cite");
    assert.deepStrictEqual([...new Set(anonymous.map((q) => q.template))], ["nextLine", "previousLine", "form"], "no poet known: no 作者 or 题目 question");
  });

  it("every answer reads back as its expected part", () => {
    for (const it of items) assert.strictEqual(extractAnswer(it.answer), it.expected, it.answer);
  });

  it("splits by poem, about 30% held out, with ≥ 300 held-out questions for every template", () => {
    const splitOf = new Map<string, string>();
    for (const it of items) {
      const was = splitOf.get(it.poemId);
      assert.ok(was === undefined || was === it.split, `${it.poemId}: questions in both splits`);
      splitOf.set(it.poemId, it.split);
    }
    assert.strictEqual(splitOf.size, poems, "every poem gives questions");
    const heldoutPoems = [...splitOf.values()].filter((s) => s === "heldout").length;
    assert.ok(heldoutPoems / poems > 0.22 && heldoutPoems / poems < 0.38, `${heldoutPoems} of ${poems} poems held out`);
    for (const t of ANTHOLOGY_TEMPLATES) {
      const n = items.filter((it) => it.template === t && it.split === "heldout").length;
      assert.ok(n >= 300, `${t}: ${n} held-out questions`);
    }
    assert.deepStrictEqual(buildAnthologyQa([]), []);
  });

  it("the majority answer of the training questions is the base rate on the held-out ones", () => {
    const train = items.filter((it) => it.split === "train");
    const heldout = items.filter((it) => it.split === "heldout");
    const base = qaMajorityRates(train, heldout);
    for (const t of ANTHOLOGY_TEMPLATES) {
      const mine = heldout.filter((it) => it.template === t);
      assert.strictEqual(base[t]!.n, mine.length);
      assert.strictEqual(base[t]!.k, mine.filter((it) => it.expected === base[t]!.answer).length);
    }
    assert.strictEqual(base.author!.answer, "杜甫", "唐诗三百首 holds more lines of 杜甫 than of anyone else");
    assert.ok(base.author!.rate < 0.35, "guessing the majority poet is far from answering");
    assert.strictEqual(base.all!.n, heldout.length);
    const hand = (expected: string, split: "train" | "heldout"): AnthologyQaItem => ({ prompt: "", answer: "", expected, template: "form", poemId: expected, split });
    const m = qaMajorityRates([hand("五言绝句", "train"), hand("五言绝句", "train"), hand("七言律诗", "train")], [hand("五言绝句", "heldout"), hand("七言绝句", "heldout")]);
    assert.deepStrictEqual([m.form!.answer, m.form!.k, m.form!.n], ["五言绝句", 1, 2]);
    assert.deepStrictEqual(Object.keys(m).sort(), ["all", "form"], "only the templates asked get a rate");
  });
});
