/**
 * LoRA微调 (chapter 8): fine-tuning through a low-rank correction instead of the whole weight matrix.
 * Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models".
 *
 * The book's example: a weight W of 1024×512 has 524,288 numbers. LoRA leaves W frozen and learns two thin
 * matrices A (1024×8) and B (8×512) instead, 8,192 + 4,096 = 12,288 numbers, and the layer computes with
 *
 *   W' = W + (alpha / r) · A·B          (r = 8: the rank of the correction A·B)
 *   y  = x·W' + b = x·W + b + (alpha / r) · (x·A)·B
 *
 * Our Linear stores W as [in, out] (GPT-2's Conv1D), so A is [in, r] and B is [r, out], exactly the book's shapes.
 * B starts at zero, so A·B = 0 and the adapted model starts as exactly the base model; A starts small and random
 * (if both were zero, neither would ever get a gradient). alpha / r scales the correction so that trying another
 * rank does not require another learning rate.
 *
 * After training, the correction can be merged into W (W ← W + (alpha/r)·A·B): the model is then an ordinary GPT,
 * as fast as the base, and unmerging (W ← W − (alpha/r)·A·B) gives the base back. An adapter is small and saved
 * alone: many adapters (one per task) can share one base model.
 *
 * New tokens: the chat markers never occurred in pretraining, so an adapter may also train a correction of their
 * embedding rows (`trainableTokens`, as PEFT's `trainable_token_indices`): tokenRows.ts says why and how.
 *
 * How it is wired: `applyLora` finds the chosen linear layers of a GPT by name (`attn.c_attn` matches
 * transformer.h.0.attn.c_attn, transformer.h.1.attn.c_attn, …) and puts a LoraLinear in each one's adapter slot
 * (Linear.attachAdapter: the layer multiplies x by the weight the adapter makes of W); the token rows go in the embedding's slot,
 * which the tied output layer reads too. No method of a live object is replaced, so a later change to the model's
 * forward reaches adapted models as well; `dispose()` empties the slots. Saving and loading adapters: loraFiles.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { loraProduct } from "../kernels/lora";
import type { GPT } from "../model/gpt";
import type { Linear, LinearAdapter } from "../model/linear";
import { sizeOf } from "../model/params";
import type { NamedVariables } from "./optimizer";
import { TRAINABLE_TOKENS_NAME, TokenRowsAdapter } from "./tokenRows";

export interface LoraConfig {
  /** r: the rank of the correction A·B (A is [in, r], B is [r, out]). The book's example: 8. */
  readonly rank: number;
  /** The correction is scaled by alpha / rank (alpha = 2·rank is a common choice). */
  readonly alpha: number;
  /**
   * Which linear layers get an adapter, as name suffixes: "attn.c_attn" (the q, k, v projection), "attn.c_proj",
   * "mlp.c_fc", "mlp.c_proj", or full names such as "transformer.h.0.attn.c_attn".
   */
  readonly targets: readonly string[];
  /**
   * Token ids whose embedding rows also train (a correction added to those rows of wte, which the tied output layer
   * shares). Default none; chapter 8 passes the chat markers (tokenRows.ts).
   */
  readonly trainableTokens?: readonly number[];
}

/** Rank 8 as in the book, alpha 16, on the attention projections (the original paper's choice) and the MLP. */
export const LORA_DEFAULTS: LoraConfig = Object.freeze({
  rank: 8,
  alpha: 16,
  targets: Object.freeze(["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]),
});

/** Checks a config, returning a frozen copy; errors name the field and value. */
export function validateLoraConfig(config: LoraConfig): LoraConfig {
  const { rank, alpha, targets } = config;
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`LoraConfig.rank = ${rank}: must be a positive integer`);
  if (!(typeof alpha === "number" && alpha > 0 && Number.isFinite(alpha))) throw new Error(`LoraConfig.alpha = ${alpha}: must be a positive number`);
  if (!Array.isArray(targets) || targets.length === 0 || targets.some((t) => typeof t !== "string" || t === "")) {
    throw new Error(`LoraConfig.targets = ${JSON.stringify(targets)}: must be a non-empty list of layer names`);
  }
  const tokens = config.trainableTokens ?? [];
  if (!Array.isArray(tokens) || tokens.some((t) => !Number.isInteger(t) || t < 0) || new Set(tokens).size !== tokens.length) {
    throw new Error(`LoraConfig.trainableTokens = ${JSON.stringify(tokens)}: must be distinct token ids`);
  }
  return Object.freeze({ rank, alpha, targets: Object.freeze([...targets]), trainableTokens: Object.freeze([...tokens]) });
}

/**
 * Parameters of a rank-r adapter on an in×out weight: in·r (A) + r·out (B).
 * @example loraParameterCount(1024, 512, 8) // 12288  (the full matrix: 1024·512 = 524288)
 */
export function loraParameterCount(inDim: number, outDim: number, rank: number): number {
  return inDim * rank + rank * outDim;
}

/** Every linear layer of a GPT by its Hugging Face name (without ".weight"), in model order. */
export function linearLayers(model: GPT): Map<string, Linear> {
  const out = new Map<string, Linear>();
  model.blocks.forEach((b, i) => {
    const p = `transformer.h.${i}`;
    out.set(`${p}.attn.c_attn`, b.attn.cAttn);
    out.set(`${p}.attn.c_proj`, b.attn.cProj);
    out.set(`${p}.mlp.c_fc`, b.mlp.cFc);
    if (b.mlp.cGate) out.set(`${p}.mlp.c_gate`, b.mlp.cGate);
    out.set(`${p}.mlp.c_proj`, b.mlp.cProj);
  });
  return out;
}

/** The layer names a target matches: the name itself, or every name ending in "." + target. */
function matches(name: string, target: string): boolean {
  return name === target || name.endsWith("." + target);
}

/** tfjs names variables globally: each adapter's variables get a prefix of their own (two models may both be adapted). */
let nextAdapterId = 0;

/** One adapted linear layer: the frozen base and its A and B. */
export class LoraLinear implements LinearAdapter {
  readonly a: tf.Variable; // [in, r]
  readonly b: tf.Variable; // [r, out]
  readonly scale: number; // alpha / r
  private mergedIn = false;

  constructor(
    readonly name: string,
    readonly base: Linear,
    readonly rank: number,
    alpha: number,
    seed: number,
  ) {
    const [inDim, outDim] = base.weight.shape as [number, number];
    this.scale = alpha / rank;
    const prefix = `lora${nextAdapterId++}/${name}`;
    // A ~ N(0, 1/in): x·A then has about unit scale whatever the width; B = 0 makes the start exactly the base.
    this.a = tf.tidy(() => tf.variable(tf.randomNormal([inDim, rank], 0, 1 / Math.sqrt(inDim), "float32", seed), true, `${prefix}.lora_A`));
    this.b = tf.tidy(() => tf.variable(tf.zeros([rank, outDim]), true, `${prefix}.lora_B`));
  }

  get merged(): boolean {
    return this.mergedIn;
  }

  /** The correction (alpha/r)·A·B, [in, out]. */
  delta(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.matMul(this.a, this.b), this.scale) as tf.Tensor2D);
  }

  /**
   * x·(W + (alpha/r)·A·B) for x [N, in] → [N, out]; null once merged into W (the layer then computes x·W).
   *
   * The correction is folded into the weight before the product (an in×out matrix, as small as W itself), so the
   * forward pass is one product of x, as fast as the base's, instead of x·W plus (x·A)·B and an addition over all
   * N rows. The gradient is written out by hand: W is frozen, so no in×out weight gradient is ever formed, only
   *
   *   dx = dy·W'ᵀ                    (what every layer below needs)
   *   dA = (alpha/r)·xᵀ·(dy·Bᵀ)      [in, r]
   *   dB = (alpha/r)·(x·A)ᵀ·dy       [r, out]
   *
   * four thin products with r = 8 columns. The unfolded form costs ten operations over all N rows per layer, and
   * on the course model they cost more than the frozen weights' gradients save (measured: a LoRA step 1.05× a full
   * SFT step; npm run bench -- train). lib/kernels/lora.ts's loraProduct does it: on wasm with the native addon as
   * one kernel forward and one pass over x and dy for dA and dB (the four products took ~60 ms of a ~470 ms step).
   */
  product(x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D | null {
    if (this.mergedIn) return null;
    return loraProduct(x, weight, this.a as tf.Tensor2D, this.b as tf.Tensor2D, this.scale);
  }

  /** W ← W + (alpha/r)·A·B. Afterwards the layer computes with W alone. */
  merge(): void {
    if (this.mergedIn) throw new Error(`LoRA layer ${this.name} is already merged`);
    const w = this.base.weight;
    tf.tidy(() => w.assign(tf.add(w, this.delta())));
    this.mergedIn = true;
  }

  /** W ← W − (alpha/r)·A·B: the base weight back (to float rounding). */
  unmerge(): void {
    if (!this.mergedIn) throw new Error(`LoRA layer ${this.name} is not merged`);
    const w = this.base.weight;
    tf.tidy(() => w.assign(tf.sub(w, this.delta())));
    this.mergedIn = false;
  }

  dispose(): void {
    this.a.dispose();
    this.b.dispose();
  }
}

/** A row of the trainable-parameter table. */
export type LoraCountRow = {
  readonly layer: string;
  readonly shape: string;
  /** Parameters of the full weight W. */
  readonly full: number;
  /** Parameters of A and B. */
  readonly lora: number;
};

/**
 * LoRA adapters attached to a GPT. While attached, the model's forward pass uses them; the base weights are
 * frozen simply by training only `trainable()`.
 */
export class LoraAdapter {
  private readonly restore: (() => void)[] = [];
  private disposed = false;

  private constructor(
    readonly model: GPT,
    readonly config: LoraConfig,
    readonly layers: ReadonlyMap<string, LoraLinear>,
    /** The embedding-row correction, when `config.trainableTokens` lists any. */
    readonly tokens: TokenRowsAdapter | null,
  ) {}

  /** Attaches adapters to the layers of `model` named by `config.targets` (see {@link applyLora}). */
  static attach(model: GPT, config: LoraConfig, seed: number): LoraAdapter {
    const c = validateLoraConfig(config);
    const all = linearLayers(model);
    for (const t of c.targets) {
      if (![...all.keys()].some((n) => matches(n, t))) {
        throw new Error(`LoRA target '${t}' matches no linear layer of the model (its layers: ${[...all.keys()].slice(0, 5).join(", ")}, …)`);
      }
    }
    const layers = new Map<string, LoraLinear>();
    let s = seed;
    for (const [name, linear] of all) {
      if (!c.targets.some((t) => matches(name, t))) continue;
      if (linear.adapter) throw new Error(`${name} already has a LoRA adapter: remove it first`);
      layers.set(name, new LoraLinear(name, linear, c.rank, c.alpha, s++));
    }
    const tokenIds = c.trainableTokens ?? [];
    if (tokenIds.length && model.lmHead) throw new Error("LoRA trainableTokens needs tied embeddings (tieEmbeddings: true): the output layer must share wte's rows");
    const tokens = tokenIds.length ? new TokenRowsAdapter(model.wte.weight, tokenIds) : null;
    const adapter = new LoraAdapter(model, c, layers, tokens);
    if (tokens) {
      // One slot serves the embedding lookup and the tied output layer: both read wte.table().
      model.wte.attachAdapter(tokens);
      adapter.restore.push(() => model.wte.detachAdapter());
    }
    for (const lora of layers.values()) {
      lora.base.attachAdapter(lora, lora.name);
      adapter.restore.push(() => lora.base.detachAdapter());
    }
    return adapter;
  }

  /** A and B of every adapted layer, by name (`transformer.h.0.attn.c_attn.lora_A`): the only weights that train. */
  trainable(): NamedVariables {
    const out = new Map<string, tf.Variable>();
    for (const [name, l] of this.layers) {
      out.set(`${name}.lora_A`, l.a);
      out.set(`${name}.lora_B`, l.b);
    }
    if (this.tokens) out.set(TRAINABLE_TOKENS_NAME, this.tokens.delta);
    return out;
  }

  /** Number of trainable parameters (A and B of every adapted layer). */
  numTrainable(): number {
    let n = 0;
    for (const v of this.trainable().values()) n += sizeOf(v.shape);
    return n;
  }

  /** Per adapted layer: the full weight's parameters and the adapter's. */
  countRows(): LoraCountRow[] {
    const rows = [...this.layers].map(([layer, l]) => {
      const [i, o] = l.base.weight.shape;
      return { layer, shape: `${i}×${o}`, full: i * o, lora: loraParameterCount(i, o, l.rank) };
    });
    if (this.tokens) {
      const [V, D] = this.tokens.wte.shape;
      rows.push({ layer: `transformer.wte (rows of ${this.tokens.ids.length} tokens)`, shape: `${V}×${D}`, full: V * D, lora: this.tokens.ids.length * D });
    }
    return rows;
  }

  get merged(): boolean {
    return [...this.layers.values()].some((l) => l.merged) || (this.tokens?.merged ?? false);
  }

  /** Folds every adapter into its base weight: W ← W + (alpha/r)·A·B. The model then runs at the base's speed. */
  merge(): void {
    this.check();
    for (const l of this.layers.values()) l.merge();
    this.tokens?.merge();
  }

  /** Takes the adapters back out of the base weights: W ← W − (alpha/r)·A·B. */
  unmerge(): void {
    this.check();
    for (const l of this.layers.values()) l.unmerge();
    this.tokens?.unmerge();
  }

  /**
   * Detaches the adapters and frees A and B. If they were merged, the model keeps the merged weights (an ordinary
   * fine-tuned GPT); otherwise it is the base model again.
   */
  dispose(): void {
    if (this.disposed) return;
    for (const r of this.restore) r();
    for (const l of this.layers.values()) l.dispose();
    this.tokens?.dispose();
    this.disposed = true;
  }

  /** adapter_config.json's contents. */
  configJson(): LoraAdapterConfigJson {
    return {
      format: "tiaoyu-lora",
      version: 1,
      rank: this.config.rank,
      alpha: this.config.alpha,
      targets: [...this.config.targets],
      layers: Object.fromEntries([...this.layers].map(([n, l]) => [n, [...l.base.weight.shape] as [number, number]])),
      trainableTokens: this.tokens ? [...this.tokens.ids] : [],
      embedding: [...this.model.wte.weight.shape] as [number, number],
    };
  }

  private check(): void {
    if (this.disposed) throw new Error("this LoRA adapter has been disposed");
  }
}

/**
 * Attaches LoRA adapters to the linear layers of `model` whose names match `config.targets`.
 * @example const lora = applyLora(model, { rank: 8, alpha: 16, targets: ["attn.c_attn"] });
 *          await train(sftStage(model, data, settings, { trainable: lora.trainable() }), …);
 *          lora.merge();
 */
export function applyLora(model: GPT, config: LoraConfig = LORA_DEFAULTS, options: { seed?: number } = {}): LoraAdapter {
  return LoraAdapter.attach(model, config, options.seed ?? 4242);
}

/** adapter_config.json: the adapter's settings and, per layer, the [in, out] shape of the weight it adapts. */
export interface LoraAdapterConfigJson {
  readonly format: "tiaoyu-lora";
  readonly version: 1;
  readonly rank: number;
  readonly alpha: number;
  readonly targets: readonly string[];
  readonly layers: Readonly<Record<string, readonly [number, number]>>;
  /** Token ids whose embedding rows the adapter corrects (may be empty). */
  readonly trainableTokens: readonly number[];
  /** The base's wte shape [vocabSize, nEmbd]: the token rows only fit a base with this vocabulary. */
  readonly embedding: readonly [number, number];
}
