import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pinyin } from "pinyin-pro";
import {
  buildCorpus, charAtAsk, charAtQuestion, charFinalAsk, charFinalQuestion, findAsk, findQuestion, findQuestions, FIND_PER_TRAINING_POEM, charRhyme, checkReasoningAnswer, countQuestion, COUNT_MAX_CHARS, COUNT_QUESTION, DEFAULT_REASONING_TASKS,
  formQuestion, loadPoems, nextLineQuestion, parseReasoning, type PoemRecord, reasoningCounts, reasoningItems, type ReasoningItem, rhymeQuestion,
  RHYME_GROUPS, RHYME_QUESTION, splitReasoningItems, FORM_QUESTION, qaSplitOf, REASONING_TASKS,
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

/** The text before line i (1-based) of a poem's text, marks included: what a walk copies before line i. */
function textBeforeLine(text: string, i: number): string {
  const starts = [0];
  for (let k = 0; k < text.length; k++) if (/[，。？！；]/u.test(text[k])) starts.push(k + 1);
  return text.slice(0, starts[i - 1]);
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

  it("writes the count question of a 词 (忆江南: 3, 5, 7, 7, 5) with each line's count and the running sum", () => {
    const item = countQuestion(poem({ collection: "songci", paragraphs: ["江南好，风景旧曾谙。日出江花红胜火，春来江水绿如蓝。能不忆江南。"] }))!;
    assert.strictEqual(item.prompt, `江南好，风景旧曾谙。日出江花红胜火，春来江水绿如蓝。能不忆江南。\n${COUNT_QUESTION}`);
    assert.strictEqual(item.thinking, "各句字数3，5，7，7，5；累计3，8，15，22，27。");
    assert.strictEqual(item.response, `<think>${item.thinking}</think>一共「27」个字。`);
    assert.deepStrictEqual(item.expected, { count: "27" });
  });

  it("asks no count question where the form gives the answer in one step, or the count would be unsure or too long", () => {
    assert.strictEqual(countQuestion(poem({})), null, "五言绝句: 4 × 5, read off the form");
    assert.strictEqual(countQuestion(poem({ paragraphs: ["江南好，风景旧曾谙（一作谙）。"] })), null, "a character poemLines does not split on");
    assert.strictEqual(countQuestion(poem({ paragraphs: ["江南好。"] })), null, "one line");
    assert.strictEqual(countQuestion(poem({ paragraphs: ["江南好，一二三四五六七八九十。"] })), null, "a line of 10");
    const long = Array.from({ length: 8 }, (_, i) => (i % 2 ? "一二三四五六" : "一二三四五")).join("，") + "。"; // 44 characters
    assert.ok(44 > COUNT_MAX_CHARS);
    assert.strictEqual(countQuestion(poem({ paragraphs: [long] })), null, "over the length that fits the context");
  });

  it("writes the character question of 静夜思: the poem walked to line i, line i numbered up to position j, the last character named", () => {
    // Line and position come from the id: over many ids, every line is asked and the answer is always that character.
    const ls = ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"];
    const asked = new Set<string>();
    for (let k = 0; k < 60; k++) {
      const it = charAtQuestion(poem({ id: `tang-${k}` }))!;
      const [i, j] = [Number(it.expected.line), Number(it.expected.position)];
      asked.add(String(i));
      assert.ok(i >= 1 && i <= 4 && j >= 1 && j <= 5, `${i} ${j}`);
      assert.strictEqual(it.expected.char, [...ls[i - 1]][j - 1]);
      assert.strictEqual(it.prompt, `床前明月光，疑是地上霜。举头望明月，低头思故乡。\n${charAtAsk(i, j)}`);
      const walked = ["床前明月光，", "疑是地上霜。", "举头望明月，"].slice(0, i - 1).join("");
      const numbered = [...ls[i - 1]].slice(0, j).map((c, k) => `${k + 1}${c}`).join("");
      assert.strictEqual(it.thinking, `${walked}${numbered}，第${j}字是${it.expected.char}。`);
      assert.strictEqual(it.answer, `是「${it.expected.char}」。`);
    }
    assert.strictEqual(asked.size, 4);
    assert.strictEqual(charAtAsk(2, 4), "第2句的第4个字是什么？");
    assert.throws(() => charAtAsk(0, 4), /charAtAsk: line must be a whole number from 1, got 0/);
    assert.throws(() => charAtAsk(2, 1.5), /position must be a whole number from 1, got 1.5/);
    // One fixed case written out in full: 第3句 第4字 of 静夜思 is 明.
    const id = Array.from({ length: 500 }, (_, k) => `tang-${k}`).find((x) => charAtQuestion(poem({ id: x }))!.expected.position === "4" && charAtQuestion(poem({ id: x }))!.expected.line === "3")!;
    assert.strictEqual(charAtQuestion(poem({ id }))!.thinking, "床前明月光，疑是地上霜。1举2头3望4明，第4字是明。");
  });

  it("writes the final question of 静夜思: the character question's walk, then the final of a character with one reading", () => {
    const ls = ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"];
    const asked = new Set<string>();
    for (let k = 0; k < 80; k++) {
      const it = charFinalQuestion(poem({ id: `tang-${k}` }))!;
      const [i, j] = [Number(it.expected.line), Number(it.expected.position)];
      const c = [...ls[i - 1]][j - 1];
      asked.add(`${i}:${j}`);
      assert.strictEqual(it.expected.char, c);
      assert.notStrictEqual(rhymeGroupOf(c), null, `${c} has one reading`);
      assert.ok(RHYME_GROUPS[rhymeGroupOf(c) as keyof typeof RHYME_GROUPS].includes(it.expected.final), `${c}: ${it.expected.final}`);
      assert.strictEqual(it.prompt, `床前明月光，疑是地上霜。举头望明月，低头思故乡。\n${charFinalAsk(i, j)}`);
      // The same walk as the character question asked about that place, then the character again with its final.
      const walked = ["床前明月光，", "疑是地上霜。", "举头望明月，"].slice(0, i - 1).join("");
      const numbered = [...ls[i - 1]].slice(0, j).map((ch, n) => `${n + 1}${ch}`).join("");
      assert.strictEqual(it.thinking, `${walked}${numbered}，第${j}字是${c}。${c}${it.expected.final}。`);
      assert.strictEqual(it.answer, `韵母是「${it.expected.final}」。`);
      assert.ok(checkReasoningAnswer(it, it.answer).correct);
    }
    assert.ok(asked.size >= 12, `places asked: ${[...asked].join(" ")}`);
    assert.strictEqual(charFinalAsk(2, 4), "第2句的第4个字，普通话韵母是什么？");
    assert.throws(() => charFinalAsk(0, 4), /line must be a whole number from 1, got 0/);
    // One fixed case written out in full: 第3句 第4字 of 静夜思 is 明 (míng → ing).
    const id = Array.from({ length: 2000 }, (_, k) => `tang-${k}`).find((x) => { const q = charFinalQuestion(poem({ id: x }))!; return q.expected.line === "3" && q.expected.position === "4"; })!;
    assert.strictEqual(charFinalQuestion(poem({ id }))!.response, "<think>床前明月光，疑是地上霜。1举2头3望4明，第4字是明。明ing。</think>韵母是「ing」。");
  });

  it("asks the final question about 绝句 only, and never about a polyphonic character", () => {
    assert.strictEqual(charFinalQuestion(poem({ paragraphs: Array(4).fill("床前明月光，疑是地上霜。") })), null, "律诗");
    assert.strictEqual(charFinalQuestion(poem({ collection: "songci" })), null);
    // 长 (cháng/zhǎng), 还 (huán/hái), 行 (xíng/háng), 重 (zhòng/chóng), 发 (fā/fà) and 觉 (jué/jiào) have two readings:
    // a poem made of them has a place only where a character has one.
    const many = poem({ paragraphs: ["长还行重发，觉长还行重。", "长还行重发，觉长还行月。"] });
    for (let k = 0; k < 20; k++) assert.strictEqual(charFinalQuestion({ ...many, id: `tang-${k}` })!.expected.char, "月");
  });

  it("asks no walking question about a text the walk cannot copy exactly (two marks in a row, a quote)", () => {
    for (const paragraphs of [["床前明月光，，疑是地上霜。", "举头望明月，低头思故乡。"], ["床前明月光，“疑是地上霜。”", "举头望明月，低头思故乡。"], ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡"]]) {
      assert.strictEqual(charAtQuestion(poem({ paragraphs })), null, paragraphs.join(""));
      assert.strictEqual(rhymeQuestion(poem({ paragraphs })), null, paragraphs.join(""));
    }
  });

  it("asks the character question about 绝句 only", () => {
    assert.strictEqual(charAtQuestion(poem({ paragraphs: Array(4).fill("床前明月光，疑是地上霜。") })), null, "律诗");
    assert.strictEqual(charAtQuestion(poem({ collection: "songci" })), null);
    assert.strictEqual(charAtQuestion(poem({ paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡兮。"] })), null);
  });

  it("writes the find question of 静夜思: a character the poem has once, found by copying line by line, then numbering its line", () => {
    const ls = ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"];
    const once = new Set([..."床前光疑是地上霜举望低思故乡"]);
    const asked = new Set<string>();
    for (let k = 0; k < 60; k++) {
      const it = findQuestion(poem({ id: `tang-${k}` }))!;
      const { char, line, position } = it.expected;
      asked.add(char);
      assert.ok(once.has(char), `${char} occurs once in the poem`);
      assert.strictEqual([...ls[Number(line) - 1]][Number(position) - 1], char);
      assert.strictEqual(it.prompt, `床前明月光，疑是地上霜。举头望明月，低头思故乡。\n「${char}」字在第几句第几个字？`);
      assert.strictEqual(it.answer, `在「第${line}句第${position}字」。`);
      assert.ok(checkReasoningAnswer(it, it.answer).correct);
    }
    assert.ok(asked.size >= 8, `the character varies with the id: ${[...asked].join("")}`);
    // One case written out in full: 上 is line 2, position 4.
    const id = Array.from({ length: 500 }, (_, k) => `tang-${k}`).find((x) => findQuestion(poem({ id: x }))!.expected.char === "上")!;
    assert.strictEqual(findQuestion(poem({ id }))!.thinking, "第1句床前明月光，第2句疑是地上；1疑2是3地4上，在第2句第4字。");
    assert.strictEqual(findAsk("上"), "「上」字在第几句第几个字？");
    assert.throws(() => findAsk("上下"), /findAsk: the character must be one Han character, got "上下"/);
    assert.throws(() => findAsk("a"), /findAsk: the character must be one Han character/);
  });

  it("asks a training poem FIND_PER_TRAINING_POEM find questions about different characters, a held-out poem one", () => {
    const p = poem({ id: "tang-7" });
    const three = findQuestions(p, "train", 3);
    assert.strictEqual(FIND_PER_TRAINING_POEM, 3);
    assert.strictEqual(three.length, 3);
    assert.deepStrictEqual(three[0], findQuestion(p, "train"), "the first is the one question a held-out poem gets");
    assert.strictEqual(new Set(three.map((it) => it.expected.char)).size, 3, "three different characters");
    const lines = ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"];
    for (const it of three) {
      const { char, line, position } = it.expected;
      assert.strictEqual([...lines[Number(line) - 1]][Number(position) - 1], char);
      // The trace, rebuilt here: lines copied up to the character, then its line numbered up to it.
      const upTo = [...lines[Number(line) - 1]].slice(0, Number(position));
      const walk = [...lines.slice(0, Number(line) - 1), upTo.join("")].map((l, k) => `第${k + 1}句${l}`).join("，");
      assert.strictEqual(it.thinking, `${walk}；${upTo.map((c, k) => `${k + 1}${c}`).join("")}，在第${line}句第${position}字。`);
    }
    // More than the poem has: every once-only character, once (光 is the only one here).
    assert.deepStrictEqual(findQuestions(poem({ paragraphs: ["明月明月光，明月明月明。", "明月明月明，明月明月明。"] }), "train", 3).map((it) => it.expected.char), ["光"]);
    const train = reasoningItems([p], { tasks: ["find"], split: () => "train" });
    const heldout = reasoningItems([p], { tasks: ["find"], split: () => "heldout" });
    assert.deepStrictEqual(train.map((it) => it.expected.char), three.map((it) => it.expected.char));
    assert.deepStrictEqual(heldout.map((it) => it.prompt), [findQuestion(p, "heldout")!.prompt]);
  });

  it("asks the find question about 五言绝句 only, and never about a character the poem has twice", () => {
    assert.strictEqual(findQuestion(poem({ paragraphs: Array(4).fill("床前明月光，疑是地上霜。") })), null, "律诗");
    assert.strictEqual(findQuestion(poem({ paragraphs: ["朝辞白帝彩云间，千里江陵一日还。", "两岸猿声啼不住，轻舟已过万重山。"] })), null, "七言");
    assert.strictEqual(findQuestion(poem({ collection: "songci" })), null);
    assert.strictEqual(findQuestion(poem({ paragraphs: ["床前明月光，，疑是地上霜。", "举头望明月，低头思故乡。"] })), null, "two marks");
    assert.strictEqual(findQuestion(poem({ paragraphs: ["明月明月明，明月明月明。", "明月明月明，明月明月明。"] })), null, "no character once");
    // Only 光 occurs once: every id asks about it.
    for (let k = 0; k < 10; k++) assert.strictEqual(findQuestion(poem({ id: `tang-${k}`, paragraphs: ["明月明月光，明月明月明。", "明月明月明，明月明月明。"] }))!.expected.char, "光");
  });

  it("writes the rhyme question of 登鹳雀楼 (流 liu and 楼 lou: both 尤) with its trace", () => {
    const item = rhymeQuestion(poem({ title: "登鹳雀楼", author: "王之涣", paragraphs: ["白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"] }))!;
    assert.strictEqual(item.prompt, `白日依山尽，黄河入海流。欲穷千里目，更上一层楼。\n${RHYME_QUESTION}`);
    assert.strictEqual(item.thinking, "白日依山尽，黄河入海流。流iu尤；欲穷千里目，更上一层楼。楼ou尤；同韵。");
    assert.strictEqual(item.response, `<think>${item.thinking}</think>押韵，都是「尤」韵。`);
    assert.deepStrictEqual(item.expected, { rhymes: "押韵", groups: "尤" });
  });

  it("says 不押韵 where Mandarin has drifted from 平水韵 (渚 zhǔ and 举 jǔ were one rhyme)", () => {
    const item = rhymeQuestion(poem({ paragraphs: ["飞盖去芳园，兰桡游翠渚。", "萍间日彩乱，荷处香风举。"] }))!;
    assert.strictEqual(item.thinking, "飞盖去芳园，兰桡游翠渚。渚u姑；萍间日彩乱，荷处香风举。举ü齐；不同韵。");
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
    items = reasoningItems(poems, { tasks: REASONING_TASKS });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("asks every kind of question, and by default only the default tasks", () => {
    for (const task of REASONING_TASKS) assert.ok(items.some((i) => i.task === task), `${task}: ${JSON.stringify(reasoningCounts(splitReasoningItems(items)))}`);
    const byDefault = reasoningItems(poems);
    assert.deepStrictEqual([...new Set(byDefault.map((i) => i.task))].sort(), [...DEFAULT_REASONING_TASKS].sort());
    assert.deepStrictEqual(byDefault, items.filter((i) => DEFAULT_REASONING_TASKS.includes(i.task)));
    assert.deepStrictEqual(reasoningCounts(splitReasoningItems(byDefault)).map((r) => r.task), DEFAULT_REASONING_TASKS, "the table lists the tasks asked");
    assert.throws(() => reasoningItems(poems, { tasks: ["meter" as never] }), /unknown task 'meter'/);
  });

  it("count: the total is the poem's characters counted here, the trace's counts are its lines', and only poems of unequal lines are asked", () => {
    const byId = new Map(poems.map((p) => [p.id, p]));
    const counts = items.filter((i) => i.task === "count");
    assert.ok(counts.length > 0);
    for (const it of counts) {
      const p = byId.get(it.poemId)!;
      const text = p.paragraphs.join("");
      assert.strictEqual(it.prompt, `${text}\n${COUNT_QUESTION}`);
      const marks = /[，。？！；、：“”‘’《》]/u;
      const ls = text.split(marks).filter((l) => l !== "");
      const total = [...text].filter((c) => !marks.test(c)).length;
      assert.strictEqual(it.expected.count, String(total), `${p.id}: ${text}`);
      assert.ok(new Set(ls.map((l) => [...l].length)).size > 1, `${p.id}: lines of one length`);
      const m = /^各句字数([\d，]+)；累计([\d，]+)。$/u.exec(it.thinking)!;
      assert.ok(m, it.thinking);
      assert.deepStrictEqual(m[1].split("，").map(Number), ls.map((l) => [...l].length));
      const run = m[2].split("，").map(Number);
      assert.deepStrictEqual(run.map((x, k) => x - (k ? run[k - 1] : 0)), ls.map((l) => [...l].length));
      assert.strictEqual(run.at(-1), total);
      assert.ok(checkReasoningAnswer(it, it.answer).correct);
      assert.ok(!checkReasoningAnswer(it, `一共「${total + 1}」个字。`).correct);
    }
  });

  it("charAt: the character is the one at line i, position j of the poem, split into lines here", () => {
    const byId = new Map(poems.map((p) => [p.id, p]));
    const asked = items.filter((i) => i.task === "charAt");
    assert.ok(asked.length > 0);
    for (const it of asked) {
      const p = byId.get(it.poemId)!;
      const ls = lines(p.paragraphs.join(""));
      assert.strictEqual(ls.length, 4, `${p.id}: a 绝句`);
      const [i, j] = [Number(it.expected.line), Number(it.expected.position)];
      assert.strictEqual(it.expected.char, [...ls[i - 1]][j - 1], `${p.id} ${i} ${j}`);
      assert.ok(it.prompt.endsWith(`\n${charAtAsk(i, j)}`));
      // The walk, checked against the text: lines 1 … i−1 exactly as the prompt has them, then line i numbered up to
      // position j, then "第j字是c", where c is the last character numbered.
      const walked = textBeforeLine(p.paragraphs.join(""), i);
      assert.ok(it.thinking.startsWith(walked), `${p.id}: ${it.thinking}`);
      const rest = it.thinking.slice(walked.length);
      const m = /^((?:\d\p{Script=Han})+)，第(\d)字是(\p{Script=Han})。$/u.exec(rest)!;
      assert.ok(m, `${p.id}: ${rest}`);
      const pairs = [...m[1].matchAll(/(\d)(\p{Script=Han})/gu)];
      assert.deepStrictEqual(pairs.map((q) => q[2]).join(""), [...ls[i - 1]].slice(0, j).join(""));
      assert.deepStrictEqual(pairs.map((q) => Number(q[1])), pairs.map((_, k) => k + 1));
      assert.strictEqual(Number(m[2]), j);
      assert.strictEqual(pairs.length, j);
      assert.strictEqual(m[3], pairs[pairs.length - 1][2]);
      const other = [...ls[i - 1]].find((c) => c !== it.expected.char);
      if (other) assert.ok(!checkReasoningAnswer(it, `是「${other}」。`).correct, `${p.id}: ${other}`);
    }
  });

  it("charFinal: the character is the one at line i, position j, it has one reading, and its final is in the group computed here", () => {
    const byId = new Map(poems.map((p) => [p.id, p]));
    const asked = items.filter((i) => i.task === "charFinal");
    assert.ok(asked.length > 0);
    for (const it of asked) {
      const p = byId.get(it.poemId)!;
      const ls = lines(p.paragraphs.join(""));
      assert.strictEqual(ls.length, 4, `${p.id}: a 绝句`);
      const [i, j] = [Number(it.expected.line), Number(it.expected.position)];
      const c = [...ls[i - 1]][j - 1];
      assert.strictEqual(it.expected.char, c, `${p.id} ${i} ${j}`);
      const group = rhymeGroupOf(c);
      assert.ok(group && RHYME_GROUPS[group as keyof typeof RHYME_GROUPS].includes(it.expected.final), `${p.id}: ${c} ${it.expected.final} ${group}`);
      assert.ok(it.prompt.endsWith(`\n${charFinalAsk(i, j)}`));
      // The trace is the character question's walk to this place (checked against the text here), then the
      // character again with its final right after it.
      const m = /^(.*，第(\d)字是(\p{Script=Han}))。\3([a-zü-]+)。$/u.exec(it.thinking);
      assert.ok(m, `${p.id}: ${it.thinking}`);
      assert.strictEqual(m[3], c);
      assert.strictEqual(m[4], it.expected.final);
      const numbered = [...ls[i - 1]].slice(0, j).map((ch, n) => `${n + 1}${ch}`).join("");
      assert.strictEqual(m[1], `${textBeforeLine(p.paragraphs.join(""), i)}${numbered}，第${j}字是${c}`, p.id);
      assert.ok(!checkReasoningAnswer(it, `韵母是「${it.expected.final === "a" ? "o" : "a"}」。`).correct);
    }
  });

  it("find: the character occurs once in the poem, at the line and position said, and the trace reads every line up to it", () => {
    const byId = new Map(poems.map((p) => [p.id, p]));
    const asked = items.filter((i) => i.task === "find");
    assert.ok(asked.length > 0);
    for (const it of asked) {
      const p = byId.get(it.poemId)!;
      const ls = lines(p.paragraphs.join(""));
      assert.ok(ls.length === 4 && ls.every((l) => [...l].length === 5), `${p.id}: a 五言绝句`);
      const all = ls.flatMap((l) => [...l]);
      assert.strictEqual(all.filter((c) => c === it.expected.char).length, 1, `${p.id}: ${it.expected.char} once`);
      const [i, j] = [Number(it.expected.line), Number(it.expected.position)];
      assert.strictEqual([...ls[i - 1]][j - 1], it.expected.char, `${p.id} ${i} ${j}`);
      // The trace: "第k句" and line k copied for k < i, "第i句" and line i up to the character; then line i up to it
      // again, each character after its position; then the place.
      const [walk, rest] = it.thinking.split("；");
      assert.ok(rest, `${p.id}: ${it.thinking}`);
      const lineSteps = walk.split("，");
      assert.strictEqual(lineSteps.length, i, it.thinking);
      lineSteps.forEach((step, k) => {
        const upTo = k === i - 1 ? [...ls[k]].slice(0, j).join("") : ls[k];
        assert.strictEqual(step, `第${k + 1}句${upTo}`, `${p.id}: ${it.thinking}`);
      });
      const [numbered, place] = rest.replace(/。$/u, "").split("，");
      assert.strictEqual(place, `在第${i}句第${j}字`);
      const pairs = [...numbered.matchAll(/(\d)(\p{Script=Han})/gu)];
      assert.strictEqual(pairs.map((q) => q[0]).join(""), numbered, numbered);
      assert.deepStrictEqual(pairs.map((q) => Number(q[1])), pairs.map((_, n) => n + 1));
      assert.strictEqual(pairs.map((q) => q[2]).join(""), [...ls[i - 1]].slice(0, j).join(""));
      assert.strictEqual(pairs.at(-1)![2], it.expected.char);
    }
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
      // The walk: the text's lines 1–2 with their marks, the foot of line 2; lines 3–4 with their marks, the foot of line 4.
      const text = p.paragraphs.join("");
      const ends: number[] = [];
      for (let k = 0; k < text.length; k++) if (/[，。？！；]/u.test(text[k])) ends.push(k + 1);
      const [half1, half2] = [text.slice(0, ends[1]), text.slice(ends[1], ends[3])];
      const m = /^(.+?)(.)([a-zü-]+)(.)；(.+?)(.)([a-zü-]+)(.)；(同韵|不同韵)。$/u.exec(it.thinking);
      assert.ok(m, `${p.id}: trace ${it.thinking}`);
      assert.deepStrictEqual([m[1], m[5]], [half1, half2], `${p.id}: the walk copies the text: ${it.thinking}`);
      const [, , foot1, final1, group1, , foot2, final2, group2, verdict] = m;
      assert.deepStrictEqual([foot1, foot2], feet);
      assert.deepStrictEqual([group1, group2], groups);
      for (const [f, g] of [[final1, group1], [final2, group2]]) assert.ok(RHYME_GROUPS[g as keyof typeof RHYME_GROUPS].includes(f), `${p.id}: final ${f} is not in ${g}`);
      assert.strictEqual(verdict, same ? "同韵" : "不同韵");
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
  it("accepts the one right count, and rejects a wrong one or a list of numbers", () => {
    const count = { task: "count" as const, expected: { count: "27" } };
    assert.deepStrictEqual(checkReasoningAnswer(count, "一共「27」个字。"), { correct: true, parts: { count: true } });
    assert.ok(checkReasoningAnswer(count, "27").correct);
    assert.ok(!checkReasoningAnswer(count, "一共「28」个字。").correct);
    assert.ok(!checkReasoningAnswer(count, "一共「127」个字。").correct);
    assert.ok(!checkReasoningAnswer(count, "27或28").correct);
    assert.ok(!checkReasoningAnswer(count, "").correct);
  });
  it("accepts the one right character in 「」, and rejects another, two of them, or none", () => {
    const at = { task: "charAt" as const, expected: { char: "上", line: "2", position: "4" } };
    assert.deepStrictEqual(checkReasoningAnswer(at, "是「上」。"), { correct: true, parts: { char: true } });
    assert.ok(!checkReasoningAnswer(at, "是「地」。").correct);
    assert.ok(!checkReasoningAnswer(at, "是「上」或「地」。").correct);
    assert.ok(!checkReasoningAnswer(at, "是上。").correct);
    assert.ok(!checkReasoningAnswer(at, "是「地上」。").correct);
  });
  it("accepts the one right final in 「」, and rejects another, two of them, or none", () => {
    const fin = { task: "charFinal" as const, expected: { final: "ing", char: "明", line: "3", position: "4" } };
    assert.deepStrictEqual(checkReasoningAnswer(fin, "韵母是「ing」。"), { correct: true, parts: { final: true } });
    assert.ok(!checkReasoningAnswer(fin, "韵母是「in」。").correct);
    assert.ok(!checkReasoningAnswer(fin, "韵母是「ing」或「in」。").correct);
    assert.ok(!checkReasoningAnswer(fin, "韵母是ing。").correct);
    assert.ok(!checkReasoningAnswer(fin, "是「明」。").correct);
  });
  it("accepts the one right place in 「」, and rejects another, two of them, or none", () => {
    const at = { task: "find" as const, expected: { char: "上", line: "2", position: "4" } };
    assert.deepStrictEqual(checkReasoningAnswer(at, "在「第2句第4字」。"), { correct: true, parts: { place: true } });
    assert.ok(checkReasoningAnswer(at, "在「第2句第4个字」。").correct);
    assert.ok(!checkReasoningAnswer(at, "在「第2句第5字」。").correct);
    assert.ok(!checkReasoningAnswer(at, "在「第3句第4字」。").correct);
    assert.ok(!checkReasoningAnswer(at, "在「第2句第4字」或「第3句第4字」。").correct);
    assert.ok(!checkReasoningAnswer(at, "在第2句第4字。").correct);
    assert.ok(!checkReasoningAnswer(at, "「上」").correct);
  });
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
