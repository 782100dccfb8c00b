/**
 * A describe block whose tests run on one backend: `onBackend("wasm", { native: true })` inside it switches to that
 * backend before its tests and back to the previous one after them. Both switches go through initBackend, so
 * currentBackend() always names the backend that runs. wasm and cpu are dependencies of the package: a failure to
 * start one is an error, not a skip.
 *
 * `native`: the tests need our native addon (requireNative: they skip without it, and fail in CI without it).
 * `setUp` / `tearDown`: run after the switch and before the switch back (e.g. pauseNative, a kernel group's toggle).
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "tiaoyu";
import { requireNative } from "./native";

export interface OnBackendOptions {
  readonly native?: boolean;
  readonly setUp?: () => void;
  readonly tearDown?: () => void;
}

export function onBackend(backend: "wasm" | "cpu", options: OnBackendOptions = {}): void {
  let previous = "";
  before(async function () {
    previous = tf.getBackend();
    await initBackend({ force: backend, quiet: true });
    options.setUp?.();
    if (options.native) requireNative(this);
  });
  after(async () => {
    options.tearDown?.();
    if (previous) await initBackend({ force: previous, quiet: true });
  });
}
