/** The rule of test/native.ts: native-kernel tests skip on a machine without the addon, but fail in CI. */
import * as assert from "assert";
import { nativeKernels, nativeStatus } from "tiaoyu/dist/lib/kernels/native";
import { nativeTestMode } from "../native";

describe("native kernels in CI", () => {
  it("without the addon: skip on a learner's machine, fail in CI, skip when turned off on purpose", () => {
    assert.strictEqual(nativeTestMode({}, true, "OpenBLAS, 2 threads"), "run");
    assert.strictEqual(nativeTestMode({ CI: "true" }, true, "OpenBLAS, 2 threads"), "run");
    assert.strictEqual(nativeTestMode({}, false, "not built"), "skip");
    assert.strictEqual(nativeTestMode({ CI: "true", TIAOYU_NATIVE: "0" }, false, "turned off by TIAOYU_NATIVE=0"), "skip");
    const e = nativeTestMode({ CI: "true" }, false, "not built (npm install builds it …)");
    assert.ok(e instanceof Error && /CI=true but the native addon is not loaded \(not built/.test(e.message), String(e));
  });

  it("in CI the addon is built and loaded (unless TIAOYU_NATIVE=0)", function () {
    if (process.env.CI !== "true" || process.env.TIAOYU_NATIVE === "0") this.skip();
    assert.ok(nativeKernels(), `native addon: ${nativeStatus()}`);
  });
});
