/**
 * The optional native addon (lib/native/): OpenBLAS matrix products on the wasm heap's memory.
 *
 * `npm install` tries to build it (lib/native/build.js) against the system's OpenBLAS. When that failed, or when
 * `TIAOYU_NATIVE=0` asks us not to use it, every kernel here falls back to WebAssembly: slower, same numbers.
 */
import * as fs from "fs";
import * as path from "path";

export interface NativeKernels {
  /**
   * For each batch i, C_i = op(A_i) · op(B_i) in float32, where A_i, B_i, C_i start at byte offsets
   * offsets[3i], offsets[3i+1], offsets[3i+2] of `heap` and are dense row-major [m, k] (or [k, m] transposed),
   * [k, n] (or [n, k]) and [m, n].
   */
  sgemm(heap: ArrayBufferLike, offsets: Float64Array, m: number, n: number, k: number, transA: boolean, transB: boolean): void;
  /** y[i] = op(x[i]) over n floats at byte offsets xOffset and yOffset of `heap`; ops in lib/native/elementwise.h. */
  unary(heap: ArrayBufferLike, op: number, xOffset: number, yOffset: number, n: number, param: number): void;
  /**
   * One generation step of a GPT through its key/value cache, weights and cache read and written on `heap`
   * (lib/native/decode.c; the layout in tiaoyu_native.c, built by lib/kernels/decode.ts). Absent from older builds.
   */
  decode?(heap: ArrayBufferLike, layout: Float64Array): void;
  /** Sets the thread count of OpenBLAS and of the elementwise kernels (n > 0); returns the count in effect. */
  setThreads(n: number): number;
}

let loaded: NativeKernels | null | undefined;
let reason = "";
let paused = false;

/**
 * Turns the addon off (true) or back on (false) for this process, e.g. to measure or test the fallback route.
 * Returns the previous setting.
 */
export function pauseNative(pause: boolean): boolean {
  const was = paused;
  paused = pause;
  return was;
}

/** Where the build puts the addon, seen from lib/kernels (tsx) and from dist/lib/kernels (compiled). */
function candidates(): string[] {
  const rel = path.join("native", "build", "Release", "tiaoyu_native.node");
  return [path.resolve(__dirname, "..", rel), path.resolve(__dirname, "..", "..", "..", "lib", rel)];
}

/** The addon, or null when it is not built or turned off (see {@link nativeStatus} for why). */
export function nativeKernels(): NativeKernels | null {
  if (paused) return null;
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.TIAOYU_NATIVE === "0") {
    reason = "turned off by TIAOYU_NATIVE=0";
    return loaded;
  }
  const file = candidates().find((f) => fs.existsSync(f));
  if (!file) {
    reason = "not built (npm install builds it when a C compiler and OpenBLAS are present)";
    return loaded;
  }
  try {
    loaded = require(file) as NativeKernels;
    const threads = Number(process.env.TIAOYU_THREADS);
    if (threads > 0) loaded.setThreads(threads);
    reason = `OpenBLAS, ${loaded.setThreads(0)} threads`;
  } catch (e) {
    reason = `failed to load ${file}: ${String((e as Error).message).split("\n")[0]}`;
  }
  return loaded;
}

/** One line for people: "OpenBLAS, 2 threads" or why the native kernels are not in use. */
export function nativeStatus(): string {
  if (paused) return "paused (pauseNative)";
  nativeKernels();
  return reason;
}
