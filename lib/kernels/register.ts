/**
 * Kernels TIAOYU adds to (or replaces in) the `wasm` and `cpu` backends. tfjs-backend-wasm 4.22 lacks some that a
 * language model needs in training, and some it has are slow on the shapes a GPT uses (see the issue "Fast
 * training on a laptop CPU" and test/bench/train.bench.ts). Each one lives in lib/kernels/ with its reasons:
 *
 *   segment   UnsortedSegmentSum (gradient of tf.gather) as a scatter-add          wasm (missing there), cpu
 *   matmul    BatchMatMul: OpenBLAS on the wasm heap, else XNNPACK per batch        wasm
 *   unary     exp, log, tanh, sqrt, rsqrt, sigmoid, square, pow: vectorised native  wasm (needs the addon)
 *   identity  Identity and same-dtype Cast share the buffer instead of copying        wasm
 *   reduce    Sum over leading axes (bias gradients) without a transpose               wasm
 *   fused     geluTanh, layerNorm, softmaxCrossEntropy, dropout, adamwUpdate,          wasm (native or JS), cpu
 *             splitQkv (q, k, v into heads and back in one copy each way)
 *   attention causalAttention (kernels/attention)                                   wasm (needs the addon)
 *   lora      LoRA's product with the folded weight; A's and B's gradient in one pass  wasm (needs the addon)
 *
 * Only `wasm` and `cpu` are touched: tfjs-node's `tensorflow` backend already has fast versions of all of them.
 */
import * as tf from "@tensorflow/tfjs";
import { wasmAttentionConfigs } from "./attention";
import { fusedConfigs } from "./fused";
import { wasmIdentityConfigs } from "./identity";
import { wasmLoraConfigs } from "./lora";
import { wasmBatchMatMulConfig } from "./matmul";
import { nativeKernels, nativeStatus } from "./native";
import { wasmSumConfig } from "./reduce";
import { unsortedSegmentSumConfig } from "./segment_sum";
import { wasmUnaryConfigs } from "./unary";

export type KernelGroup = "segment" | "matmul" | "unary" | "identity" | "reduce" | "fused" | "attention" | "lora";
type Backend = "wasm" | "cpu";

const done = new Set<Backend>();
/** What each of our kernels replaced (null: the backend had none), to put it back with {@link useKernelGroup}. */
const replaced = new Map<string, { group: KernelGroup; ours: tf.KernelConfig; theirs: tf.KernelConfig | null }>();

/** Registers `config`, replacing the backend's own kernel of that name if it has one (without tfjs's warning). */
function replaceKernel(group: KernelGroup, config: tf.KernelConfig): void {
  const theirs = tf.getKernel(config.kernelName, config.backendName) ?? null;
  if (theirs) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
  replaced.set(`${config.backendName}/${config.kernelName}`, { group, ours: config, theirs });
}

/**
 * Registers our kernels for `backendName` ("wasm" or "cpu"), once. Call it after the backend's package is loaded
 * (its own kernels are registered on import) and before `tf.setBackend`, so that kernels needing a setup step
 * get it when the backend starts.
 */
export function registerKernels(backendName: Backend): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  replaceKernel("segment", unsortedSegmentSumConfig(backendName));
  for (const config of fusedConfigs(backendName)) replaceKernel("fused", config);
  if (backendName === "wasm") {
    const matMul = wasmBatchMatMulConfig();
    if (matMul) replaceKernel("matmul", matMul);
    for (const config of wasmUnaryConfigs()) replaceKernel("unary", config);
    for (const config of wasmIdentityConfigs()) replaceKernel("identity", config);
    const sum = wasmSumConfig();
    if (sum) replaceKernel("reduce", sum);
    for (const config of wasmAttentionConfigs()) replaceKernel("attention", config);
    for (const config of wasmLoraConfigs()) replaceKernel("lora", config);
  }
}

/**
 * Turns a group of our kernels off (the backend's own come back; a kernel the backend lacks is removed) or on
 * again. For benchmarks that measure what each group brings: `useKernelGroup("unary", false)`.
 */
export function useKernelGroup(group: KernelGroup, on: boolean): void {
  for (const { group: g, ours, theirs } of replaced.values()) {
    if (g !== group) continue;
    if (tf.getKernel(ours.kernelName, ours.backendName)) tf.unregisterKernel(ours.kernelName, ours.backendName);
    const config = on ? ours : theirs;
    if (config) tf.registerKernel(config);
  }
}

/** One line for people: how matrix products run on wasm, e.g. "OpenBLAS, 2 threads". */
export function kernelSummary(): string {
  const native = nativeKernels();
  return native ? `native kernels: ${nativeStatus()}` : `matrix products: XNNPACK per batch (native kernels: ${nativeStatus()})`;
}
