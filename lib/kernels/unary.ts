/**
 * Elementwise kernels for the wasm backend through the native addon: exp, log, tanh, sqrt, rsqrt, sigmoid,
 * square, and pow by a scalar.
 *
 * tfjs-backend-wasm computes these one scalar libm call at a time on one thread. In a GPT training step that is
 * hundreds of milliseconds: exp over the [B·T, vocab] logits twice (log-softmax forward and backward), and
 * pow(x, 3) inside every GELU (pow alone ~7 M values/s). The addon runs them vectorised (libmvec, 8 floats at a
 * time) on every core, and pow by 2 or 3 as plain products.
 *
 * Without the addon (or for int32 tensors, or a non-scalar exponent) the backend's own kernel runs, unchanged.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { heapOffset, isWasm, sizeOf } from "./memory";
import { nativeKernels } from "./native";

/** Op codes of lib/native/elementwise.h. */
export const UNARY_OPS = { Exp: 0, Log: 1, Tanh: 2, Sqrt: 3, Rsqrt: 4, Sigmoid: 5, Square: 6 } as const;
const POW = 7;

function wrapUnary(name: keyof typeof UNARY_OPS, original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const backend = args.backend as KernelBackend;
    const x = args.inputs.x as TensorInfo;
    const native = nativeKernels();
    if (!native || !isWasm(backend) || x.dtype !== "float32") return original.kernelFunc(args);
    const out = backend.makeOutput([...x.shape], "float32");
    const n = sizeOf(x.shape);
    if (n > 0) native.unary(backend.wasm.HEAPU8.buffer, UNARY_OPS[name], heapOffset(backend, x), heapOffset(backend, out), n, 0);
    return out;
  };
  return { ...original, kernelFunc };
}

function wrapPow(original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const backend = args.backend as KernelBackend;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const native = nativeKernels();
    if (!native || !isWasm(backend) || a.dtype !== "float32" || b.dtype !== "float32" || sizeOf(b.shape) !== 1) {
      return original.kernelFunc(args);
    }
    // The output has a's shape, broadcast against b's (a scalar [] or [1, 1, …]): the longer rank wins.
    const shape = b.shape.length > a.shape.length ? [...new Array<number>(b.shape.length - a.shape.length).fill(1), ...a.shape] : [...a.shape];
    const exponent = new Float32Array(backend.wasm.HEAPU8.buffer, heapOffset(backend, b), 1)[0];
    const out = backend.makeOutput(shape, "float32");
    const n = sizeOf(a.shape);
    if (n > 0) native.unary(backend.wasm.HEAPU8.buffer, POW, heapOffset(backend, a), heapOffset(backend, out), n, exponent);
    return out;
  };
  return { ...original, kernelFunc };
}

/** Our versions of the wasm backend's elementwise kernels (each wraps, and falls back to, the backend's own). */
export function wasmUnaryConfigs(): KernelConfig[] {
  const configs: KernelConfig[] = [];
  for (const name of Object.keys(UNARY_OPS) as (keyof typeof UNARY_OPS)[]) {
    const own = tf.getKernel(name, "wasm");
    if (own && !(own as { tiaoyu?: boolean }).tiaoyu) configs.push({ ...wrapUnary(name, own), tiaoyu: true } as KernelConfig);
  }
  const pow = tf.getKernel("Pow", "wasm");
  if (pow && !(pow as { tiaoyu?: boolean }).tiaoyu) configs.push({ ...wrapPow(pow), tiaoyu: true } as KernelConfig);
  return configs;
}
