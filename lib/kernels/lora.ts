/**
 * The gradient of a LoRA layer's A and B (lib/train/lora.ts) in one kernel:
 *
 *   dA = scale·xᵀ·(dy·Bᵀ)   [in, r]        dB = scale·(x·A)ᵀ·dy   [r, out]
 *
 * for x [N, in], dy [N, out], A [in, r], B [r, out]. As tfjs ops these are four matrix products with r = 8
 * columns, each reading all N rows of x or dy from memory for little arithmetic: on the course model (N = 4,096
 * rows at the SFT batch) the four cost 2–5 ms per adapted layer, ~60 ms of a ~470 ms LoRA step over 16 layers.
 * On wasm with the native addon this is one kernel (lib/native/lora.c) that reads each row of x and dy once.
 * Everywhere else (cpu, wasm without the addon, other backends) the same maths runs as the four tfjs products.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { allocate, heapOffset, isWasm } from "./memory";
import { nativeKernels } from "./native";

/** Kernel id of lib/native/tiaoyu_native.c's `fused`. */
const NATIVE_LORA_GRAD = 11;

const loraGradKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const { x, dy, a, b: bm } = inputs as Record<string, TensorInfo>;
  const scale = (attrs as unknown as { scale: number }).scale;
  const backend = b as KernelBackend;
  const n = nativeKernels() as unknown as { fused(heap: ArrayBufferLike, kernel: number, ...args: number[]): void } | null;
  if (!n || !isWasm(backend)) throw new Error("TiaoyuLoraGrad runs only on wasm with the native addon (loraGrads checks this)");
  const [N, inDim] = x.shape;
  const [r, outDim] = bm.shape;
  const da = allocate(backend, [inDim, r], "float32");
  const db = allocate(backend, [r, outDim], "float32");
  const off = [x, dy, a, bm, da, db].map((t) => heapOffset(backend, t));
  n.fused(backend.wasm.HEAPU8.buffer, NATIVE_LORA_GRAD, ...off, N, inDim, outDim, r, scale);
  return [da, db];
};

/** The kernel for wasm (used only while the native addon is loaded; see {@link loraGrads}). */
export function wasmLoraConfigs(): KernelConfig[] {
  return [{ kernelName: "TiaoyuLoraGrad", backendName: "wasm", kernelFunc: loraGradKernel }];
}

/**
 * [dA, dB] of y = x·(W + scale·A·B) for the output gradient dy: dA = scale·xᵀ·(dy·Bᵀ), dB = scale·(x·A)ᵀ·dy.
 * x [N, in], dy [N, out], a [in, r], b [r, out].
 */
export function loraGrads(x: tf.Tensor2D, dy: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, scale: number): [tf.Tensor2D, tf.Tensor2D] {
  const [N, inDim] = x.shape;
  const [r, outDim] = b.shape;
  if (dy.shape[0] !== N || dy.shape[1] !== outDim || a.shape[0] !== inDim || a.shape[1] !== r) {
    throw new Error(`loraGrads: x [${x.shape}], dy [${dy.shape}], a [${a.shape}], b [${b.shape}] do not fit`);
  }
  const native = tf.getBackend() === "wasm" && nativeKernels() !== null && tf.getKernel("TiaoyuLoraGrad", "wasm") !== undefined;
  if (native && [x, dy, a, b].every((t) => t.dtype === "float32")) {
    return tf.engine().runKernel("TiaoyuLoraGrad", { x, dy, a, b }, { scale }) as unknown as [tf.Tensor2D, tf.Tensor2D];
  }
  return tf.tidy(() => {
    const dA = tf.mul(tf.matMul(x, tf.matMul(dy, b, false, true), true, false), scale) as tf.Tensor2D; // [in, r]
    const dB = tf.mul(tf.matMul(tf.matMul(x, a), dy, true, false), scale) as tf.Tensor2D; // [r, out]
    return [dA, dB];
  });
}
