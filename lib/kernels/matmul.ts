/**
 * `BatchMatMul` for the wasm backend: every product on a fast path.
 *
 * tfjs-backend-wasm 4.22 multiplies with XNNPACK (~20 GFLOP/s) only when neither operand is transposed and the
 * batch is 1. Everything else — every gradient of a matrix product (they all multiply by a transpose), attention's
 * batched products, and even x[B, T, C] · W[C, N] (a batch of B against one W) — runs a naive loop at ~1.4 GFLOP/s.
 * In a GPT training step that is most of the time.
 *
 * Two routes, same numbers (up to float rounding):
 *   1. native: the OpenBLAS addon (lib/native/) runs sgemm directly on the wasm heap — transposes are sgemm
 *      flags, batches a loop of sgemm calls, ~80–120 GFLOP/s on 2 cores.
 *   2. fallback (no addon): transpose explicitly, then hand XNNPACK one [M, K] · [K, N] product per batch, each
 *      seen through a "view" tensor over the batch's slice of the heap (no copy in).
 * Both first fold a batch against a shared right operand into one tall product: x[B, T, C] · W[C, N] is
 * x[B·T, C] · W[C, N], one big product instead of B small ones.
 */
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { heapOffset, isWasm, sizeOf, type WasmBackendLike } from "./memory";
import { nativeKernels } from "./native";

/** The shape of one call: out[i] = op(a[aBatch[i]]) · op(b[bBatch[i]]) for i < outBatch. */
export interface MatMulPlan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly outShape: number[];
  /** For each output batch, the index of the a (b) matrix it reads; broadcasting repeats indices. */
  readonly aBatch: Int32Array;
  readonly bBatch: Int32Array;
  /** a's batches are folded into its rows: a single product of [batch·m, k] by b's only matrix. */
  readonly folded: boolean;
}

/** Works out shapes and broadcasting, with tf.matMul's error when the inner sizes disagree. */
export function planMatMul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulPlan {
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const ka = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if (ka !== kb) {
    throw new Error(
      `matMul: inner sizes ${ka} and ${kb} of shapes [${a.shape}] (transposeA=${transposeA}) and ` +
        `[${b.shape}] (transposeB=${transposeB}) must match`,
    );
  }
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const rank = Math.max(aOuter.length, bOuter.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const [ap, bp] = [pad(aOuter), pad(bOuter)];
  const outer = ap.map((d, i) => {
    const e = bp[i];
    if (d !== e && d !== 1 && e !== 1) {
      throw new Error(`matMul: batch shapes [${aOuter}] and [${bOuter}] do not broadcast`);
    }
    return Math.max(d, e);
  });
  const batch = sizeOf(outer);
  const aBatch = new Int32Array(batch);
  const bBatch = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    // Walk the output's multi-index from the last outer axis; an axis of size 1 in an operand stays at 0.
    let rest = i;
    let ai = 0;
    let bi = 0;
    let aStride = 1;
    let bStride = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rest % outer[d];
      rest = Math.floor(rest / outer[d]);
      if (ap[d] !== 1) ai += idx * aStride;
      if (bp[d] !== 1) bi += idx * bStride;
      aStride *= ap[d];
      bStride *= bp[d];
    }
    aBatch[i] = ai;
    bBatch[i] = bi;
  }
  const aCount = sizeOf(aOuter);
  const folded = !transposeA && sizeOf(bOuter) === 1 && aCount === batch && batch > 1;
  return { m, n, k: ka, outShape: [...outer, m, n], aBatch, bBatch, folded };
}

let wasmOriginal: KernelConfig | undefined;

/** The native route: one sgemm per batch (or one in all when folded), straight on the heap. */
function viaNative(
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  out: TensorInfo,
  p: MatMulPlan,
  transposeA: boolean,
  transposeB: boolean,
): void {
  const native = nativeKernels()!;
  const [ao, bo, oo] = [heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out)];
  const heap = backend.wasm.HEAPU8.buffer;
  if (p.folded) {
    native.sgemm(heap, new Float64Array([ao, bo, oo]), p.m * p.aBatch.length, p.n, p.k, false, transposeB);
    return;
  }
  const batch = p.aBatch.length;
  const offsets = new Float64Array(3 * batch);
  const [aBytes, bBytes, oBytes] = [4 * p.m * p.k, 4 * p.k * p.n, 4 * p.m * p.n];
  for (let i = 0; i < batch; i++) {
    offsets[3 * i] = ao + p.aBatch[i] * aBytes;
    offsets[3 * i + 1] = bo + p.bBatch[i] * bBytes;
    offsets[3 * i + 2] = oo + i * oBytes;
  }
  native.sgemm(heap, offsets, p.m, p.n, p.k, transposeA, transposeB);
}

/** Registers a tensor over `shape.size` floats at byte `offset` of the heap, owned by someone else. */
function heapView(backend: WasmBackendLike, offset: number, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, "float32", offset);
}

/** Forgets a view made by {@link heapView} without freeing the memory under it. */
function dropView(backend: WasmBackendLike, t: TensorInfo): void {
  const id = backend.dataIdMap.get(t.dataId)!.id;
  backend.wasm.tfjs.disposeData(id);
  backend.dataIdMap.delete(t.dataId);
}

/** The fallback route: explicit transposes, then XNNPACK's un-transposed, batch-1 product per batch. */
function viaXnnpack(
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  out: TensorInfo,
  p: MatMulPlan,
  transposeA: boolean,
  transposeB: boolean,
): void {
  const original = wasmOriginal!.kernelFunc;
  const transposeKernel = tf.getKernel("Transpose", "wasm")!.kernelFunc;
  const lastTwo = (t: TensorInfo): TensorInfo => {
    const r = t.shape.length;
    const perm = [...Array(r - 2).keys(), r - 1, r - 2];
    return transposeKernel({ inputs: { x: t }, backend, attrs: { perm } }) as TensorInfo;
  };
  const at = transposeA ? lastTwo(a) : a;
  const bt = transposeB ? lastTwo(b) : b;
  const [ao, bo, oo] = [heapOffset(backend, at), heapOffset(backend, bt), heapOffset(backend, out)];
  const batches = p.folded ? 1 : p.aBatch.length;
  const rows = p.folded ? p.m * p.aBatch.length : p.m;
  for (let i = 0; i < batches; i++) {
    const av = heapView(backend, ao + 4 * p.aBatch[i] * p.m * p.k, [1, rows, p.k]);
    const bv = heapView(backend, bo + 4 * p.bBatch[i] * p.k * p.n, [1, p.k, p.n]);
    const r = original({
      inputs: { a: av, b: bv },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
    const size = rows * p.n;
    const heap = new Float32Array(backend.wasm.HEAPU8.buffer); // after the allocation in original()
    const src = heapOffset(backend, r) / 4;
    heap.copyWithin(oo / 4 + i * size, src, src + size);
    backend.disposeData(r.dataId);
    dropView(backend, av);
    dropView(backend, bv);
  }
  if (at !== a) backend.disposeData(at.dataId);
  if (bt !== b) backend.disposeData(bt.dataId);
}

export const batchMatMul: KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as KernelBackend;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as NamedAttrMap as { transposeA: boolean; transposeB: boolean };
  if (!isWasm(backend) || a.dtype !== "float32" || b.dtype !== "float32" || !wasmOriginal) {
    if (!wasmOriginal) throw new Error("TIAOYU BatchMatMul: the wasm backend's own kernel was not found");
    return wasmOriginal.kernelFunc({ inputs, backend, attrs });
  }
  const p = planMatMul(a, b, transposeA, transposeB);
  const out = backend.makeOutput(p.outShape, "float32");
  if (sizeOf(p.outShape) === 0) return out;
  if (p.k === 0) {
    new Float32Array(backend.wasm.HEAPU8.buffer, heapOffset(backend, out), sizeOf(p.outShape)).fill(0);
  } else if (nativeKernels()) {
    viaNative(backend, a, b, out, p, transposeA, transposeB);
  } else {
    viaXnnpack(backend, a, b, out, p, transposeA, transposeB);
  }
  return out;
};

/** Our BatchMatMul for wasm, wrapping the backend's own (kept for its setup and for non-float32 inputs). */
export function wasmBatchMatMulConfig(): KernelConfig | null {
  const own = tf.getKernel("BatchMatMul", "wasm");
  if (!own) return null;
  if (own.kernelFunc !== batchMatMul) wasmOriginal = own;
  return { kernelName: "BatchMatMul", backendName: "wasm", setupFunc: wasmOriginal?.setupFunc, kernelFunc: batchMatMul };
}
