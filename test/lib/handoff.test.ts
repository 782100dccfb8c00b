/**
 * The one contract for making a stage available (ensureStage, through a stage's public ensure function): trained
 * when missing, loaded when there, continued on "resume", and on "retrain" trained anew with the old run moved
 * aside (never overwritten), in quick mode as in full.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { type CorpusInfo, ensurePretrained, loadStage, loadTrainingCheckpoint, stageDir, type Tokenizer, tokenizerIdentity } from "tiaoyu";
import { POEMS, poemRunFixture, poemTokenizer } from "./train_fixtures";

describe("train/handoff: ensureStage's load / retrain contract", function () {
  this.timeout(120_000);
  const fx = poemRunFixture("tiaoyu-handoff-", POEMS.slice(0, 5), POEMS.slice(5));
  const tok = poemTokenizer() as unknown as Tokenizer;
  let quick: string | undefined;
  before(() => {
    quick = process.env.TIAOYU_QUICK;
    process.env.TIAOYU_QUICK = "1"; // quick runs live in runs/<stage>-quick
  });
  after(() => {
    if (quick === undefined) delete process.env.TIAOYU_QUICK;
    else process.env.TIAOYU_QUICK = quick;
  });

  it("retrain moves the old run aside, trains a new one, and the new one is what loads", async () => {
    const train = path.join(fx.dir, "train.jsonl"); // (tiny blocks of 32 need more than the one validation poem)
    const corpus = { files: { train, validation: train, test: train } } as unknown as CorpusInfo; // only the split files are read
    const dir = stageDir("pretrain");
    assert.match(path.basename(dir), /^pretrain-quick$/);
    const first = await ensurePretrained(tok, { steps: 2, corpus, log: () => {} });
    assert.strictEqual(first.meta.step, 2);
    const oldWeights = Array.from(first.model.parameters().get("transformer.wte.weight")!.dataSync());
    first.model.dispose();

    const lines: string[] = [];
    const again = await ensurePretrained(tok, { steps: 3, start: "retrain", corpus, log: (l) => lines.push(l) });
    assert.match(lines[0], /training again stage 'pretrain' in .*pretrain-quick \(tiny preset, 3 steps\)/);
    // The old run is kept whole beside the new one.
    const aside = loadTrainingCheckpoint(`${dir}.old-1`);
    assert.strictEqual(aside.meta.step, 2);
    assert.deepStrictEqual(Array.from(aside.weights.get("transformer.wte.weight")!.dataSync()), oldWeights);
    aside.dispose();
    // The new run is a run of its own (3 steps from fresh weights, not 1 more on top of the old) and it is what loads.
    assert.strictEqual(again.meta.step, 3);
    assert.strictEqual(path.dirname(again.dir), dir);
    const loaded = loadStage("pretrain", { tokenizer: tokenizerIdentity(tok) });
    assert.strictEqual(loaded.dir, again.dir);
    assert.deepStrictEqual(
      Array.from(loaded.model.parameters().get("transformer.wte.weight")!.dataSync()),
      Array.from(again.model.parameters().get("transformer.wte.weight")!.dataSync()),
    );
    assert.ok(!fs.existsSync(`${dir}.old-2`), "one retrain, one copy aside");
    // And "load" (the default) now loads it without training.
    const third = await ensurePretrained(tok, { steps: 3, corpus, log: (l) => assert.fail(`must load, not train: ${l}`) });
    assert.strictEqual(third.dir, again.dir);
    for (const m of [again, loaded, third]) m.model.dispose();
  });
});
