import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildCorpus, checkReasoningAnswer, formQuestion, loadPoems, nextLineQuestion, parseReasoning, type PoemRecord, reasoningCounts,
  reasoningItems, type ReasoningItem, splitReasoningItems, FORM_QUESTION, qaSplitOf,
} from "tiaoyu";

const FIXTURE = path.join(__dirname, "..", "fixtures", "data", "chinese-poetry");

const poem = (over: Partial<PoemRecord>): PoemRecord => ({
  id: "tang-1",
  collection: "tang",
  title: "静夜思",
  author: "李白",
  paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"],
  form: "五言绝句",
  split: "train",
  ...over,
});

/** Lines of a poem text, counted independently of lib/data/form.ts: split at every full-width mark. */
function lines(text: string): string[] {
  return text.split(/[，。？！；、：]/u).filter((s) => s.length > 0);
}

describe("data/reasoning: the questions, by hand", () => {
  it("writes the form question of 静夜思 with its trace", () => {
    const item = formQuestion(poem({}))!;
    assert.strictEqual(item.prompt, `床前明月光，疑是地上霜。举头望明月，低头思故乡。\n${FORM_QUESTION}`);
    assert.strictEqual(item.thinking, "共4句，每句5字：五言，绝句。");
    assert.strictEqual(item.response, `<think>${item.thinking}</think>这首诗是「五言绝句」。`);
    assert.deepStrictEqual(item.expected, { form: "五言绝句" });
  });

  it("has no form question for shapes outside the four (杂言, 排律, 词)", () => {
    assert.strictEqual(formQuestion(poem({ paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡兮。"] })), null);
    assert.strictEqual(formQuestion(poem({ paragraphs: Array(5).fill("床前明月光，疑是地上霜。") })), null);
    assert.strictEqual(formQuestion(poem({ collection: "songci" })), null);
  });

  it("writes the next-line question with the poem recalled and the line located", () => {
    // The line asked about (1st or 3rd) depends only on the id: try ids until both occur.
    const seen = new Map<string, ReasoningItem>();
    for (let i = 0; seen.size < 2 && i < 50; i++) {
      const it = nextLineQuestion(poem({ id: `tang-${i}` }))!;
      seen.set(it.expected.nextLine, it);
    }
    const first = seen.get("疑是地上霜")!;
    assert.strictEqual(first.prompt, "「床前明月光」的下一句是什么？这首诗的作者是谁？");
    assert.strictEqual(first.answer, "下一句是「疑是地上霜」，作者是「李白」。");
    assert.strictEqual(first.thinking, "出自李白《静夜思》：床前明月光，疑是地上霜。举头望明月，低头思故乡。它是第1句，下一句是第2句。");
    assert.strictEqual(seen.get("低头思故乡")!.prompt, "「举头望明月」的下一句是什么？这首诗的作者是谁？");
  });

  it("asks no next-line question without an author, about a 律诗, or about a line found in two poems", () => {
    assert.strictEqual(nextLineQuestion(poem({ author: "佚名" })), null);
    assert.strictEqual(nextLineQuestion(poem({ paragraphs: Array(4).fill("床前明月光，疑是地上霜。") })), null);
    assert.strictEqual(nextLineQuestion(poem({}), () => false), null);
    // An id whose question is about the 1st line, 床前明月光; a second poem shares that line (and only that one).
    const id = Array.from({ length: 50 }, (_, i) => `tang-${i}`).find((i) => nextLineQuestion(poem({ id: i }))!.expected.nextLine === "疑是地上霜")!;
    const twin = poem({ id: "song-1", title: "另一首", paragraphs: ["床前明月光，江上一孤舟。", "山中何所有，岭上多白云。"] });
    const items = reasoningItems([poem({ id }), twin], { tasks: ["nextLine"] });
    assert.deepStrictEqual(items.filter((i) => i.poemId === id), [], "床前明月光 is in both poems: no question about it");
    assert.strictEqual(nextLineQuestion(poem({ id }))!.poemId, id, "alone, the same poem has its question");
  });
});

describe("data/reasoning: answers are correct by construction (a corpus built from the fixture)", () => {
  let dir: string;
  let poems: PoemRecord[];
  let items: ReasoningItem[];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-reasoning-"));
    const corpus = await buildCorpus({ quick: false, sourceDir: FIXTURE, dir: path.join(dir, "poems"), ratios: { train: 0.4, validation: 0.3, test: 0.3 } });
    poems = await loadPoems(corpus.poemsFile);
    items = reasoningItems(poems);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("asks both kinds of question", () => {
    assert.ok(items.some((i) => i.task === "form") && items.some((i) => i.task === "nextLine"), JSON.stringify(reasoningCounts(splitReasoningItems(items))));
  });

  it("form: the answer is the corpus's own form label, and the trace's counts are the poem's", () => {
    const byId = new Map(poems.map((p) => [p.id, p]));
    const forms = items.filter((i) => i.task === "form");
    for (const it of forms) {
      const p = byId.get(it.poemId)!;
      assert.strictEqual(it.expected.form, p.form, `${p.id} ${p.title}`);
      assert.strictEqual(it.answer, `这首诗是「${p.form}」。`);
      const text = it.prompt.slice(0, it.prompt.indexOf("\n"));
      assert.strictEqual(text, p.paragraphs.join(""));
      const counts = new Set(lines(text).map((l) => [...l].length));
      assert.strictEqual(counts.size, 1, `${p.id}: lines of different lengths`);
      assert.ok(it.thinking.startsWith(`共${lines(text).length}句，每句${[...counts][0]}字：`), `${it.thinking} vs ${[...counts]}`);
    }
    // Every poem of the four forms gets its question (and no other poem does).
    const want = poems.filter((p) => ["五言绝句", "七言绝句", "五言律诗", "七言律诗"].includes(p.form)).map((p) => p.id);
    assert.deepStrictEqual(forms.map((i) => i.poemId), want);
  });

  it("next line: the answer follows the line in its poem, the author is the poem's, and the line is in no other poem", () => {
    const byId = new Map(poems.map((p) => [p.id, p]));
    for (const it of items.filter((i) => i.task === "nextLine")) {
      const p = byId.get(it.poemId)!;
      const x = /^「(.+)」的下一句/u.exec(it.prompt)![1];
      const ls = lines(p.paragraphs.join(""));
      assert.strictEqual(ls[ls.indexOf(x) + 1], it.expected.nextLine, `${p.id}: after ${x}`);
      assert.strictEqual(it.expected.author, p.author);
      assert.strictEqual(poems.filter((q) => lines(q.paragraphs.join("")).includes(x)).length, 1, `${x} occurs in more than one poem`);
    }
  });

  it("every response parses, and its answer checks as correct", () => {
    for (const it of items) {
      const parsed = parseReasoning(it.response);
      assert.ok(parsed.ok, `${it.poemId}: ${JSON.stringify(parsed)}`);
      assert.strictEqual(parsed.thinking, it.thinking);
      assert.ok(checkReasoningAnswer(it, parsed.answer).correct, `${it.poemId}: ${parsed.answer}`);
    }
  });

  it("splits by poem as chapter 6 does: each item is in its poem's question split", () => {
    const byId = new Map(poems.map((p) => [p.id, p]));
    for (const it of items) assert.strictEqual(it.split, qaSplitOf(byId.get(it.poemId)!));
    for (const it of items) if (byId.get(it.poemId)!.split !== "train") assert.strictEqual(it.split, "unseen");
    const data = splitReasoningItems(items);
    assert.strictEqual(data.train.length + data.heldout.length + data.unseen.length, items.length);
  });
});

describe("data/reasoning: checking an answer", () => {
  const form = { task: "form" as const, expected: { form: "七言绝句" } };
  const next = { task: "nextLine" as const, expected: { nextLine: "疑是地上霜", author: "李白" } };
  it("accepts the right form however it is phrased, and rejects a wrong one or a list of choices", () => {
    assert.ok(checkReasoningAnswer(form, "七言绝句").correct);
    assert.ok(checkReasoningAnswer(form, "这首诗是七言绝句。").correct);
    assert.ok(!checkReasoningAnswer(form, "五言绝句").correct);
    assert.ok(!checkReasoningAnswer(form, "七言绝句或七言律诗").correct);
    assert.ok(!checkReasoningAnswer(form, "").correct);
  });
  it("checks the next line and the author separately", () => {
    assert.deepStrictEqual(checkReasoningAnswer(next, "下一句是「疑是地上霜」，作者是「李白」。"), { correct: true, parts: { nextLine: true, author: true } });
    assert.deepStrictEqual(checkReasoningAnswer(next, "下一句是「疑是地上霜」，作者是李白。"), { correct: true, parts: { nextLine: true, author: true } });
    assert.deepStrictEqual(checkReasoningAnswer(next, "下一句是「疑是地上霜」，作者是杜甫。"), { correct: false, parts: { nextLine: true, author: false } });
    assert.deepStrictEqual(checkReasoningAnswer(next, "下一句是「低头思故乡」，作者是李白"), { correct: false, parts: { nextLine: false, author: true } });
    assert.strictEqual(checkReasoningAnswer(next, "疑是地上霜").correct, false);
  });
});
