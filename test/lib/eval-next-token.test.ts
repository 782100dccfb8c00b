/**
 * Next-token accuracy against unigram and bigram baselines (lib/eval/nextToken.ts), on streams whose answers
 * are known by hand, and on a real (untrained) GPT for shapes and leaks.
 */
import * as assert from "assert";
import { GPT, gptConfig, NgramBaseline, nextTokenAccuracy, tf } from "tiaoyu";
import { expectNoLeak } from "../leak";

/** 0, 1, …, 9, 0, 1, …: every token is followed by the next one, and each is a tenth of the stream. */
const cycle = (n: number) => Array.from({ length: n }, (_, i) => i % 10);

/** A "model" whose logits put `score(prev)` first: an oracle or a copier, to check the counting. */
function fakeModel(guess: (prev: number) => number, blockSize = 8) {
  return {
    config: { blockSize, vocabSize: 10 },
    forward: (ids: readonly (readonly number[])[]) =>
      tf.tidy(() => tf.oneHot(tf.tensor2d(ids.map((row) => row.map(guess)), undefined, "int32"), 10).mul(5).cast("float32")) as tf.Tensor3D,
  };
}

describe("next-token accuracy", () => {
  it("scores a perfect bigram stream: bigram 100%, unigram 10% top-1 and 50% top-5", () => {
    const r = nextTokenAccuracy(fakeModel((p) => (p + 1) % 10), cycle(161), cycle(1000));
    assert.strictEqual(r.positions, 160); // 20 blocks of 8 positions
    assert.strictEqual(r.bigram.top1.k, 160);
    assert.strictEqual(r.unigram.top1.k, 16);
    assert.strictEqual(r.unigram.top5.k, 80);
    assert.strictEqual(r.model.top1.k, 160, "the oracle is always right");
  });

  it("counts a model that copies the last token as always wrong at top-1", () => {
    const r = nextTokenAccuracy(fakeModel((p) => p), cycle(161), cycle(1000));
    assert.strictEqual(r.model.top1.k, 0);
    assert.ok(r.model.top1.high < 0.05);
  });

  it("fills the bigram's guesses with the unigram's for an unseen token, and stops at maxPositions", () => {
    const ng = new NgramBaseline([1, 2, 1, 2, 1, 3]);
    assert.deepStrictEqual(ng.unigramGuesses(), [1, 2, 3]);
    assert.deepStrictEqual(ng.bigramGuesses(1), [2, 3, 1]); // its own successors first, then the unigram
    assert.deepStrictEqual(ng.bigramGuesses(9), [1, 2, 3]);
    const r = nextTokenAccuracy(fakeModel((p) => p), cycle(161), ng, { maxPositions: 13 });
    assert.strictEqual(r.positions, 13);
  });

  it("says what is wrong with a stream too short or bad options", () => {
    assert.throws(() => nextTokenAccuracy(fakeModel((p) => p), cycle(5), cycle(100)), /held-out stream has 5 tokens, fewer than one block of 9/);
    assert.throws(() => nextTokenAccuracy(fakeModel((p) => p), cycle(50), cycle(100), { maxPositions: 0 }), /maxPositions .* got 0/);
    assert.throws(() => new NgramBaseline([3]), /training stream has 1 tokens/);
  });

  it("runs on a GPT without leaking tensors", async () => {
    const model = new GPT(gptConfig({ vocabSize: 10, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }));
    try {
      const ng = new NgramBaseline(cycle(200));
      await expectNoLeak(() => {
        const r = nextTokenAccuracy(model, cycle(100), ng, { batchSize: 3 });
        assert.strictEqual(r.positions, 96);
        assert.ok(r.model.top5.k >= r.model.top1.k);
      }, "nextTokenAccuracy");
    } finally {
      model.dispose();
    }
  });
});
