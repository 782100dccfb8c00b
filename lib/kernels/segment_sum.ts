/**
 * `UnsortedSegmentSum`: out[segmentIds[i], ...] += x[i, ...]. It is the gradient of `tf.gather`, hence of every
 * embedding lookup: the rows of dL/d(output) are added back into the rows of the table they were read from.
 *
 * @example
 *   x = [[1, 1], [2, 2], [3, 3]], segmentIds = [2, 0, 2], numSegments = 3
 *   → [[2, 2], [0, 0], [4, 4]]      (rows 0 and 2 of x both land in segment 2)
 *
 * tfjs-backend-wasm 4.22 has no such kernel (so an embedding cannot train there), and tfjs-backend-cpu's does
 * one masked sum over all of x per segment id: V passes over the data, about 126 s of a 148 s training step
 * with a 5,757-character vocabulary. Here it is one pass over the rows (a scatter-add), the same on both.
 *
 * Ids outside [0, numSegments) are dropped, as TensorFlow does.
 */
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import { makeOutput, sizeOf, values } from "./memory";

export const unsortedSegmentSum: KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as KernelBackend;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (attrs as NamedAttrMap).numSegments as number;
  const idsRank = segmentIds.shape.length;
  for (let d = 0; d < idsRank; d++) {
    if (segmentIds.shape[d] !== x.shape[d]) {
      throw new Error(
        `UnsortedSegmentSum: segmentIds of shape [${segmentIds.shape}] must be a prefix of x's shape [${x.shape}]`,
      );
    }
  }
  const rowShape = x.shape.slice(idsRank);
  const rowSize = sizeOf(rowShape);
  const outShape = [numSegments, ...rowShape];
  return makeOutput(backend, outShape, x.dtype, (out) => {
    const xs = values(backend, x); // views taken after the output exists (wasm heap growth)
    const ids = values(backend, segmentIds);
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i];
      if (s < 0 || s >= numSegments) continue;
      const src = i * rowSize;
      const dst = s * rowSize;
      for (let j = 0; j < rowSize; j++) out[dst + j] += xs[src + j];
    }
  });
};

export function unsortedSegmentSumConfig(backendName: string): KernelConfig {
  return { kernelName: "UnsortedSegmentSum", backendName, kernelFunc: unsortedSegmentSum };
}
