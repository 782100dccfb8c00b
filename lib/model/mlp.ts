/**
 * The feed-forward network (前馈神经网络): after attention has mixed information between tokens, each token's
 * vector is transformed on its own by a two-layer network: widen (×4), a non-linearity, narrow back.
 *
 * - GELU (Hendrycks & Gimpel 2016, "Gaussian Error Linear Units"), GPT-2's activation, in the tanh approximation
 *   that GPT-2 used (Hugging Face calls it `gelu_new`):
 *     gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))      gelu(−1) ≈ −0.159, gelu(0) = 0, gelu(1) ≈ 0.841
 * - SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer"), LLaMA's choice: two parallel projections, one
 *   passed through SiLU acts as a gate on the other: silu(x·Wg) ⊙ (x·Wu), then the output projection.
 */
import * as tf from "@tensorflow/tfjs";
import { geluTanh as fusedGeluTanh } from "../kernels/fused";
import { GPTConfig, mlpHidden } from "./config";
import { dropout, SeedStream } from "./dropout";
import { Linear } from "./linear";
import { ParamStore } from "./params";

/**
 * GELU, tanh approximation (GPT-2's `gelu_new`), as the formula above. Where the backend has it (wasm, cpu) this
 * is one fused kernel with a written-out gradient (lib/kernels/fused.ts): the formula as separate tfjs ops costs
 * about 8 kernels forward and 15 backward on the model's widest activation. Elsewhere it runs as plain tfjs ops.
 */
export const geluTanh: <T extends tf.Tensor>(x: T) => T = fusedGeluTanh;

/** SiLU (also called swish): x·sigmoid(x). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

export class MLP {
  readonly cFc: Linear; // [D, H]: widen (the "up" projection for SwiGLU)
  readonly cGate: Linear | null; // [D, H]: SwiGLU's gate; null for GELU
  readonly cProj: Linear; // [H, D]: back to the residual stream

  constructor(store: ParamStore, name: string, private readonly config: GPTConfig) {
    const D = config.nEmbd;
    const H = mlpHidden(config);
    this.cFc = new Linear(store, `${name}.c_fc`, D, H, config.bias);
    this.cGate = config.mlp === "swiglu" ? new Linear(store, `${name}.c_gate`, D, H, config.bias) : null;
    // GPT-2 shrinks the init of projections that add into the residual stream by 1/sqrt(2·nLayer), so the sum of
    // 2·nLayer branches does not grow with depth.
    this.cProj = new Linear(store, `${name}.c_proj`, H, D, config.bias, 0.02 / Math.sqrt(2 * config.nLayer));
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: tf.Tensor3D, training: boolean, seeds?: SeedStream): tf.Tensor3D {
    return tf.tidy(() => {
      const up = this.cFc.forward(x); // [B, T, H]
      const hidden: tf.Tensor3D = this.cGate ? tf.mul(silu(this.cGate.forward(x)), up) : geluTanh(up); // [B, T, H]
      const out = this.cProj.forward(hidden); // [B, T, D]
      return dropout(out, this.config.dropout, training, seeds); // [B, T, D]
    });
  }
}
