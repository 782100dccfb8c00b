/**
 * A model on disk, in Hugging Face's GPT-2 format (the weights and config part of a checkpoint).
 *
 *   runs/base/config.json          GPT-2's config fields (vocab_size, n_positions, n_embd, …) + our options
 *   runs/base/model.safetensors    every weight under its GPT-2 name, float32
 *   runs/base/meta.json            (optional) whatever the caller wants to remember: step, tokenizer, loss …
 *
 * In the default configuration the folder loads in PyTorch with `GPT2LMHeadModel.from_pretrained(folder)`,
 * and a GPT-2 folder from the Hugging Face hub loads here. Loading checks names, shapes and dtypes and lists
 * exactly what is missing, unexpected or mismatched, instead of half-loading a model.
 *
 * A training run's checkpoint (optimizer state, step, RNG, crash-safe folder rotation) is lib/train/checkpoint.ts;
 * its model part is exactly this format, so either kind of folder loads here.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../io/atomic";
import { readSafetensors, SafeTensor, SafeTensorInput, writeSafetensors } from "../io/safetensors";
import { formatBytes, GPT2_DEFAULTS, GPTConfig, parameterCount, validateConfig } from "./config";
import { checkWeightsFit } from "./weightsFit";

/** config.json's name for each GPTConfig field, so that an error names the field as it is written in the file. */
const HF_FIELD: Readonly<Record<string, string>> = Object.freeze({
  vocabSize: "vocab_size",
  blockSize: "n_positions",
  nLayer: "n_layer",
  nHead: "n_head",
  nEmbd: "n_embd",
  dropout: "resid_pdrop",
  normEps: "layer_norm_epsilon",
  tieEmbeddings: "tie_word_embeddings",
  positional: "tiaoyu.positional",
  mlp: "tiaoyu.mlp",
  norm: "tiaoyu.norm",
  bias: "tiaoyu.bias",
});
import { GPT, GPTOptions } from "./gpt";

/** True when Hugging Face's GPT2LMHeadModel can run this config (only sizes and tying differ from GPT-2). */
export function isGPT2Compatible(config: GPTConfig): boolean {
  return config.positional === "learned" && config.mlp === "gelu" && config.norm === "layernorm" && config.bias;
}

/** The `config.json` of a checkpoint: Hugging Face GPT2Config fields, plus a `tiaoyu` block with our options. */
export function configToHF(config: GPTConfig): Record<string, unknown> {
  const c = validateConfig(config);
  const gpt2 = isGPT2Compatible(c);
  return {
    // A config that GPT-2 code cannot run must not claim to be GPT-2: transformers would load it wrongly.
    model_type: gpt2 ? "gpt2" : "tiaoyu",
    architectures: gpt2 ? ["GPT2LMHeadModel"] : [],
    vocab_size: c.vocabSize,
    n_positions: c.blockSize,
    n_ctx: c.blockSize,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: null,
    activation_function: c.mlp === "gelu" ? "gelu_new" : "swiglu",
    layer_norm_epsilon: c.normEps,
    tie_word_embeddings: c.tieEmbeddings,
    resid_pdrop: c.dropout,
    embd_pdrop: c.dropout,
    attn_pdrop: c.dropout,
    tiaoyu: { positional: c.positional, mlp: c.mlp, norm: c.norm, bias: c.bias },
  };
}

/**
 * Reads a GPT-2 style config.json (ours or Hugging Face's). Fields GPT-2 code reads but we do not implement
 * are refused rather than ignored, so a model never silently computes something else than its checkpoint.
 */
export function configFromHF(json: Record<string, unknown>, source = "config.json"): GPTConfig {
  const bad = (field: string, why: string): never => {
    throw new Error(`${source}: ${field} = ${JSON.stringify(json[field])}: ${why}`);
  };
  if (json.model_type !== undefined && json.model_type !== "gpt2" && json.model_type !== "tiaoyu") bad("model_type", "only gpt2 (or tiaoyu) checkpoints are supported");
  const num = (field: string, fallback?: number): number => {
    const v = json[field] ?? fallback;
    if (typeof v !== "number") return bad(field, "must be a number");
    return v;
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object at the top`);
  const ours = (json.tiaoyu ?? {}) as Partial<Pick<GPTConfig, "positional" | "mlp" | "norm" | "bias">>;
  const mlp = ours.mlp ?? "gelu";
  const act = json.activation_function ?? "gelu_new";
  if (mlp === "gelu" && act !== "gelu_new" && act !== "gelu_pytorch_tanh") bad("activation_function", "only GELU with the tanh approximation (gelu_new) is supported");
  const nEmbd = num("n_embd");
  if (json.n_inner != null && json.n_inner !== 4 * nEmbd) bad("n_inner", `only 4·n_embd = ${4 * nEmbd} (or null) is supported`);
  if (json.scale_attn_weights === false) bad("scale_attn_weights", "attention is always scaled by 1/sqrt(head size)");
  if (json.scale_attn_by_inverse_layer_idx === true) bad("scale_attn_by_inverse_layer_idx", "not supported");
  if (json.add_cross_attention === true) bad("add_cross_attention", "not supported (decoder only)");
  const tie = json.tie_word_embeddings ?? true;
  if (typeof tie !== "boolean") bad("tie_word_embeddings", "must be true or false");
  let config: GPTConfig;
  try {
    config = validateConfig({
      vocabSize: num("vocab_size"),
      blockSize: num("n_positions", json.n_ctx as number | undefined),
      nLayer: num("n_layer"),
      nHead: num("n_head"),
      nEmbd,
      dropout: num("resid_pdrop", GPT2_DEFAULTS.dropout),
      bias: ours.bias ?? true,
      positional: ours.positional ?? "learned",
      mlp,
      norm: ours.norm ?? "layernorm",
      normEps: num("layer_norm_epsilon", GPT2_DEFAULTS.normEps),
      tieEmbeddings: tie as boolean,
    });
  } catch (e) {
    // "GPTConfig.nEmbd = 0: …" → "config.json: field n_embd (nEmbd) = 0: …"
    const message = (e as Error).message.replace(/^GPTConfig\.(\w+)/, (_, f: string) => `field ${HF_FIELD[f] ?? f} (${f})`);
    throw new Error(`${source}: ${message}`);
  }
  // Sizes within their bounds can still multiply into more memory than any machine has: say so before allocating.
  const bytes = 4 * parameterCount(config);
  const available = 0.8 * (require("os") as typeof import("os")).totalmem();
  if (bytes > available) {
    throw new Error(
      `${source}: n_layer ${config.nLayer}, n_embd ${config.nEmbd}, vocab_size ${config.vocabSize} and n_positions ${config.blockSize} ` +
        `make ${parameterCount(config).toLocaleString("en-US")} parameters, ${formatBytes(bytes)} of float32 weights; ` +
        `${formatBytes(available)} of memory is available, so the model is not built`,
    );
  }
  return config;
}

/** The model's weights as safetensors input (float32 copies read from the backend). */
export function modelTensors(model: GPT): Map<string, SafeTensorInput> {
  const out = new Map<string, SafeTensorInput>();
  for (const [name, v] of model.parameters()) out.set(name, { shape: v.shape, data: v.dataSync() as Float32Array });
  return out;
}

/**
 * Copies tensors (by Hugging Face name) into the model's weights. Everything is checked before anything is
 * assigned (checkWeightsFit, the rule every loader shares); on any problem the error lists every missing,
 * unexpected and mismatched tensor.
 * Tolerated: GPT-2's non-weight buffers (`attn.bias`, `attn.masked_bias`), `lm_head.weight` of a tied model, and
 * the hub's `gpt2` naming without the `transformer.` prefix.
 */
export function loadWeights(model: GPT, tensors: ReadonlyMap<string, SafeTensor>, source = "weights"): void {
  const params = model.parameters();
  const prefixed = [...tensors.keys()].some((n) => n.startsWith("transformer."));
  const byName = new Map<string, SafeTensor>();
  for (const [raw, t] of tensors) {
    const name = !prefixed && !raw.startsWith("lm_head.") ? `transformer.${raw}` : raw;
    if (/^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/.test(name)) continue; // causal-mask buffers, not weights
    if (name === "lm_head.weight" && model.config.tieEmbeddings) continue; // the tied copy of wte
    byName.set(name, t);
  }
  checkWeightsFit(params, byName, source, `${model.config.nLayer} layers, nEmbd ${model.config.nEmbd}, vocabSize ${model.config.vocabSize}`);
  for (const [name, v] of params) {
    const t = byName.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape, "float32")));
  }
}

export interface LoadedModel {
  readonly model: GPT;
  readonly config: GPTConfig;
  /** meta.json's contents, or null when the folder has none (e.g. a Hugging Face folder). */
  readonly meta: Record<string, unknown> | null;
}

/**
 * Writes `dir/config.json`, `dir/model.safetensors` and, if given, `dir/meta.json`. Each file is written
 * atomically: a crash leaves the previous version of that file, never a torn one.
 */
export async function saveModel(dir: string, model: GPT, meta?: Record<string, unknown>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await writeSafetensors(path.join(dir, "model.safetensors"), modelTensors(model), { format: "pt" });
  await writeFileAtomic(path.join(dir, "config.json"), JSON.stringify(configToHF(model.config), null, 2) + "\n");
  if (meta) await writeFileAtomic(path.join(dir, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
}

/** Reads a checkpoint folder (ours or a Hugging Face GPT-2 one) into a new model; the caller disposes it. */
export function loadModel(dir: string, options: GPTOptions = {}): LoadedModel {
  const configFile = path.join(dir, "config.json");
  const weightsFile = path.join(dir, "model.safetensors");
  if (!fs.existsSync(dir)) throw new Error(`no model at ${dir}: the folder does not exist`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir} is a file; a model folder (config.json, model.safetensors) was expected`);
  for (const f of [configFile, weightsFile]) {
    if (!fs.existsSync(f)) throw new Error(`checkpoint ${dir}: ${path.basename(f)} is missing`);
    if (fs.statSync(f).isDirectory()) throw new Error(`${f} is a folder; a file was expected there`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(fs.readFileSync(configFile, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${configFile}: not valid JSON (${(e as Error).message})`);
  }
  const config = configFromHF(json, configFile);
  const { tensors } = readSafetensors(weightsFile); // checked before a model is built
  const model = new GPT(config, options);
  try {
    loadWeights(model, tensors, weightsFile);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const metaFile = path.join(dir, "meta.json");
  let meta: Record<string, unknown> | null = null;
  try {
    if (fs.existsSync(metaFile)) meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as Record<string, unknown>;
  } catch (e) {
    model.dispose();
    throw new Error(`${metaFile}: not valid JSON (${(e as Error).message})`);
  }
  return { model, config, meta };
}
