import * as assert from "assert";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/03-embedding")>("03-embedding");

/** Asserts two nested number arrays are equal within `tol`, saying where they first differ. */
function close(actual: unknown, expected: number[] | number[][], tol = 1e-6, what = "result"): void {
  const a = actual as number[] | number[][];
  assert.ok(Array.isArray(a), `${what} must be an array`);
  assert.strictEqual(a.length, expected.length, `${what} has length ${a.length}, expected ${expected.length}`);
  expected.forEach((e, i) => {
    if (Array.isArray(e)) return close(a[i], e, tol, `${what}[${i}]`);
    const v = a[i] as number;
    assert.ok(typeof v === "number" && Math.abs(v - e) <= tol, `${what}[${i}] = ${v}, expected ${e}`);
  });
}

describe("chapter 03 — 嵌入层、Dropout、位置编码", () => {
  exercise("3.1 embeddingLookup", {
    points: 1,
    hint: "查表就是按 id 取一行;返回的要是副本;越界、负数、小数 id 都要报错",
    code: "对 ids 里的每个 id 取 table[id],并用 [...row] 复制一份;id 越界时 throw new Error(...)",
    libraryTwins: ["TokenEmbedding"],
  }, () => {
    const table = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]];
    const out = ex().embeddingLookup(table, [2, 0, 2]);
    close(out, [[0.5, 0.6], [0.1, 0.2], [0.5, 0.6]]);
    out[0][0] = 99;
    assert.strictEqual(table[2][0], 0.5, "the result must be a copy: changing it changed the table");
    assert.deepStrictEqual(ex().embeddingLookup(table, []), []);
    for (const bad of [3, -1, 1.5]) assert.throws(() => ex().embeddingLookup(table, [bad]), Error, `id ${bad} must be rejected`);
  });

  exercise("3.2 applyDropout", {
    points: 1,
    hint: "inverted dropout:保留下来的值要放大 1/(1−rate),这样期望值不变",
    code: "保留的位置返回 x[i] / (1 - rate),其余返回 0;rate = 0 时结果应与输入相同",
    libraryTwins: ["dropout", "withDropout"],
  }, () => {
    const first = ex().applyDropout([1, 2, 3, 4], [true, false, true, false], 0.5);
    // What a kept 1 became at rate 0.5 tells which idea is missing.
    assert.ok(first[0] !== 1, "the kept values came out unchanged (1, not 2): inverted dropout divides what it keeps by 1 − rate, so the expected value stays the same");
    assert.ok(first[0] !== 0.5, "the kept values were multiplied by 1 − rate (1 became 0.5): divide by it instead");
    close(first, [2, 0, 6, 0]);
    close(ex().applyDropout([1, -2, 3], [true, true, false], 0.25), [4 / 3, -8 / 3, 0]);
    close(ex().applyDropout([5, 6], [true, true], 0), [5, 6]);
    // The expected value is preserved: over many positions the mean stays about the same.
    const x = Array.from({ length: 20000 }, (_, i) => (i % 7) - 3 + 0.5);
    const keep = x.map((_, i) => ((i * 2654435761) >>> 0) % 10 >= 3); // keeps 70 %
    const y = ex().applyDropout(x, keep, 0.3);
    const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
    assert.ok(Math.abs(mean(y) - mean(x)) < 0.05, `mean after dropout ${mean(y)} should stay near ${mean(x)}`);
  });

  exercise("3.3 sinusoidalTable", {
    points: 2,
    hint: "频率随维度下标 i 变化:10000^(2i/nEmbd);偶数列 sin,奇数列 cos。复习「正弦位置编码」",
    code: "两层循环:pos 从 0 到 positions-1,i 从 0 到 nEmbd/2-1;angle = pos / Math.pow(10000, 2*i/nEmbd),偶数列放 sin,奇数列放 cos",
    libraryTwins: ["sinusoidalTable", "sinusoidalValues", "SinusoidalPositions"],
  }, () => {
    close(ex().sinusoidalTable(2, 4), [[0, 1, 0, 1], [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)]]);
    const t = ex().sinusoidalTable(50, 16);
    assert.strictEqual(t.length, 50);
    assert.strictEqual(t[49].length, 16);
    const w = Math.pow(10000, 6 / 16);
    close(t[37].slice(6, 8), [Math.sin(37 / w), Math.cos(37 / w)]);
    // Every row has sin² + cos² = 1 for each pair.
    for (const row of [t[0], t[13], t[49]]) for (let i = 0; i < 8; i++) assert.ok(Math.abs(row[2 * i] ** 2 + row[2 * i + 1] ** 2 - 1) < 1e-9);
  });

  exercise("3.4 rope", {
    points: 2,
    hint: "RoPE 把第 j 维和第 j+half 维配成一对做旋转,角度 pos·base^(−2j/d)。base 也是参数,别写死 10000",
    code: "half = x.length/2;对每个 j < half,θ = pos * Math.pow(base, -2*j/x.length),用 x[j] 和 x[j+half] 做二维旋转",
    libraryTwins: ["RotaryEmbedding"],
  }, () => {
    close(ex().rope([1, 0], 0), [1, 0]);
    close(ex().rope([1, 0], 1), [Math.cos(1), Math.sin(1)]);
    const q = [0.3, -1.2, 0.7, 2.0, -0.5, 0.1];
    const th = (pos: number, j: number) => pos * Math.pow(10000, (-2 * j) / 6);
    const expected = [0, 1, 2].flatMap((j) => [[q[j] * Math.cos(th(5, j)) - q[j + 3] * Math.sin(th(5, j)), q[j] * Math.sin(th(5, j)) + q[j + 3] * Math.cos(th(5, j))]]);
    const got = ex().rope(q, 5);
    close([got[0], got[3], got[1], got[4], got[2], got[5]], expected.flat());
    // Rotations keep length, and the score depends only on the distance: q(7)·k(4) = q(3)·k(0).
    const k = [1.1, 0.4, -0.9, 0.2, 0.8, -1.5];
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
    assert.ok(Math.abs(dot(ex().rope(q, 7), ex().rope(k, 4)) - dot(ex().rope(q, 3), ex().rope(k, 0))) < 1e-9);
    close(ex().rope([3, 4], 2, 100), [3 * Math.cos(2) - 4 * Math.sin(2), 3 * Math.sin(2) + 4 * Math.cos(2)]);
    // base only matters from the second pair on (j = 0 always turns by pos): a head of 6 with base 100.
    const thb = (j: number) => 5 * Math.pow(100, (-2 * j) / 6);
    const withBase = ex().rope(q, 5, 100);
    [0, 1, 2].forEach((j) => close([withBase[j], withBase[j + 3]], [q[j] * Math.cos(thb(j)) - q[j + 3] * Math.sin(thb(j)), q[j] * Math.sin(thb(j)) + q[j + 3] * Math.cos(thb(j))], 1e-6, `rope(q, 5, base 100): pair ${j}`));
  });
});
