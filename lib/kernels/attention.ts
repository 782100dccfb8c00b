/**
 * Causal self-attention as one operation: out = dropout(softmax(q·kᵀ/√hs + causal mask))·v.
 *
 * Written as tfjs ops (as lib/model/attention.ts teaches it) a layer's attention is ~20 kernels forward and ~30
 * backward, each a pass over the [B, nh, T, S] weights, plus the mask built anew every call. On wasm with the
 * native addon this is one kernel each way (lib/native/attention.c: OpenBLAS for the products, one vectorised
 * pass for the masked softmax and its gradient). Everywhere else it runs the same maths as tfjs ops — with the
 * same dropout coins (lib/kernels/fused.ts's `dropout` on the weights), so both routes give the same numbers.
 */
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { dropout } from "./fused";
import { allocate, heapOffset, isWasm, sizeOf } from "./memory";
import { nativeKernels } from "./native";

const NATIVE_FORWARD = 8;
const NATIVE_BACKWARD = 9;

interface AttentionAttrs {
  offset: number;
  rate: number;
  seed: number;
}

/** [heads, t, s, hs] of q [..., T, hs] and k [..., S, hs]. */
function dims(q: TensorInfo, k: TensorInfo): [number, number, number, number] {
  const r = q.shape.length;
  return [sizeOf(q.shape.slice(0, -2)), q.shape[r - 2], k.shape[r - 2], q.shape[r - 1]];
}

function native(backend: KernelBackend) {
  const n = nativeKernels() as unknown as { fused(heap: ArrayBufferLike, kernel: number, ...args: number[]): void } | null;
  if (!n || !isWasm(backend)) throw new Error("TiaoyuAttention runs only on wasm with the native addon (causalAttention checks this)");
  return { n, backend };
}

const forwardKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const { q, k, v } = inputs as Record<string, TensorInfo>;
  const { offset, rate, seed } = attrs as unknown as AttentionAttrs;
  const { n, backend } = native(b as KernelBackend);
  const [heads, t, s, hs] = dims(q, k);
  const out = allocate(backend, [...q.shape], "float32");
  const probs = allocate(backend, [...q.shape.slice(0, -1), s], "float32");
  const off = [q, k, v, out, probs].map((x) => heapOffset(backend, x));
  if (heads * t * s > 0) n.fused(backend.wasm.HEAPU8.buffer, NATIVE_FORWARD, ...off, heads, t, s, hs, offset, 1 / Math.sqrt(hs), rate, seed);
  return [out, probs];
};

const backwardKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const { q, k, v, probs, dy } = inputs as Record<string, TensorInfo>;
  const { offset, rate, seed } = attrs as unknown as AttentionAttrs;
  const { n, backend } = native(b as KernelBackend);
  const [heads, t, s, hs] = dims(q, k);
  const grads = [q, k, v].map((x) => allocate(backend, [...x.shape], "float32"));
  const off = [q, k, v, probs, dy, ...grads].map((x) => heapOffset(backend, x));
  if (heads * t * s > 0) n.fused(backend.wasm.HEAPU8.buffer, NATIVE_BACKWARD, ...off, heads, t, s, hs, offset, 1 / Math.sqrt(hs), rate, seed);
  return grads;
};

let gradientRegistered = false;

/** The kernels for wasm (used only while the native addon is loaded; see {@link causalAttention}). */
export function wasmAttentionConfigs(): KernelConfig[] {
  if (!gradientRegistered) {
    gradientRegistered = true;
    tf.registerGradient({
      kernelName: "TiaoyuAttention",
      inputsToSave: ["q", "k", "v"],
      outputsToSave: [false, true],
      gradFunc: (dys, saved, attrs) => {
        const [q, k, v, probs] = saved;
        const dy = (dys as tf.Tensor[])[0];
        // All three at once, in the scope of the whole backward pass (see layerNorm's gradient in fused.ts).
        const [dq, dk, dv] = tf.engine().runKernel("TiaoyuAttentionGrad", { q, k, v, probs, dy }, attrs as NamedAttrMap) as tf.Tensor[];
        return { q: () => dq, k: () => dk, v: () => dv };
      },
    });
  }
  return [
    { kernelName: "TiaoyuAttention", backendName: "wasm", kernelFunc: forwardKernel },
    { kernelName: "TiaoyuAttentionGrad", backendName: "wasm", kernelFunc: backwardKernel },
  ];
}

/**
 * The causal mask as an additive bias [T, S] for T queries at positions offset … offset+T−1 over S ≥ offset+T keys:
 * 0 where the key is visible (j ≤ offset + i), −1e9 where it lies in the future (exp of it is exactly 0).
 */
function causalBias(T: number, offset: number, S: number): tf.Tensor2D {
  return tf.tidy(() => {
    const future = tf.greater(tf.range(0, S, 1, "int32").reshape([1, S]), tf.range(offset, offset + T, 1, "int32").reshape([T, 1]));
    return tf.mul(tf.cast(future, "float32"), -1e9) as tf.Tensor2D;
  });
}

/**
 * Causal scaled dot-product attention: q [..., T, hs], k and v [..., S, hs] with S ≥ offset + T (offset: positions
 * already in a KV cache) → [..., T, hs]. Query i sees keys 0 … offset+i, so keys from offset+T on (the unwritten
 * rest of a preallocated cache) are never seen. `dropout` (training only) drops attention weights with the given seed.
 */
export function causalAttention<T extends tf.Tensor>(
  q: T,
  k: tf.Tensor,
  v: tf.Tensor,
  options: { offset?: number; dropout?: number; seed?: number } = {},
): T {
  const offset = options.offset ?? 0;
  const rate = options.dropout ?? 0;
  const r = q.rank;
  const [Tq, hs, S] = [q.shape[r - 2], q.shape[r - 1], k.shape[r - 2]];
  const lead = q.shape.slice(0, -2);
  const same = (t: tf.Tensor) => t.rank === r && tf.util.arraysEqual(t.shape.slice(0, -2), lead) && t.shape[r - 1] === hs;
  if (r < 3 || !same(k) || !same(v) || v.shape[r - 2] !== S || S < offset + Tq || !Number.isInteger(offset) || offset < 0) {
    throw new Error(`causalAttention: q [${q.shape}], k [${k.shape}], v [${v.shape}] with offset ${offset} do not fit (need S ≥ offset + T)`);
  }
  if (!(rate >= 0 && rate < 1)) throw new Error(`causalAttention: dropout ${rate} must be in [0, 1)`);
  const seed = rate > 0 ? (options.seed === undefined ? Math.floor(Math.random() * 4294967296) : options.seed >>> 0) : 0;
  const fused = tf.getBackend() === "wasm" && nativeKernels() !== null && tf.getKernel("TiaoyuAttention", "wasm") !== undefined;
  if (fused && q.dtype === "float32") {
    const [out, probs] = tf.engine().runKernel("TiaoyuAttention", { q, k, v }, { offset, rate, seed }) as tf.Tensor[];
    probs.dispose(); // the gradient tape keeps its own reference
    return out as T;
  }
  return tf.tidy(() => {
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), causalBias(Tq, offset, S)); // [..., T, S]
    const weights = dropout(tf.softmax(scores, -1), rate, seed); // [..., T, S]
    return tf.matMul(weights, v) as T; // [..., T, hs]
  });
}
