/**
 * Tests of our native kernels need the addon (lib/native/, built by `npm install` when a C compiler and OpenBLAS
 * are there). On a learner's machine without it they skip; in CI (CI=true, set by .ci/run, which installs the
 * compiler and OpenBLAS) a missing addon is a failure, so the native tests can never pass by silently not running.
 * TIAOYU_NATIVE=0 turns the addon off on purpose (the "kernels off" test run): then they skip everywhere.
 */
import { nativeKernels, nativeStatus } from "tiaoyu/dist/lib/kernels/native";

/** What a native-kernel test does: run, skip, or fail with the reason (a pure function of the environment). */
export function nativeTestMode(env: NodeJS.ProcessEnv, loaded: boolean, status: string): "run" | "skip" | Error {
  if (loaded) return "run";
  if (env.TIAOYU_NATIVE === "0") return "skip";
  if (env.CI === "true") {
    return new Error(`CI=true but the native addon is not loaded (${status}): CI must build it (node lib/native/build.js); set TIAOYU_NATIVE=0 to test without it on purpose`);
  }
  return "skip";
}

/** In a mocha before/it: returns when the addon is loaded, skips without it, throws in CI without it. */
export function requireNative(ctx: Mocha.Context): void {
  const mode = nativeTestMode(process.env, nativeKernels() !== null, nativeStatus());
  if (mode instanceof Error) throw mode;
  if (mode === "skip") ctx.skip();
}
