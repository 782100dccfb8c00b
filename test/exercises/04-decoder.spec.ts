import * as assert from "assert";
import {
  GPT, gptConfig, layerNorm as libLayerNorm, mergeHeads as libMergeHeads, scaledDotProductAttention, splitHeads as libSplitHeads, tf,
} from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/04-decoder")>("04-decoder");

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepStrictEqual(a.shape, b.shape, `shape [${a.shape}] should be [${b.shape}]`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Runs `fn` and checks it left no intermediate tensor behind (only its result). */
function noLeak<T extends tf.Tensor>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  assert.strictEqual(tf.memory().numTensors, before + 1, "leaves intermediate tensors alive: wrap the body in tf.tidy(() => ...)");
  return out;
}

describe("chapter 04 — 解码器模块", () => {
  exercise("4.1 splitHeads", {
    points: 1,
    hint: "形状从 [B, T, D] 到 [B, nHead, T, D/nHead]:先拆最后一维,再交换 T 和头所在的轴",
    code: "x.reshape([B, T, nHead, D / nHead]).transpose([0, 2, 1, 3]),其中 [B, T, D] = x.shape",
    libraryTwins: ["splitHeads"],
  }, () => {
    const x = tf.tensor3d([[[1, 2, 3, 4], [5, 6, 7, 8]]]);
    assert.deepStrictEqual(ex().splitHeads(x, 2).arraySync(), [[[[1, 2], [5, 6]], [[3, 4], [7, 8]]]]);
    const big = tf.randomNormal([2, 5, 12], 0, 1, "float32", 1) as tf.Tensor3D;
    for (const nh of [1, 3, 4]) assert.strictEqual(maxDiff(noLeak(() => ex().splitHeads(big, nh)), libSplitHeads(big, nh)), 0, `nHead ${nh}`);
    tf.dispose([x, big]);
  });

  exercise("4.2 mergeHeads", {
    points: 1,
    hint: "mergeHeads 是 splitHeads 的逆:先把轴换回来,再把头合并进最后一维",
    code: "先 transpose([0, 2, 1, 3]) 变回 [B, T, nHead, hs],再 reshape 成 [B, T, nHead * hs]",
    libraryTwins: ["mergeHeads", "splitHeads"],
  }, () => {
    const big = tf.randomNormal([2, 5, 12], 0, 1, "float32", 2) as tf.Tensor3D;
    for (const nh of [2, 3, 6]) {
      const heads = libSplitHeads(big, nh);
      const merged = noLeak(() => ex().mergeHeads(heads));
      assert.strictEqual(maxDiff(merged, big), 0, `mergeHeads(splitHeads(x, ${nh})) must give x back`);
      tf.dispose([heads, merged]);
    }
    const h = tf.randomNormal([1, 4, 3, 2], 0, 1, "float32", 3) as tf.Tensor4D;
    assert.strictEqual(maxDiff(ex().mergeHeads(h), libMergeHeads(h)), 0);
    tf.dispose([big, h]);
  });

  exercise("4.3 causalAttention", {
    points: 3,
    hint: "因果注意力:分数要除以 √hs,位置 i 只能看 j ≤ i(掩码),softmax 在最后一维上做。复习「因果掩码」",
    code: "scores = tf.matMul(q, k, false, true) 再除以 Math.sqrt(hs);用 tf.linalg.bandPart(tf.ones([T, T]), -1, 0) 得到下三角,tf.where 把其余位置换成 -1e9;最后 tf.matMul(tf.softmax(scores), v)",
    libraryTwins: ["scaledDotProductAttention", "attentionWeights", "causalMask", "CausalSelfAttention"],
  }, () => {
    const q = tf.tensor4d([[[[1], [1]]]]), v = tf.tensor4d([[[[10], [20]]]]);
    const small = ex().causalAttention(q, q, v);
    const got = small.dataSync();
    // Equal scores: position 0 may see only itself (10), position 1 both (mean 15). The numbers say which idea broke.
    assert.ok(Math.abs(got[0] - 10) < 1e-4, `position 0 came out ${got[0]}, not 10: it took in position 1, so the upper triangle (j > i) gets weight: check the mask`);
    assert.ok(Math.abs(got[1] - 15) < 1e-4, `position 1 came out ${got[1]}, not 15 (the mean of 10 and 20): it should weigh positions 0 and 1 equally: check that the mask keeps j ≤ i and that softmax runs over the last axis`);
    const [qq, kk, vv] = [11, 12, 13].map((s) => tf.randomNormal([2, 3, 6, 4], 0, 1, "float32", s) as tf.Tensor4D);
    const mine = noLeak(() => ex().causalAttention(qq, kk, vv));
    const ref = scaledDotProductAttention(qq, kk, vv);
    const d = maxDiff(mine, ref);
    if (d >= 1e-4) {
      // Unscaled scores are the scaled ones of q·√hs (hs = 4): if that matches, the division is missing.
      const unscaled = tf.tidy(() => scaledDotProductAttention(tf.mul(qq, 2) as tf.Tensor4D, kk, vv));
      const noScale = maxDiff(mine, unscaled) < 1e-4;
      unscaled.dispose();
      assert.ok(!noScale, "matches attention whose scores were not divided by √hs = 2: scale the scores");
    }
    assert.ok(d < 1e-4, `differs from the reference by ${d}: check the scaling by √hs and that the mask hides j > i`);
    tf.dispose([q, v, small, qq, kk, vv, mine, ref]);
  });

  exercise("4.4 layerNorm", {
    points: 2,
    hint: "LayerNorm 在最后一维上求均值和方差(有偏方差),eps 加在方差上再开方,最后乘 gamma 加 beta",
    code: "const { mean, variance } = tf.moments(x, -1, true);然后 (x - mean) / sqrt(variance + eps) * gamma + beta",
    libraryTwins: ["layerNorm", "LayerNorm"],
  }, () => {
    const x = tf.tensor2d([[1, 2, 3, 6]]);
    const y = ex().layerNorm(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D).dataSync();
    // x = [1, 2, 3, 6]: mean 3, variance 14/4 = 3.5 (dividing by D), or 14/3 (dividing by D − 1).
    assert.ok(Math.abs(y[3] - 3 / Math.sqrt(14 / 3 + 1e-5)) > 1e-4, `y[3] = ${y[3]} = 3 / √(14/3): you divided by D − 1; LayerNorm uses the plain (biased) variance, dividing by D`);
    assert.ok(Math.abs(y[3] - 3) > 1e-4, "y[3] = 3: the values were centred but not divided by the standard deviation");
    [-2, -1, 0, 3].forEach((c, i) => assert.ok(Math.abs(y[i] - c / Math.sqrt(3.5 + 1e-5)) < 1e-5, `y[${i}] = ${y[i]}, expected ${c / Math.sqrt(3.5 + 1e-5)}`));
    const big = tf.randomNormal([2, 3, 8], 2, 3, "float32", 4);
    const gamma = tf.randomNormal([8], 1, 0.5, "float32", 5) as tf.Tensor1D;
    const beta = tf.randomNormal([8], 0, 0.5, "float32", 6) as tf.Tensor1D;
    for (const eps of [1e-5, 0.1]) {
      const mine = noLeak(() => ex().layerNorm(big, gamma, beta, eps));
      const ref = libLayerNorm(big, gamma, beta, eps);
      assert.ok(maxDiff(mine, ref) < 1e-4, `eps ${eps}: differs from the reference by ${maxDiff(mine, ref)}`);
      tf.dispose([mine, ref]);
    }
    tf.dispose([x, big, gamma, beta]);
  });

  exercise("4.5 countParameters", {
    points: 2,
    hint: "逐项数:两张嵌入表、每层的两个 LayerNorm 和四个线性层(bias 可能没有)、最后的 ln_f,输出层是否与 wte 共享",
    code: "wte V·D + wpe P·D + 每层 (2 个 LayerNorm + c_attn D·3D+3D + c_proj D·D+D + c_fc D·4D+4D + c_proj 4D·D+D) × nLayer + ln_f;不共享输出层时再加 V·D",
    libraryTwins: ["GPT", "parameterCounts", "modelTensors", "Block"],
  }, () => {
    assert.strictEqual(ex().countParameters(gptConfig()), 124_439_808, "GPT-2 small has 124,439,808 parameters");
    for (const overrides of [
      { vocabSize: 97, blockSize: 32, nLayer: 2, nHead: 4, nEmbd: 48 },
      { vocabSize: 50, blockSize: 8, nLayer: 3, nHead: 2, nEmbd: 16, bias: false },
      { vocabSize: 64, blockSize: 16, nLayer: 1, nHead: 1, nEmbd: 8, tieEmbeddings: false },
    ]) {
      const model = new GPT(gptConfig(overrides));
      try {
        assert.strictEqual(ex().countParameters(model.config), model.numParameters(), `config ${JSON.stringify(overrides)}`);
      } finally {
        model.dispose();
      }
    }
  });
});
