/**
 * Normalization (归一化): keeps every token's vector at a steady scale as it passes through many blocks.
 *
 * - LayerNorm (Ba et al. 2016, "Layer Normalization"), GPT-2's choice: subtract the vector's mean, divide by its
 *   standard deviation, then scale and shift by a learned gain and bias per dimension.
 *     [1, 2, 3, 6] → mean 3, variance 3.5 → [−1.069, −0.535, 0, 1.604] (gain 1, bias 0)
 * - RMSNorm (Zhang & Sennrich 2019, "Root Mean Square Layer Normalization"), LLaMA's choice: only divide by the
 *   root mean square, no mean, no bias. Cheaper, and works as well in practice.
 * Statistics are over the last axis (one token's nEmbd numbers), never across tokens or the batch.
 */
import * as tf from "@tensorflow/tfjs";
import { layerNorm as fusedLayerNorm } from "../kernels/fused";
import { ParamStore } from "./params";

/**
 * (x − mean) / sqrt(var + eps) · weight + bias over the last axis; `bias` may be null (no shift). The variance is
 * the biased one (divide by D), as PyTorch. On wasm and cpu this is one fused kernel with a written-out gradient
 * (lib/kernels/fused.ts) instead of about 8 ops forward and 20 backward; elsewhere the same formula in tfjs ops.
 */
export const layerNorm: <T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D | null, eps: number) => T = fusedLayerNorm;

/** x / sqrt(mean(x²) + eps) · weight over the last axis. */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  return tf.tidy(() => {
    const meanSquare = tf.mean(tf.square(x), -1, true); // [..., 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight) as T; // [..., D]
  });
}

export interface Norm {
  forward<T extends tf.Tensor>(x: T): T;
}

/** LayerNorm with a gain (`.weight`, starts at 1) and, if `bias`, a shift (`.bias`, starts at 0). */
export class LayerNorm implements Norm {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(store: ParamStore, name: string, dim: number, readonly eps: number, bias: boolean) {
    this.weight = store.create(`${name}.weight`, [dim], { kind: "ones" });
    this.bias = bias ? store.create(`${name}.bias`, [dim], { kind: "zeros" }) : null;
  }

  forward<T extends tf.Tensor>(x: T): T {
    return layerNorm(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D | null, this.eps);
  }
}

/** RMSNorm with a gain (`.weight`, starts at 1); never a bias. */
export class RMSNorm implements Norm {
  readonly weight: tf.Variable;

  constructor(store: ParamStore, name: string, dim: number, readonly eps: number) {
    this.weight = store.create(`${name}.weight`, [dim], { kind: "ones" });
  }

  forward<T extends tf.Tensor>(x: T): T {
    return rmsNorm(x, this.weight as tf.Tensor1D, this.eps);
  }
}
