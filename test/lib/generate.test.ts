/**
 * Generation: the sampling rules on fixed numbers, then the loop on the tiny GPT (cached = uncached, also past the
 * context window), stopping at </s>, streaming, and no tensor leaks.
 */
import * as assert from "assert";
import {
  argmax,
  complete,
  type GenerativeModel,
  generateIds,
  GPT,
  initBackend,
  KVCache,
  nextTokenDistribution,
  nextTokenProbabilities,
  pickToken,
  presetConfig,
  Rng,
  sampleIndex,
  softmax,
  tf,
  topK,
  topP,
} from "tiaoyu";
import { expectNoLeak } from "../leak";
import { poemTokenizer } from "./train_fixtures";

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-9): void {
  assert.strictEqual(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] = ${actual[i]}, expected ${expected[i]}`);
}

describe("generate: picking the next token", () => {
  it("softmax with temperature: [0, ln 3] → [1/4, 3/4]; at τ = 0.5 → [1/10, 9/10]", () => {
    close(softmax([0, Math.log(3)]), [0.25, 0.75]);
    close(softmax([0, Math.log(3)], 0.5), [0.1, 0.9]); // exp(2·ln 3) = 9
    close(softmax([1000, 1000]), [0.5, 0.5]); // no overflow
    assert.throws(() => softmax([1], 0), /temperature 0 must be > 0/);
  });

  it("top-k keeps the k most likely, renormalized; k = 1 is argmax", () => {
    close(topK([0.1, 0.5, 0.15, 0.25], 2), [0, 0.5 / 0.75, 0, 0.25 / 0.75]);
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const logits = Array.from({ length: 50 }, () => rng.float() * 10 - 5);
      assert.strictEqual(pickToken(logits, { topK: 1 }, rng), argmax(logits));
    }
  });

  it("top-p keeps the smallest most-likely set whose mass reaches p", () => {
    const p = [0.1, 0.5, 0.15, 0.25];
    close(topP(p, 0.5), [0, 1, 0, 0]); // 0.5 alone reaches 0.5
    close(topP(p, 0.7), [0, 0.5 / 0.75, 0, 0.25 / 0.75]); // 0.5 + 0.25 = 0.75 ≥ 0.7
    close(topP(p, 0.8), [0, 0.5 / 0.9, 0.15 / 0.9, 0.25 / 0.9]); // + 0.15 = 0.9 ≥ 0.8
    close(topP(p, 1), p);
  });

  it("greedy is argmax; sampling follows the distribution and repeats with the seed", () => {
    close(nextTokenDistribution([1, 3, 2], { temperature: 0 }), [0, 1, 0]);
    assert.strictEqual(pickToken([1, 3, 2], { temperature: 0 }, new Rng(1)), 1);
    const probs = [0.2, 0.5, 0.3];
    const counts = [0, 0, 0];
    const rng = new Rng(11);
    for (let i = 0; i < 10_000; i++) counts[sampleIndex(probs, rng)]++;
    counts.forEach((c, i) => assert.ok(Math.abs(c / 10_000 - probs[i]) < 0.02, `counts ${counts}`));
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 10 }, (_, i) => pickToken([0, 1, 2, i * 0.1], {}, r));
    };
    assert.deepStrictEqual(draw(4), draw(4));
  });
});

/** A fake model that continues a prompt of `promptLength` tokens with `script`, for stop/length/streaming checks. */
function scripted(script: number[], promptLength: number, vocabSize: number): GenerativeModel {
  const blockSize = 16;
  const config = presetConfig("tiny", { vocabSize, blockSize });
  return {
    config,
    newCache: () => new KVCache(0, blockSize), // no layers: only its length counts here
    forward(ids, options = {}) {
      const rows = ids as readonly (readonly number[])[];
      const T = rows[0].length;
      const offset = options.cache?.length ?? 0;
      // Position p predicts the token at p + 1, which is script[p + 1 − promptLength] once past the prompt.
      const next = Array.from({ length: T }, (_, t) => script[Math.max(0, offset + t + 1 - promptLength)]);
      options.cache?.advance(T);
      return tf.tidy(() => tf.mul(tf.oneHot(tf.tensor2d([next], [1, T], "int32"), vocabSize), 10).toFloat() as tf.Tensor3D);
    },
  };
}

describe("generate: the loop", function () {
  this.timeout(60_000);
  const tok = poemTokenizer();
  let model: GPT;
  before(async () => {
    await initBackend({ quiet: true });
    model = new GPT(presetConfig("tiny", { vocabSize: tok.vocabSize }), { seed: 7 });
  });
  after(() => model.dispose());

  it("greedy generation gives the same ids with and without the KV cache, also past the context window", async () => {
    const prompt = tok.encode("<s>床前明月", { allowedSpecial: "all" });
    const run = async (useCache: boolean, opts: object) => {
      const ids: number[] = [];
      for await (const t of generateIds(model, prompt, { maxNewTokens: 45, useCache, ...opts })) ids.push(t.id);
      return ids;
    };
    // blockSize is 32: 5 prompt tokens + 45 new ones slide the window 18 times.
    const greedyCached = await run(true, { temperature: 0 });
    assert.strictEqual(greedyCached.length, 45);
    assert.deepStrictEqual(await run(false, { temperature: 0 }), greedyCached);
    const sampled = await run(true, { temperature: 1.5, topK: 20, seed: 3 });
    assert.deepStrictEqual(await run(false, { temperature: 1.5, topK: 20, seed: 3 }), sampled);
    assert.notDeepStrictEqual(sampled, greedyCached);
  });

  it("stops at </s>, or at maxNewTokens, and streams the text as it goes", async () => {
    const ids = tok.encode("明月光", { allowedSpecial: "all" });
    const eos = tok.tokenToId("</s>")!;
    const fake = scripted([...ids, eos, ids[0]], 3, tok.vocabSize);
    const pieces: string[] = [];
    const c = await complete(fake, tok, "<s>床前", { temperature: 0, onText: (s) => pieces.push(s) });
    assert.deepStrictEqual({ text: c.text, reason: c.reason }, { text: "明月光", reason: "stop" });
    assert.deepStrictEqual(pieces, ["明", "月", "光"]);
    const short = await complete(fake, tok, "<s>床前", { temperature: 0, maxNewTokens: 2 });
    assert.deepStrictEqual({ text: short.text, reason: short.reason }, { text: "明月", reason: "length" });
  });

  it("leaks no tensors (cached and uncached), and gives next-token probabilities that sum to 1", async () => {
    const prompt = tok.encode("<s>春眠", { allowedSpecial: "all" });
    await expectNoLeak(async () => {
      for await (const _ of generateIds(model, prompt, { maxNewTokens: 40 })) void _;
      for await (const _ of generateIds(model, prompt, { maxNewTokens: 5, useCache: false })) void _;
    }, "generateIds");
    const p = await nextTokenProbabilities(model, prompt);
    assert.strictEqual(p.length, tok.vocabSize);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  });
});
