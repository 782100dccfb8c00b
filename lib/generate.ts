/**
 * Generation: how a language model writes, one token at a time.
 *
 *   prompt ids → model → logits of the next token → pick one (greedy or sampled) → append → repeat
 *   until the model writes </s> (it learned where poems end) or a length limit is reached.
 *
 * Picking the next token from the logits (pure functions below, tested on fixed numbers):
 *   greedy          the most likely token; deterministic, but repetitive on long texts
 *   temperature τ   softmax(logits / τ): τ < 1 sharpens the distribution, τ > 1 flattens it
 *   top-k           keep only the k most likely tokens (Fan et al. 2018)
 *   top-p (nucleus) keep the smallest set of most likely tokens whose probabilities add up to ≥ p
 *                   (Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration")
 *
 * With the model's key/value cache (chapter 4) each step feeds only the newest token; without it, the whole
 * sequence goes through the model again at every step. Both give the same tokens (tested); the cache is faster.
 */
import * as tf from "@tensorflow/tfjs";
import type { GPT } from "./model/gpt";
import type { Tokenizer } from "./tokenizer/types";
import { values } from "./kernels/memory";
import { Rng } from "./rng";

// ---------------------------------------------------------------- picking the next token (pure functions)

/** Index of the largest value (the first one on ties). @example argmax([0.1, 2, 2, -1]) → 1 */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * softmax(logits / temperature) in float64, computed stably (the maximum is subtracted first so exp never overflows).
 * @example softmax([0, Math.log(3)]) → [0.25, 0.75];  softmax([0, Math.log(3)], 0.5) → [0.1, 0.9]
 */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  if (!(temperature > 0)) throw new Error(`softmax: temperature ${temperature} must be > 0 (use greedy decoding for 0)`);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp((logits[i] - max) / temperature);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/** Indices sorted by probability, largest first (ties by index, so the order is deterministic). */
function byProbability(probs: ArrayLike<number>): number[] {
  return Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
}

function renormalize(p: Float64Array): Float64Array {
  let sum = 0;
  for (const x of p) sum += x;
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/**
 * Keeps the k most probable tokens, renormalized; the rest get probability 0.
 * @example topK([0.1, 0.5, 0.15, 0.25], 2) → [0, 0.667, 0, 0.333]
 */
export function topK(probs: ArrayLike<number>, k: number): Float64Array {
  if (!Number.isInteger(k) || k < 1) throw new Error(`top-k: k = ${k} must be a positive integer`);
  const out = new Float64Array(probs.length);
  for (const i of byProbability(probs).slice(0, k)) out[i] = probs[i];
  return renormalize(out);
}

/**
 * Nucleus filtering: keeps the smallest set of most probable tokens whose total probability is ≥ p, renormalized.
 * @example topP([0.1, 0.5, 0.15, 0.25], 0.7) → keeps 0.5 and 0.25 (0.75 ≥ 0.7): [0, 0.667, 0, 0.333]
 *          topP([0.1, 0.5, 0.15, 0.25], 0.8) → also 0.15 (0.9 ≥ 0.8)
 */
export function topP(probs: ArrayLike<number>, p: number): Float64Array {
  if (!(p > 0 && p <= 1)) throw new Error(`top-p: p = ${p} must be in (0, 1]`);
  const out = new Float64Array(probs.length);
  let mass = 0;
  for (const i of byProbability(probs)) {
    out[i] = probs[i];
    mass += probs[i];
    if (mass >= p - 1e-12) break; // tolerance: probabilities rarely add up to exactly 1 in floating point
  }
  return renormalize(out);
}

/** How to pick each next token. The defaults (temperature 1, no top-k, no top-p) sample from the model as it is. */
export interface SamplingOptions {
  /** 0 means greedy: always the most likely token. Default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens (unset: all). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens with total probability ≥ p (unset or 1: all). */
  readonly topP?: number;
}

/** The distribution the next token is drawn from: softmax with temperature, then top-k, then top-p. */
export function nextTokenDistribution(logits: ArrayLike<number>, options: SamplingOptions = {}): Float64Array {
  const { temperature = 1 } = options;
  if (temperature === 0) {
    const onehot = new Float64Array(logits.length);
    onehot[argmax(logits)] = 1;
    return onehot;
  }
  let p = softmax(logits, temperature);
  if (options.topK !== undefined) p = topK(p, options.topK);
  if (options.topP !== undefined && options.topP < 1) p = topP(p, options.topP);
  return p;
}

/** Draws an index with the given probabilities (which sum to 1), using `rng`. */
export function sampleIndex(probs: ArrayLike<number>, rng: Rng): number {
  const u = rng.float();
  let acc = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    acc += probs[i];
    last = i;
    if (u < acc) return i;
  }
  return last; // u landed in the rounding gap just below 1
}

/** Picks the next token from logits: argmax for temperature 0, otherwise a draw from {@link nextTokenDistribution}. */
export function pickToken(logits: ArrayLike<number>, options: SamplingOptions, rng: Rng): number {
  if (options.temperature === 0) return argmax(logits);
  return sampleIndex(nextTokenDistribution(logits, options), rng);
}

// ---------------------------------------------------------------- running the model

/** What generation needs from a model: GPT has it (forward with a KV cache, newCache, its blockSize). */
export type GenerativeModel = Pick<GPT, "config" | "forward" | "newCache">;

export interface GenerateOptions extends SamplingOptions {
  /** At most this many new tokens. Default 64. */
  readonly maxNewTokens?: number;
  /** Token ids that end generation (not included in the output), e.g. the id of </s>. */
  readonly stopIds?: readonly number[];
  /** Use the key/value cache (default true). False recomputes the whole sequence each step (slower, same result). */
  readonly useCache?: boolean;
  /** Seed of the sampling draws: the same seed, prompt and model give the same text. Default 0. */
  readonly seed?: number;
}

/** One generated token as it is produced. */
export interface GeneratedToken {
  readonly id: number;
  /** 0 for the first new token. */
  readonly index: number;
}

/** The logits of the last position of `logits` [1, T, V], read to the host; disposes `logits`. */
async function lastLogits(logits: tf.Tensor3D): Promise<Float32Array> {
  const [, T, V] = logits.shape;
  const last = tf.tidy(() => tf.reshape(tf.slice(logits, [0, T - 1, 0], [1, 1, V]), [V]));
  logits.dispose();
  const data = (await last.data()) as Float32Array;
  last.dispose();
  return data;
}

/**
 * The next token from `logits` [1, T, V] (its last position); disposes `logits`. With one position on wasm or cpu
 * (every step after the prompt with the cache) the logits are read where they lie, without copying them out:
 * on wasm a copy of the 6,400 logits (dataSync) cost about as much as the rest of the step.
 */
async function pickFromLogits(logits: tf.Tensor3D, options: SamplingOptions, rng: Rng): Promise<number> {
  const backend = tf.getBackend();
  if (logits.shape[1] === 1 && logits.dtype === "float32" && (backend === "wasm" || backend === "cpu")) {
    try {
      return pickToken(values(tf.backend(), logits), options, rng); // a view: nothing may allocate tensors meanwhile
    } finally {
      logits.dispose();
    }
  }
  return pickToken(await lastLogits(logits), options, rng);
}

/**
 * Generates token ids after `prompt`, yielding each one as soon as it is picked (for streaming to a notebook).
 * When the sequence outgrows the model's context (blockSize), only the last blockSize tokens are fed, with or
 * without the cache, so both modes stay equal.
 *
 * @example for await (const t of generateIds(model, tok.encode("<s>床前明月", { allowedSpecial: "all" }), { temperature: 0 })) …
 */
export async function* generateIds(model: GenerativeModel, prompt: readonly number[], options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
  const { maxNewTokens = 64, stopIds = [], useCache = true, seed = 0 } = options;
  const { blockSize, vocabSize } = model.config;
  if (prompt.length === 0) throw new Error("generate: the prompt is empty (start it with <s> at least)");
  prompt.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`generate: prompt[${i}] = ${id} is not a token id in 0..${vocabSize - 1}`);
  });
  const rng = new Rng(seed);
  const stops = new Set(stopIds);
  const ids = [...prompt];
  const cache = useCache ? model.newCache() : null;
  try {
    // First step: the whole prompt (its last blockSize tokens) fills the cache.
    let feed = ids.slice(-blockSize);
    for (let index = 0; index < maxNewTokens; index++) {
      const id = await pickFromLogits(model.forward([feed], { training: false, cache: cache ?? undefined }), options, rng);
      if (stops.has(id)) return;
      ids.push(id);
      yield { id, index };
      if (!cache) feed = ids.slice(-blockSize);
      else if (cache.length < blockSize) feed = [id];
      else {
        // The cache is full: start it again from the last blockSize tokens (a sliding window, like the uncached path).
        cache.reset();
        feed = ids.slice(-blockSize);
      }
    }
  } finally {
    cache?.dispose();
  }
}

export interface CompleteOptions extends GenerateOptions {
  /** Called with each new piece of text as soon as it is complete (a token may end in half a UTF-8 character). */
  readonly onText?: (piece: string) => void;
}

export interface Completion {
  /** The prompt as given. */
  readonly prompt: string;
  /** Only the new text. */
  readonly text: string;
  readonly ids: readonly number[];
  /** Why it ended: the stop token, the token limit. */
  readonly reason: "stop" | "length";
}

/**
 * Continues `prompt` with the model, decoding with `tokenizer`; stops at </s> by default.
 * Special-token text in the prompt (such as <s>) is read as special tokens.
 *
 * @example
 *   const c = await complete(model, tok, "<s>床前明月", { temperature: 0, maxNewTokens: 20, onText: (s) => process.stdout.write(s) });
 *   c.text  // e.g. "光，疑是地上霜。…"
 */
export async function complete(
  model: GenerativeModel,
  tokenizer: Pick<Tokenizer, "encode" | "decode" | "tokenToId">,
  prompt: string,
  options: CompleteOptions = {},
): Promise<Completion> {
  const eos = tokenizer.tokenToId("</s>");
  const stopIds = options.stopIds ?? (eos === undefined ? [] : [eos]);
  const maxNewTokens = options.maxNewTokens ?? 64;
  const promptIds = tokenizer.encode(prompt, { allowedSpecial: "all" });
  const ids: number[] = [];
  let shown = "";
  for await (const t of generateIds(model, promptIds, { ...options, stopIds, maxNewTokens })) {
    ids.push(t.id);
    if (options.onText) {
      const text = tokenizer.decode(ids);
      // Hold back a trailing partial character (decoded as U+FFFD) until its remaining bytes arrive.
      if (!text.endsWith("\uFFFD") && text.length > shown.length) {
        options.onText(text.slice(shown.length));
        shown = text;
      }
    }
  }
  const text = tokenizer.decode(ids);
  if (options.onText && text.length > shown.length) options.onText(text.slice(shown.length));
  return { prompt, text, ids, reason: ids.length >= maxNewTokens ? "length" : "stop" };
}

/**
 * The model's probabilities for the token after `ids` (softmax of the last position's logits): what the
 * 词语接龙 table shows as "the probability of the expected next character".
 */
export async function nextTokenProbabilities(model: GenerativeModel, ids: readonly number[]): Promise<Float64Array> {
  const logits = await lastLogits(model.forward([ids.slice(-model.config.blockSize)], { training: false }));
  return softmax(logits);
}
