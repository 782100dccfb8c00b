/**
 * Where a model's weights live: one store of named tf.Variables per model.
 *
 * Every weight is known by its Hugging Face GPT-2 name (`transformer.h.0.attn.c_attn.weight`), so checkpoints,
 * diagrams, gradient tables and the book all use the same words. tfjs keeps one global registry of variable
 * names, so two models cannot both own a variable called `transformer.wte.weight`; the store therefore gives
 * each tf.Variable a unique prefix (`tiaoyu3/transformer.wte.weight`) and maps names both ways.
 */
import * as tf from "@tensorflow/tfjs";

/** How a weight starts: GPT-2 draws matrices from N(0, 0.02²), biases start at 0 and norm gains at 1. */
export type Init = { readonly kind: "normal"; readonly std: number } | { readonly kind: "zeros" } | { readonly kind: "ones" };

let nextStoreId = 0;

export class ParamStore {
  /** Prefix of this store's tf.Variable names; unique in the process. */
  readonly prefix: string;
  private readonly vars = new Map<string, tf.Variable>();
  private seed: number;

  /** `seed` makes initialization reproducible: the same seed gives the same weights on every backend. */
  constructor(seed: number) {
    this.prefix = `tiaoyu${nextStoreId++}/`;
    this.seed = seed;
  }

  /** Creates a trainable weight. Names must be unique within the model. */
  create(name: string, shape: number[], init: Init): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter '${name}' is created twice`);
    const seed = this.seed++; // one seed per weight, in creation order: adding a layer does not reshuffle the others
    const v = tf.tidy(() => {
      const value =
        init.kind === "normal" ? tf.randomNormal(shape, 0, init.std, "float32", seed)
        : init.kind === "zeros" ? tf.zeros(shape)
        : tf.ones(shape);
      return tf.variable(value, true, this.prefix + name);
    });
    this.vars.set(name, v);
    return v;
  }

  /** The weight called `name` (Hugging Face spelling); throws with the known names when there is none. */
  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter '${name}' in this model (it has ${this.vars.size}: ${[...this.vars.keys()].slice(0, 4).join(", ")}, …)`);
    return v;
  }

  /** All weights, by Hugging Face name, in creation order (the order of GPT-2's state dict). */
  entries(): ReadonlyMap<string, tf.Variable> {
    return this.vars;
  }

  /** The Hugging Face name of one of this store's variables (e.g. a key of tf.variableGrads' result). */
  nameOf(variableName: string): string {
    if (!variableName.startsWith(this.prefix) || !this.vars.has(variableName.slice(this.prefix.length))) {
      throw new Error(`variable '${variableName}' does not belong to this model (prefix ${this.prefix})`);
    }
    return variableName.slice(this.prefix.length);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** Total number of scalars in a shape: [48, 144] → 6912. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
