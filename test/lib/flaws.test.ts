/**
 * Chapter 7's flawed SFT data (lib/data/flaws.ts): the injection (share, kinds, writers, determinism, held-out
 * untouched) and the classifier that reads flaws back from replies (each kind found, clean answers not flagged).
 */
import * as assert from "assert";
import {
  buildQa,
  citedPart,
  extractAnswer,
  FLAW_KINDS,
  FLAW_WRITERS,
  flawedAnswer,
  flawOf,
  flawRewrite,
  injectFlaws,
  isCorrectAnswer,
  type PoemRecord,
  type QaItem,
} from "tiaoyu";

function poem(i: number, over: Partial<PoemRecord> = {}): PoemRecord {
  const lines = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"].map((l) => l.slice(0, 4) + String.fromCharCode(0x4e00 + i));
  return { id: `tang-${i}`, collection: "tang", title: `题${i}`, author: `诗人${i % 7}`, paragraphs: [`${lines[0]}，${lines[1]}。`, `${lines[2]}，${lines[3]}。`], form: "五言绝句", split: "train", ...over };
}

const JINGYESI: QaItem = { prompt: "《静夜思》的作者是谁？", answer: "作者是「李白」。", expected: "李白", template: "author", poemId: "tang-8125", split: "train" };
// The anthology's cited answer (style "cite") and its 体裁 question, as chapter 6 trains them.
const CITE: QaItem = { prompt: "「床前明月光」的下一句是什么？", answer: "「床前明月光，疑是地上霜」——李白《静夜思》", expected: "疑是地上霜", template: "nextLine", poemId: "tang-8125", split: "train" };
const FORM: QaItem = { prompt: "《静夜思》是什么体裁？", answer: "这是一首「五言绝句」。", expected: "五言绝句", template: "form" as QaItem["template"], poemId: "tang-8125", split: "train" };

describe("flawed answers (chapter 7)", () => {
  const qa = buildQa(Array.from({ length: 60 }, (_, i) => poem(i, { split: i % 4 === 0 ? "validation" : "train" })));
  const train = qa.filter((q) => q.split === "train");

  it("writes each kind in several writers' forms, keeping the fact where the kind keeps it", () => {
    for (const kind of FLAW_KINDS) {
      const forms = new Set(Array.from({ length: 24 }, (_, w) => flawedAnswer(JINGYESI, kind, w)));
      assert.ok(forms.size >= 2, `${kind}: ${forms.size} surface form(s)`);
      assert.strictEqual(forms.size, FLAW_WRITERS[kind], `${kind}: FLAW_WRITERS says how many forms there are`);
      for (const f of forms) assert.notStrictEqual(f, JINGYESI.answer);
    }
    for (const w of [0, 1, 2, 3]) {
      for (const kind of ["rambling", "rude"] as const) assert.strictEqual(extractAnswer(flawedAnswer(JINGYESI, kind, w)), "李白", `${kind} keeps the answer`);
      assert.strictEqual(extractAnswer(flawedAnswer(JINGYESI, "evasive", w)), null, "evasive gives no answer");
      assert.ok(!flawedAnswer(JINGYESI, "format", w).includes("「"), "format drops the 「」");
      assert.ok(flawedAnswer(JINGYESI, "format", w).includes("李白"), "format keeps the fact");
    }
    assert.strictEqual(flawedAnswer(CITE, "format", 0), "床前明月光，疑是地上霜。", "the citation goes too");
    assert.strictEqual(flawedAnswer(CITE, "format", 1), "床前明月光，疑是地上霜。");
    assert.strictEqual(flawedAnswer(FORM, "format", 0), "这是一首五言绝句。");
    assert.throws(() => flawedAnswer(JINGYESI, "silly" as never, 0), /unknown kind 'silly'/);
  });

  it("rewrites exactly the share asked, the kinds in equal numbers, deterministically and independent of order", () => {
    const out = injectFlaws(train, { share: 0.35, seed: 7 });
    const flawed = out.filter((x) => x.flaw !== null);
    assert.strictEqual(flawed.length, Math.round(0.35 * train.length));
    const counts = FLAW_KINDS.map((k) => flawed.filter((x) => x.flaw === k).length);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `kinds in equal numbers: ${counts}`);
    out.forEach((x, i) => {
      assert.strictEqual(x.prompt, train[i].prompt, "questions are never changed");
      assert.strictEqual(x.expected, train[i].expected);
      if (x.flaw === null) assert.strictEqual(x.answer, train[i].answer, "clean answers stay as they were");
      else assert.strictEqual(flawOf(x.answer), x.flaw, `the classifier reads back what was written: ${x.answer}`);
    });
    assert.deepStrictEqual(injectFlaws(train, { share: 0.35, seed: 7 }), out, "deterministic");
    const reversed = injectFlaws([...train].reverse(), { share: 0.35, seed: 7 }).reverse();
    assert.deepStrictEqual(reversed, out, "the choice follows the questions, not their order");
    const other = injectFlaws(train, { share: 0.35, seed: 8 });
    assert.notDeepStrictEqual(other.map((x) => x.flaw), out.map((x) => x.flaw), "another seed, other answers");
    assert.strictEqual(injectFlaws(train, { share: 0, seed: 7 }).filter((x) => x.flaw).length, 0);
    assert.ok(injectFlaws(train, { share: 1, seed: 7, kinds: ["rude"] }).every((x) => x.flaw === "rude"));
    // Repeated questions (the anthology's × 4) are separate answers: some copies flawed, by various writers.
    const copies = injectFlaws(Array.from({ length: 400 }, () => JINGYESI), { share: 0.5, seed: 7 });
    assert.strictEqual(copies.filter((x) => x.flaw).length, 200);
    assert.ok(new Set(copies.map((x) => x.answer)).size > 8, "copies are rewritten by several writers");
  });

  it("never touches held-out answers and refuses bad settings with a clear error", () => {
    const held = qa.filter((q) => q.split !== "train");
    assert.ok(held.length > 0);
    assert.throws(() => injectFlaws(qa, { share: 0.35, seed: 7 }), /split '(validation|heldout|unseen)': only training answers are rewritten/);
    const rewrite = flawRewrite({ share: 0.35, seed: 7 });
    const { items, info } = rewrite(train);
    assert.strictEqual(items.length, train.length);
    assert.strictEqual(info.flawed, Math.round(0.35 * train.length));
    assert.throws(() => rewrite(held), /only training answers are rewritten/);
    assert.throws(() => injectFlaws(train, { share: 1.5, seed: 7 }), /share = 1.5 must be in \[0, 1\]/);
    assert.throws(() => injectFlaws(train, { share: Number.NaN, seed: 7 }), /share = NaN/);
    assert.throws(() => injectFlaws(train, { share: 0.3, seed: 0.5 }), /seed = 0.5 must be an integer/);
    assert.throws(() => injectFlaws(train, { share: 0.3, seed: 1, kinds: [] }), /no kinds/);
    assert.throws(() => injectFlaws(train, { share: 0.3, seed: 1, kinds: ["loud" as never] }), /unknown kind 'loud'/);
  });

  it("flawOf finds every kind and passes clean answers of every template", () => {
    // Every clean answer of chapter 6's templates, corpus and anthology, is clean.
    for (const q of [...qa, JINGYESI, CITE, FORM]) assert.strictEqual(flawOf(q.answer), null, `clean: ${q.answer}`);
    // A cited answer cut by the reply budget inside its citation is still clean.
    assert.strictEqual(flawOf("「床前明月光，疑是地上霜」——李白《静"), null);
    assert.strictEqual(flawOf("这是「五言」诗"), null, "cut before its 。");
    // Every writer of every kind, on every template.
    for (const q of [...qa.slice(0, 30), JINGYESI, CITE, FORM]) {
      for (const kind of FLAW_KINDS) for (let w = 0; w < FLAW_WRITERS[kind]; w++) assert.strictEqual(flawOf(flawedAnswer(q, kind, w)), kind, flawedAnswer(q, kind, w));
    }
    // Replies no writer wrote: the rules, not a list of the injected sentences.
    assert.strictEqual(flawOf(""), "evasive", "an empty reply answers nothing");
    assert.strictEqual(flawOf("李白"), "format");
    assert.strictEqual(flawOf("作者是「李白」。我很喜欢他的诗。"), "rambling");
    assert.strictEqual(flawOf("我想想，作者是「李白」。"), "rambling");
    assert.strictEqual(flawOf("  作者是「李白」。 "), null, "spaces around are not words");
    assert.throws(() => flawOf(undefined as never), /reply must be a string/);
  });

  it("the scorers still read the fact in the kinds that keep it", () => {
    for (const w of [0, 1, 2]) {
      const r = flawedAnswer(CITE, "rambling", w);
      assert.ok(isCorrectAnswer(CITE, citedPart(CITE.template, r)), `a rambling citation is still right: ${r}`);
    }
  });
});
