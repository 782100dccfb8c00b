import * as assert from "assert";
import * as path from "path";
import {
  assignSplit, classifyForm, cleanLines, cleaningExamples, cleanTitle, collectionInfo, countHan, dedupExact, Deduplicator, dedupKey,
  DROP_REASONS, fnv1a32, mix32, splitHash, hasEditorialMarks, hasForeignCharacters, hasMissingCharacters, hasUnencodable, jaccard, meterOf,
  normalizePunctuation, normalizeVariants, normalizeWhitespace, poemLines, readCollection, sampleBody, sampleLine, shingles,
  splitKey, stripNotes, tidyPunctuation, toSample, toSimplified,
} from "tiaoyu";

const FIXTURE = path.join(__dirname, "..", "fixtures", "data", "chinese-poetry");
const JINGYESI = ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"];

describe("data/convert: traditional → simplified", () => {
  it("converts traditional characters and variant forms", () => {
    assert.strictEqual(toSimplified("牀前明月光，疑是地上霜。擧頭望明月，低頭思故鄕。"), JINGYESI.join(""));
    assert.strictEqual(toSimplified("秦川雄帝宅，函谷壯皇居。"), "秦川雄帝宅，函谷壮皇居。");
  });
  it("leaves simplified text and phrase-dependent characters alone", () => {
    assert.strictEqual(toSimplified(JINGYESI.join("")), JINGYESI.join(""));
    assert.strictEqual(toSimplified("乾坤"), "乾坤"); // not 干坤: OpenCC works on phrases
    assert.strictEqual(normalizeVariants("劒鴈"), "剑雁");
  });
});

describe("data/clean: each rule", () => {
  it("normalizeWhitespace removes every kind of space", () => {
    assert.strictEqual(normalizeWhitespace(" 床前 明月光，\u3000疑是\u200b地上霜。\t"), "床前明月光，疑是地上霜。");
  });
  it("normalizePunctuation maps half-width and variant marks to full-width ones", () => {
    assert.strictEqual(normalizePunctuation("床前明月光,疑是地上霜.举头望明月;低头思故乡?!"), "床前明月光，疑是地上霜。举头望明月；低头思故乡？！");
    assert.strictEqual(normalizePunctuation("「东风」『细雨』(注)"), "“东风”‘细雨’（注）");
  });
  it("stripNotes removes notes, nested and across lines, and leaves unbalanced ones", () => {
    assert.strictEqual(stripNotes("阑风长雨（一作“东风细雨”）秋纷纷，"), "阑风长雨秋纷纷，");
    assert.strictEqual(stripNotes("甲（外（内）外）乙"), "甲乙");
    assert.strictEqual(stripNotes("为人欲得别，（“人”作“若”。\n）此则是兵奴。"), "为人欲得别，此则是兵奴。");
    assert.strictEqual(stripNotes("春（未完"), "春（未完");
  });
  it("tidyPunctuation collapses runs and removes marks that open a line", () => {
    assert.strictEqual(tidyPunctuation("此则是兵奴。。"), "此则是兵奴。");
    assert.strictEqual(tidyPunctuation("秋纷纷，。\n，江水流。"), "秋纷纷。\n江水流。");
    assert.strictEqual(tidyPunctuation("悲夫！。何哉，？"), "悲夫！何哉？"); // the strongest mark of a run stays
    assert.strictEqual(tidyPunctuation("知否，知否？应是绿肥红瘦。"), "知否，知否？应是绿肥红瘦。");
  });
  it("hasMissingCharacters finds placeholders and lacuna notes", () => {
    for (const t of ["冰□已镂津", "■■", "●●啼深竹", "（缺）", "其下（下缺）", "囗囗", "……"]) assert.ok(hasMissingCharacters(t), t);
    for (const t of [JINGYESI.join(""), "（一作缺月）秋"]) assert.ok(!hasMissingCharacters(t), t);
  });
  it("hasEditorialMarks finds bracketed restorations and footnote marks", () => {
    for (const t of ["[爽]节在重九", "〖1〗注", "【题】", "仁高［姒］幄"]) assert.ok(hasEditorialMarks(t), t);
    assert.ok(!hasEditorialMarks(JINGYESI.join("")));
  });
  it("hasUnencodable finds character descriptions, private use and U+FFFD", () => {
    for (const t of ["疲{艹/尔}竟", "⿰木养", "俱目\ue000似", "乱\ufffd码"]) assert.ok(hasUnencodable(t), t);
    assert.ok(!hasUnencodable("波飏大江𣸣")); // a rare but real character (CJK extension B) is fine
  });
  it("hasForeignCharacters finds what is neither Han nor allowed punctuation", () => {
    for (const t of ["春眠け", "1首", "abc", "（未完", "·"]) assert.ok(hasForeignCharacters(t), t);
    for (const t of [JINGYESI.join(""), "“东风”‘细’《长恨曲》、：！？；"]) assert.ok(!hasForeignCharacters(t), t);
  });
  it("countHan counts Han characters only", () => {
    assert.strictEqual(countHan(JINGYESI.join("")), 20);
    assert.strictEqual(countHan("𣸣，a"), 1);
  });

  it("cleanLines fixes what it can and keeps the poem", () => {
    const r = cleanLines(["床前 明月光,疑是地上霜.", "举头望明月（一作山月），低头思故乡。"]);
    assert.deepStrictEqual(r, { ok: true, paragraphs: JINGYESI });
    const notes = cleanLines(["兄弟相怜爱，同生莫异居。", "为人欲得别，（“人”作“若”。", "）此则是兵奴。"]);
    assert.deepStrictEqual(notes, { ok: true, paragraphs: ["兄弟相怜爱，同生莫异居。", "为人欲得别，此则是兵奴。"] });
  });
  it("cleanLines drops with the first failing reason", () => {
    const cases: [string[], string][] = [
      [["冰□已镂津，绶吐芽犹嫩。"], "missing"],
      [["[爽]节在重九，物华新雨余。"], "editorial"],
      [["疲{艹/尔}竟何人，洒涕巴东峡。"], "unencodable"],
      [["江南可采莲，莲叶何田田。Н"], "foreign"],
      [["。"], "empty"],
      [["  "], "empty"],
      [["东海鲤鱼飞上天。"], "tooShort"],
      [[("春风又绿江南岸，明月何时照我还。").repeat(30)], "tooLong"],
      [["冰□（注）", "Н"], "missing"], // several problems: the first rule in order wins
    ];
    for (const [lines, reason] of cases) {
      const r = cleanLines(lines);
      assert.ok(!r.ok && r.reason === reason, `${lines.join("/")}: expected ${reason}, got ${JSON.stringify(r)}`);
    }
    assert.ok(cleanLines([("春风又绿江南岸，明月何时照我还。").repeat(30)], { maxChars: 1000 }).ok);
    assert.deepStrictEqual([...DROP_REASONS], ["missing", "editorial", "unencodable", "foreign", "empty", "tooShort", "tooLong"]);
  });
  it("a lacuna note is caught before notes are stripped", () => {
    const r = cleanLines(["白日依山尽，（缺）入海流。"]);
    assert.ok(!r.ok && r.reason === "missing");
  });
  it("cleanTitle strips notes from titles", () => {
    assert.strictEqual(cleanTitle("题梵书（伯三九八六） "), "题梵书");
    assert.strictEqual(cleanTitle("帝京篇十首  一"), "帝京篇十首 一");
  });
  it("cleaningExamples shows a real before/after for each step that applies", () => {
    const ex = cleaningExamples([{ paragraphs: ["床前 明月光,疑是地上霜."] }, { paragraphs: ["冰□已镂津。"] }]);
    const ws = ex.find((e) => e.step === "normalizeWhitespace")!;
    assert.strictEqual(ws.after, "床前明月光,疑是地上霜.");
    const lines = cleaningExamples([{ paragraphs: ["春眠不觉晓，", "（注）", "处处闻啼鸟。"] }]).find((e) => e.step === "dropEmptyLines")!;
    assert.deepStrictEqual([lines.before, lines.after], ["春眠不觉晓， /  / 处处闻啼鸟。", "春眠不觉晓， / 处处闻啼鸟。"]);
    assert.strictEqual(ex.find((e) => e.step === "normalizePunctuation")!.after, "床前明月光，疑是地上霜。");
    assert.match(ex.find((e) => e.step === "missing")!.after, /丢弃/);
    assert.strictEqual(ex.find((e) => e.step === "editorial"), undefined);
  });
});

describe("data/form: 体裁 from the shape of the lines", () => {
  it("splits lines at punctuation and finds the meter", () => {
    assert.deepStrictEqual(poemLines(JINGYESI), ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]);
    assert.strictEqual(meterOf(JINGYESI), "五言");
    assert.strictEqual(meterOf(["关关雎鸠，在河之洲。"]), "四言");
    assert.strictEqual(meterOf(["明月几时有？把酒问青天。不知天上宫阙，今夕是何年。"]), "杂言");
  });
  it("classifies 绝句, 律诗, 排律 and 词", () => {
    assert.strictEqual(classifyForm(JINGYESI), "五言绝句");
    assert.strictEqual(classifyForm([...JINGYESI, ...JINGYESI]), "五言律诗");
    assert.strictEqual(classifyForm([...JINGYESI, ...JINGYESI, ...JINGYESI]), "五言排律");
    assert.strictEqual(classifyForm(["朝辞白帝彩云间，千里江陵一日还。", "两岸猿声啼不住，轻舟已过万重山。"]), "七言绝句");
    assert.strictEqual(classifyForm(["床前明月光，疑是地上霜。"]), "五言");
    assert.strictEqual(classifyForm(JINGYESI, "songci"), "词");
  });
});

describe("data/dedup: exact and near duplicates", () => {
  it("dedupKey ignores punctuation and layout", () => {
    assert.strictEqual(dedupKey("床前明月光，疑是地上霜。"), dedupKey("床前明月光 疑是地上霜"));
    assert.deepStrictEqual(dedupExact(["床前明月光。", "床前明月光", "春眠不觉晓"]), ["床前明月光。", "春眠不觉晓"]);
  });
  it("shingles and jaccard give hand-checkable values", () => {
    assert.strictEqual(shingles("明月光明月").length, 3);
    assert.strictEqual(shingles("月").length, 0);
    assert.strictEqual(jaccard(shingles("床前明月光"), shingles("床前看月光")), 2 / 6);
    assert.strictEqual(jaccard(shingles("abc"), shingles("abc")), 1);
    assert.strictEqual(jaccard(shingles("ab"), shingles("cd")), 0);
  });
  it("finds exact and near duplicates and keeps the first copy", () => {
    const d = new Deduplicator();
    assert.strictEqual(d.check("a", JINGYESI.join("")), null);
    assert.deepStrictEqual(d.check("b", "床前明月光疑是地上霜举头望明月低头思故乡"), { kind: "exact", of: "a", similarity: 1 });
    const one = d.check("c", "床前看月光，疑是地上霜。举头望明月，低头思故乡。");
    // Sets of pairs: the original has 18 distinct pairs (明月 twice), this one 19; 17 are shared → 17 / 20.
    assert.deepStrictEqual(one, { kind: "near", of: "a", similarity: 17 / 20 });
    const two = d.check("d", "床前看月光，疑是地上霜。举头望山月，低头思故乡。");
    assert.deepStrictEqual(two, { kind: "near", of: "a", similarity: 15 / 22 });
    assert.strictEqual(d.check("e", "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"), null);
    assert.strictEqual(d.size, 2);
  });
  it("different poems that share phrases are not duplicates", () => {
    const d = new Deduplicator();
    d.check("a", "举头望明月，低头思故乡。");
    assert.strictEqual(d.check("b", "举头望明月，明月照高楼。"), null);
    assert.strictEqual(d.check("c", "春风又绿江南岸，明月何时照我还。"), null);
  });
  it("near-duplicate detection finds what a brute-force comparison finds", () => {
    // 300 random 20-character "poems" over a small alphabet, some with planted variants: LSH must find every
    // pair at or above the threshold that an exact all-pairs comparison finds (at 0.6, recall ≈ 0.99 per pair).
    let seed = 1;
    const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const alphabet = "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏";
    const texts: string[] = [];
    for (let i = 0; i < 300; i++) {
      if (i > 0 && rand() < 0.3) {
        const base = [...texts[Math.floor(rand() * texts.length)]];
        base[Math.floor(rand() * base.length)] = alphabet[Math.floor(rand() * alphabet.length)];
        texts.push(base.join(""));
      } else texts.push(Array.from({ length: 20 }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(""));
    }
    const d = new Deduplicator();
    const kept: number[] = [];
    let missed = 0, found = 0;
    texts.forEach((t, i) => {
      const sets = kept.map((k) => jaccard(shingles(t), shingles(texts[k])));
      const truth = dedupKey(t) !== "" && sets.some((s) => s >= 0.6);
      const r = d.check(String(i), t);
      if (r === null) kept.push(i);
      if (truth && r === null) missed++;
      if (truth) found++;
      if (r) assert.ok(r.similarity >= 0.6);
    });
    assert.ok(found > 50, `the test should plant many duplicates, planted ${found}`);
    assert.ok(missed <= Math.ceil(found * 0.05), `LSH missed ${missed} of ${found} near duplicates`);
  });
  it("rejects invalid options", () => {
    assert.throws(() => new Deduplicator({ threshold: 0 }), /threshold must be in \(0, 1\]/);
    assert.throws(() => new Deduplicator({ bands: 0 }), /bands must be a positive integer/);
  });
});

describe("data/split: deterministic by hash", () => {
  it("fnv1a32 matches the published test vectors; mix32 is MurmurHash3's finaliser", () => {
    assert.strictEqual(fnv1a32(""), 0x811c9dc5);
    assert.strictEqual(fnv1a32("a"), 0xe40c292c);
    assert.strictEqual(fnv1a32("foobar"), 0xbf9cf968);
    assert.strictEqual(mix32(0), 0);
    assert.strictEqual(mix32(1), 0x514e28b7);
    assert.strictEqual(splitHash("a"), mix32(0xe40c292c));
  });
  it("the same key always gets the same split, whatever the order or the other items", () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `题${i}|作者${i % 37}|第一句${i * 7}`);
    const first = new Map(keys.map((k) => [k, assignSplit(k)]));
    const shuffled = [...keys].reverse().filter((_, i) => i % 3 !== 0);
    for (const k of shuffled) assert.strictEqual(assignSplit(k), first.get(k));
  });
  it("gives about the requested proportions", () => {
    const n = 20_000;
    const counts = { train: 0, validation: 0, test: 0 };
    for (let i = 0; i < n; i++) counts[assignSplit(`静夜思${i}|李白|床前明月光${i % 101}`)]++;
    assert.ok(Math.abs(counts.train / n - 0.9) < 0.01, JSON.stringify(counts));
    assert.ok(Math.abs(counts.validation / n - 0.05) < 0.01, JSON.stringify(counts));
    const half = { train: 0.5, validation: 0, test: 0.5 };
    let train = 0;
    for (let i = 0; i < n; i++) if (assignSplit(`k${i}`, half) === "train") train++;
    assert.ok(Math.abs(train / n - 0.5) < 0.02, `${train}`);
  });
  it("splitKey uses title, author and the first line; bad ratios are rejected", () => {
    assert.strictEqual(splitKey({ title: "静夜思", author: "李白", paragraphs: JINGYESI }), "静夜思|李白|床前明月光，疑是地上霜。");
    assert.throws(() => assignSplit("x", { train: 0.9, validation: 0.2, test: 0 }), /sum to 1/);
  });
});

describe("data/sample: the book's format", () => {
  it("wraps lines into <s>…</s> and writes the exact line", () => {
    const s = toSample(JINGYESI);
    assert.strictEqual(s, "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>");
    assert.strictEqual(sampleLine(s), '{"text": "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>"}');
    assert.deepStrictEqual(JSON.parse(sampleLine('a"b\\c')), { text: 'a"b\\c' });
    assert.strictEqual(sampleBody(s), JINGYESI.join(""));
    assert.throws(() => sampleBody("床前"), /not a sample/);
  });
});

describe("data/poetry: reading the collections", () => {
  it("reads Tang files in numeric order and skips error/, Song poems and authors", () => {
    const tang = [...readCollection("tang", { dir: FIXTURE })];
    assert.strictEqual(tang.length, 17);
    assert.deepStrictEqual(tang.slice(-4).map((p) => p.title), ["登樓", "相思", "鹿柴", "江雪"]); // 0, 1000, 2000, 10000
    assert.deepStrictEqual(tang.map((p) => p.index), tang.map((_, i) => i));
    assert.ok(!tang.some((p) => /不該|錯誤/.test(p.title)));
  });
  it("maps each collection's fields to one shape", () => {
    const [ci] = readCollection("songci", { dir: FIXTURE });
    assert.deepStrictEqual([ci.title, ci.author], ["如梦令", "李清照"]);
    const [shi] = readCollection("shijing", { dir: FIXTURE });
    assert.deepStrictEqual([shi.title, shi.author, shi.paragraphs.length], ["关雎", "佚名", 2]);
    const t300 = [...readCollection("tang300", { dir: FIXTURE })];
    assert.deepStrictEqual(t300.map((p) => p.title), ["靜夜思", "送別"]);
  });
  it("stride and limit take a deterministic subset", () => {
    const strided = [...readCollection("tang", { dir: FIXTURE, stride: 5 })];
    assert.deepStrictEqual(strided.map((p) => p.index), [0, 5, 10, 15]);
    assert.strictEqual([...readCollection("tang", { dir: FIXTURE, limit: 2 })].length, 2);
    assert.throws(() => [...readCollection("tang", { stride: 0 })], /stride must be a positive integer/);
    assert.throws(() => collectionInfo("yuanqu"), /unknown collection 'yuanqu': use one of tang, tang300, songci, shijing/);
  });
  it("reads the real package (first Tang poem)", () => {
    const [first] = readCollection("tang", { limit: 1 });
    assert.strictEqual(first.title, "帝京篇十首 一");
    assert.strictEqual(first.paragraphs[0], "秦川雄帝宅，函谷壯皇居。");
  });
});
