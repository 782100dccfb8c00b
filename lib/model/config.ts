/**
 * The shape of a TIAOYU model: one typed, frozen, validated configuration.
 *
 * The defaults are exactly GPT-2's architecture (Radford et al. 2019, "Language Models are Unsupervised
 * Multitask Learners"): pre-norm blocks, learned positions, GELU with the tanh approximation, LayerNorm with
 * eps 1e-5, biases everywhere, output layer tied to the token embedding. The other options are the usual
 * modern replacements (RoPE, SwiGLU, RMSNorm), so a chapter can switch one on and compare.
 *
 *   const cfg = gptConfig({ vocabSize: 6400, nLayer: 4 });      // GPT-2 defaults for everything else
 *   const cfg = presetConfig("course", { vocabSize: tok.vocabSize });
 */

/** How the model learns where a token stands: see position.ts. */
export type Positional = "learned" | "sinusoidal" | "rope";
/** The activation inside the feed-forward network: see mlp.ts. */
export type MlpKind = "gelu" | "swiglu";
/** The normalization before attention and the feed-forward network: see norm.ts. */
export type NormKind = "layernorm" | "rmsnorm";

export interface GPTConfig {
  /** Rows of the embedding table and columns of the logits: one per token id of the tokenizer. */
  readonly vocabSize: number;
  /** The longest context the model sees at once; positions 0..blockSize-1 exist, longer inputs are an error. */
  readonly blockSize: number;
  /** How many decoder blocks are stacked; depth is what lets the model compose patterns. */
  readonly nLayer: number;
  /** Attention heads per block; each head looks at the context through its own nEmbd/nHead-wide projection. */
  readonly nHead: number;
  /** Width of every token's vector (the residual stream); must be a multiple of nHead. */
  readonly nEmbd: number;
  /** Probability of zeroing an activation while training (embeddings, attention weights, residual branches). */
  readonly dropout: number;
  /** Whether linear layers and LayerNorms have a bias (GPT-2 has them; many newer models drop them). */
  readonly bias: boolean;
  /** Learned table (GPT-2), fixed sinusoids (the original Transformer) or rotary embeddings (RoPE). */
  readonly positional: Positional;
  /** GELU MLP of width 4·nEmbd (GPT-2) or a gated SwiGLU MLP (LLaMA) of about the same parameter count. */
  readonly mlp: MlpKind;
  /** LayerNorm (GPT-2) or RMSNorm (LLaMA: no mean subtraction, no bias). */
  readonly norm: NormKind;
  /** Added to the variance before the square root so that a constant vector does not divide by zero. */
  readonly normEps: number;
  /** Whether the output layer reuses the token embedding (logits = h·wteᵀ), saving vocabSize·nEmbd parameters. */
  readonly tieEmbeddings: boolean;
}

/** GPT-2 small (124M) exactly; presets and overrides start from here. */
export const GPT2_DEFAULTS: GPTConfig = Object.freeze({
  vocabSize: 50257,
  blockSize: 1024,
  nLayer: 12,
  nHead: 12,
  nEmbd: 768,
  dropout: 0.1,
  bias: true,
  positional: "learned",
  mlp: "gelu",
  norm: "layernorm",
  normEps: 1e-5,
  tieEmbeddings: true,
});

const KEYS = Object.keys(GPT2_DEFAULTS) as (keyof GPTConfig)[];

function fail(field: string, value: unknown, why: string): never {
  throw new Error(`GPTConfig.${field} = ${JSON.stringify(value)}: ${why}`);
}

/**
 * The largest value each size may take. Generous (GPT-3 175B is 96 layers, 96 heads, 12,288 wide, 2,048 positions;
 * vocabularies stay under a million), so that only a typo or a damaged config.json reaches them, and fails here,
 * naming the field, instead of as an 8 GB allocation or a bare RangeError somewhere inside TensorFlow.js.
 */
export const SIZE_LIMITS: Readonly<Record<"vocabSize" | "blockSize" | "nLayer" | "nHead" | "nEmbd", number>> = Object.freeze({
  vocabSize: 1_000_000,
  blockSize: 65_536,
  nLayer: 256,
  nHead: 256,
  nEmbd: 16_384,
});

function positiveInt(cfg: Record<string, unknown>, field: keyof typeof SIZE_LIMITS): void {
  const v = cfg[field];
  const max = SIZE_LIMITS[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) fail(field, v, `must be an integer from 1 to ${max.toLocaleString("en-US")}`);
}

function oneOf(cfg: Record<string, unknown>, field: keyof GPTConfig, allowed: readonly string[]): void {
  if (!allowed.includes(cfg[field] as string)) fail(field, cfg[field], `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
}

/**
 * Checks every field and returns a frozen copy: the caller's object is never modified.
 * Errors name the field and its value, e.g. `GPTConfig.nEmbd = 100: must be a multiple of nHead = 3`.
 */
export function validateConfig(config: GPTConfig): GPTConfig {
  const cfg = { ...config } as Record<string, unknown>;
  for (const key of Object.keys(cfg)) {
    if (!(KEYS as string[]).includes(key)) fail(key, cfg[key], `unknown field (known: ${KEYS.join(", ")})`);
  }
  for (const key of KEYS) if (cfg[key] === undefined) fail(key, undefined, "is missing");
  for (const key of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"] as const) positiveInt(cfg, key);
  const c = cfg as unknown as GPTConfig;
  if (c.nEmbd % c.nHead !== 0) fail("nEmbd", c.nEmbd, `must be a multiple of nHead = ${c.nHead}`);
  if (typeof c.dropout !== "number" || !(c.dropout >= 0 && c.dropout < 1)) fail("dropout", c.dropout, "must be in [0, 1)");
  if (typeof c.bias !== "boolean") fail("bias", c.bias, "must be true or false");
  if (typeof c.tieEmbeddings !== "boolean") fail("tieEmbeddings", c.tieEmbeddings, "must be true or false");
  oneOf(cfg, "positional", ["learned", "sinusoidal", "rope"]);
  oneOf(cfg, "mlp", ["gelu", "swiglu"]);
  oneOf(cfg, "norm", ["layernorm", "rmsnorm"]);
  if (typeof c.normEps !== "number" || !(c.normEps > 0 && c.normEps < 1)) fail("normEps", c.normEps, "must be in (0, 1)");
  // Sinusoids come in sin/cos pairs over the embedding; RoPE rotates pairs of each head's dimensions.
  if (c.positional === "sinusoidal" && c.nEmbd % 2 !== 0) fail("nEmbd", c.nEmbd, "must be even for sinusoidal positions");
  if (c.positional === "rope" && (c.nEmbd / c.nHead) % 2 !== 0) {
    fail("nHead", c.nHead, `gives head size ${c.nEmbd / c.nHead}, but RoPE needs an even head size`);
  }
  return Object.freeze(cfg as unknown as GPTConfig);
}

/** GPT-2's architecture with some fields changed: `gptConfig({ vocabSize: 6400, nLayer: 4, nHead: 4, nEmbd: 128 })`. */
export function gptConfig(overrides: Partial<GPTConfig> = {}): GPTConfig {
  return validateConfig({ ...GPT2_DEFAULTS, ...overrides });
}

/**
 * Named sizes. All keep GPT-2's architecture; only the sizes differ.
 *
 * - `tiny`: tests and quick mode; trains in seconds.
 * - `course`: the model chapter 5 pretrains on a 2-core laptop in well under an hour: the shape of nanoGPT's
 *   "baby" character model (4 layers, 4 heads, 128 wide, see issue 5's benchmark) with the course's 6,400-token
 *   BPE vocabulary and a 128-token context (several poems). About 1.65M parameters, most of them the embedding.
 * - `gpu-small`: nanoGPT's Shakespeare shape (6×6×384, 256 context), ~13M parameters: a GPU, or a patient CPU.
 * - `gpu-base`: GPT-2 small's depth and width with the course vocabulary and a 512 context (~90M): a GPU.
 * - `gpt2-small`: Hugging Face `gpt2` exactly (124M, vocabulary 50,257), for loading OpenAI's weights.
 */
export const PRESETS = Object.freeze({
  tiny: gptConfig({ vocabSize: 512, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 }),
  course: gptConfig({ vocabSize: 6400, blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0.1 }),
  "gpu-small": gptConfig({ vocabSize: 6400, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.2 }),
  "gpu-base": gptConfig({ vocabSize: 6400, blockSize: 512, nLayer: 12, nHead: 12, nEmbd: 768, dropout: 0.1 }),
  "gpt2-small": gptConfig({}),
});

export type PresetName = keyof typeof PRESETS;

/** A preset with some fields changed, validated: `presetConfig("course", { vocabSize: tok.vocabSize })`. */
export function presetConfig(name: PresetName, overrides: Partial<GPTConfig> = {}): GPTConfig {
  const base = (PRESETS as Record<string, GPTConfig>)[name];
  if (!base) throw new Error(`unknown preset '${name}': use one of ${Object.keys(PRESETS).join(", ")}`);
  return validateConfig({ ...base, ...overrides });
}

/** Width of each attention head: nEmbd / nHead (64 in GPT-2 small). */
export function headSize(config: GPTConfig): number {
  return config.nEmbd / config.nHead;
}

/**
 * Hidden width of the feed-forward network. GELU: 4·nEmbd (GPT-2). SwiGLU has three matrices instead of two,
 * so LLaMA shrinks the width to 2/3 of 4·nEmbd to keep the parameter count; we round up to a multiple of 8.
 * Example: nEmbd 48 → GELU 192, SwiGLU 128.
 */
export function mlpHidden(config: GPTConfig): number {
  if (config.mlp === "gelu") return 4 * config.nEmbd;
  return Math.ceil((8 * config.nEmbd) / 3 / 8) * 8;
}

/**
 * Parameters of a model of this configuration, counted from the shapes (what `GPT.numParameters()` will report),
 * without building it: token table, positions (if learned), per block two norms, attention (qkv and output) and
 * MLP, the final norm, and the output layer unless it is tied.
 * @example parameterCount(PRESETS.tiny) // 59,264 for vocabulary 1,024; see the test
 */
export function parameterCount(config: GPTConfig): number {
  const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: C, bias } = config;
  const b = bias ? 1 : 0;
  const norm = config.norm === "layernorm" ? C * (1 + b) : C;
  const attn = C * 3 * C + 3 * C * b + C * C + C * b;
  const H = mlpHidden(config);
  const mlp = config.mlp === "gelu" ? C * H + H * b + H * C + C * b : 3 * C * H + (2 * H + C) * b;
  return V * C + (config.positional === "learned" ? T * C : 0) + L * (2 * norm + attn + mlp) + norm + (config.tieEmbeddings ? 0 : V * C);
}

/** Bytes a training run of this model needs, roughly: what is estimated, so that the message can show it. */
export interface MemoryEstimate {
  /** float32 weights, gradients, and AdamW's two moments: 16 bytes a parameter. */
  readonly weights: number;
  /** Activations kept for the backward pass of one micro-batch (attention scores and logits dominate). */
  readonly activations: number;
  readonly total: number;
}

/**
 * The memory one training step of `batchSize` sequences of blockSize tokens needs, estimated from the shapes: per
 * layer and token about 16·nEmbd floats (norms, q/k/v, MLP) plus 2·nHead·blockSize (scores and probabilities),
 * and three copies of the logits (logits, softmax, gradient). An estimate, within a factor of two of what the
 * backend allocates; it is there to refuse a size that cannot fit before anything is allocated.
 */
export function trainingMemory(config: GPTConfig, batchSize: number): MemoryEstimate {
  const { blockSize: T, nLayer: L, nEmbd: C, nHead: nh, vocabSize: V } = config;
  const tokens = batchSize * T;
  const weights = 16 * parameterCount(config);
  const activations = 4 * tokens * (L * (16 * C + 2 * nh * T) + 3 * V);
  return { weights, activations, total: weights + activations };
}

/** 1536 → "1.5 KB", 3.2e9 → "3.2 GB". */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  let x = bytes;
  while (x >= 1000 && i < units.length - 1) (x /= 1000), i++;
  return i === 0 ? `${Math.round(x)} bytes` : `${x.toPrecision(x >= 100 ? 3 : 2)} ${units[i]}`;
}

/**
 * Refuses a model (and batch) whose estimated training memory exceeds `available` (default: 80% of this machine's
 * memory), before any tensor is made; the message shows the estimate and which sizes drive it.
 * @returns the estimate, for a caller that prints it
 */
export function checkTrainingMemory(config: GPTConfig, batchSize: number, where: string, available = 0.8 * totalMemory()): MemoryEstimate {
  const m = trainingMemory(config, batchSize);
  if (m.total > available) {
    throw new Error(
      `${where}: training this model needs about ${formatBytes(m.total)} (weights, gradients and optimizer state ` +
        `${formatBytes(m.weights)} for ${parameterCount(config).toLocaleString("en-US")} parameters; activations ` +
        `${formatBytes(m.activations)} for batch ${batchSize} × blockSize ${config.blockSize}, nLayer ${config.nLayer}, ` +
        `nEmbd ${config.nEmbd}, vocabSize ${config.vocabSize}), but ${formatBytes(available)} is available: ` +
        `use a smaller preset or batch size`,
    );
  }
  return m;
}

function totalMemory(): number {
  // Looked up lazily: lib/model runs in browsers too, where there is no "os" module.
  try {
    return (require("os") as typeof import("os")).totalmem();
  } catch {
    return Infinity;
  }
}
