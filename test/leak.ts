/**
 * Tensor leak checks, the way tfjs's own tests do them: run the code once to warm up (kernels compile, caches
 * and lazily created tensors appear), count `tf.memory().numTensors`, run it again, and require the count to be
 * exactly what it was. A notebook kernel lives for hours; one leaked tensor per step is enough to kill it.
 *
 *   await expectNoLeak(() => { model.forward(ids).dispose(); }, "forward");
 */
import * as assert from "assert";
import { tf } from "tiaoyu";

/** Asserts that the second run of `fn` leaves the number of live tensors unchanged. */
export async function expectNoLeak(fn: () => void | Promise<void>, what = "the function"): Promise<void> {
  await fn(); // warm-up
  const before = tf.memory().numTensors;
  await fn();
  const after = tf.memory().numTensors;
  assert.strictEqual(after - before, 0, `${what} leaked ${after - before} tensor(s) (${before} → ${after})`);
}
