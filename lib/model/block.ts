/**
 * One decoder block (解码器模块), pre-norm as in GPT-2:
 *
 *   x = x + attn(ln_1(x))     tokens exchange information
 *   x = x + mlp(ln_2(x))      each token thinks on its own
 *
 * The residual connections (He et al. 2016, "Deep Residual Learning") keep an unobstructed path from the
 * embedding to the output: each block only adds a correction, so a deep stack still trains. Normalizing the
 * input of each branch (not the sum, as the original Transformer did) keeps that path clean.
 */
import * as tf from "@tensorflow/tfjs";
import { AttentionOptions, CausalSelfAttention } from "./attention";
import { GPTConfig } from "./config";
import { MLP } from "./mlp";
import { LayerNorm, Norm, RMSNorm } from "./norm";
import { ParamStore } from "./params";

/** The normalization the config asks for, named like GPT-2's (`ln_1`, `ln_2`, `ln_f`) whichever kind it is. */
export function makeNorm(store: ParamStore, name: string, config: GPTConfig): Norm {
  return config.norm === "layernorm"
    ? new LayerNorm(store, name, config.nEmbd, config.normEps, config.bias)
    : new RMSNorm(store, name, config.nEmbd, config.normEps);
}

export class Block {
  readonly ln1: Norm;
  readonly attn: CausalSelfAttention;
  readonly ln2: Norm;
  readonly mlp: MLP;

  /** `name` is the block's prefix, e.g. `transformer.h.0`. */
  constructor(store: ParamStore, name: string, config: GPTConfig) {
    this.ln1 = makeNorm(store, `${name}.ln_1`, config);
    this.attn = new CausalSelfAttention(store, `${name}.attn`, config);
    this.ln2 = makeNorm(store, `${name}.ln_2`, config);
    this.mlp = new MLP(store, `${name}.mlp`, config);
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: tf.Tensor3D, options: AttentionOptions): tf.Tensor3D {
    return tf.tidy(() => {
      const afterAttn = tf.add(x, this.attn.forward(this.ln1.forward(x), options)) as tf.Tensor3D; // [B, T, D]
      return tf.add(afterAttn, this.mlp.forward(this.ln2.forward(afterAttn), options.training, options.seeds)) as tf.Tensor3D; // [B, T, D]
    });
  }
}
