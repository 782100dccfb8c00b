import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pinyin } from "pinyin-pro";
import {
  buildCorpus, charRhyme, checkReasoningAnswer, formQuestion, loadPoems, nextLineQuestion, parseReasoning, type PoemRecord, reasoningCounts,
  reasoningItems, type ReasoningItem, rhymeQuestion, RHYME_GROUPS, RHYME_QUESTION, splitReasoningItems, FORM_QUESTION, qaSplitOf,
  REASONING_TASKS,
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

/**
 * The 中华新韵 group of a character, computed here without lib/data/rhyme.ts: null unless pinyin-pro knows exactly one
 * reading of a Han character; then the group is read off the end of the toneless syllable (ju, qu, xu, yu spell ü).
 */
function rhymeGroupOf(char: string): string | null {
  if (!/^\p{Script=Han}$/u.test(char) || new Set(pinyin(char, { multiple: true, type: "array" })).size !== 1) return null;
  const syllable = pinyin(char, { toneType: "none" }).replace(/^([jqxy])u/, "$1ü");
  if (/^(zh|ch|sh|r|z|c|s)i$/.test(syllable)) return "支";
  const ends: [RegExp, string][] = [
    [/ang$/, "唐"], [/(eng|ing|ong)$/, "庚"], [/an$/, "寒"], [/(en|in|un|ün)$/, "文"], [/ai$/, "开"], [/(ei|ui)$/, "微"], [/ao$/, "豪"],
    [/(ou|iu)$/, "尤"], [/(ie|üe)$/, "皆"], [/a$/, "麻"], [/(er|i|ü)$/, "齐"], [/[oe]$/, "波"], [/u$/, "姑"],
  ];
  return ends.find(([re]) => re.test(syllable))?.[1] ?? null;
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

  it("writes the rhyme question of 登鹳雀楼 (流 liu and 楼 lou: both 尤) with its trace", () => {
    const item = rhymeQuestion(poem({ title: "登鹳雀楼", author: "王之涣", paragraphs: ["白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"] }))!;
    assert.strictEqual(item.prompt, `白日依山尽，黄河入海流。欲穷千里目，更上一层楼。\n${RHYME_QUESTION}`);
    assert.strictEqual(item.thinking, "第2句末字「流」韵母iu，尤韵；第4句末字「楼」韵母ou，尤韵；同韵。");
    assert.strictEqual(item.response, `<think>${item.thinking}</think>押韵，都是「尤」韵。`);
    assert.deepStrictEqual(item.expected, { rhymes: "押韵", groups: "尤" });
  });

  it("says 不押韵 where Mandarin has drifted from 平水韵 (渚 zhǔ and 举 jǔ were one rhyme)", () => {
    const item = rhymeQuestion(poem({ paragraphs: ["飞盖去芳园，兰桡游翠渚。", "萍间日彩乱，荷处香风举。"] }))!;
    assert.strictEqual(item.thinking, "第2句末字「渚」韵母u，姑韵；第4句末字「举」韵母ü，齐韵；不同韵。");
    assert.strictEqual(item.answer, "不押韵：「姑」韵和「齐」韵。");
    assert.deepStrictEqual(item.expected, { rhymes: "不押韵", groups: "姑、齐" });
  });

  it("asks no rhyme question about a polyphonic or non-Han last character, or outside the four forms", () => {
    assert.deepStrictEqual(pinyin("家", { multiple: true, type: "array" }).length > 1, true, "家 has several readings in pinyin-pro");
    assert.strictEqual(rhymeQuestion(poem({ paragraphs: ["远上寒山石径斜，白云生处有人家。", "停车坐爱枫林晚，霜叶红于二月花。"] })), null);
    assert.strictEqual(rhymeQuestion(poem({ paragraphs: ["床前明月光，疑是地上ア。", "举头望明月，低头思故乡。"] })), null);
    assert.strictEqual(rhymeQuestion(poem({ collection: "songci" })), null);
    assert.strictEqual(rhymeQuestion(poem({ paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡兮。"] })), null);
    assert.strictEqual(charRhyme("长"), null, "长 cháng/zhǎng");
    assert.deepStrictEqual(charRhyme("霜"), { char: "霜", pinyin: "shuang", final: "uang", group: "唐" });
  });

  it("gives y- and w- syllables their full final, and zhi … si the final -i (a group of their own)", () => {
    const finals = Object.fromEntries([..."烟鱼云月园忧微文翁时资西"].map((c) => [c, charRhyme(c)?.final]));
    assert.deepStrictEqual(finals, { 烟: "ian", 鱼: "ü", 云: "ün", 月: "üe", 园: "üan", 忧: "iu", 微: "ui", 文: "un", 翁: "ueng", 时: "-i", 资: "-i", 西: "i" });
    for (const [c, f] of Object.entries(finals)) assert.strictEqual(charRhyme(c)!.group, rhymeGroupOf(c), `${c} ${f}`);
    assert.deepStrictEqual([charRhyme("时")!.group, charRhyme("西")!.group, charRhyme("鱼")!.group], ["支", "齐", "齐"]);
    assert.ok(RHYME_GROUPS["支"].includes("-i"));
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

  it("asks every kind of question", () => {
    for (const task of REASONING_TASKS) assert.ok(items.some((i) => i.task === task), `${task}: ${JSON.stringify(reasoningCounts(splitReasoningItems(items)))}`);
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

  it("rhyme: the verdict and groups are pinyin-pro's, computed here from the poem's own lines; polyphonic or non-Han feet are skipped", () => {
    const byPoem = new Map(items.filter((i) => i.task === "rhyme").map((i) => [i.poemId, i]));
    let skipped = 0;
    for (const p of poems) {
      const ls = lines(p.paragraphs.join(""));
      const sizes = new Set(ls.map((l) => [...l].length));
      const regular = p.collection !== "songci" && (ls.length === 4 || ls.length === 8) && sizes.size === 1 && (sizes.has(5) || sizes.has(7));
      const feet = regular ? [ls[1], ls[3]].map((l) => [...l].at(-1)!) : [];
      const groups = feet.map(rhymeGroupOf);
      const it = byPoem.get(p.id);
      if (!regular || groups.includes(null)) {
        assert.strictEqual(it, undefined, `${p.id}: no rhyme question expected (${feet.join("")})`);
        if (regular) skipped++;
        continue;
      }
      assert.ok(it, `${p.id} ${p.title}: a rhyme question expected (${feet.join("")})`);
      const same = groups[0] === groups[1];
      assert.deepStrictEqual(it.expected, { rhymes: same ? "押韵" : "不押韵", groups: same ? groups[0] : groups.join("、") }, `${p.id}: ${feet.join("")}`);
      assert.strictEqual(it.prompt, `${p.paragraphs.join("")}\n${RHYME_QUESTION}`);
      const m = /^第2句末字「(.)」韵母([a-zü-]+)，(.)韵；第4句末字「(.)」韵母([a-zü-]+)，(.)韵；(同韵|不同韵)。$/u.exec(it.thinking);
      assert.ok(m, `${p.id}: trace ${it.thinking}`);
      assert.deepStrictEqual([m[1], m[4]], feet);
      assert.deepStrictEqual([m[3], m[6]], groups);
      for (const [f, g] of [[m[2], m[3]], [m[5], m[6]]]) assert.ok(RHYME_GROUPS[g as keyof typeof RHYME_GROUPS].includes(f), `${p.id}: final ${f} is not in ${g}`);
      assert.strictEqual(m[7], same ? "同韵" : "不同韵");
      assert.ok(checkReasoningAnswer(it, it.answer).correct);
      const wrong = same ? `不押韵：「${groups[0]}」韵和「${groups[0]}」韵。` : `押韵，都是「${groups[0]}」韵。`;
      assert.ok(!checkReasoningAnswer(it, wrong).correct, `${p.id}: ${wrong}`);
    }
    assert.ok(byPoem.size > 0 && skipped > 0, `${byPoem.size} rhyme questions, ${skipped} poems skipped for a polyphonic foot`);
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
  it("checks the rhyme verdict and the groups separately, and a hedge or a missing group is wrong", () => {
    const yes = { task: "rhyme" as const, expected: { rhymes: "押韵", groups: "唐" } };
    const no = { task: "rhyme" as const, expected: { rhymes: "不押韵", groups: "姑、齐" } };
    assert.deepStrictEqual(checkReasoningAnswer(yes, "押韵，都是「唐」韵。"), { correct: true, parts: { rhymes: true, groups: true } });
    assert.deepStrictEqual(checkReasoningAnswer(yes, "押韵，都是「庚」韵。"), { correct: false, parts: { rhymes: true, groups: false } });
    assert.deepStrictEqual(checkReasoningAnswer(yes, "不押韵：「唐」韵和「唐」韵。"), { correct: false, parts: { rhymes: false, groups: false } });
    assert.strictEqual(checkReasoningAnswer(yes, "押韵。").correct, false);
    assert.strictEqual(checkReasoningAnswer(yes, "押韵或不押韵，「唐」韵").correct, false);
    assert.deepStrictEqual(checkReasoningAnswer(no, "不押韵：「姑」韵和「齐」韵。"), { correct: true, parts: { rhymes: true, groups: true } });
    assert.ok(checkReasoningAnswer(no, "不押韵：「齐」韵和「姑」韵。").correct, "the order of the groups does not matter");
    assert.deepStrictEqual(checkReasoningAnswer(no, "押韵，都是「姑」韵。"), { correct: false, parts: { rhymes: false, groups: false } });
    assert.strictEqual(checkReasoningAnswer(no, "不押韵：「姑」韵。").correct, false);
  });

  it("checks the next line and the author separately", () => {
    assert.deepStrictEqual(checkReasoningAnswer(next, "下一句是「疑是地上霜」，作者是「李白」。"), { correct: true, parts: { nextLine: true, author: true } });
    assert.deepStrictEqual(checkReasoningAnswer(next, "下一句是「疑是地上霜」，作者是李白。"), { correct: true, parts: { nextLine: true, author: true } });
    assert.deepStrictEqual(checkReasoningAnswer(next, "下一句是「疑是地上霜」，作者是杜甫。"), { correct: false, parts: { nextLine: true, author: false } });
    assert.deepStrictEqual(checkReasoningAnswer(next, "下一句是「低头思故乡」，作者是李白"), { correct: false, parts: { nextLine: false, author: true } });
    assert.strictEqual(checkReasoningAnswer(next, "疑是地上霜").correct, false);
  });
});
