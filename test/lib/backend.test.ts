import * as assert from "assert";
import { BACKEND_ORDER, initBackend, tf } from "tiaoyu";

describe("backend", () => {
  it("picks a working backend and explains why faster ones were skipped", async () => {
    const b = await initBackend({ quiet: true });
    assert.strictEqual(tf.getBackend(), b.name);
    const rank = BACKEND_ORDER.indexOf(b.candidate);
    // Every faster candidate must have been tried and explained.
    assert.strictEqual(b.skipped.length, process.env.TIAOYU_BACKEND ? 0 : rank);
    for (const s of b.skipped) assert.match(s, /^[a-z-]+: .+/);
    assert.deepStrictEqual(Array.from(tf.tidy(() => tf.add([1, 2], [3, 4])).dataSync()), [4, 6]);
  });

  it("can be forced to cpu and back", async () => {
    const before = tf.getBackend();
    const c = await initBackend({ force: "cpu", quiet: true });
    assert.strictEqual(c.name, "cpu");
    assert.match(c.summary, /forced/);
    await initBackend({ force: before === "tensorflow" ? "tensorflow" : before, quiet: true });
    assert.strictEqual(tf.getBackend(), before);
  });

  it("rejects an unknown backend name with the accepted names", async () => {
    await assert.rejects(initBackend({ force: "tpu", quiet: true }), /unknown backend 'tpu'.*wasm, cpu/);
  });
});
