/**
 * Trainable token rows (chapter 8): a correction of a few rows of the token embedding, trained with LoRA's adapters.
 *
 * The chat format's markers (<|user|>, <|assistant|>, <|end|>) never occurred in pretraining, so their embedding rows
 * carry no meaning (pretraining only pushed their logits down), and the linear layers' adapters can only work around
 * that. So, as PEFT's `trainable_token_indices` does, an adapter may also train a correction of a few rows of the
 * (tied) token embedding: `trainableTokens`, a handful of ids, k·nEmbd numbers. (Measured on a 2-layer, 64-wide
 * model after 200 steps of SFT: validation loss 4.95 with A and B only, 4.64 with the markers' rows too, 2.19 when
 * the whole embedding table trains; on so small a model the embedding is a large part of what full fine-tuning
 * changes.)
 */
import * as tf from "@tensorflow/tfjs";
import type { EmbeddingAdapter } from "../model/embedding";

/** tfjs names variables globally: each correction's variable gets a prefix of its own (two models may both be adapted). */
let nextId = 0;

/** Name of the token-row correction in adapter files and in `trainable()`. */
export const TRAINABLE_TOKENS_NAME = "transformer.wte.trainable_tokens";

/**
 * A trainable correction of some rows of the token embedding: wte' = wte + P·delta, where P [V, k] puts row i of
 * delta [k, D] at token id ids[i]. delta starts at 0 (the base model exactly); only delta trains.
 */
export class TokenRowsAdapter implements EmbeddingAdapter {
  readonly delta: tf.Variable; // [k, D]
  private readonly placement: tf.Tensor2D; // [V, k], one-hot columns
  private mergedIn = false;

  constructor(
    readonly wte: tf.Variable,
    readonly ids: readonly number[],
  ) {
    const [V, D] = wte.shape as [number, number];
    ids.forEach((id) => {
      if (id >= V) throw new Error(`LoRA trainableTokens: id ${id} is outside the vocabulary (${V} tokens)`);
    });
    this.delta = tf.tidy(() => tf.variable(tf.zeros([ids.length, D]), true, `tokenRows${nextId++}/${TRAINABLE_TOKENS_NAME}`));
    this.placement = tf.tidy(() => tf.transpose(tf.oneHot(tf.tensor1d([...ids], "int32"), V)).toFloat() as tf.Tensor2D); // [V, k]
  }

  get merged(): boolean {
    return this.mergedIn;
  }

  /** The table the model uses: wte + P·delta [V, D], or wte itself once merged. Call inside a tidy. */
  table(): tf.Tensor2D {
    if (this.mergedIn) return this.wte as tf.Tensor as tf.Tensor2D;
    return tf.add(this.wte, tf.matMul(this.placement, this.delta)) as tf.Tensor2D; // [V, D]
  }

  merge(): void {
    if (this.mergedIn) throw new Error("LoRA token rows are already merged");
    tf.tidy(() => this.wte.assign(tf.add(this.wte, tf.matMul(this.placement, this.delta))));
    this.mergedIn = true;
  }

  unmerge(): void {
    if (!this.mergedIn) throw new Error("LoRA token rows are not merged");
    tf.tidy(() => this.wte.assign(tf.sub(this.wte, tf.matMul(this.placement, this.delta))));
    this.mergedIn = false;
  }

  dispose(): void {
    this.delta.dispose();
    this.placement.dispose();
  }
}
