/**
 * A LoRA layer's product (lib/train/lora.ts), y = x·W′ with W′ = W + scale·A·B, and its gradient:
 *
 *   dx = dy·W′ᵀ   [N, in]       dA = scale·xᵀ·(dy·Bᵀ)   [in, r]       dB = scale·(x·A)ᵀ·dy   [r, out]
 *
 * for x [N, in], W [in, out] (frozen), A [in, r], B [r, out]. Written with tfjs ops, dA and dB are four matrix
 * products with r = 8 columns, each reading all N rows of x or dy from memory for little arithmetic: on the course
 * model (N = 4,096 rows at the SFT batch) the four cost 2–5 ms per adapted layer, ~60 ms of a ~470 ms LoRA step
 * over 16 layers. On wasm with the native addon (lib/native/lora.c):
 *   - `TiaoyuLoraProduct` folds the correction into W and multiplies in one kernel (as ops: three for the fold,
 *     one product), and its gradient is registered input by input, so tfjs computes dx only where something below
 *     trains: not for the first adapted layer of a model whose embeddings are frozen (one [N, out]·[out, in]
 *     product saved per step);
 *   - `TiaoyuLoraGrad` gives dA and dB in one pass that reads each row of x and dy once.
 * Everywhere else (cpu, wasm without the addon, other backends) the same maths runs as tfjs ops in a tf.customGrad.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { allocate, heapOffset, isWasm } from "./memory";
import { nativeKernels } from "./native";

/** Kernel ids of lib/native/tiaoyu_native.c's `fused`. */
const NATIVE_LORA_GRAD = 11;
const NATIVE_LORA_FORWARD = 12;

type Native = { fused(heap: ArrayBufferLike, kernel: number, ...args: number[]): void };

function native(backend: KernelBackend, name: string) {
  const n = nativeKernels() as unknown as Native | null;
  if (!n || !isWasm(backend)) throw new Error(`${name} runs only on wasm with the native addon (loraProduct and loraGrads check this)`);
  return { n, backend };
}

/** Outputs y = x·wf and wf = w + scale·a·b (kept for the gradient). */
const loraProductKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const { x, w, a, b: bm } = inputs as Record<string, TensorInfo>;
  const scale = (attrs as unknown as { scale: number }).scale;
  const { n, backend } = native(b as KernelBackend, "TiaoyuLoraProduct");
  const [N, inDim] = x.shape;
  const [r, outDim] = bm.shape;
  const y = allocate(backend, [N, outDim], "float32");
  const wf = allocate(backend, [inDim, outDim], "float32");
  const off = [x, w, a, bm, y, wf].map((t) => heapOffset(backend, t));
  n.fused(backend.wasm.HEAPU8.buffer, NATIVE_LORA_FORWARD, ...off, N, inDim, outDim, r, scale);
  return [y, wf];
};

const loraGradKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const { x, dy, a, b: bm } = inputs as Record<string, TensorInfo>;
  const scale = (attrs as unknown as { scale: number }).scale;
  const { n, backend } = native(b as KernelBackend, "TiaoyuLoraGrad");
  const [N, inDim] = x.shape;
  const [r, outDim] = bm.shape;
  const da = allocate(backend, [inDim, r], "float32");
  const db = allocate(backend, [r, outDim], "float32");
  const off = [x, dy, a, bm, da, db].map((t) => heapOffset(backend, t));
  n.fused(backend.wasm.HEAPU8.buffer, NATIVE_LORA_GRAD, ...off, N, inDim, outDim, r, scale);
  return [da, db];
};

let gradientRegistered = false;

/** The kernels for wasm (used only while the native addon is loaded; see {@link loraProduct}, {@link loraGrads}). */
export function wasmLoraConfigs(): KernelConfig[] {
  if (!gradientRegistered) {
    gradientRegistered = true;
    tf.registerGradient({
      kernelName: "TiaoyuLoraProduct",
      inputsToSave: ["x", "a", "b"],
      outputsToSave: [false, true],
      gradFunc: (dys, saved, attrs) => {
        const [x, a, b, wf] = saved as tf.Tensor2D[];
        const dy = (dys as tf.Tensor[])[0] as tf.Tensor2D;
        const scale = (attrs as unknown as { scale: number }).scale;
        // dA and dB come from one kernel, so both are computed here, in the scope of the whole backward pass (see
        // layerNorm's gradient in fused.ts); dx only when tfjs asks for it.
        const [dA, dB] = loraGrads(x, dy, a, b, scale);
        // No entry for w: it enters as a view that no variable leads to (see loraProduct), so tfjs never asks.
        return { x: () => tf.matMul(dy, wf, false, true), a: () => dA, b: () => dB };
      },
    });
  }
  return [
    { kernelName: "TiaoyuLoraProduct", backendName: "wasm", kernelFunc: loraProductKernel },
    { kernelName: "TiaoyuLoraGrad", backendName: "wasm", kernelFunc: loraGradKernel },
  ];
}

/** Whether `name` runs natively here: wasm, the addon loaded, the kernel registered, float32 tensors. */
function nativeHere(name: string, ts: tf.Tensor[]): boolean {
  return tf.getBackend() === "wasm" && nativeKernels() !== null && tf.getKernel(name, "wasm") !== undefined && ts.every((t) => t.dtype === "float32");
}

/**
 * x·(W + scale·A·B) for x [N, in], W [in, out], A [in, r], B [r, out] → [N, out], with the gradients of x, A and B
 * (W is frozen: no gradient reaches it). The correction is folded into the weight before the product,
 * so the forward pass costs one product of x, as the base's does.
 */
export function loraProduct(x: tf.Tensor2D, w: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, scale: number): tf.Tensor2D {
  const [inDim, outDim] = w.shape;
  const r = b.shape[0];
  if (x.shape[1] !== inDim || a.shape[0] !== inDim || a.shape[1] !== r || b.shape[1] !== outDim) {
    throw new Error(`loraProduct: x [${x.shape}], W [${w.shape}], A [${a.shape}], B [${b.shape}] do not fit`);
  }
  if (nativeHere("TiaoyuLoraProduct", [x, w, a, b])) {
    // W goes in as a second tensor over the same memory, made outside any operation: the gradient tape sees no path
    // from the variable W to y, so W is frozen exactly as on the tf.customGrad route below (asking for its gradient
    // is tfjs's "Cannot find a connection" error, which lib/train/loop.ts turns into "the loss does not depend on").
    // (The backend counts one more user of W's memory, as tfjs's own Identity kernel does, so that disposing the
    // second tensor leaves W's memory alone.)
    (tf.backend() as unknown as { incRef(dataId: object): void }).incRef(w.dataId);
    const frozen = tf.engine().makeTensorFromDataId(w.dataId, w.shape, w.dtype);
    const [y, wf] = tf.engine().runKernel("TiaoyuLoraProduct", { x, w: frozen, a, b }, { scale }) as tf.Tensor[];
    frozen.dispose(); // read only by the forward kernel: the gradient keeps x, A, B and W′
    wf.dispose(); // the gradient tape keeps its own reference
    return y as tf.Tensor2D;
  }
  // W is not an input here (it is frozen), so no [in, out] gradient of it is ever formed; dx is computed whether
  // or not anything below trains (tf.customGrad returns every gradient at once).
  const folded = tf.customGrad((xIn, aIn, bIn, save) => {
    const [x2, a2, b2] = [xIn as tf.Tensor2D, aIn as tf.Tensor2D, bIn as tf.Tensor2D];
    const wf = tf.add(w, tf.mul(tf.matMul(a2, b2), scale)) as tf.Tensor2D; // W′ [in, out]
    (save as tf.GradSaveFunc)([x2, a2, b2, wf]);
    return {
      value: tf.matMul(x2, wf), // [N, out]
      gradFunc: (dy, saved) => {
        const [xs, as, bs, ws] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D; // [N, out]
        const dx = tf.matMul(g, ws, false, true); // [N, in]
        const [dA, dB] = loraGrads(xs, g, as, bs, scale); // [in, r], [r, out]
        return [dx, dA, dB];
      },
    };
  });
  return folded(x, a, b) as tf.Tensor2D;
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
  if (nativeHere("TiaoyuLoraGrad", [x, dy, a, b])) {
    return tf.engine().runKernel("TiaoyuLoraGrad", { x, dy, a, b }, { scale }) as unknown as [tf.Tensor2D, tf.Tensor2D];
  }
  return tf.tidy(() => {
    const dA = tf.mul(tf.matMul(x, tf.matMul(dy, b, false, true), true, false), scale) as tf.Tensor2D; // [in, r]
    const dB = tf.mul(tf.matMul(tf.matMul(x, a), dy, true, false), scale) as tf.Tensor2D; // [r, out]
    return [dA, dB];
  });
}
