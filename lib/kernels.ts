/**
 * Kernels TIAOYU adds to (or replaces in) the `wasm` and `cpu` backends. tfjs-backend-wasm 4.22 lacks some that a
 * language model needs in training, and some it has are slow on the shapes a GPT uses (see the issue "Fast
 * training on a laptop CPU" and test/bench/train.bench.ts). Each one lives in lib/kernels/ with its reasons.
 *
 * Only `wasm` and `cpu` are touched: tfjs-node's `tensorflow` backend already has fast versions of all of them.
 */
import * as tf from "@tensorflow/tfjs";
import { wasmBatchMatMulConfig } from "./kernels/matmul";
import { nativeKernels, nativeStatus } from "./kernels/native";
import { unsortedSegmentSumConfig } from "./kernels/segment_sum";
import { wasmUnaryConfigs } from "./kernels/unary";

const done = new Set<string>();

/** Registers `config`, replacing the backend's own kernel of that name if it has one (without tfjs's warning). */
function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Registers our kernels for `backendName` ("wasm" or "cpu"), once. Call it after the backend's package is loaded
 * (its own kernels are registered on import) and before `tf.setBackend`, so that kernels needing a setup step
 * get it when the backend starts.
 */
export function registerKernels(backendName: "wasm" | "cpu"): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  replaceKernel(unsortedSegmentSumConfig(backendName));
  if (backendName === "wasm") {
    const matMul = wasmBatchMatMulConfig();
    if (matMul) replaceKernel(matMul);
    for (const config of wasmUnaryConfigs()) replaceKernel(config);
  }
}

/** One line for people: how matrix products run on wasm, e.g. "OpenBLAS, 2 threads". */
export function kernelSummary(): string {
  const native = nativeKernels();
  return native ? `matrix products: ${nativeStatus()}` : `matrix products: XNNPACK per batch (native: ${nativeStatus()})`;
}

/** @deprecated kept for the call in lib/backend.ts; same as `registerKernels("wasm")`. */
export function registerWasmKernels(): void {
  registerKernels("wasm");
}
