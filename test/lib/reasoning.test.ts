import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  answerPart, ByteBPETokenizer, charAtQuestion, chatTokenIds, checkReasoningAnswer, encodeByChar, encodeReasoningChat, ensureReasoningGrpo, ensureReasoningModel,
  evaluateReasoning, feetInsideTokens, fitsContext, formQuestion, GPT, gptConfig, initBackend, parseReasoning, type PoemRecord, reasoningComparisonRows, type ReasoningItem,
  reasoningEvalSet, reasoningPrompt, reasoningReward, reasoningStepRows, reasoningTarget, reasoningScorer, packRows, rhymeQuestion, sftSettings, sftStage,
  stageDir, type StageModel, stepMatches, reasoningTrainedOn, traceSteps, train, type ReasoningEvaluation,
} from "tiaoyu";
import { expectNoLeak } from "../leak";
import { POEMS, withTempRuns } from "./train_fixtures";

describe("train/reasoning: reading a response", () => {
  it("splits a well-formed response into its reasoning and its answer", () => {
    assert.deepStrictEqual(parseReasoning("<think>共4句，每句5字。</think>这首诗是「五言绝句」。"), { ok: true, thinking: "共4句，每句5字。", answer: "这首诗是「五言绝句」。", error: null });
    assert.deepStrictEqual(parseReasoning("  <think> 想一想 </think>\n答案 "), { ok: true, thinking: "想一想", answer: "答案", error: null });
  });

  const bad: [string, RegExp][] = [
    ["这首诗是「五言绝句」。", /does not begin with <think>/],
    ["好的<think>想</think>答", /does not begin with <think>/],
    ["<think>数一数：共4句", /never closed/],
    ["<think>想</think>答</think>", /2 <\/think> tags/],
    ["<think>想<think>再想</think>答", /2 <think> tags/],
    ["<think>  </think>答", /reasoning .* is empty/],
    ["<think>想</think>   ", /no answer/],
    ["", /does not begin/],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const r = parseReasoning(text);
      assert.strictEqual(r.ok, false);
      if (!r.ok) assert.match(r.error, why);
    });
  }

  it("answerPart reads the answer of any response, tags or not", () => {
    assert.strictEqual(answerPart("<think>想</think>答"), "答");
    assert.strictEqual(answerPart("这首诗是「五言绝句」。"), "这首诗是「五言绝句」。");
  });
});

describe("eval/reasoning: comparing a reply's steps with the trace's", () => {
  const jingyesi = (id: string): PoemRecord => ({ id, collection: "tang", title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"], form: "五言绝句", split: "test" });
  const ids = Array.from({ length: 400 }, (_, k) => `tang-${k}`);
  const onLine = (line: string) => charAtQuestion(jingyesi(ids.find((x) => charAtQuestion(jingyesi(x))!.expected.line === line)!))!;

  it("compares a walk's steps from the end, every other trace's from the start", () => {
    const exp = ["床前明月光", "1疑2是", "第2字是是"];
    assert.deepStrictEqual(stepMatches("charAt", exp, exp), [true, true, true]);
    // Walked one line too many: the last two steps are still compared with the last two.
    assert.deepStrictEqual(stepMatches("charAt", exp, ["床前明月光", "疑是地上霜", "1疑2是", "第2字是是"]), [false, true, true]);
    assert.deepStrictEqual(stepMatches("charFinal", [...exp, "是i"], ["1疑2是", "第2字是是", "是-i"]), [false, true, true, false]);
    // A count trace is compared from the start.
    assert.deepStrictEqual(stepMatches("count", ["各句字数3", "5", "累计3", "8"], ["各句字数3", "5", "累计3"]), [true, true, true, false]);
  });

  it("lists a walk's steps counted from the end, so the last step of a question about line 1 and one about line 4 share a row", () => {
    const items = [onLine("1"), onLine("4")];
    const steps = items.map((it) => traceSteps(it.thinking));
    assert.deepStrictEqual(steps.map((s) => s.length), [2, 5]);
    // The first question's reply is right; the second's names the wrong character at its last step.
    const replies = [steps[0].map(() => true), steps[1].map((_, k) => k < 4)];
    const evaluation = { rows: [], replies: replies.map((st, k) => ({ task: "charAt", split: "heldout", prompt: items[k].prompt, reply: "", wellFormed: true, correct: st.every(Boolean), steps: st })) } as unknown as ReasoningEvaluation;
    const rows = reasoningStepRows(evaluation, items);
    assert.deepStrictEqual(rows.map((r) => [r.step, r.questions, r.正确率.split(" ")[0]]), [["倒数5", 1, "100.0%"], ["倒数4", 1, "100.0%"], ["倒数3", 1, "100.0%"], ["倒数2", 2, "100.0%"], ["倒数1", 2, "50.0%"]]);
    // The example is the step as the first question having it writes it: the line-1 question's for the last two rows.
    assert.deepStrictEqual(rows.map((r) => r.example), [steps[1][0], steps[1][1], steps[1][2], steps[0][0], steps[0][1]]);
    // Any other trace is counted from the start: a step only the longer trace has is asked of that one question.
    const counts = [{ task: "count", thinking: "各句字数3，5；累计3，8。" }, { task: "count", thinking: "各句字数3，5，7；累计3，8，15。" }] as unknown as ReasoningItem[];
    const countSteps = counts.map((it) => traceSteps(it.thinking).map(() => true));
    const countEval = { rows: [], replies: countSteps.map((st) => ({ task: "count", split: "heldout", prompt: "", reply: "", wellFormed: true, correct: true, steps: st })) } as unknown as ReasoningEvaluation;
    const countRows = reasoningStepRows(countEval, counts);
    assert.deepStrictEqual(countRows.map((r) => [r.step, r.example, r.questions]), [[1, "各句字数3", 2], [2, "5", 2], [3, "累计3", 2], [4, "8", 2], [5, "8", 1], [6, "15", 1]]);
  });
});

describe("train/reasoning: the verifiable reward", () => {
  const item = { task: "form" as const, expected: { form: "五言绝句" } };
  it("pays for the format, and for a right answer only inside the format", () => {
    assert.deepStrictEqual(reasoningReward("<think>共4句，每句5字。</think>这首诗是「五言绝句」。", item), { reward: 1.2, format: 1, correct: 1 });
    assert.deepStrictEqual(reasoningReward("<think>共8句，每句5字。</think>这首诗是「五言律诗」。", item), { reward: 0.2, format: 1, correct: 0 });
    assert.deepStrictEqual(reasoningReward("这首诗是「五言绝句」。", item), { reward: 0, format: 0, correct: 0 });
    assert.deepStrictEqual(reasoningReward("<think>共4句</think>五言绝句", item, { format: 0, correct: 2 }), { reward: 2, format: 1, correct: 1 });
  });
});

describe("train/reasoning: samples, training and evaluation on a tiny model", function () {
  this.timeout(300_000);
  const TITLES = ["静夜思", "春晓", "登鹳雀楼", "江雪", "相思", "寻隐者不遇"];
  const poems: PoemRecord[] = POEMS.map((text, i) => ({
    id: `tang-${i}`, collection: "tang", title: TITLES[i], author: "某", paragraphs: [text.slice(0, 12), text.slice(12)], form: "五言绝句", split: "train",
  }));
  let tok: ByteBPETokenizer;
  let items: ReasoningItem[];

  before(async () => {
    await initBackend();
    items = poems.map((p) => formQuestion(p, "train")!);
    tok = await ByteBPETokenizer.train([...POEMS, ...items.map((i) => i.prompt + i.response)], { vocabSize: 800 });
  });

  it("encodes <think> and </think> as their special tokens and learns only the response", () => {
    const it = items[0];
    const e = encodeReasoningChat(tok, it);
    const prompt = reasoningPrompt(tok, it.prompt);
    const special = chatTokenIds(tok);
    assert.deepStrictEqual(prompt, [special.user, ...encodeByChar(tok, it.prompt), special.end, special.assistant], "chapter 6's chat prompt, by character");
    assert.deepStrictEqual(e.ids.slice(0, prompt.length), prompt);
    assert.deepStrictEqual(e.lossMask, [...prompt.map(() => 0), ...e.ids.slice(prompt.length).map(() => 1)]);
    for (const tag of ["<think>", "</think>"]) assert.strictEqual(e.ids.filter((id) => id === tok.tokenToId(tag)).length, 1, tag);
    assert.strictEqual(tok.decode(e.ids.slice(prompt.length)), it.response + "<|end|>");
    // The answers-only variant is the same prompt with the answer alone.
    const a = encodeReasoningChat(tok, reasoningTarget(it, "answers"));
    assert.deepStrictEqual(a.ids, [...prompt, ...encodeByChar(tok, it.answer), special.end]);
  });

  it("encodes reasoning text one character at a time, so no token spans two characters (BPE merges them elsewhere)", () => {
    const text = POEMS[0];
    const merged = tok.encode(text).filter((id) => [...tok.decode([id])].length > 1);
    assert.ok(merged.length > 0, "the tokenizer has multi-character tokens for this text");
    const ids = encodeByChar(tok, text);
    assert.strictEqual(tok.decode(ids), text);
    assert.deepStrictEqual(ids, [...text].flatMap((c) => tok.encode(c)));
    assert.ok(ids.every((id) => (tok.decode([id]).match(/\p{Script=Han}/gu) ?? []).length <= 1), "no token holds two characters");
    assert.deepStrictEqual(encodeByChar(tok, "<think>床</think>"), [tok.tokenToId("<think>")!, ...tok.encode("床"), tok.tokenToId("</think>")!]);
  });

  it("feetInsideTokens counts line-final characters cut inside a multi-character token or into bytes", async () => {
    const text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。";
    // Trained on 地上霜 over and over, the tokenizer merges it into one token: 霜 is inside it, 乡 is not.
    const merged = await ByteBPETokenizer.train([...Array(50).fill("地上霜。"), ...Array(5).fill(text)], { vocabSize: 300 });
    assert.ok(merged.encode("地上霜").length === 1, "地上霜 is one token");
    const r = feetInsideTokens(merged, [text]);
    assert.strictEqual(r.of, 2);
    assert.strictEqual(r.inside + r.bytes, 2 - Number(merged.decode(merged.encode("乡")) === "乡" && merged.encode("乡").length === 1));
    assert.ok(r.inside >= 1, JSON.stringify(r));
    // Bytes alone: every character is three byte tokens, none is inside a multi-character token.
    const bytesOnly = await ByteBPETokenizer.train([text], { vocabSize: 256 + 9 });
    const b = feetInsideTokens(bytesOnly, [text], [0, 1, 2, 3]);
    assert.deepStrictEqual(b, { inside: 0, bytes: 4, of: 4 });
    assert.throws(() => feetInsideTokens(merged, ["床\uFFFD，"]), /U\+FFFD/);
  });

  it("refuses a prompt carrying a <think> tag, and a tokenizer without the tags", async () => {
    assert.throws(() => encodeReasoningChat(tok, { prompt: "问<think>", response: "<think>想</think>答" }), /prompt contains a <think> tag/);
    const plain = await ByteBPETokenizer.train(POEMS, { vocabSize: 300, specialTokens: ["<|user|>", "<|assistant|>", "<|end|>", "<pad>"] });
    assert.strictEqual(plain.tokenToId("<think>"), undefined);
    assert.throws(() => encodeReasoningChat(plain, items[0]), /no special token <think>/);
    assert.throws(() => encodeByChar(plain, "<think>"), /no special token <think>/);
  });

  it("a model fine-tuned on traces writes a well-formed <think> block and the right answer; evaluation scores it without leaks", async () => {
    const model = new GPT(gptConfig({ vocabSize: tok.vocabSize, blockSize: 128, nLayer: 1, nHead: 2, nEmbd: 48, dropout: 0 }), { seed: 5 });
    const encoded = items.map((it) => encodeReasoningChat(tok, it));
    assert.ok(encoded.every((e) => fitsContext(e, 128)));
    const stage = sftStage(model, { train: encoded, validation: encoded.slice(0, 2) }, { ...sftSettings("tiny"), batchSize: 6 }, { name: "reasoning", tokenizer: tok });
    const result = await train(stage, { steps: 120, lr: 1e-2, warmupSteps: 5, runDir: null, progress: "none" });
    const losses = result.history.train.map((r) => r.loss);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(losses.slice(-10)) < 0.5 * mean(losses.slice(0, 10)), `the loss falls: ${mean(losses.slice(0, 10))} → ${mean(losses.slice(-10))}`);
    const ev = await evaluateReasoning(model, tok, items, { maxNewTokens: 40 });
    assert.strictEqual(ev.replies.length, items.length);
    const formatted = ev.replies.filter((r) => r.wellFormed).length;
    assert.ok(formatted >= 5, `well-formed replies: ${formatted}/6\n${ev.replies.map((r) => r.reply).join("\n")}`);
    const right = ev.replies.filter((r) => r.correct).length;
    assert.ok(right >= 5, `right answers: ${right}/6\n${ev.replies.map((r) => r.reply).join("\n")}`);
    assert.strictEqual(ev.rows.length, 1);
    assert.strictEqual(ev.rows[0].formatted, formatted / 6);
    assert.strictEqual(ev.rows[0].accuracy, ev.replies.filter((r) => r.correct).length / 6);
    assert.deepStrictEqual([ev.rows[0].rate.k, ev.rows[0].rate.n], [right, 6]);
    assert.ok(ev.rows[0].rate.low <= ev.rows[0].accuracy && ev.rows[0].accuracy <= ev.rows[0].rate.high);
    assert.deepStrictEqual([ev.rows[0].baseRate.answer, ev.rows[0].baseRate.rate], ["form=五言绝句", 1], "every item has the same answer");
    // Steps: a reply that is the expected response has every step right; the step table says so per step.
    for (const r of ev.replies) assert.strictEqual(r.steps.length, traceSteps(items[0].thinking).length);
    const stepRows = reasoningStepRows(ev, items);
    assert.deepStrictEqual(stepRows.map((r) => r.step), traceSteps(items[0].thinking).map((_, k) => k + 1));
    assert.throws(() => reasoningStepRows(ev, items.slice(1)), /6 replies/);
    for (const r of ev.replies) assert.strictEqual(r.correct, checkReasoningAnswer(items[0], answerPart(r.reply)).correct, "each item is a 五言绝句");
    await expectNoLeak(async () => void (await evaluateReasoning(model, tok, items.slice(0, 1), { maxNewTokens: 8 })), "evaluateReasoning");
    // The verifiable reward as chapter 7's rollout scorer: rows are found by their prompt and scored on their answer.
    const { scorer, prompts } = reasoningScorer(tok, items.slice(0, 2));
    assert.strictEqual(prompts.length, 2);
    const end = tok.tokenToId("<|end|>")!;
    const answer = (text: string) => [...tok.encode(text, { allowedSpecial: ["<think>", "</think>"] }), end];
    const rows4 = [
      [prompts[0], answer(items[0].response)],
      [prompts[1], answer("<think>共8句</think>这首诗是「五言律诗」。")],
      [prompts[1], answer("这首诗是「五言绝句」。")],
      [prompts[0], answer("<think>共4句")],
    ].map(([p, a]) => ({ ids: [...p, ...a], mask: [...p.map(() => 0), ...a.map(() => 1)] }));
    assert.deepStrictEqual(Array.from(scorer(packRows(rows4, tok.tokenToId("<pad>")!))).map((x) => Math.round(x * 10) / 10), [1.2, 0.2, 0, 0]);
    const rows = reasoningComparisonRows({ 带推理: ev, 只有答案: ev });
    assert.deepStrictEqual(Object.keys(rows[0]), ["题型", "split", "n", "基线", "带推理 准确率", "只有答案 准确率", "带推理 格式", "只有答案 格式"]);
    const fewer = await evaluateReasoning(model, tok, items.slice(0, 3), { maxNewTokens: 4 });
    assert.throws(() => reasoningComparisonRows({ a: ev, b: fewer }), /'b' was evaluated on other questions/);
    model.dispose();
  });

  it("a saved reasoning stage is loaded while the data has the same tasks and samples, and trained again once a task is added or a trace changes", async () => {
    const model = new GPT(gptConfig({ vocabSize: tok.vocabSize, blockSize: 128, nLayer: 1, nHead: 2, nEmbd: 48, dropout: 0 }), { seed: 5 });
    const base = { model, dir: "(in memory)" } as unknown as StageModel; // only the model and its folder's name are read
    const settings = { questions: 6, steps: 2, evalQuestions: 1, maxNewTokens: 8, batchSize: 2 };
    const rhymes = poems.map((p) => rhymeQuestion(p, "train")).filter((it): it is ReasoningItem => it !== null);
    assert.ok(rhymes.length > 0, "the fixture poems have rhyme questions");
    const run = async (train: ReasoningItem[]) => {
      const log: string[] = [];
      const m = await ensureReasoningModel("traces", { tokenizer: tok, data: { train, heldout: items.slice(0, 2), unseen: [] }, base, settings, progress: "none", log: (l) => log.push(l) });
      m.model.dispose();
      return { tasks: m.meta.extra?.tasks, trained: log.some((l) => l.includes("with reasoning traces")), log };
    };
    try {
      await withTempRuns("tiaoyu-reasoning-runs-", async () => {
        const first = await run(items);
        assert.deepStrictEqual([first.tasks, first.trained], [["form"], true]);
        assert.match(first.log[0], /no checkpoint of stage 'reasoning' in .*: training it now \(2 steps from .*\)/);
        assert.deepStrictEqual(first.log.slice(1), [`reasoning: 6 questions with reasoning traces, 2 steps`]);
        assert.deepStrictEqual(await run(items), { tasks: ["form"], trained: false, log: [] }, "same tasks: the checkpoint is loaded");
        const again = await run([...items, ...rhymes]);
        assert.deepStrictEqual([again.tasks, again.trained], [["rhyme", "form"], true], again.log.join("\n"));
        assert.match(again.log[0], /trained on tasks form, the data now has rhyme, form: training again/);
        assert.ok(fs.existsSync(`${stageDir("reasoning")}.old-1`), "the run of other tasks is moved aside, not overwritten");
        // A run that stopped before its last step (a crashed kernel, Ctrl-C) is trained on from its checkpoint, not loaded.
        const log: string[] = [];
        const longer = await ensureReasoningModel("traces", {
          tokenizer: tok, data: { train: [...items, ...rhymes], heldout: items.slice(0, 2), unseen: [] }, base,
          settings: { ...settings, steps: 4 }, progress: "none", log: (l) => log.push(l),
        });
        assert.strictEqual(longer.meta.step, 4, log.join("\n"));
        assert.match(log.join("\n"), /stopped at step 2 of 4: training on/);
        // GRPO with the verifiable reward from the traced model: its reward curve comes from the loop's log, and a second
        // call loads the stage (with the same curve) instead of training again.
        const data = { train: [...items, ...rhymes], heldout: items.slice(0, 2), unseen: [] };
        const grpoSettings = { groupSize: 2, promptsPerStep: 1, maxNewTokens: 6, train: { steps: 2, progress: "none" as const } };
        const grpo = await ensureReasoningGrpo({ tokenizer: tok, data, from: longer, settings: grpoSettings, log: () => {} });
        assert.strictEqual(grpo.meta.step, 2);
        assert.deepStrictEqual(grpo.history.map((h) => h.step), [1, 2]);
        assert.ok(grpo.history.every((h) => Number.isFinite(h.meanReward) && h.kl >= 0), JSON.stringify(grpo.history));
        const loaded = await ensureReasoningGrpo({ tokenizer: tok, data, from: longer, settings: grpoSettings, log: (l) => assert.fail(`must load: ${l}`) });
        assert.deepStrictEqual(loaded.history, grpo.history);
        for (const m of [longer, grpo, loaded]) m.model.dispose();
        // The same tasks with a trace written differently: the checkpoint shows the old traces' results, so it is trained
        // again; the answers-alone variant never saw a trace, so the same change leaves its fingerprint as it was.
        const retraced = rhymes.map((it) => ({ ...it, thinking: `${it.thinking}。`, response: it.response.replace("</think>", "。</think>") }));
        const changed = await run([...items, ...retraced]);
        assert.ok(changed.trained, changed.log.join("\n"));
        assert.match(changed.log[0], /was trained on other samples \(data [0-9a-f]+, now [0-9a-f]+: a trace changed\): training again/);
        assert.ok(fs.existsSync(`${stageDir("reasoning")}.old-2`));
        const before = { train: [...items, ...rhymes], heldout: [], unseen: [] };
        const after = { train: [...items, ...retraced], heldout: [], unseen: [] };
        assert.notStrictEqual(reasoningTrainedOn(before, "traces").data, reasoningTrainedOn(after, "traces").data);
        assert.deepStrictEqual(reasoningTrainedOn(before, "answers"), reasoningTrainedOn(after, "answers"));
        assert.deepStrictEqual(await run([...items, ...retraced]), { tasks: ["rhyme", "form"], trained: false, log: [] }, "same samples: loaded");
      });
    } finally {
      model.dispose();
    }
  });
});
