import * as assert from "assert";
import { ADAMW_DEFAULTS, AdamW, clipByGlobalNorm, learningRate, softmax, tf, topK, topP } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/05-pretrain")>("05-pretrain");

/** Runs `fn` and checks that only the `expected` tensors it returns are still alive afterwards. */
function owned<T>(fn: () => T, expected: number): T {
  const before = tf.memory().numTensors;
  const out = fn();
  const made = tf.memory().numTensors - before;
  assert.strictEqual(made, expected, `${made} new tensors are alive after the call, expected ${expected} (the results): intermediate tensors leak — remember tf.tidy`);
  return out;
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.strictEqual(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    assert.ok(d <= tol * Math.max(1, Math.abs(want[i])), `${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

describe("chapter 05 — 模型预训练", () => {
  exercise("5.1 scheduledLr", {
    points: 2,
    hint: "对照学习率曲线的三段检查:预热是否从 maxLr/warmupSteps 起步并在第 warmupSteps 步正好到达峰值;余弦的进度是否只在预热之后的那段步数里从 0 走到 1;终点是否停在 minLr 而不是 0。",
    code: "if (step <= warmupSteps) return maxLr · step / warmupSteps; if (step >= decaySteps) return minLr; progress = (step − warmupSteps) / (decaySteps − warmupSteps); return minLr + 0.5 · (1 + cos(π · progress)) · (maxLr − minLr).",
    libraryTwins: ["learningRate"],
  }, () => {
    const s = { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, decaySteps: 110 };
    const want: [number, number][] = [[1, 1e-4], [5, 5e-4], [10, 1e-3], [60, 5.5e-4], [110, 1e-4], [200, 1e-4]];
    for (const [step, lr] of want) {
      const got = ex().scheduledLr(step, s);
      assert.ok(Math.abs(got - lr) < 1e-12, `step ${step}: got ${got}, expected ${lr}${step <= 10 ? " (warm-up)" : step >= 110 ? " (after the decay: the floor)" : " (cosine)"}`);
    }
    for (const c of [
      { maxLr: 3e-3, minLr: 3e-4, warmupSteps: 20, decaySteps: 200 },
      { maxLr: 1, minLr: 0.2, warmupSteps: 0, decaySteps: 50 },
      { maxLr: 0.5, minLr: 0.5, warmupSteps: 3, decaySteps: 9 },
      { maxLr: 2, minLr: 0, warmupSteps: 7, decaySteps: 7 },
    ]) {
      for (let step = 1; step <= c.decaySteps + 5; step++) {
        const got = ex().scheduledLr(step, c), ref = learningRate(step, c);
        assert.ok(Math.abs(got - ref) < 1e-12 * Math.max(1, ref), `${JSON.stringify(c)}, step ${step}: got ${got}, expected ${ref}`);
      }
    }
  });

  exercise("5.2 clipGlobalNorm", {
    points: 2,
    hint: "全局范数是把所有梯度张量的所有元素放在一起算的一个数,所有张量乘以同一个因子;范数不超过上限时梯度不变。检查返回的 norm 是裁剪之前的,以及中间张量有没有释放。",
    code: "norm = √(Σ over every tensor of tf.sum(tf.square(g))); factor = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1; return { grads: tf.tidy(() => grads.map((g) => tf.mul(g, factor))), norm }.",
    libraryTwins: ["clipByGlobalNorm", "globalNorm", "clipFactor"],
  }, () => {
    const a = tf.tensor([3]), b = tf.tensor([[0, 4]]);
    const out = owned(() => ex().clipGlobalNorm([a, b], 1), 2);
    assert.ok(Math.abs(out.norm - 5) < 1e-4, `norm: got ${out.norm}, expected 5 (√(3² + 4²) over both tensors)`);
    assert.strictEqual(out.grads.length, 2, "one clipped gradient per input");
    assert.deepStrictEqual(out.grads.map((g) => g.shape), [[1], [1, 2]], "the clipped gradients keep their shapes");
    close(out.grads[0].dataSync(), [0.6], 1e-4, "first gradient (3 × 1/5)");
    close(out.grads[1].dataSync(), [0, 0.8], 1e-4, "second gradient (4 × 1/5)");
    tf.dispose([a, b, ...out.grads]);

    const small = [tf.tensor([0.3, 0.4]), tf.tensor([[0.1], [-0.2]])];
    const kept = owned(() => ex().clipGlobalNorm(small, 1), 2);
    close([kept.norm], [Math.sqrt(0.3)], 1e-5, "norm below the limit");
    close(kept.grads[0].dataSync(), [0.3, 0.4], 1e-6, "a gradient within the limit is unchanged");
    close(kept.grads[1].dataSync(), [0.1, -0.2], 1e-6, "a gradient within the limit is unchanged");
    tf.dispose([...small, ...kept.grads]);

    const many = [[4, 7], [3], [2, 2, 3]].map((shape, i) => tf.randomNormal(shape, 0, 2, "float32", 50 + i));
    for (const maxNorm of [0.5, 3, 1e6]) {
      const mine = owned(() => ex().clipGlobalNorm(many, maxNorm), 3);
      const ref = clipByGlobalNorm(many, maxNorm);
      close([mine.norm], [ref.norm], 1e-4, `maxNorm ${maxNorm}: norm`);
      mine.grads.forEach((g, i) => close(g.dataSync(), ref.grads[i].dataSync(), 1e-4, `maxNorm ${maxNorm}: gradient ${i}`));
      tf.dispose([...mine.grads, ...ref.grads]);
    }
    tf.dispose(many);
  });

  exercise("5.3 adamwUpdate", {
    points: 3,
    hint: "逐行对照 AdamW 的公式:一阶矩、二阶矩的滑动平均;按更新序号 t 的偏差修正;ε 加在开方之后;权重衰减直接缩小更新前的权重,而不是加进梯度。",
    code: "inside tf.tidy: m2 = β1·m + (1−β1)·g; v2 = β2·v + (1−β2)·g²; mHat = m2 / (1 − β1^t); vHat = v2 / (1 − β2^t); w2 = w·(1 − lr·λ) − lr · mHat / (√vHat + ε); return { w: w2, m: m2, v: v2 }.",
    libraryTwins: ["AdamW"],
  }, () => {
    const h = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const [w, g, z] = [tf.tensor([1]), tf.tensor([0.5]), tf.tensor([0])];
    const one = owned(() => ex().adamwUpdate(w, g, z, z, 1, 0.1, h), 3);
    close(one.m.dataSync(), [0.05], 1e-5, "m after one step");
    close(one.v.dataSync(), [0.0125], 1e-5, "v after one step");
    close(one.w.dataSync(), [0.89], 1e-5, "w after one step");
    assert.ok(!w.isDisposed && !g.isDisposed, "the inputs belong to the caller: do not dispose them");
    tf.dispose([w, g, z, one.w, one.m, one.v]);

    // Several steps against the library's AdamW, with settings under which every term of the update matters
    // (a large lr·λ, a large ε, gradients that change sign and size).
    const cases = [
      { h: { ...ADAMW_DEFAULTS }, lrs: [1e-3, 3e-3, 2e-3, 1e-3] },
      { h: { beta1: 0.8, beta2: 0.9, eps: 0.05, weightDecay: 0.5 }, lrs: [0.5, 0.2, 0.4] },
      { h: { beta1: 0.5, beta2: 0.99, eps: 1e-6, weightDecay: 0 }, lrs: [0.1, 0.1, 0.05] },
    ];
    cases.forEach(({ h: hyper, lrs }, c) => {
      const init = tf.randomNormal([3, 4], 0, 1, "float32", 70 + c);
      const ref = tf.variable(init.clone(), true, `ex53_ref_${c}_${Date.now()}`);
      const opt = new AdamW(new Map([["h.0.mlp.c_fc.weight", ref]]), hyper);
      let w: tf.Tensor = init.clone(), m: tf.Tensor = tf.zerosLike(init), v: tf.Tensor = tf.zerosLike(init);
      lrs.forEach((lr, i) => {
        const grad = tf.randomNormal([3, 4], i % 2 ? -0.5 : 0.3, 1 + i, "float32", 90 + 10 * c + i);
        const next = owned(() => ex().adamwUpdate(w, grad, m, v, i + 1, lr, hyper), 3);
        opt.apply({ "h.0.mlp.c_fc.weight": grad }, lr);
        close(next.w.dataSync(), ref.dataSync(), 2e-4, `case ${c}, step ${i + 1}: w`);
        tf.dispose([w, m, v, grad]);
        ({ w, m, v } = next);
      });
      tf.dispose([init, w, m, v, ref]);
      opt.dispose();
    });
  });

  const LOGITS = [0, Math.log(5), Math.log(1.5), Math.log(2.5)]; // softmax → [0.1, 0.5, 0.15, 0.25]

  exercise("5.4 topKFromLogits", {
    points: 2,
    hint: "先把 logits 变成概率(softmax),再只留概率最大的 k 个并重新归一化;检查排序方向、k 个是否正好 k 个、并列时下标小的优先,以及很大的 logits 会不会让 exp 溢出。",
    code: "p = exp(logits − max) / Σ; order = indices sorted by p descending, ties by index; keep the first k; set the rest to 0 and divide by the kept sum.",
    libraryTwins: ["topK", "softmax", "nextTokenDistribution"],
  }, () => {
    close(ex().topKFromLogits(LOGITS, 2), [0, 2 / 3, 0, 1 / 3], 1e-9, "k = 2 on [0.1, 0.5, 0.15, 0.25]");
    close(ex().topKFromLogits(LOGITS, 1), [0, 1, 0, 0], 1e-9, "k = 1 keeps only the most probable token");
    close(ex().topKFromLogits(LOGITS, 4), [0.1, 0.5, 0.15, 0.25], 1e-9, "k = vocabulary size keeps the whole softmax");
    close(ex().topKFromLogits([1, 2, 2, 0], 1), [0, 1, 0, 0], 1e-9, "a tie: the smaller index wins");
    close(ex().topKFromLogits([1000, 999, 998], 2), Array.from(topK(softmax([1000, 999, 998]), 2)), 1e-9, "large logits (exp overflows unless the maximum is subtracted)");
    const big = Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7) * 3);
    for (const k of [3, 10, 49]) close(ex().topKFromLogits(big, k), Array.from(topK(softmax(big), k)), 1e-9, `50 logits, k = ${k}`);
  });

  exercise("5.5 topPFromLogits", {
    points: 3,
    hint: "回想核采样的定义:按概率从大到小累加,直到累计概率达到 p;让累计和越过 p 的那个 token 也属于候选集合。检查是否先做了 softmax、是否重新归一化、p 很大或很小时的边界。",
    code: "probs = softmax(logits) (minus the max); walk the indices by probability, largest first: push i, mass += probs[i], stop once mass ≥ p; zero the rest and divide by the kept sum.",
    libraryTwins: ["topP", "softmax", "nextTokenDistribution"],
  }, () => {
    close(ex().topPFromLogits(LOGITS, 0.7), [0, 0.5 / 0.75, 0, 0.25 / 0.75], 1e-9, "p = 0.7: 0.5 + 0.25 crosses it");
    close(ex().topPFromLogits(LOGITS, 0.8), [0, 0.5 / 0.9, 0.15 / 0.9, 0.25 / 0.9], 1e-9, "p = 0.8: 0.15 is needed too");
    close(ex().topPFromLogits(LOGITS, 0.3), [0, 1, 0, 0], 1e-9, "p below the top probability keeps the top token alone");
    close(ex().topPFromLogits(LOGITS, 0.75), [0, 0.5 / 0.75, 0, 0.25 / 0.75], 1e-9, "p = 0.75: reaching p exactly is enough");
    close(ex().topPFromLogits(LOGITS, 1), [0.1, 0.5, 0.15, 0.25], 1e-9, "p = 1 keeps every token");
    close(ex().topPFromLogits([3, 3, 0], 0.4), Array.from(topP(softmax([3, 3, 0]), 0.4)), 1e-9, "a tie: the smaller index comes first");
    const big = Array.from({ length: 50 }, (_, i) => Math.cos(i * 0.9) * 4 + 500);
    for (const p of [0.1, 0.5, 0.9, 0.99]) close(ex().topPFromLogits(big, p), Array.from(topP(softmax(big), p)), 1e-9, `50 logits, p = ${p}`);
  });
});
