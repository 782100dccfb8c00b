import * as assert from "assert";
import { tf } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/00-tfjs")>("00-tfjs");

/** Gradient descent on mean((X·w + b − y)²) from w = 0, b = 0, in float64 plain JavaScript: the reference trajectory. */
function descend(X: number[][], y: number[], steps: number, lr: number): { w: number[]; b: number } {
  const N = X.length, F = X[0].length;
  let w = new Array<number>(F).fill(0), b = 0;
  for (let s = 0; s < steps; s++) {
    const gw = new Array<number>(F).fill(0);
    let gb = 0;
    X.forEach((row, i) => {
      const r = row.reduce((acc, x, j) => acc + x * w[j], b) - y[i];
      row.forEach((x, j) => (gw[j] += (2 * r * x) / N));
      gb += (2 * r) / N;
    });
    w = w.map((wj, j) => wj - lr * gw[j]);
    b -= lr * gb;
  }
  return { w, b };
}

describe("chapter 00 — TensorFlow.js 入门", () => {
  exercise("0.1 standardizeColumns", {
    points: 2,
    hint: "想清楚均值和方差沿哪一维求:每一列(特征)一个均值,算出的形状应能广播回 [N, F];方差用除以 N 的有偏估计;中间张量要在 tf.tidy 里释放。",
    code: "return tf.tidy(() => { const { mean, variance } = tf.moments(x, 0); return tf.div(tf.sub(x, mean), tf.sqrt(variance)); });",
    // tiaoyu has no column standardization: the exercise is about tfjs itself, so there is no library twin to ban.
    libraryTwins: [],
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

  exercise("0.2 fitLinear", {
    points: 3,
    hint: "对照梯度下降的一步:预测是矩阵乘积加上 b,形状要和 y 对得上;损失是所有样本平方误差的平均;两个梯度都用更新前的 w、b 求出;w、b 从 0 开始;每一步产生的张量和最后的变量都要释放。",
    code: "w = tf.variable(tf.zeros([F, 1])), b = tf.variable(tf.scalar(0)); each step inside tf.tidy: const { grads } = tf.variableGrads(() => tf.mean(tf.squaredDifference(tf.add(tf.matMul(X, w).reshape([-1]), b), y)), [w, b]); then w.assign(w − lr·grads[w.name]) and the same for b; at the end read the numbers and tf.dispose the variables.",
    // Plain gradient descent with tfjs: tiaoyu's training loop and AdamW would not give this trajectory at all.
    libraryTwins: [],
  }, () => {
    const one = ex().fitLinear([[1, 2]], [2], 1, 0.5);
    assert.ok(Array.isArray(one.w) && one.w.length === 2, `w should be an array of 2 numbers, got ${JSON.stringify(one.w)}`);
    const okOne = Math.abs(one.w[0] - 2) < 1e-5 && Math.abs(one.w[1] - 4) < 1e-5 && Math.abs(one.b - 2) < 1e-5;
    assert.ok(okOne, `one step on x = [1, 2], y = 2, lr 0.5 from zeros: got ${JSON.stringify(one)}, expected { w: [2, 4], b: 2 }`);
    for (const [X, y, steps, lr] of [
      [[[0, 1], [1, 0], [1, 1], [2, 1]], [3, 2, 4, 5], 300, 0.1],
      [[[-1, 0.5, 2], [0.5, 2, -1], [2, -1, 0.3], [4, 1, 1], [1.5, 0, -2]], [2, 0, -3, -7, -1], 7, 0.03],
      [[[0.2], [0.4], [0.9]], [1, 1.1, 0.7], 40, 0.5],
    ] as [number[][], number[], number, number][]) {
      const got = ex().fitLinear(X, y, steps, lr);
      const want = descend(X, y, steps, lr);
      assert.strictEqual(got.w.length, want.w.length, `w has ${got.w.length} numbers, expected ${want.w.length} (one per feature)`);
      [...want.w, want.b].forEach((v, i) => {
        const g = i < want.w.length ? got.w[i] : got.b;
        const what = i < want.w.length ? `w[${i}]` : "b";
        assert.ok(Math.abs(g - v) < 1e-3 * Math.max(1, Math.abs(v)), `${X.length} samples × ${X[0].length} features, ${steps} steps of lr ${lr}: ${what} = ${g}, expected ${v.toFixed(5)}`);
      });
    }
    const before = tf.memory().numTensors;
    ex().fitLinear([[0, 1], [1, 2], [2, 0]], [1, 2, 3], 20, 0.1);
    const left = tf.memory().numTensors - before;
    assert.strictEqual(left, 0, `fitLinear left ${left} tensors alive after 20 steps: dispose each step's gradients and loss, and the variables at the end`);
  });
});
