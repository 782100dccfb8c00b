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
 *
 * Each layer's keys and values live in one buffer [B, nh, maxLength, hs], allocated on the first call and
 * written in place at positions length … length+T−1 (on wasm and cpu; see {@link writeRows}). Concatenating
 * instead would copy the whole cache once per layer and token, and allocate a new tensor each time. Attention
 * reads the whole buffer: the causal mask already hides every position after the query's, which includes the
 * ones not written yet.
 */
import * as tf from "@tensorflow/tfjs";
import { values } from "../kernels/memory";

/**
 * Writes x [B, nh, T, hs] into buf [B, nh, cap, hs] at positions at … at+T−1. In place on wasm and cpu, whose
 * tensors are plain memory we can view (lib/kernels/memory.ts); elsewhere a new buffer built from slices.
 * Returns the buffer that now holds the rows (the same tensor when written in place).
 */
function writeRows(buf: tf.Tensor4D, x: tf.Tensor4D, at: number): tf.Tensor4D {
  const [B, nh, cap, hs] = buf.shape;
  const T = x.shape[2];
  const backend = tf.backend();
  const inPlace = (tf.getBackend() === "wasm" || tf.getBackend() === "cpu") && x.dtype === "float32";
  if (inPlace) {
    const src = values(backend, x); // taken after every allocation (a wasm heap growth would detach it)
    const dst = values(backend, buf);
    const rows = T * hs;
    for (let g = 0; g < B * nh; g++) dst.set(src.subarray(g * rows, (g + 1) * rows), (g * cap + at) * hs);
    return buf;
  }
  const next = tf.tidy(() => {
    const parts = [tf.slice(buf, [0, 0, 0, 0], [B, nh, at, hs]), x, tf.slice(buf, [0, 0, at + T, 0], [B, nh, cap - at - T, hs])];
    return tf.concat(parts, 2) as tf.Tensor4D; // [B, nh, cap, hs]
  });
  buf.dispose();
  return tf.keep(next);
}

export class KVCache {
  private readonly keys: (tf.Tensor4D | null)[];
  private readonly values: (tf.Tensor4D | null)[];
  /** Positions written by each layer in the current forward pass (all equal to `cached` between passes). */
  private readonly written: number[];
  private cached = 0;

  /** One slot per layer; `maxLength` is the model's blockSize, the most positions the cache may hold. */
  constructor(readonly nLayer: number, readonly maxLength: number) {
    this.keys = new Array<tf.Tensor4D | null>(nLayer).fill(null);
    this.values = new Array<tf.Tensor4D | null>(nLayer).fill(null);
    this.written = new Array<number>(nLayer).fill(0);
  }

  /** Number of positions already cached: the position of the next token fed to the model. */
  get length(): number {
    return this.cached;
  }

  /** Batch size of the cached sequences, or null while empty. */
  get batchSize(): number | null {
    return this.cached > 0 ? (this.keys[0]?.shape[0] ?? null) : null;
  }

  /**
   * Writes one layer's new keys and values [B, nh, T, hs] at positions length … length+T−1 and returns the
   * layer's whole buffers [B, nh, maxLength, hs]: positions from length+T on hold stale or zero rows, which the
   * causal mask hides (a query at position p sees keys 0 … p only). The cache owns the buffers (they survive
   * the caller's tf.tidy).
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.nLayer) throw new Error(`KVCache has ${this.nLayer} layers, not layer ${layer}`);
    const [B, nh, T, hs] = k.shape;
    if (!tf.util.arraysEqual(v.shape, k.shape)) throw new Error(`KVCache: keys [${k.shape}] and values [${v.shape}] differ in shape`);
    if (this.cached + T > this.maxLength) {
      throw new Error(`KVCache: ${this.cached} cached + ${T} new positions exceed its ${this.maxLength}; call reset()`);
    }
    const buffers = this.buffers(layer, B, nh, hs);
    const kb = (this.keys[layer] = writeRows(buffers.k, k, this.cached));
    const vb = (this.values[layer] = writeRows(buffers.v, v, this.cached));
    this.written[layer] = this.cached + T;
    return { k: kb, v: vb };
  }

  /**
   * For a kernel that writes the next `T` positions of every layer itself, in place (lib/kernels/decode.ts): checks
   * the room, allocates the buffers [B, nh, maxLength, hs] if needed, and returns them; the kernel must then write
   * rows length … length+T−1 of each, after which {@link advance}(T) may follow. Counts as every layer's append.
   */
  reserveAll(B: number, nh: number, hs: number, T: number): { k: tf.Tensor4D; v: tf.Tensor4D }[] {
    if (this.cached + T > this.maxLength) {
      throw new Error(`KVCache: ${this.cached} cached + ${T} new positions exceed its ${this.maxLength}; call reset()`);
    }
    const all = Array.from({ length: this.nLayer }, (_, layer) => this.buffers(layer, B, nh, hs));
    this.written.fill(this.cached + T);
    return all;
  }

  /** Layer `layer`'s buffers for keys of shape [B, nh, ·, hs], allocated (zeroed) when missing or of another shape. */
  private buffers(layer: number, B: number, nh: number, hs: number): { k: tf.Tensor4D; v: tf.Tensor4D } {
    let kb = this.keys[layer];
    let vb = this.values[layer];
    if (kb && (kb.shape[0] !== B || kb.shape[1] !== nh || kb.shape[3] !== hs)) {
      if (this.cached > 0) throw new Error(`KVCache holds batch size ${kb.shape[0]} [${kb.shape}], got keys [${B},${nh},·,${hs}]`);
      kb.dispose(); // empty cache, new shape (another batch size): allocate again
      vb?.dispose();
      kb = vb = null;
    }
    if (!kb || !vb) {
      kb = tf.keep(tf.zeros([B, nh, this.maxLength, hs], "float32")) as tf.Tensor4D; // zeros: finite in any masked product
      vb = tf.keep(tf.zeros([B, nh, this.maxLength, hs], "float32")) as tf.Tensor4D;
      this.keys[layer] = kb;
      this.values[layer] = vb;
    }
    return { k: kb, v: vb };
  }

  /** Marks `T` more positions as cached, once every layer has appended them (the model calls this). */
  advance(T: number): void {
    for (let i = 0; i < this.nLayer; i++) {
      if (this.written[i] !== this.cached + T) {
        throw new Error(`KVCache layer ${i} holds ${this.written[i]} positions after a step to ${this.cached + T}`);
      }
    }
    this.cached += T;
  }

  /** Empties the cache (e.g. to start a new prompt); the buffers stay allocated for the next one. */
  reset(): void {
    this.cached = 0;
    this.written.fill(0);
  }

  /** Frees the buffers. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.reset();
  }
}
