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

function positiveInt(cfg: Record<string, unknown>, field: keyof GPTConfig): void {
  const v = cfg[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) fail(field, v, "must be a positive integer");
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
