import * as assert from "assert";
import { loraParameterCount, tf } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/08-lora")>("08-lora");

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

const rand = (shape: [number, number], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed) as tf.Tensor2D;

describe("chapter 08 — LoRA微调", () => {
  exercise("8.1 loraCounts", {
    points: 1,
    hint: "LoRA 只训练 A(in×r)和 B(r×out)两块",
    code: "full = in·out;lora = in·r + r·out;ratio = lora / full",
    libraryTwins: ["loraParameterCount"],
  }, () => {
    assert.deepStrictEqual(ex().loraCounts(1024, 512, 8), { full: 524288, lora: 12288, ratio: 12288 / 524288 });
    for (const [i, o, r] of [[128, 384, 4], [768, 768, 16], [3, 5, 1]]) {
      const c = ex().loraCounts(i, o, r);
      assert.strictEqual(c.lora, loraParameterCount(i, o, r), `${i}×${o}, r=${r}`);
      assert.strictEqual(c.full, i * o);
    }
  });

  exercise("8.2 loraForward", {
    points: 2,
    hint: "缩放系数是 alpha / r,r 是 A 的列数;先算 x·A 再乘 B",
    code: "tf.tidy(() => tf.add(tf.matMul(x, w), tf.mul(tf.matMul(tf.matMul(x, a), b), alpha / a.shape[1])))",
    libraryTwins: ["LoraLinear", "LoraAdapter", "applyLora"],
  }, () => {
    const x = rand([5, 6], 1), w = rand([6, 4], 2), a = rand([6, 2], 3), b = rand([2, 4], 4);
    const got = noLeak(() => ex().loraForward(x, w, a, b, 8));
    const want = tf.tidy(() => tf.add(tf.matMul(x, w), tf.mul(tf.matMul(x, tf.matMul(a, b)), 4)));
    assert.ok(maxDiff(got, want) < 1e-4, "x·W + (alpha/r)·x·A·B with r = A's columns");
    const zero = tf.zeros([2, 4]) as tf.Tensor2D;
    const base = ex().loraForward(x, w, a, zero, 8);
    const xw = tf.matMul(x, w);
    assert.ok(maxDiff(base, xw) < 1e-6, "with B = 0 the layer is the base layer");
    tf.dispose([x, w, a, b, got, want, zero, base, xw]);
  });

  exercise("8.3 mergeLora", {
    points: 2,
    hint: "合并后的权重是 W 加上缩放过的 A·B(缩放系数 alpha / r)",
    code: "tf.tidy(() => tf.add(w, tf.mul(tf.matMul(a, b), alpha / a.shape[1])))",
    libraryTwins: ["LoraLinear", "LoraAdapter", "applyLora"],
  }, () => {
    const small = ex().mergeLora(tf.tensor2d([[1, 0], [0, 1]]), tf.tensor2d([[1], [0]]), tf.tensor2d([[2, 3]]), 1);
    assert.deepStrictEqual(small.arraySync(), [[3, 3], [0, 1]]);
    const x = rand([5, 6], 5), w = rand([6, 4], 6), a = rand([6, 3], 7), b = rand([3, 4], 8);
    const merged = noLeak(() => ex().mergeLora(w, a, b, 6));
    // The merged layer computes what the unmerged adapter does.
    const viaMerged = tf.matMul(x, merged);
    const viaAdapter = tf.tidy(() => tf.add(tf.matMul(x, w), tf.mul(tf.matMul(tf.matMul(x, a), b), 2)));
    assert.ok(maxDiff(viaMerged, viaAdapter) < 1e-4);
    tf.dispose([small, x, w, a, b, merged, viaMerged, viaAdapter]);
  });

  exercise("8.4 unmergeLora", {
    points: 1,
    hint: "拆分是合并的逆运算,缩放系数和合并时一样",
    code: "和 8.3 一样,只是把 tf.add 换成 tf.sub",
    libraryTwins: ["LoraLinear", "LoraAdapter"],
  }, () => {
    const w = rand([6, 4], 9), a = rand([6, 3], 10), b = rand([3, 4], 11);
    const merged = tf.tidy(() => tf.add(w, tf.mul(tf.matMul(a, b), 2)) as tf.Tensor2D);
    const back = noLeak(() => ex().unmergeLora(merged, a, b, 6));
    assert.ok(maxDiff(back, w) < 1e-5, "unmerge gives the base weight back");
    assert.ok(maxDiff(merged, w) > 1e-2, "(the test's adapter does change W)");
    tf.dispose([w, a, b, merged, back]);
  });

  exercise("8.5 loraSgdStep", {
    points: 3,
    hint: "LoRA 微调只训练 A 和 B,基座权重 W 冻结:求梯度时只对 A、B 求,只更新 A、B;损失是更新之前的值。想一想 B = 0 时 A 的梯度为什么是 0",
    code: "const { value, grads } = tf.variableGrads(() => 均方误差, [a, b]);a.assign(tf.sub(a, tf.mul(grads[a.name], lr))),b 同理;读出 value 的数值后 dispose value 和 grads",
    libraryTwins: ["LoraLinear", "LoraAdapter", "applyLora", "AdamW", "train"],
  }, () => {
    const x = rand([5, 6], 21), y = rand([5, 4], 22);
    // W is a *trainable* variable on purpose: only the varList given to the gradient keeps it frozen.
    const w = tf.variable(rand([6, 4], 23), true);
    const a = tf.variable(rand([6, 2], 24), true);
    const b = tf.variable(tf.zeros([2, 4]), true);
    const alpha = 4, lr = 0.1;
    const [w0, a0] = [w.arraySync(), a.arraySync()];
    // The grader's own step, on copies, computed before and outside the learner's call.
    const ref = { a: tf.variable(a.clone(), true), b: tf.variable(b.clone(), true) };
    const refStep = (): number => {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
        const pred = tf.add(tf.matMul(x, w), tf.mul(tf.matMul(tf.matMul(x, ref.a), ref.b), alpha / 2));
        return tf.mean(tf.square(tf.sub(pred, y))) as tf.Scalar;
      }), [ref.a, ref.b]);
      tf.tidy(() => {
        ref.a.assign(tf.sub(ref.a, tf.mul(grads[ref.a.name], lr)));
        ref.b.assign(tf.sub(ref.b, tf.mul(grads[ref.b.name], lr)));
      });
      const v = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return v;
    };
    try {
      const want1 = refStep();
      const loss1 = ex().loraSgdStep(x, y, w, a, b, alpha, lr);
      assert.strictEqual(typeof loss1, "number", "return the loss as a plain number (read it with dataSync()[0] or await data())");
      assert.ok(Math.abs(loss1 - want1) < 1e-4, `the first loss is ${loss1}, expected ${want1} (the loss before the step; with B = 0 it is the base model's)`);
      assert.deepStrictEqual(w.arraySync(), w0, "W changed: the base weights must stay frozen (take gradients for A and B only)");
      assert.deepStrictEqual(a.arraySync(), a0, "A changed in the first step: with B = 0 the gradient of A is zero, so only B may move");
      assert.ok(maxDiff(b, ref.b) < 1e-5, `B after one step differs from B − lr·∂loss/∂B by ${maxDiff(b, ref.b)}`);
      const before = tf.memory().numTensors;
      let loss = loss1;
      for (let i = 0; i < 3; i++) {
        const want = refStep();
        loss = ex().loraSgdStep(x, y, w, a, b, alpha, lr);
        assert.ok(Math.abs(loss - want) < 1e-4, `step ${i + 2}: loss ${loss}, expected ${want}`);
      }
      assert.strictEqual(tf.memory().numTensors, before, `${tf.memory().numTensors - before} tensors left alive after three steps: dispose the loss and the gradients`);
      assert.ok(maxDiff(a, ref.a) < 1e-4 && maxDiff(b, ref.b) < 1e-4, "after four steps A and B differ from gradient descent on them");
      const start = tf.tensor(a0);
      const moved = maxDiff(a, start);
      start.dispose();
      assert.ok(moved > 1e-4, "A never moved: once B is not 0, A gets a gradient too");
      assert.ok(loss < loss1, `the loss should fall: ${loss1} → ${loss}`);
      assert.deepStrictEqual(w.arraySync(), w0, "W changed: the base weights must stay frozen");
    } finally {
      tf.dispose([x, y, w, a, b, ref.a, ref.b]);
    }
  });
});
