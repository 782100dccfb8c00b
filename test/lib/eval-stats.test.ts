/**
 * The statistics of the course's tables (lib/eval/stats.ts): Wilson's interval against hand-computed values, its
 * edges, the "no difference" rule and the majority base rate.
 */
import * as assert from "assert";
import { clearlyDifferent, formatRate, majorityBaseline, rateOf, wilson } from "tiaoyu";

const close = (a: number, b: number, tol = 5e-4) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

describe("eval statistics", () => {
  it("gives Wilson's 95% interval (hand-computed: 90/300 → [0.2510, 0.3541], 0/10 → [0, 0.2775])", () => {
    const r = wilson(90, 300);
    close(r.rate, 0.3);
    close(r.low, 0.251);
    close(r.high, 0.3541);
    const z = wilson(0, 10);
    assert.strictEqual(z.low, 0);
    close(z.high, 0.2775);
    const all = wilson(10, 10);
    assert.strictEqual(all.high, 1);
    close(all.low, 1 - 0.2775);
  });

  it("narrows as n grows and always contains the rate", () => {
    let width = Infinity;
    for (const n of [10, 100, 1000, 10000]) {
      const r = wilson(Math.round(n * 0.37), n);
      assert.ok(r.low <= r.rate && r.rate <= r.high);
      assert.ok(r.high - r.low < width, `n=${n}`);
      width = r.high - r.low;
    }
  });

  it("rejects counts that are not counts, naming the value", () => {
    assert.throws(() => wilson(5, 3), /k must be .*got 5/);
    assert.throws(() => wilson(-1, 3), /got -1/);
    assert.throws(() => wilson(1.5, 3), /got 1.5/);
    assert.throws(() => wilson(0, -2), /n must be .*got -2/);
  });

  it("calls overlapping intervals no difference", () => {
    assert.strictEqual(clearlyDifferent(wilson(30, 100), wilson(36, 100)), false);
    assert.strictEqual(clearlyDifferent(wilson(30, 300), wilson(150, 300)), true);
  });

  it("gives the majority answer's base rate, and formats a rate as a table cell", () => {
    const b = majorityBaseline(["平", "仄", "平", "平"]);
    assert.strictEqual(b.answer, "平");
    assert.strictEqual(b.k, 3);
    assert.strictEqual(b.n, 4);
    assert.strictEqual(majorityBaseline([]).answer, null);
    assert.strictEqual(rateOf([true, false, true, true]).k, 3);
    assert.strictEqual(formatRate(wilson(90, 300)), "30.0% [25.1–35.4]");
    assert.strictEqual(formatRate(wilson(90, 300), { withN: true }), "30.0% [25.1–35.4] n=300");
  });
});
