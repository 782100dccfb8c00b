/**
 * The key/value cache: what makes generation token by token cheap.
 *
 * To generate token t+1 the model needs attention of the new token over all t+1 positions. The keys and values
 * of the first t positions were already computed when those tokens went through the model, and (because of the
 * causal mask) they never change afterwards. So each attention layer keeps them here, and the next forward pass
 * feeds only the new token: one row of work per layer instead of t+1.
 *
 *   const cache = model.newCache();
 *   let logits = model.forward(promptIds, { cache });        // fills the cache with the prompt
 *   logits = model.forward([[nextId]], { cache });           // one new token, attends to everything cached
 *   cache.dispose();
 */
import * as tf from "@tensorflow/tfjs";

export class KVCache {
  private readonly keys: (tf.Tensor4D | null)[];
  private readonly values: (tf.Tensor4D | null)[];
  private cached = 0;

  /** One slot per layer; `maxLength` is the model's blockSize, the most positions the cache may hold. */
  constructor(readonly nLayer: number, readonly maxLength: number) {
    this.keys = new Array<tf.Tensor4D | null>(nLayer).fill(null);
    this.values = new Array<tf.Tensor4D | null>(nLayer).fill(null);
  }

  /** Number of positions already cached: the position of the next token fed to the model. */
  get length(): number {
    return this.cached;
  }

  /** Batch size of the cached sequences, or null while empty. */
  get batchSize(): number | null {
    return this.keys[0]?.shape[0] ?? null;
  }

  /**
   * Appends one layer's new keys and values [B, nh, T, hs] and returns all of them so far [B, nh, length+T, hs].
   * The cache keeps its own tensors (they survive the caller's tf.tidy) and frees the previous ones.
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    if (layer < 0 || layer >= this.nLayer) throw new Error(`KVCache has ${this.nLayer} layers, not layer ${layer}`);
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    const had = oldK ? oldK.shape[2] : 0;
    if (had !== this.cached) {
      throw new Error(`KVCache layer ${layer} holds ${had} positions but the cache is at ${this.cached}: a forward pass failed midway; call reset()`);
    }
    if (oldK && oldK.shape[0] !== k.shape[0]) throw new Error(`KVCache holds batch size ${oldK.shape[0]}, got ${k.shape[0]}`);
    const fullK = tf.keep(oldK ? tf.concat([oldK, k], 2) : k.clone()) as tf.Tensor4D; // [B, nh, length+T, hs]
    const fullV = tf.keep(oldV ? tf.concat([oldV!, v], 2) : v.clone()) as tf.Tensor4D; // [B, nh, length+T, hs]
    oldK?.dispose();
    oldV?.dispose();
    this.keys[layer] = fullK;
    this.values[layer] = fullV;
    return { k: fullK, v: fullV };
  }

  /** Marks `T` more positions as cached, once every layer has appended them (the model calls this). */
  advance(T: number): void {
    this.cached += T;
    for (let i = 0; i < this.nLayer; i++) {
      const n = this.keys[i]?.shape[2] ?? 0;
      if (n !== this.cached) throw new Error(`KVCache layer ${i} holds ${n} positions after a step to ${this.cached}`);
    }
  }

  /** Empties the cache (e.g. to start a new prompt) and frees its tensors. */
  reset(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.cached = 0;
  }

  dispose(): void {
    this.reset();
  }
}
