/**
 * `Sum` over leading axes on wasm, e.g. a bias gradient: [B·T, n] → [n].
 *
 * tfjs-backend-wasm reduces only along the last axis, so for any other axes it first transposes the whole tensor
 * (a full copy) and then sums: ~7× slower than summing the same numbers along rows. Here the leading-axes case is
 * added up row after row in place (native when the addon is loaded, else a JavaScript loop); other cases go to the
 * backend's own kernel.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { allocate, heapOffset, isWasm, sizeOf, values } from "./memory";
import { nativeKernels } from "./native";

const NATIVE_COLUMN_SUM = 10;

export function wasmSumConfig(): KernelConfig | null {
  const own = tf.getKernel("Sum", "wasm");
  if (!own) return null;
  const kernelFunc: KernelFunc = (args) => {
    const backend = args.backend as KernelBackend;
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== "float32" || !isWasm(backend)) return own.kernelFunc(args);
    const rows = sizeOf(x.shape.slice(0, axes.length));
    const cols = sizeOf(x.shape.slice(axes.length));
    const shape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    const out = allocate(backend, shape, "float32");
    const native = nativeKernels() as unknown as { fused(heap: ArrayBufferLike, k: number, ...a: number[]): void } | null;
    if (native) {
      native.fused(backend.wasm.HEAPU8.buffer, NATIVE_COLUMN_SUM, heapOffset(backend, x), heapOffset(backend, out), rows, cols);
      return out;
    }
    const [xs, ys] = [values(backend, x), values(backend, out)];
    ys.fill(0);
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) ys[j] += xs[o + j];
    }
    return out;
  };
  return { ...own, kernelFunc };
}
