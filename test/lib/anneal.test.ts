/**
 * Annealing (chapter 5's last phase): the pretrained model continues on a stream rich in the anthology, without
 * dropout, and learns the anthology by heart; its checkpoint says where it came from.
 */
import * as assert from "assert";
import * as path from "path";
import {
  annealSettings,
  annealStage,
  GPT,
  loadStage,
  mixStream,
  presetConfig,
  PRETRAIN_PRESETS,
  pretrainStage,
  stageDir,
  tf,
  train,
  withDropout,
} from "tiaoyu";
import { POEMS, poemRunFixture, poemTokenizer } from "./train_fixtures";

describe("train/anneal (tiny GPT)", function () {
  this.timeout(120_000);
  const fx = poemRunFixture("tiaoyu-anneal-", POEMS.slice(1, 5), POEMS.slice(5));
  const tok = poemTokenizer();
  const settings = { ...PRETRAIN_PRESETS.tiny, batchSize: 4, evalBatches: 1 };
  const config = presetConfig("tiny", { vocabSize: tok.vocabSize, blockSize: 16, dropout: 0.1 });
  const famous = `<s>${POEMS[0]}</s>`; // the "anthology": one poem, repeated
  const lossOn = (model: GPT, text: string) => {
    const ids = tok.encode(text, { allowedSpecial: "all" }).slice(0, config.blockSize + 1); // the poem's start
    return tf.tidy(() => model.loss([ids.slice(0, -1)], [ids.slice(1)]).dataSync()[0]);
  };

  it("withDropout copies every weight bit for bit and changes only the dropout rate", () => {
    const a = new GPT(config, { seed: 3 });
    const b = withDropout(a, 0);
    try {
      assert.strictEqual(a.config.dropout, 0.1);
      assert.strictEqual(b.config.dropout, 0);
      assert.deepStrictEqual({ ...b.config, dropout: 0.1 }, a.config);
      for (const [name, v] of a.parameters()) {
        assert.deepStrictEqual(Array.from(b.parameters().get(name)!.dataSync()), Array.from(v.dataSync()), name);
      }
      assert.notStrictEqual(b.parameters().get("transformer.wte.weight"), a.parameters().get("transformer.wte.weight"), "a copy, not shared variables");
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it("learns the anthology it reads last, writes runs/anneal from 'pretrain', and leaks no tensors", async () => {
    const pretrained = new GPT(config, { seed: 1 });
    await train(pretrainStage(pretrained, fx.data, settings), { steps: 20, warmupSteps: 2, evalEvery: 0, checkpointEvery: 0, progress: "none", runDir: null });
    const before = lossOn(pretrained, famous);

    const anneal = { ...annealSettings("tiny"), anthologyRepeat: 30 };
    const mixed = { train: mixStream(fx.data.train, [famous], tok, anneal.anthologyRepeat, 1), validation: fx.data.validation };
    const model = withDropout(pretrained, anneal.dropout);
    // The control: the same model, the same steps, on the stream without the poem.
    const control = withDropout(pretrained, anneal.dropout);
    pretrained.dispose();
    await train(pretrainStage(control, fx.data, settings), { ...annealSettings("tiny").train, steps: 30, evalEvery: 0, checkpointEvery: 0, progress: "none", runDir: null });
    const controlLoss = lossOn(control, famous);
    control.dispose();
    const stage = annealStage(model, mixed, settings, anneal);
    assert.strictEqual(stage.name, "anneal");
    assert.strictEqual(stage.from, "pretrain");
    assert.strictEqual(stage.info?.anthologyRepeat, 30);

    let tensorsAtStep2 = -1;
    const result = await train(stage, {
      steps: 30,
      evalEvery: 10,
      checkpointEvery: 0,
      progress: "none",
      onStep: (r) => {
        if (r.step === 2) tensorsAtStep2 = tf.memory().numTensors;
        if (r.step === 30) assert.strictEqual(tf.memory().numTensors, tensorsAtStep2, "tensors leaked across annealing steps");
      },
    });
    const after = lossOn(model, famous);
    const message = `loss on the repeated poem ${before.toFixed(3)} → ${after.toFixed(3)} (without it: ${controlLoss.toFixed(3)})`;
    assert.ok(after < 0.75 * before && after < controlLoss - 0.5, message);
    assert.ok(result.valLoss !== null && Number.isFinite(result.valLoss));

    assert.strictEqual(stageDir("anneal"), path.join(fx.dir, "runs", "anneal"));
    const loaded = loadStage("anneal");
    try {
      assert.strictEqual(loaded.meta.stage, "anneal");
      assert.strictEqual(loaded.meta.from, "pretrain");
      assert.strictEqual(loaded.meta.step, 30);
      assert.strictEqual(loaded.model.config.dropout, 0, "the checkpoint records the annealing's dropout");
      assert.strictEqual(lossOn(loaded.model, famous), after, "the checkpoint is the annealed model");
    } finally {
      loaded.model.dispose();
      model.dispose();
    }
  });
});
