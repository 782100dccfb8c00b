/**
 * The linear layer (线性层): y = x·W + b, applied to every token's vector independently.
 *
 * W is stored [in, out], as GPT-2's `Conv1D` stores it (and as a tfjs dense kernel), so a checkpoint's
 * `c_attn.weight` [768, 2304] is used as is. (PyTorch's nn.Linear would store the transpose, [out, in].)
 */
import * as tf from "@tensorflow/tfjs";
import { ParamStore } from "./params";

/**
 * What an adapter makes of a linear layer's product: the typed slot through which LoRA (lib/train/lora.ts) adapts a
 * layer without replacing its forward, so a change to forward reaches adapted layers too.
 */
export interface LinearAdapter {
  /** x [N, in] times the adapted weight (LoRA: x·(W + (alpha/r)·A·B)) → [N, out], or null for x·W alone (a merged LoRA). */
  product(x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D | null;
}

export class Linear {
  readonly weight: tf.Variable; // [in, out]
  readonly bias: tf.Variable | null; // [out]
  private adapterSlot: LinearAdapter | null = null;

  /** `std` is the standard deviation of the initial weights (GPT-2: 0.02, smaller for residual projections). */
  constructor(store: ParamStore, name: string, inDim: number, outDim: number, bias: boolean, std = 0.02) {
    this.weight = store.create(`${name}.weight`, [inDim, outDim], { kind: "normal", std });
    this.bias = bias ? store.create(`${name}.bias`, [outDim], { kind: "zeros" }) : null;
  }

  /** x [..., in] → [..., out]. */
  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const [inDim, outDim] = this.weight.shape as [number, number];
      const lead = x.shape.slice(0, -1); // e.g. [B, T]
      const flat = x.reshape([-1, inDim]); // [B·T, in]: one 2-D product instead of a batched one
      const y = this.adapterSlot?.product(flat as tf.Tensor2D, this.weight as tf.Tensor2D) ?? tf.matMul(flat, this.weight); // [B·T, out]
      const out = this.bias ? tf.add(y, this.bias) : y; // [B·T, out]
      return out.reshape([...lead, outDim]) as T; // [..., out]
    });
  }

  /** The adapter attached to this layer, or null. */
  get adapter(): LinearAdapter | null {
    return this.adapterSlot;
  }

  /** Attaches `adapter` (one at a time: a second one is an error, so two LoRAs cannot silently stack). */
  attachAdapter(adapter: LinearAdapter, name = "this layer"): void {
    if (this.adapterSlot) throw new Error(`${name} already has an adapter: remove it first`);
    this.adapterSlot = adapter;
  }

  /** Removes the adapter; the layer computes x·W + b again. */
  detachAdapter(): void {
    this.adapterSlot = null;
  }
}
