/**
 * Preference pairs (lib/data/preferences.ts): the kinds of rejected answers on a known question, the split by
 * poem, determinism, and the JSONL round trip with chapter 1's kind of errors.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildPreferences,
  buildQa,
  extractAnswer,
  isCorrectAnswer,
  type PoemRecord,
  type QaItem,
  readPreferences,
  rejectedAnswer,
  REJECTION_KINDS,
  writePreferences,
} from "tiaoyu";

function poem(i: number, over: Partial<PoemRecord> = {}): PoemRecord {
  const lines = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"].map((l) => l.slice(0, 4) + String.fromCharCode(0x4e00 + i));
  return { id: `tang-${i}`, collection: "tang", title: `题${i}`, author: `诗人${i % 7}`, paragraphs: [`${lines[0]}，${lines[1]}。`, `${lines[2]}，${lines[3]}。`], form: "五言绝句", split: "train", ...over };
}

const JINGYESI: QaItem = { prompt: "《静夜思》的作者是谁？", answer: "作者是「李白」。", expected: "李白", template: "author", poemId: "tang-8125", split: "train" };

describe("preference pairs", () => {
  const qa = buildQa(Array.from({ length: 40 }, (_, i) => poem(i, { split: i % 4 === 0 ? "validation" : "train" })));

  it("writes each kind of rejected answer for 《静夜思》的作者是谁？", () => {
    const pool: QaItem[] = [JINGYESI, { ...JINGYESI, prompt: "《春晓》的作者是谁？", answer: "作者是「孟浩然」。", expected: "孟浩然", poemId: "tang-1" }];
    assert.strictEqual(rejectedAnswer(JINGYESI, "wrong", pool), "作者是「孟浩然」。");
    assert.strictEqual(rejectedAnswer(JINGYESI, "wrong", [JINGYESI]), null, "no other author in the pool: no wrong fact");
    const evasive = rejectedAnswer(JINGYESI, "evasive")!;
    assert.strictEqual(extractAnswer(evasive), null, `an evasive answer has no answer: ${evasive}`);
    for (const kind of ["rude", "rambling"] as const) {
      const r = rejectedAnswer(JINGYESI, kind)!;
      assert.ok(r.includes("作者是「李白」。") && r !== JINGYESI.answer, `${kind} keeps the fact but says more: ${r}`);
      assert.strictEqual(extractAnswer(r), "李白");
    }
    const meter: QaItem = { prompt: "「床前看月光，疑是地上霜」是五言还是七言？", answer: "这是「五言」诗。", expected: "五言", template: "meter", poemId: "tang-8125", split: "train" };
    assert.strictEqual(rejectedAnswer(meter, "wrong"), "这是「七言」诗。");
  });

  it("pairs every question with chapter 6's answer as chosen, kinds in turn, splits kept", () => {
    const pairs = buildPreferences(qa);
    assert.strictEqual(pairs.length, qa.length, "one pair per question by default");
    const kinds = new Set(pairs.map((p) => p.kind));
    assert.deepStrictEqual([...kinds].sort(), [...REJECTION_KINDS].sort(), "every kind occurs");
    for (const p of pairs) {
      const q = qa.find((x) => x.prompt === p.prompt && x.poemId === p.poemId)!;
      assert.strictEqual(p.chosen, q.answer);
      assert.strictEqual(p.split, q.split, "a pair stays in its question's split");
      assert.notStrictEqual(p.rejected, p.chosen);
      if (p.kind === "wrong") assert.ok(!isCorrectAnswer(q, extractAnswer(p.rejected)), `wrong must be wrong: ${p.rejected} for ${p.prompt}`);
      if (p.kind === "rude" || p.kind === "rambling") assert.ok(isCorrectAnswer(q, extractAnswer(p.rejected)), `${p.kind} keeps the right fact: ${p.rejected}`);
    }
    // Wrong facts are answers of other questions of the same template in the same split (meter: the other meter).
    for (const p of pairs.filter((x) => x.kind === "wrong" && x.template !== "meter")) {
      assert.ok(qa.some((x) => x.split === p.split && x.template === p.template && x.answer === p.rejected), p.rejected);
    }
    assert.deepStrictEqual(buildPreferences(qa), pairs, "deterministic");
    const two = buildPreferences(qa, { pairsPerPrompt: 2 });
    assert.ok(two.length > 1.9 * qa.length, "two pairs per question");
    const only = buildPreferences(qa, { kinds: ["rude"] });
    assert.ok(only.every((p) => p.kind === "rude"));
    assert.throws(() => buildPreferences(qa, { pairsPerPrompt: REJECTION_KINDS.length + 1 }), new RegExp(`pairsPerPrompt = ${REJECTION_KINDS.length + 1}`));
    assert.throws(() => buildPreferences(qa, { kinds: ["silly" as never] }), /unknown kind 'silly'/);
  });

  it("round-trips through JSONL with exactly four fields, and names the bad line", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefs-"));
    try {
      const file = path.join(dir, "train.jsonl");
      const pairs = buildPreferences(qa).slice(0, 8);
      assert.strictEqual(await writePreferences(file, pairs), 8);
      const first = JSON.parse(fs.readFileSync(file, "utf8").split("\n")[0]);
      assert.deepStrictEqual(Object.keys(first), ["prompt", "chosen", "rejected", "kind"]);
      assert.deepStrictEqual(await readPreferences(file), pairs.map(({ prompt, chosen, rejected, kind }) => ({ prompt, chosen, rejected, kind })));

      const bad = (lines: object[]) => fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
      const ok = { prompt: "问", chosen: "好", rejected: "坏", kind: "rude" };
      bad([ok, { prompt: "问", rejected: "坏", kind: "rude" }]);
      await assert.rejects(readPreferences(file), /line 2 of .*train\.jsonl: missing field 'chosen'/);
      bad([{ ...ok, kind: "silly" }]);
      await assert.rejects(readPreferences(file), /line 1 of .*: unknown kind 'silly'/);
      bad([ok, ok, { ...ok, rejected: "好" }]);
      await assert.rejects(readPreferences(file), /line 3 of .*: chosen and rejected are the same answer/);
      bad([{ ...ok, prompt: " " }]);
      await assert.rejects(readPreferences(file), /field 'prompt' is empty/);
      await assert.rejects(writePreferences(file, [{ ...ok, kind: "rude", rejected: "好" }]), /same answer/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
