/**
 * The TIAOYU model: a GPT-style decoder-only Transformer, top to bottom.
 *
 *   ids [B, T] ─ wte ─┐
 *                     + ─ dropout ─ block × nLayer ─ ln_f ─ ·wteᵀ ─ logits [B, T, V]
 *   positions ─ wpe ──┘
 *
 * Follows GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners") and, for the code's
 * shape, Karpathy's nanoGPT. Weights carry Hugging Face's GPT-2 names, so a checkpoint in the default config
 * loads into `GPT2LMHeadModel` and back (see checkpoint.ts); test/lib/golden.test.ts checks logits, loss and
 * gradients against PyTorch.
 */
import * as tf from "@tensorflow/tfjs";
import { decodeStep, nativeDecodeAvailable } from "../kernels/decode";
import { softmaxCrossEntropy } from "../kernels/fused";
import { Block, makeNorm } from "./block";
import { GPTConfig, mlpHidden, validateConfig } from "./config";
import { dropout, SeedStream } from "./dropout";
import { outputLogits, TokenEmbedding } from "./embedding";
import { KVCache } from "./kvcache";
import { Norm } from "./norm";
import { ParamStore, sizeOf } from "./params";
import { AdditivePositions, LearnedPositions, RotaryEmbedding, SinusoidalPositions } from "./position";

export interface ForwardOptions {
  /** Dropout on (training) or off (evaluation and generation). Default false. */
  readonly training?: boolean;
  /** Use and extend a key/value cache: the ids are the tokens after those already cached. See kvcache.ts. */
  readonly cache?: KVCache;
}

export interface GPTOptions {
  /** Seed of the initial weights and of the dropout masks; the same seed gives the same model. Default 1337. */
  readonly seed?: number;
}

/** Token ids as a [B, T] int32 tensor or nested arrays. */
export type TokenIds = tf.Tensor2D | readonly (readonly number[])[];

export class GPT {
  readonly config: GPTConfig;
  private readonly store: ParamStore;
  readonly wte: TokenEmbedding;
  readonly positions: AdditivePositions | null; // learned or sinusoidal; null with RoPE
  readonly rope: RotaryEmbedding | null;
  readonly blocks: readonly Block[];
  readonly lnF: Norm;
  readonly lmHead: tf.Variable | null; // [V, D]; null when tied to wte
  /** The dropout masks' random stream; save `seeds.state` to resume a run exactly. */
  readonly seeds: SeedStream;

  constructor(config: GPTConfig, options: GPTOptions = {}) {
    this.config = validateConfig(config);
    const c = this.config;
    const seed = options.seed ?? 1337;
    this.store = new ParamStore(seed);
    this.seeds = new SeedStream(seed);
    this.wte = new TokenEmbedding(this.store, "transformer.wte.weight", c.vocabSize, c.nEmbd);
    this.positions =
      c.positional === "learned" ? new LearnedPositions(this.store, "transformer.wpe.weight", c.blockSize, c.nEmbd)
      : c.positional === "sinusoidal" ? new SinusoidalPositions(c.blockSize, c.nEmbd)
      : null;
    this.rope = c.positional === "rope" ? new RotaryEmbedding(c.blockSize, c.nEmbd / c.nHead) : null;
    this.blocks = Array.from({ length: c.nLayer }, (_, i) => new Block(this.store, `transformer.h.${i}`, c));
    this.lnF = makeNorm(this.store, "transformer.ln_f", c);
    this.lmHead = c.tieEmbeddings ? null : this.store.create("lm_head.weight", [c.vocabSize, c.nEmbd], { kind: "normal", std: 0.02 });
  }

  /** The final hidden states after ln_f, [B, T, D]: what the output layer (or a reward head) reads. */
  hidden(ids: TokenIds, options: ForwardOptions = {}): tf.Tensor3D {
    const { training = false, cache } = options;
    const offset = cache?.length ?? 0;
    const [B, T] = this.checkIds(ids, offset, cache);
    const h = tf.tidy(() => {
      const idx = ids instanceof tf.Tensor ? ids : tf.tensor2d(ids as number[][], [B, T], "int32"); // [B, T]
      let x = this.wte.forward(idx); // [B, T, D]
      if (this.positions) x = tf.add(x, this.positions.forward(T, offset)) as tf.Tensor3D; // [B, T, D] (+ [T, D])
      x = dropout(x, this.config.dropout, training, this.seeds); // [B, T, D]
      this.blocks.forEach((block, layer) => {
        x = block.forward(x, { training, seeds: this.seeds, cache, layer, rope: this.rope ?? undefined }); // [B, T, D]
      });
      return this.lnF.forward(x); // [B, T, D]
    });
    cache?.advance(T);
    return h;
  }

  /** ids [B, T] → logits [B, T, vocabSize]. With a cache, ids are only the new tokens (often T = 1). */
  forward(ids: TokenIds, options: ForwardOptions = {}): tf.Tensor3D {
    const { cache, training = false } = options;
    // One new token per sequence through the cache (generation): one native call where it applies (wasm with the
    // addon; lib/kernels/decode.ts), the same logits bit for bit, instead of ~100 kernels.
    if (cache && !training && (ids instanceof tf.Tensor ? ids.shape[1] : ids[0]?.length) === 1 && nativeDecodeAvailable(this)) {
      this.checkIds(ids, cache.length, cache);
      const column = ids instanceof tf.Tensor ? ids.dataSync() : ids.map((row) => row[0]);
      const logits = decodeStep(this, column, cache);
      if (logits) return logits;
    }
    return tf.tidy(() => {
      const h = this.hidden(ids, options); // [B, T, D]
      return outputLogits(h, (this.lmHead ?? this.wte.table()) as tf.Tensor2D); // [B, T, V] (table(): wte, or its adapted rows)
    });
  }

  /** Mean cross-entropy of predicting `targets` [B, T] from `ids` [B, T]; `mask` [B, T] (1 = counts) selects positions. */
  loss(ids: TokenIds, targets: TokenIds, options: { training?: boolean; mask?: tf.Tensor2D } = {}): tf.Scalar {
    return tf.tidy(() => crossEntropy(this.forward(ids, { training: options.training }), targets, options.mask));
  }

  /** A key/value cache sized for this model. The caller disposes it. */
  newCache(): KVCache {
    return new KVCache(this.config.nLayer, this.config.blockSize);
  }

  /** Every weight by Hugging Face name, in GPT-2's state-dict order. */
  parameters(): ReadonlyMap<string, tf.Variable> {
    return this.store.entries();
  }

  /** The weights as a list, e.g. for `tf.variableGrads(f, model.trainableVariables())`. */
  trainableVariables(): tf.Variable[] {
    return [...this.store.entries().values()].filter((v) => v.trainable);
  }

  /** Hugging Face name of one of this model's tf.Variables, by its tfjs name (a key of tf.variableGrads' grads). */
  parameterName(variableName: string): string {
    return this.store.nameOf(variableName);
  }

  /** Total number of learned scalars. */
  numParameters(): number {
    let n = 0;
    for (const v of this.store.entries().values()) n += sizeOf(v.shape);
    return n;
  }

  /** Frees every weight and fixed table. The model cannot be used afterwards. */
  dispose(): void {
    this.store.dispose();
    this.positions?.dispose();
    this.rope?.dispose();
  }

  /** Checks the ids' shape against blockSize and the cache; returns [B, T]. */
  private checkIds(ids: TokenIds, offset: number, cache?: KVCache): [number, number] {
    let B: number, T: number;
    if (ids instanceof tf.Tensor) {
      if (ids.rank !== 2) throw new Error(`token ids must be [B, T], got shape [${ids.shape.join(", ")}]`);
      if (ids.dtype !== "int32") throw new Error(`token ids must be int32, got ${ids.dtype}`);
      [B, T] = ids.shape;
    } else {
      B = ids.length;
      T = ids[0]?.length ?? 0;
      ids.forEach((row, b) => {
        if (row.length !== T) throw new Error(`token ids: row ${b} has ${row.length} ids, row 0 has ${T}`);
        row.forEach((id, t) => {
          if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
            throw new Error(`token ids: [${b}][${t}] = ${id} is not an id in 0..${this.config.vocabSize - 1}`);
          }
        });
      });
    }
    if (B === 0 || T === 0) throw new Error(`token ids must not be empty, got [${B}, ${T}]`);
    if (offset + T > this.config.blockSize) {
      throw new Error(
        offset > 0
          ? `sequence length ${offset + T} (${offset} cached + ${T} new) exceeds blockSize ${this.config.blockSize}`
          : `sequence length ${T} exceeds blockSize ${this.config.blockSize}`,
      );
    }
    const cachedBatch = cache?.batchSize;
    if (cachedBatch != null && cachedBatch !== B) throw new Error(`the cache holds batch size ${cachedBatch}, but ids have batch size ${B}`);
    return [B, T];
  }
}

/**
 * Mean cross-entropy of logits [B, T, V] against target ids [B, T]: −log softmax(logits)[target], averaged over
 * the positions where `mask` [B, T] is 1 (all positions when there is no mask). An untrained model that spreads
 * its bets evenly scores ln V (ln 6400 ≈ 8.76).
 */
export function crossEntropy(logits: tf.Tensor3D, targets: TokenIds, mask?: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const tgt = targets instanceof tf.Tensor ? targets : tf.tensor2d(targets as number[][], [B, T], "int32"); // [B, T]
    if (tgt.shape[0] !== B || tgt.shape[1] !== T) throw new Error(`targets have shape [${tgt.shape}], logits [${logits.shape}]`);
    // Each position's weight in the mean: 1/N, or mask/Σmask.
    const m = mask ? tf.cast(mask, "float32").reshape([B * T]) : tf.ones([B * T]); // [B·T]
    const weights = tf.div(m, tf.maximum(tf.sum(m), 1)); // [B·T]
    // Per-position −log softmax[target], one fused kernel with the gradient softmax − onehot written out
    // (lib/kernels/fused.ts): the logits [B·T, V] are the largest tensor of a small model, so passes over them count.
    const nll = softmaxCrossEntropy(logits.reshape([B * T, V]), tf.cast(tgt, "int32").reshape([B * T])); // [B·T]
    return tf.sum(tf.mul(nll, weights)) as tf.Scalar;
  });
}

/** One row of the parameter-count table: a component and how many scalars it learns. */
export interface ParameterCountRow {
  readonly component: string;
  /** Hugging Face name pattern, e.g. `transformer.h.*.attn.*`. */
  readonly names: string;
  readonly params: number;
}

/**
 * Parameters per component for a config, without building a model. For GPT-2 small: 124,439,808 in total,
 * of which the token embedding is 38,597,376 (the tied output layer adds none).
 */
export function parameterCounts(config: GPTConfig): ParameterCountRow[] {
  const c = validateConfig(config);
  const D = c.nEmbd, V = c.vocabSize, L = c.nLayer, H = mlpHidden(c);
  const b = c.bias ? 1 : 0;
  const norm = c.norm === "layernorm" ? D + b * D : D; // gain (+ bias)
  const attention = D * 3 * D + b * 3 * D + D * D + b * D; // c_attn + c_proj
  const mlp = (c.mlp === "swiglu" ? 2 : 1) * (D * H + b * H) + H * D + b * D; // c_fc (+ c_gate) + c_proj
  const rows: ParameterCountRow[] = [
    { component: "token embedding", names: "transformer.wte.weight", params: V * D },
    { component: "position embedding", names: "transformer.wpe.weight", params: c.positional === "learned" ? c.blockSize * D : 0 },
    { component: `attention × ${L}`, names: "transformer.h.*.attn.*", params: L * attention },
    { component: `feed-forward × ${L}`, names: "transformer.h.*.mlp.*", params: L * mlp },
    { component: `norms × ${2 * L + 1}`, names: "transformer.h.*.ln_{1,2}.*, transformer.ln_f.*", params: (2 * L + 1) * norm },
    { component: c.tieEmbeddings ? "output layer (tied to wte)" : "output layer", names: "lm_head.weight", params: c.tieEmbeddings ? 0 : V * D },
  ];
  return [...rows, { component: "total", names: "", params: rows.reduce((s, r) => s + r.params, 0) }];
}
