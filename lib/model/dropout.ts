/**
 * Dropout (Srivastava et al. 2014, "Dropout: A Simple Way to Prevent Neural Networks from Overfitting").
 *
 * While training, each number is zeroed with probability `rate` and the survivors are divided by (1 − rate), so
 * the expected value of every position stays the same ("inverted dropout"). At inference nothing changes.
 *   training, rate 0.5: [1, 2, 3, 4] → e.g. [2, 0, 6, 0]   (survivors doubled)
 *   inference:          [1, 2, 3, 4] → [1, 2, 3, 4]
 * A network trained this way cannot lean on any single unit, which keeps a small model from memorising its data.
 */
import type * as tf from "@tensorflow/tfjs";
import { dropout as fusedDropout } from "../kernels/fused";

/**
 * A reproducible source of dropout seeds. Every dropout call while training takes the next seed, so a run that
 * starts from the same state draws the same masks; `state` can be saved in a checkpoint and restored to resume.
 */
export class SeedStream {
  constructor(public state: number) {}
  next(): number {
    // A simple 32-bit LCG step (Numerical Recipes' constants): cheap, and distinct seeds for millions of calls.
    this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0;
    return this.state;
  }
}

/**
 * Inverted dropout of `x`; the identity when not training or when `rate` is 0. The mask is a hash of the seed and
 * each element's index (lib/kernels/fused.ts): one pass forward and one backward, no mask tensor kept for the
 * gradient, and the same mask on wasm and cpu for the same seed.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, training: boolean, seeds?: SeedStream): T {
  if (!training || rate === 0) return x;
  return fusedDropout(x, rate, seeds?.next()); // same shape as x
}
