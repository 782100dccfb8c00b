/**
 * The question–answer data (lib/data/qa.ts): templates on a known poem, the split by poem, determinism, and the
 * answer checker.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildQa, extractAnswer, isCorrectAnswer, type PoemRecord, qaContext, qaItemsForPoem, qaSplitOf, readQa, writeJsonl } from "tiaoyu";

const JINGYESI: PoemRecord = {
  id: "tang-8125",
  collection: "tang",
  title: "静夜思",
  author: "李白",
  paragraphs: ["床前看月光，疑是地上霜。", "举头望山月，低头思故乡。"],
  form: "五言绝句",
  split: "train",
};

function poem(i: number, over: Partial<PoemRecord> = {}): PoemRecord {
  const lines = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"].map((l) => l.slice(0, 4) + String.fromCharCode(0x4e00 + i));
  return { id: `tang-${i}`, collection: "tang", title: `题${i}`, author: `诗人${i % 7}`, paragraphs: [`${lines[0]}，${lines[1]}。`, `${lines[2]}，${lines[3]}。`], form: "五言绝句", split: "train", ...over };
}

describe("question–answer data", () => {
  it("makes the four templates for 静夜思, with the checked part in 「」", () => {
    const items = qaItemsForPoem(JINGYESI, qaContext([JINGYESI]));
    const by = Object.fromEntries(items.map((q) => [q.template, q]));
    assert.deepStrictEqual(Object.keys(by).sort(), ["author", "meter", "nextLine", "topic"]);
    assert.match(by.author.prompt, /^《静夜思》(的作者是谁？|是谁写的？)$/);
    assert.strictEqual(by.author.answer, "作者是「李白」。");
    assert.strictEqual(by.author.expected, "李白");
    assert.ok(["下一句是「疑是地上霜」。", "下一句是「低头思故乡」。"].includes(by.nextLine.answer), by.nextLine.answer);
    assert.match(by.meter.prompt, /^「床前看月光，疑是地上霜」是五言(诗)?还是七言(诗)?？$/);
    assert.strictEqual(by.meter.expected, "五言");
    for (const q of items) {
      assert.strictEqual(q.poemId, "tang-8125");
      // Every stored answer passes its own checker: the extractor and the data agree.
      assert.ok(isCorrectAnswer(q, extractAnswer(q.answer)), `${q.template}: ${q.answer}`);
    }
    assert.ok(JINGYESI.paragraphs.join("").includes(extractAnswer(by.topic.answer)!));
  });

  it("asks no author question where the title has several poets or nobody is named", () => {
    const a = poem(1, { title: "无题" });
    const b = poem(2, { title: "无题" });
    const c = poem(3, { author: "佚名" });
    const items = buildQa([a, b, c]);
    assert.strictEqual(items.filter((q) => q.template === "author").length, 0);
  });

  it("puts all of a poem's questions in one split; chapter 1's validation/test poems are unseen", () => {
    const poems = Array.from({ length: 400 }, (_, i) => poem(i, { split: i % 10 === 0 ? "validation" : "train" }));
    const items = buildQa(poems);
    const splitOf = new Map<string, string>();
    for (const q of items) {
      const s = splitOf.get(q.poemId);
      assert.ok(s === undefined || s === q.split, `${q.poemId} is in ${s} and ${q.split}`);
      splitOf.set(q.poemId, q.split);
    }
    for (const p of poems) {
      if (p.split !== "train") assert.strictEqual(qaSplitOf(p), "unseen");
      else assert.notStrictEqual(qaSplitOf(p), "unseen");
    }
    const heldout = poems.filter((p) => qaSplitOf(p) === "heldout").length;
    const trainPoems = poems.filter((p) => p.split === "train").length;
    assert.ok(heldout > 0.04 * trainPoems && heldout < 0.2 * trainPoems, `${heldout} held-out poems of ${trainPoems}`);
    // Deterministic: the same poems give the same items.
    assert.deepStrictEqual(buildQa(poems), items);
  });

  it("checks answers: exact match, except that a topic line only has to contain the keyword", () => {
    assert.ok(isCorrectAnswer({ template: "author", expected: "李白" }, "李白"));
    assert.ok(!isCorrectAnswer({ template: "author", expected: "李白" }, "李白。"));
    assert.ok(!isCorrectAnswer({ template: "nextLine", expected: "疑是地上霜" }, null));
    assert.ok(isCorrectAnswer({ template: "topic", expected: "月" }, "举头望明月"));
    assert.ok(!isCorrectAnswer({ template: "topic", expected: "月" }, "举头望明星"));
    assert.ok(!isCorrectAnswer({ template: "topic", expected: "月" }, "月"));
  });

  it("reads back what it wrote, and names a bad line", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-"));
    try {
      const items = buildQa([JINGYESI]);
      const file = path.join(dir, "qa.jsonl");
      await writeJsonl(file, items);
      assert.deepStrictEqual(await readQa(file), items);
      fs.appendFileSync(file, JSON.stringify({ ...items[0], template: "riddle" }) + "\n");
      await assert.rejects(readQa(file), /line 5 of .*qa\.jsonl: unknown template 'riddle'/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
