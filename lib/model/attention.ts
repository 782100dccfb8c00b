/**
 * Causal multi-head self-attention (自注意力机制), as in "Attention Is All You Need" (Vaswani et al. 2017) and
 * GPT-2 (Radford et al. 2019).
 *
 * Every token asks a question (its query q), offers a label (its key k) and carries a message (its value v),
 * all three linear projections of its vector. The score of token i for token j is q_i·k_j / sqrt(hs); the
 * causal mask forbids j > i (a token must not see the future it is trained to predict); softmax turns each
 * row of scores into weights that sum to 1; the output of token i is the weighted sum of the values. Several
 * heads do this in parallel on slices of the vector, each free to look for a different relation.
 */
import * as tf from "@tensorflow/tfjs";
import { causalAttention } from "../kernels/attention";
import { splitQkv } from "../kernels/fused";
import { GPTConfig } from "./config";
import { dropout, SeedStream } from "./dropout";
import { KVCache } from "./kvcache";
import { Linear } from "./linear";
import { ParamStore } from "./params";
import { RotaryEmbedding } from "./position";

/** A large negative score for masked positions: exp() of it is exactly 0 in float32, without the NaNs −∞ can bring. */
const MASKED = -1e9;

/**
 * Splits the last axis into heads: [B, T, nh·hs] → [B, nh, T, hs]. Head h gets columns h·hs … (h+1)·hs−1.
 * @example with nh 2, one token [1, 2, 3, 4] becomes head 0: [1, 2] and head 1: [3, 4].
 */
export function splitHeads(x: tf.Tensor3D, nHead: number): tf.Tensor4D {
  const [B, T, D] = x.shape;
  // One token (generation with a cache): the transpose would not move a number, a reshape is enough.
  if (T === 1) return x.reshape([B, nHead, 1, D / nHead]);
  return tf.tidy(() => x.reshape([B, T, nHead, D / nHead]).transpose([0, 2, 1, 3]) as tf.Tensor4D); // [B, nh, T, hs]
}

/** Inverse of {@link splitHeads}: [B, nh, T, hs] → [B, T, nh·hs], heads side by side again. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, nh, T, hs] = x.shape;
  if (T === 1) return x.reshape([B, 1, nh * hs]);
  return tf.tidy(() => x.transpose([0, 2, 1, 3]).reshape([B, T, nh * hs]) as tf.Tensor3D); // [B, T, D]
}

/**
 * The causal mask as an additive bias [T, S] for T queries at positions offset..offset+T−1 over S = offset+T keys:
 * 0 where key j ≤ query position, −1e9 where the key lies in the future.
 * @example causalMask(3) → [[0, −1e9, −1e9], [0, 0, −1e9], [0, 0, 0]]
 */
export function causalMask(T: number, offset = 0): tf.Tensor2D {
  return tf.tidy(() => {
    const S = offset + T;
    const queryPos = tf.range(offset, S, 1, "int32").reshape([T, 1]); // [T, 1]
    const keyPos = tf.range(0, S, 1, "int32").reshape([1, S]); // [1, S]
    const future = tf.greater(keyPos, queryPos); // [T, S] bool
    return tf.where(future, tf.fill([T, S], MASKED), tf.zeros([T, S])) as tf.Tensor2D; // [T, S]
  });
}

/** softmax(q·kᵀ / sqrt(hs) + mask): the attention weights [B, nh, T, S]; each row sums to 1. */
export function attentionWeights(q: tf.Tensor4D, k: tf.Tensor4D, offset = 0): tf.Tensor4D {
  return tf.tidy(() => {
    const hs = q.shape[3];
    const T = q.shape[2];
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)); // [B, nh, T, S]
    return tf.softmax(tf.add(scores, causalMask(T, offset)), -1) as tf.Tensor4D; // [B, nh, T, S]
  });
}

/**
 * Scaled dot-product attention with a causal mask: q [B, nh, T, hs], k and v [B, nh, S, hs] → [B, nh, T, hs].
 * `offset` = S − T is the number of cached positions before the first query.
 */
export function scaledDotProductAttention(
  q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D,
  options: { offset?: number; dropout?: number; training?: boolean; seeds?: SeedStream } = {},
): tf.Tensor4D {
  return tf.tidy(() => {
    const weights = attentionWeights(q, k, options.offset ?? 0); // [B, nh, T, S]
    const dropped = dropout(weights, options.dropout ?? 0, options.training ?? false, options.seeds); // [B, nh, T, S]
    return tf.matMul(dropped, v) as tf.Tensor4D; // [B, nh, T, hs]
  });
}

export interface AttentionOptions {
  readonly training: boolean;
  readonly seeds?: SeedStream;
  /** With a cache: keys/values of earlier positions come from it, and this call's are appended. */
  readonly cache?: KVCache;
  /** Which of the cache's layers this attention is. */
  readonly layer: number;
  /** Rotary embedding of queries and keys (only when positional = "rope"). */
  readonly rope?: RotaryEmbedding;
}

export class CausalSelfAttention {
  readonly cAttn: Linear; // [D, 3D]: q, k and v projections side by side, in that order
  readonly cProj: Linear; // [D, D]: mixes the heads' outputs back into the residual stream

  constructor(store: ParamStore, name: string, private readonly config: GPTConfig) {
    const D = config.nEmbd;
    this.cAttn = new Linear(store, `${name}.c_attn`, D, 3 * D, config.bias);
    this.cProj = new Linear(store, `${name}.c_proj`, D, D, config.bias, 0.02 / Math.sqrt(2 * config.nLayer));
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: tf.Tensor3D, options: AttentionOptions): tf.Tensor3D {
    return tf.tidy(() => {
      const { nHead, dropout: rate } = this.config;
      const offset = options.cache?.length ?? 0; // positions already cached
      const qkv = this.cAttn.forward(x); // [B, T, 3D]
      // tf.split into q, k, v [B, T, D] and splitHeads of each, as one kernel each way (lib/kernels/fused.ts).
      let [q, k, v] = splitQkv(qkv, nHead); // [B, nh, T, hs] each
      if (options.rope) {
        q = options.rope.apply(q, offset); // [B, nh, T, hs], rotated by position
        k = options.rope.apply(k, offset); // [B, nh, T, hs]
      }
      if (options.cache) ({ k, v } = options.cache.append(options.layer, k, v)); // [B, nh, blockSize, hs], rows ≥ offset+T unseen
      // The same maths as scaledDotProductAttention above, as one operation: on wasm with the native addon one
      // kernel forward and one backward instead of ~20 and ~30 (lib/kernels/attention.ts).
      const drop = options.training ? rate : 0;
      const y = causalAttention(q, k, v, { offset, dropout: drop, seed: drop > 0 ? options.seeds?.next() : undefined }); // [B, nh, T, hs]
      const out = this.cProj.forward(mergeHeads(y)); // [B, T, D]
      return dropout(out, rate, options.training, options.seeds); // [B, T, D]
    });
  }
}
