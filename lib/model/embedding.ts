/**
 * Token embedding (嵌入层): a table with one learned row of nEmbd numbers per token id.
 *
 * Looking up id 7 returns row 7; nothing is multiplied. It is the same as multiplying a one-hot vector by the
 * table, only vocabSize times cheaper. GPT-2 reuses the table at the other end of the model as its output layer
 * (Press & Wolf 2017, "Using the Output Embedding to Improve Language Models"): the logit of token v is the dot
 * product of the final hidden vector with row v, so a token's input and output meaning share one vector.
 */
import * as tf from "@tensorflow/tfjs";
import { ParamStore } from "./params";

/** A replacement for the table a {@link TokenEmbedding} reads (LoRA's trainable token rows: wte + P·delta). */
export interface EmbeddingAdapter {
  /** The table to use, [vocabSize, nEmbd], computed from the base `weight`. */
  table(weight: tf.Variable): tf.Tensor2D;
}

export class TokenEmbedding {
  /** [vocabSize, nEmbd]; Hugging Face name `transformer.wte.weight`. */
  readonly weight: tf.Variable;
  private adapterSlot: EmbeddingAdapter | null = null;

  constructor(store: ParamStore, name: string, vocabSize: number, nEmbd: number) {
    this.weight = store.create(name, [vocabSize, nEmbd], { kind: "normal", std: 0.02 });
  }

  /**
   * ids [B, T] (int32) → vectors [B, T, nEmbd].
   * @example with a table of 3 rows [[1,1],[2,2],[3,3]], ids [[2, 0]] give [[[3,3],[1,1]]].
   */
  forward(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => tf.gather(this.table(), ids) as tf.Tensor as tf.Tensor3D); // [B, T, D]
  }

  /** The table lookups and a tied output layer read: `weight`, or the adapter's correction of it. */
  table(): tf.Tensor2D {
    return this.adapterSlot ? this.adapterSlot.table(this.weight) : (this.weight as tf.Tensor2D); // [V, D]
  }

  get adapter(): EmbeddingAdapter | null {
    return this.adapterSlot;
  }

  /** Attaches `adapter` (one at a time). */
  attachAdapter(adapter: EmbeddingAdapter): void {
    if (this.adapterSlot) throw new Error("the token embedding already has an adapter: remove it first");
    this.adapterSlot = adapter;
  }

  detachAdapter(): void {
    this.adapterSlot = null;
  }
}

/**
 * The output (linear) layer: hidden vectors [B, T, D] times a [V, D] table transposed → logits [B, T, V].
 * With tied embeddings the table is `wte` itself; otherwise it is a separate `lm_head.weight` of the same shape.
 */
export function outputLogits(h: tf.Tensor3D, table: tf.Tensor2D): tf.Tensor3D {
  const [B, T, D] = h.shape;
  const V = table.shape[0];
  return tf.tidy(() => {
    const flat = h.reshape([B * T, D]); // [B·T, D]
    return tf.matMul(flat, table, false, true).reshape([B, T, V]) as tf.Tensor3D; // [B, T, V]
  });
}
