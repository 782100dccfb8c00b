import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  checkNoHeldOut, distillPrompts, type DistillPromptSizes, ensureCorpus, ensureQa, anthologyQuestions, meterFormBaseline, quotedLines, type QaItem,
  studentDataKey, studentStage, studentStart, isStageName, STAGES, DISTILL_PRESETS, ByteBPETokenizer, initBackend, gptConfig, GPT, encodeChatData,
  train, sftStage, sftSettings, stageDir, ensureStudent, snapshotWeights, changedWeights, meterBelief,
} from "tiaoyu";
import { expectNoLeak } from "../leak";
import { POEMS, tempRunsDir } from "./train_fixtures";

const meterQ = (first: string, second: string, split: QaItem["split"], meter = "五言"): QaItem => ({
  prompt: `「${first}，${second}」是五言还是七言？`, answer: `这是「${meter}」诗。`, expected: meter, template: "meter", poemId: `${first}`, split,
});
const formQ = (first: string, second: string, split: QaItem["split"], form = "五言绝句"): QaItem => ({
  prompt: `「${first}，${second}」出自一首什么体裁的诗？`, answer: `这是一首「${form}」。`, expected: form, template: "form", poemId: `a-${first}`, split,
});
/** Five-character "lines" that differ: 甲一二三四, 甲一二三五, … */
const line = (i: number, tag = "甲") => `${tag}${"一二三四五六七八九十"[Math.floor(i / 10) % 10]}${"一二三四五六七八九十"[i % 10]}山水`;

const SIZES: DistillPromptSizes = { corpusTemplate: "meter", labelledCorpus: 4, labelledForm: 2, extraCorpus: 6, extraForm: 3, evalQuestions: 3, validationQuestions: 2 };

function fixture() {
  const corpus: QaItem[] = [];
  for (let i = 0; i < 30; i++) corpus.push(meterQ(line(i), line(i, "乙"), "train"));
  for (let i = 0; i < 6; i++) corpus.push(meterQ(line(i, "丙"), line(i, "丁"), "heldout"));
  corpus.push({ prompt: "《静夜思》的作者是谁？", answer: "作者是「李白」。", expected: "李白", template: "author", poemId: "x", split: "train" });
  const anthology: QaItem[] = [];
  for (let i = 0; i < 8; i++) anthology.push(formQ(line(i, "戊"), line(i, "己"), "train"));
  for (let i = 0; i < 6; i++) anthology.push(formQ(line(i, "庚"), line(i, "辛"), "heldout", "七言律诗"));
  // The anthology's poems are in the corpus too: a corpus training poem whose first couplet is a held-out anthology
  // couplet. Its 五言/七言 question, and a 体裁 question built from it, would be a held-out question.
  corpus.push(meterQ(line(0, "庚"), line(0, "辛"), "train"));
  return { corpus, anthology };
}

describe("train/distillPrompts: chapter 9's question sets", () => {
  it("reads the lines a question quotes", () => {
    assert.deepStrictEqual(quotedLines("「床前明月光，疑是地上霜」是五言还是七言？"), ["床前明月光", "疑是地上霜"]);
    assert.deepStrictEqual(quotedLines("「床前明月光」的下一句是什么？"), ["床前明月光"]);
    assert.deepStrictEqual(quotedLines("《静夜思》的作者是谁？"), []);
  });

  it("labelled ⊂ teacher's prompts, more prompts than labels, the sizes asked for, the same sets every time", () => {
    const { corpus, anthology } = fixture();
    const a = distillPrompts(corpus, anthology, SIZES);
    assert.strictEqual(a.labelled.length, SIZES.labelledCorpus + SIZES.labelledForm);
    assert.ok(a.labelled.every((q) => q.split === "train" && q.answer !== ""), "labels come from training questions with their answers");
    const prompts = new Set(a.prompts.map((q) => q.prompt));
    assert.ok(a.labelled.every((q) => prompts.has(q.prompt)), "the teacher also answers the labelled questions");
    // 4 + 6 corpus, 8 anthology training couplets, 3 体裁 questions about corpus couplets.
    assert.strictEqual(a.prompts.length, 4 + 6 + 8 + 3);
    assert.strictEqual(a.prompts.filter((q) => q.template === "form" && q.answer === "").length, 3);
    assert.strictEqual(prompts.size, a.prompts.length, "no question twice");
    assert.deepStrictEqual(a.evalSet.map((q) => q.template), ["meter", "meter", "meter", "form", "form", "form"]);
    assert.ok(a.evalSet.every((q) => q.split === "heldout"));
    assert.deepStrictEqual(distillPrompts(corpus, anthology, SIZES), a, "deterministic");
  });

  it("never trains on a held-out question, nor on one quoting a held-out line (checked by program)", () => {
    const { corpus, anthology } = fixture();
    const sets = distillPrompts(corpus, anthology, { ...SIZES, extraCorpus: 20, extraForm: 20 });
    const heldout = [...corpus, ...anthology].filter((q) => q.split === "heldout");
    const heldLines = new Set(heldout.flatMap((q) => quotedLines(q.prompt)));
    for (const set of [sets.labelled, sets.prompts]) {
      for (const q of set) assert.ok(!quotedLines(q.prompt).some((l) => heldLines.has(l)), `'${q.prompt}' quotes a held-out line`);
    }
    assert.ok(!sets.prompts.some((q) => q.prompt.includes(line(0, "庚"))), "the corpus copy of a held-out anthology couplet is left out");
    assert.strictEqual(checkNoHeldOut(sets.prompts, heldout, "t"), sets.prompts.length);
  });

  it("checkNoHeldOut fails on a held-out question and on a quoted held-out line, naming it", () => {
    const held = [formQ("床前明月光", "疑是地上霜", "heldout")];
    assert.throws(() => checkNoHeldOut([meterQ("甲", "乙", "train"), held[0]], held, "prompts"), /prompts: question 1 '.*' is a held-out question/);
    assert.throws(() => checkNoHeldOut([meterQ("床前明月光", "疑是地上霜", "train")], held, "labels"), /labels: question 0 .* quotes '床前明月光', a line of a held-out question/);
    assert.strictEqual(checkNoHeldOut([meterQ("甲", "乙", "train")], held, "ok"), 1);
  });

  it("refuses bad sizes and too little data with a clear error", () => {
    const { corpus, anthology } = fixture();
    assert.throws(() => distillPrompts(corpus, anthology, { ...SIZES, extraForm: -1 }), /extraForm = -1 must be a whole number ≥ 0/);
    assert.throws(() => distillPrompts(corpus, anthology, { ...SIZES, labelledCorpus: 1.5 }), /labelledCorpus = 1.5/);
    assert.throws(() => distillPrompts(corpus, anthology, { ...SIZES, labelledCorpus: 0, labelledForm: 0 }), /would learn from nothing/);
    assert.throws(() => distillPrompts(corpus, anthology, { ...SIZES, corpusTemplate: "rhyme" as never }), /corpusTemplate 'rhyme' is not a question type/);
    assert.throws(() => distillPrompts(corpus, anthology, { ...SIZES, extraCorpus: 1000 }), /4 labelled \+ 1000 extra 'meter' questions asked for, only 30/);
    assert.throws(() => distillPrompts(corpus.filter((q) => q.split !== "heldout"), anthology, SIZES), /no held-out 'meter' question/);
  });

  it("the cheap 体裁 answer that counts the couplet's characters", () => {
    const train = [formQ("一二三四五", "六七八九十", "train", "五言律诗"), formQ("一二三四五", "六七八九十", "train", "五言律诗"), formQ("一二三四五", "六七八九十", "train", "五言绝句"),
      formQ("一二三四五六七", "一二三四五六七", "train", "七言绝句")];
    const items = [formQ("甲乙丙丁戊", "甲乙丙丁戊", "heldout", "五言律诗"), formQ("甲乙丙丁戊", "甲乙丙丁戊", "heldout", "五言绝句"), formQ("甲乙丙丁戊己庚", "甲乙丙丁戊己庚", "heldout", "七言绝句")];
    const r = meterFormBaseline(train, items);
    assert.deepStrictEqual([r.k, r.n, r.answer], [2, 3, "五言律诗 / 七言绝句"]);
  });
});

describe("train/students: the students' stages", () => {
  it("one run folder per kind and seed, each a stage of the registry starting from the student's pretraining", () => {
    assert.deepStrictEqual([studentStage("labels"), studentStage("blackbox", 2), studentStage("whitebox", 3)], ["distill-labels", "distill-blackbox-2", "distill-whitebox-3"]);
    for (const kind of ["labels", "blackbox", "whitebox"] as const) {
      for (const seed of [1, 2, 3] as const) {
        const name = studentStage(kind, seed);
        assert.ok(isStageName(name) && STAGES[name].from === "student-pretrain" && STAGES[name].chapter === 9, name);
      }
    }
    assert.throws(() => studentStage("labels", 4 as never), /seed 4 is not one of 1, 2, 3/);
    assert.ok(!isStageName("distill-hard"), "the old name is gone");
  });

  it("a student's data key changes with its answers, and with the teacher only for white-box", () => {
    const qs = [meterQ("甲", "乙", "train")];
    const other = [{ ...qs[0], answer: "这是「七言」诗。" }];
    assert.notStrictEqual(studentDataKey("blackbox", qs), studentDataKey("blackbox", other));
    assert.strictEqual(studentDataKey("blackbox", qs, "t1"), studentDataKey("blackbox", qs, "t2"));
    assert.notStrictEqual(studentDataKey("whitebox", qs, "t1"), studentDataKey("whitebox", qs, "t2"));
  });
});

describe("train/students: training, resuming and retraining a student", function () {
  this.timeout(300_000);
  tempRunsDir("tiaoyu-students-");
  let tok: ByteBPETokenizer;
  let items: QaItem[];
  before(async () => {
    await initBackend();
    delete process.env.TIAOYU_QUICK;
    items = POEMS.map((p, i) => meterQ(p.slice(0, 5), p.slice(6, 11), "train", i % 2 ? "七言" : "五言"));
    tok = await ByteBPETokenizer.train([...POEMS, ...items.map((q) => q.prompt + q.answer)], { vocabSize: 600 });
  });

  it("trains into its own folder, continues a run stopped early, retrains on other answers, keeps the teacher frozen", async () => {
    const cfg = gptConfig({ vocabSize: tok.vocabSize, blockSize: 48, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 });
    const encoded = encodeChatData(tok, items, cfg.blockSize).encoded;
    // The student's pretraining: any checkpoint in runs/student-pretrain is a start (here: one SFT step).
    const pre = new GPT(cfg, { seed: 3 });
    await train(sftStage(pre, { train: encoded, validation: encoded }, { ...sftSettings("tiny"), batchSize: 2 }, { tokenizer: tok, name: "student-pretrain", from: null }), {
      steps: 1, runDir: stageDir("student-pretrain"), progress: "none", evalEvery: 0,
    });
    pre.dispose();
    const settings = { ...DISTILL_PRESETS.tiny, steps: 4, train: { ...DISTILL_PRESETS.tiny.train, evalEvery: 0 } };
    const log: string[] = [];
    const run = async (kind: "labels" | "whitebox", questions: QaItem[], steps: number, teacher?: GPT, stopAt?: number) => {
      log.length = 0;
      // A stop from outside (Ctrl-C, the kernel's interrupt button) after step `stopAt`: the loop saves and returns.
      const stop = new AbortController();
      const onStep = (r: { step: number }) => void (stopAt !== undefined && r.step >= stopAt && stop.abort());
      const m = await ensureStudent(kind, { tokenizer: tok, questions, validation: encoded, teacher, teacherId: "t", settings: { ...settings, steps }, progress: "none", log: (l) => log.push(l), signal: stop.signal, onStep });
      const step = m.meta.step;
      m.model.dispose();
      return step;
    };
    assert.strictEqual(await run("labels", items, 4, undefined, 2), 2, "stopped after step 2 of 4");
    assert.match(log[0], /no checkpoint of stage 'distill-labels'/);
    assert.strictEqual(await run("labels", items, 4), 4, "a student that stopped early is trained on");
    assert.match(log[0], /stopped at step 2 of 4: training on/);
    const lines = fs.readFileSync(path.join(stageDir("distill-labels"), "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.kind === "train");
    assert.deepStrictEqual(lines.map((r) => r.step), [1, 2, 3, 4], "resumed at step 3, not started over");
    assert.strictEqual(await run("labels", items, 4), 4, "a finished student is loaded");
    assert.deepStrictEqual(log, []);
    const other = items.map((q) => ({ ...q, answer: "这是「五言」诗。" }));
    assert.strictEqual(await run("labels", other, 4), 4);
    assert.match(log[0], /trained on other questions or answers .*: training again/);
    assert.ok(fs.existsSync(`${stageDir("distill-labels")}.old-1`), "the old run is moved aside, not overwritten");
    // White-box: the teacher's weights do not move, and the student's stage is its own.
    const teacher = new GPT(cfg, { seed: 9 });
    const before = snapshotWeights(teacher.parameters());
    assert.strictEqual(await run("whitebox", items, 2, teacher), 2);
    assert.strictEqual(await run("whitebox", items, 2, teacher), 2);
    assert.deepStrictEqual(log, [], "a finished white-box student is loaded, not trained again");
    assert.deepStrictEqual(changedWeights(teacher.parameters(), before), []);
    await assert.rejects(run("whitebox", items, 2), /white-box distillation needs the teacher/);
    await assert.rejects(run("labels", [], 2), /no questions to learn from/);
    teacher.dispose();
  });
});

describe("eval/distillation: whether a model counts", function () {
  this.timeout(120_000);
  it("meterBelief: a model's belief in 七言 on 七言 and on 五言 couplets, in [0, 1], without leaks; bad questions refused", async () => {
    await initBackend();
    const items = POEMS.map((p, i) => meterQ(p.slice(0, 5), p.slice(6, 11), "heldout", i % 2 ? "七言" : "五言"));
    const tok = await ByteBPETokenizer.train([...POEMS, ...items.map((q) => q.prompt + q.answer)], { vocabSize: 600 });
    const model = new GPT(gptConfig({ vocabSize: tok.vocabSize, blockSize: 48, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }), { seed: 4 });
    const b = await meterBelief(model, tok, items);
    assert.deepStrictEqual([b.sevens, b.fives], [items.filter((q) => q.expected === "七言").length, items.filter((q) => q.expected === "五言").length]);
    for (const v of [b.onSeven, b.onFive]) assert.ok(v > 0 && v < 1, `${v}`);
    await expectNoLeak(async () => void (await meterBelief(model, tok, items)), "meterBelief");
    await assert.rejects(meterBelief(model, tok, items.filter((q) => q.expected === "五言")), /needs 五言 and 七言 questions \(got \d+ and 0\)/);
    await assert.rejects(meterBelief(model, tok, [{ ...items[0], expected: "杂言" }]), /expects '杂言', not 五言 or 七言/);
    model.dispose();
  });
});

describe("chapter 9's prompt sets on the course's data", function () {
  this.timeout(300_000);
  it("hold no held-out question of chapter 6 (any template) nor any line one quotes, at the course's sizes", async function () {
    if (!fs.existsSync(path.join(__dirname, "../../datasets/qa/qa.jsonl")) || process.env.TIAOYU_QUICK) this.skip();
    const corpus = await ensureCorpus();
    const qa = await ensureQa({ corpus });
    const anthology = await anthologyQuestions(corpus);
    const sets = distillPrompts(qa.items, anthology, DISTILL_PRESETS.course);
    const heldout = [...qa.items, ...anthology].filter((q) => q.split !== "train");
    checkNoHeldOut(sets.labelled, heldout, "labelled");
    checkNoHeldOut(sets.prompts, heldout, "prompts");
    assert.ok(sets.prompts.length >= 6 * sets.labelled.length, `${sets.prompts.length} prompts for ${sets.labelled.length} labels`);
    assert.strictEqual(sets.evalSet.length, 600);
  });
});
