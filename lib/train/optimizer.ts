/**
 * AdamW and gradient clipping, written out so that their state can be saved and restored bit for bit.
 *
 * Adam (Kingma and Ba, 2015) keeps two running averages per weight: m, the average gradient (a direction with
 * momentum), and v, the average squared gradient (how large this weight's gradients usually are). Each weight then
 * moves by m / (√v + ε): weights whose gradients are always large take steps no bigger than those whose gradients are
 * small, so one learning rate suits every layer.
 *
 * AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", 2019) shrinks the weights directly,
 * w ← w·(1 − lr·λ), instead of adding λ·w to the gradient, where Adam's division by √v would weaken the decay
 * exactly for the weights with large gradients. As in GPT-2, nanoGPT and PyTorch practice, only matrices decay
 * (linear weights, embeddings); biases and normalization gains do not — shrinking a LayerNorm gain towards 0 would
 * only fight the normalization.
 *
 * tfjs has `tf.train.adam`, but its state cannot be read back in a documented, stable form and it has no decoupled
 * decay, so a resumed run could not continue exactly. This one follows PyTorch's `torch.optim.AdamW` step for step.
 */
import * as tf from "@tensorflow/tfjs";
import { adamwUpdate } from "../kernels/fused";

/**
 * Model parameters by their checkpoint names, e.g. "transformer.h.0.attn.c_attn.weight", in the model's order
 * (the shape lib/model's `ParamStore.entries()` returns).
 */
export type NamedVariables = ReadonlyMap<string, tf.Variable>;

export interface AdamWConfig {
  /** Decay of the gradient average m (momentum). 0.9 is the usual value. */
  readonly beta1: number;
  /** Decay of the squared-gradient average v. 0.95 for LLM pretraining (GPT-3, nanoGPT); 0.999 is Adam's default. */
  readonly beta2: number;
  /** Added to √v so weights that never got a gradient do not divide by zero. */
  readonly eps: number;
  /** λ: the fraction of each decaying weight removed per step, times the learning rate. 0.1 in GPT-3 and nanoGPT. */
  readonly weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = Object.freeze({ beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });

/**
 * Whether a parameter gets weight decay: matrices and embeddings (rank ≥ 2) do, biases and normalization weights
 * (rank 1) do not. Names are checked too, so a rank-2 gain written as [1, D] is still spared.
 */
export function decaysByDefault(name: string, variable: tf.Variable): boolean {
  if (variable.rank < 2) return false;
  return !/(^|\.)(ln_\w*|ln|norm\w*|layer_norm\w*)\.|(^|\.)bias$/i.test(name);
}

/** The saved form of an optimizer: the number of steps taken, and m and v for every parameter. */
export interface OptimizerState {
  readonly step: number;
  /** "m.<name>" and "v.<name>" for every parameter; the tensors belong to the optimizer (do not dispose them). */
  readonly tensors: Readonly<Record<string, tf.Tensor>>;
}

export class AdamW {
  readonly config: AdamWConfig;
  private readonly params: NamedVariables;
  private readonly decay: ReadonlySet<string>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private steps = 0;

  /**
   * @param params the variables to update, by name (only these; freeze a weight by leaving it out).
   * @param options AdamW hyper-parameters; `decays` overrides which parameters get weight decay.
   */
  constructor(
    params: NamedVariables,
    options: Partial<AdamWConfig> & { decays?: (name: string, variable: tf.Variable) => boolean } = {},
  ) {
    const { decays = decaysByDefault, ...rest } = options;
    const config = { ...ADAMW_DEFAULTS, ...rest };
    for (const [k, lo, hi] of [["beta1", 0, 1], ["beta2", 0, 1], ["eps", 0, Infinity], ["weightDecay", 0, Infinity]] as const) {
      const x = config[k];
      if (!(x >= lo && x < hi)) throw new Error(`AdamW: ${k} = ${x} must be in [${lo}, ${hi})`);
    }
    if (params.size === 0) throw new Error("AdamW: no parameters to optimize");
    this.config = Object.freeze(config);
    this.params = new Map(params); // a copy: the caller adding a weight later must not change what this optimizes
    this.decay = new Set([...params].filter(([n, p]) => decays(n, p)).map(([n]) => n));
    for (const [name, p] of params) {
      // Inside tidy so the zeros the variables start from are not left behind as extra tensors.
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false, undefined, "float32")));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false, undefined, "float32")));
    }
  }

  /** How many updates have been applied (the bias corrections depend on it). */
  get step(): number {
    return this.steps;
  }

  /** The names of the parameters that get weight decay (for a table in the notebook). */
  decayed(): string[] {
    return [...this.params.keys()].filter((n) => this.decay.has(n));
  }

  /**
   * One AdamW update of every parameter.
   *
   * @param grads a gradient for every parameter, by the same names (missing ones are an error, not a silent zero).
   * @param lr this step's learning rate (from the schedule).
   * @param gradScale multiplies every gradient first: the clipping factor times 1/accumulation steps.
   *
   * With g = gradScale·grad and t the new step count, for each parameter w (PyTorch's order of operations):
   *   m ← β1·m + (1−β1)·g          v ← β2·v + (1−β2)·g²
   *   w ← w·(1 − lr·λ)             (decaying parameters only)
   *   w ← w − lr · (m / (1−β1^t)) / (√v / √(1−β2^t) + ε)
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: number, gradScale = 1): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`AdamW.apply: learning rate ${lr} is not a finite number ≥ 0`);
    for (const name of this.params.keys()) {
      if (!grads[name]) throw new Error(`AdamW.apply: no gradient for parameter '${name}'`);
    }
    const t = this.steps + 1;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const bc1 = 1 - beta1 ** t;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    tf.tidy(() => {
      for (const [name, w] of this.params) {
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const decayFactor = this.decay.has(name) && weightDecay > 0 ? 1 - lr * weightDecay : 1;
        // One fused kernel per parameter (lib/kernels/fused.ts) instead of about a dozen elementwise passes; the
        // same formula, so a resumed run and a continuous one still take identical steps.
        const [w2, m2, v2] = adamwUpdate(w, grads[name], m, v, { lr, beta1, beta2, eps, decayFactor, bc1, bc2Sqrt, gradScale });
        m.assign(m2);
        v.assign(v2);
        w.assign(w2);
      }
    });
    this.steps = t;
  }

  /** The state to save in a checkpoint (the tensors are the optimizer's own; copy them if you keep them). */
  state(): OptimizerState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const name of this.params.keys()) {
      tensors[`m.${name}`] = this.m.get(name)!;
      tensors[`v.${name}`] = this.v.get(name)!;
    }
    return { step: this.steps, tensors };
  }

  /** Restores a saved state; every m and v must be present with the parameter's shape. The caller keeps `state`'s tensors. */
  loadState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`optimizer state: step ${state.step} is not an integer ≥ 0`);
    for (const [name, p] of this.params) {
      for (const [kind, map] of [["m", this.m], ["v", this.v]] as const) {
        const t = state.tensors[`${kind}.${name}`];
        if (!t) throw new Error(`optimizer state: missing '${kind}.${name}'`);
        if (!tf.util.arraysEqual(t.shape, p.shape)) {
          throw new Error(`optimizer state: '${kind}.${name}' has shape [${t.shape}], the parameter has [${p.shape}]`);
        }
        tf.tidy(() => map.get(name)!.assign(t.dtype === "float32" ? t : tf.cast(t, "float32")));
      }
    }
    const extra = Object.keys(state.tensors).filter((k) => !this.params.has(k.slice(2)));
    if (extra.length) throw new Error(`optimizer state: tensors for unknown parameters: ${extra.slice(0, 5).join(", ")}`);
    this.steps = state.step;
  }

  /** Frees m and v (the parameters belong to the model). */
  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** √(Σ‖g‖²) over all tensors, as one scalar: the length of the whole gradient seen as one long vector. */
export function globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(tensors.map((t) => tf.sum(tf.square(t))))) as tf.Scalar);
}

/**
 * The factor that clipping by global norm multiplies every gradient by: 1 when the norm is within `maxNorm`,
 * otherwise maxNorm / (norm + 1e-6) (PyTorch's `clip_grad_norm_`), which keeps the direction and caps the length.
 * @example clipFactor(5, 1) ≈ 0.2; clipFactor(0.5, 1) = 1; maxNorm = Infinity turns clipping off.
 */
export function clipFactor(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`gradient clipping: maxNorm ${maxNorm} must be > 0 (Infinity turns clipping off)`);
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

/** Clips a list of gradients by their global norm; returns the clipped tensors and the norm before clipping. */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: number } {
  const normT = globalNorm(grads);
  const norm = normT.dataSync()[0];
  normT.dispose();
  const f = clipFactor(norm, maxNorm);
  return { grads: tf.tidy(() => grads.map((g) => tf.mul(g, f))), norm };
}
