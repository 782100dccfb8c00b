/**
 * Reading and writing a tensor's numbers from inside a kernel, on the two backends we add kernels to.
 *
 * A kernel receives `TensorInfo`s (a data id, a shape and a dtype), not tensors. Where the numbers live
 * depends on the backend:
 *   - `wasm` keeps every tensor in the WebAssembly heap, one malloc'd block per tensor; its `dataIdMap` gives
 *     the block's byte offset. We view that block in place, without a copy.
 *   - `cpu` keeps a plain typed array per tensor; `readSync` hands it back as it is.
 *
 * One trap on wasm: allocating (a new output) may grow the heap, which detaches every view made before. So a
 * kernel allocates all its outputs first and only then takes views, and never allocates while it holds one.
 */
import type { DataType, KernelBackend, TensorInfo } from "@tensorflow/tfjs";

export type NumericArray = Float32Array | Int32Array | Uint8Array;

/** The parts of tfjs-backend-wasm's `BackendWasm` we rely on (4.22; see its backend_wasm.d.ts). */
export interface WasmBackendLike extends KernelBackend {
  wasm: {
    HEAPU8: Uint8Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    tfjs: { disposeData(id: number): void };
  };
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number } | undefined;
    delete(dataId: object): boolean;
  };
  /** With `memoryOffset`, registers a tensor over memory allocated elsewhere instead of allocating. */
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
}

/** The parts of tfjs-backend-cpu's `MathBackendCPU` we rely on. */
export interface CpuBackendLike extends KernelBackend {
  makeTensorInfo(shape: number[], dtype: DataType, values?: NumericArray): TensorInfo;
}

export function isWasm(backend: KernelBackend): backend is WasmBackendLike {
  const b = backend as Partial<WasmBackendLike>;
  return b.wasm !== undefined && b.dataIdMap !== undefined && typeof b.makeOutput === "function";
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function view(buffer: ArrayBufferLike, byteOffset: number, size: number, dtype: DataType): NumericArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, byteOffset, size);
    case "int32":
      return new Int32Array(buffer, byteOffset, size);
    case "bool":
      return new Uint8Array(buffer, byteOffset, size);
    default:
      throw new Error(`TIAOYU kernels: dtype '${dtype}' is not supported (float32, int32 or bool only)`);
  }
}

/** Byte offset of a tensor's block in the wasm heap. */
export function heapOffset(backend: WasmBackendLike, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error(`TIAOYU kernels: tensor of shape [${t.shape}] is not on the wasm backend`);
  return data.memoryOffset;
}

/**
 * The numbers of `t`, in place where the backend allows it (wasm, cpu). Writing into the returned array writes
 * the tensor: only do that to an output the kernel has just made.
 */
export function values(backend: KernelBackend, t: TensorInfo): NumericArray {
  if (isWasm(backend)) return view(backend.wasm.HEAPU8.buffer, heapOffset(backend, t), sizeOf(t.shape), t.dtype);
  const v = backend.readSync(t.dataId);
  if (!(v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array)) {
    throw new Error(`TIAOYU kernels: tensor of dtype '${t.dtype}' has no numeric storage`);
  }
  return v;
}

/**
 * A new output tensor filled by `fill`, which receives the output's numbers (zeroed) to write into. On wasm
 * the array is a view of the heap, so `fill` must not allocate tensors.
 */
export function makeOutput(
  backend: KernelBackend,
  shape: number[],
  dtype: DataType,
  fill: (out: NumericArray) => void,
): TensorInfo {
  if (isWasm(backend)) {
    const out = backend.makeOutput(shape, dtype);
    const v = values(backend, out); // taken after the allocation: see the note at the top
    v.fill(0); // malloc does not zero
    fill(v);
    return out;
  }
  const size = sizeOf(shape);
  const v = dtype === "float32" ? new Float32Array(size) : dtype === "int32" ? new Int32Array(size) : new Uint8Array(size);
  fill(v);
  return (backend as CpuBackendLike).makeTensorInfo(shape, dtype, v);
}

/**
 * A new, uninitialised output tensor (cpu: zeros). Make every output of a kernel with this before taking any
 * view with {@link values} (wasm heap growth, see the note at the top).
 */
export function allocate(backend: KernelBackend, shape: number[], dtype: DataType): TensorInfo {
  if (isWasm(backend)) return backend.makeOutput(shape, dtype);
  const size = sizeOf(shape);
  const v = dtype === "float32" ? new Float32Array(size) : dtype === "int32" ? new Int32Array(size) : new Uint8Array(size);
  return (backend as CpuBackendLike).makeTensorInfo(shape, dtype, v);
}
