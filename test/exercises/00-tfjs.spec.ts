import * as assert from "assert";
import { tf } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/00-tfjs")>("00-tfjs");

/** Gradient descent on mean((w·x + b − y)²) from w = b = 0, in float64 plain JavaScript: the reference trajectory. */
function descend(xs: number[], ys: number[], steps: number, lr: number): { w: number; b: number } {
  let w = 0, b = 0;
  for (let s = 0; s < steps; s++) {
    let gw = 0, gb = 0;
    xs.forEach((x, i) => {
      const r = w * x + b - ys[i];
      gw += (2 * r * x) / xs.length;
      gb += (2 * r) / xs.length;
    });
    w -= lr * gw;
    b -= lr * gb;
  }
  return { w, b };
}

describe("chapter 00 — TensorFlow.js 入门", () => {
  exercise("0.1 standardizeColumns", {
    points: 2,
    hint: "想清楚均值和方差沿哪一维求:每一列(特征)一个均值,算出的形状应能广播回 [N, F];方差用除以 N 的有偏估计;中间张量要在 tf.tidy 里释放。",
  }, () => {
    const x = tf.tensor2d([[1, 10], [3, 30]]);
    const before = tf.memory().numTensors;
    const y = ex().standardizeColumns(x);
    assert.strictEqual(tf.memory().numTensors - before, 1, `${tf.memory().numTensors - before - 1} intermediate tensors are still alive: remember tf.tidy`);
    assert.deepStrictEqual(y.shape, [2, 2], `shape [${y.shape}], expected [2, 2]`);
    const want = [-1, -1, 1, 1];
    y.dataSync().forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `element ${i}: ${v}, expected ${want[i]}`));
    tf.dispose([x, y]);

    const rows = [[1, 2, 0], [2, 4, 1], [3, 9, 0], [10, 1, 1], [0, 0, 5]];
    const big = tf.tensor2d(rows);
    const z = ex().standardizeColumns(big);
    assert.deepStrictEqual(z.shape, [5, 3]);
    const got = z.arraySync() as number[][];
    for (let j = 0; j < 3; j++) {
      const col = rows.map((r) => r[j]);
      const mean = col.reduce((a, b) => a + b, 0) / col.length;
      const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
      col.forEach((v, i) => {
        const want = (v - mean) / std;
        assert.ok(Math.abs(got[i][j] - want) < 1e-4, `row ${i}, column ${j}: ${got[i][j]}, expected ${want.toFixed(5)}`);
      });
    }
    tf.dispose([big, z]);
  });

  exercise("0.2 fitLine", {
    points: 3,
    hint: "对照梯度下降的一步:损失是所有样本平方误差的平均;两个梯度都用更新前的 w、b 求出;w、b 从 0 开始;每一步产生的张量和最后的变量都要释放。",
  }, () => {
    const one = ex().fitLine([1], [2], 1, 0.5);
    assert.ok(Math.abs(one.w - 2) < 1e-5 && Math.abs(one.b - 2) < 1e-5, `one step on x = 1, y = 2, lr 0.5 from w = b = 0: got ${JSON.stringify(one)}, expected { w: 2, b: 2 }`);
    for (const [xs, ys, steps, lr] of [
      [[0, 1, 2, 3], [1, 3, 5, 7], 500, 0.1],
      [[-1, 0.5, 2, 4, 1.5], [2, 0, -3, -7, -1], 7, 0.03],
      [[0.2, 0.4, 0.9], [1, 1.1, 0.7], 40, 0.5],
    ] as [number[], number[], number, number][]) {
      const got = ex().fitLine(xs, ys, steps, lr);
      const want = descend(xs, ys, steps, lr);
      for (const k of ["w", "b"] as const) {
        assert.ok(Math.abs(got[k] - want[k]) < 1e-3 * Math.max(1, Math.abs(want[k])), `x = [${xs}], ${steps} steps of lr ${lr}: ${k} = ${got[k]}, expected ${want[k].toFixed(5)}`);
      }
    }
    const before = tf.memory().numTensors;
    ex().fitLine([0, 1, 2], [1, 2, 3], 20, 0.1);
    const left = tf.memory().numTensors - before;
    assert.strictEqual(left, 0, `fitLine left ${left} tensors alive after 20 steps: dispose each step's gradients and loss, and the variables at the end`);
  });
});
