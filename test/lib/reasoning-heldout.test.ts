/**
 * Chapter 10's held-out evaluation is fixed: the full corpus, the shipped tokenizer and the course context pick the
 * same 300 questions per task as the committed notebook. The set is "the first 300 held-out questions whose traced
 * sample fits the context", so a change to a trace or to the data could change it silently; a changed set means the
 * notebook's tables no longer compare with the runs recorded beside them. If the change is meant, the notebook says
 * so, and the pinned values below change with it.
 */
import * as assert from "assert";
import * as path from "path";
import { DEFAULT_REASONING_TASKS, ensureReasoningData, fnv1a32, loadTokenizer, reasoningEvalSet, shippedDir } from "tiaoyu";
import { saveEnv } from "./train_fixtures";

/** Per task: how many questions, and a hash of their prompts in order (fnv1a32 chained). */
const PINNED: Record<string, { n: number; hash: string }> = {
  count: { n: 300, hash: "d53cea0e" },
  charAt: { n: 300, hash: "49af43ca" },
  charFinal: { n: 300, hash: "e61b5327" },
  rhyme: { n: 300, hash: "17651ea" },
  find: { n: 300, hash: "1584e924" },
};

describe("data/reasoning: chapter 10's held-out evaluation set is fixed (full corpus, shipped tokenizer)", function () {
  this.timeout(600_000);
  let restoreEnv: () => void;
  before(() => {
    restoreEnv = saveEnv(["TIAOYU_QUICK"]);
    delete process.env.TIAOYU_QUICK;
  });
  after(() => restoreEnv());

  it("picks the same 300 questions per task as the committed notebook 10", async () => {
    const tok = loadTokenizer(path.join(shippedDir(), "tokenizer.json"));
    const data = await ensureReasoningData();
    const set = reasoningEvalSet(data, { perGroup: 300, tokenizer: tok, blockSize: 128 });
    const got: Record<string, { n: number; hash: string }> = {};
    for (const task of DEFAULT_REASONING_TASKS) {
      const items = set.filter((it) => it.task === task);
      let h = 0;
      for (const it of items) h = fnv1a32(`${h}|${it.prompt}`);
      got[task] = { n: items.length, hash: h.toString(16) };
    }
    assert.deepStrictEqual(got, PINNED);
  });
});
