/**
 * 人类反馈强化学习 (RLHF, chapter 7): what the reward model, DPO and GRPO share.
 *
 * The book's customer-service example: for one question we mark a good answer (polite, direct, correct) and a bad
 * one, and adjust the model so that the good answer becomes more probable and the bad one less. Two routes:
 *
 *   preference pairs ──► reward model r(x, y)  (reward.ts: Bradley–Terry)  ──► GRPO (grpo.ts): the policy samples,
 *        {prompt, chosen, rejected}                                             r scores, good samples get likelier
 *        └──────────────────────────────────────► DPO (dpo.ts): the pairs move the probabilities directly
 *
 * Both need the same measurement: how probable the model finds an answer y after a prompt x,
 *
 *   log π(y | x) = Σ_{t ∈ answer} log p(token_t | token_<t)
 *
 * summed over the answer's tokens only — the prompt is given, not written by the model, so its tokens are masked
 * out. This file holds that measurement and the small pieces of arithmetic around it (log σ, KL estimates); the
 * stages live in reward.ts, dpo.ts and grpo.ts, and the data in lib/data/preferences.ts.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { softmaxCrossEntropy } from "../kernels/fused";
import type { GPT } from "../model/gpt";
import { isQuick } from "../course";
import type { PreferenceDataset, PreferenceItem } from "../data/preferences";
import { type ChatTokenizer, encodeChat, padId } from "./chat";
import { listCheckpoints } from "./checkpoint";
import { writeFileAtomicSync } from "../io/atomic";
import type { NamedVariables } from "./optimizer";
import { Rng } from "../rng";
import { EpochSampler } from "./sampler";

/**
 * log σ(x), computed so that it neither overflows nor rounds to log 0: log σ(x) = −softplus(−x) = min(x, 0) − log(1 + e^−|x|).
 * @example logSigmoid(0) = −log 2 ≈ −0.6931;  logSigmoid(−1000) = −1000 (not −Infinity)
 */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.minimum(x, 0), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
}

/**
 * Per-sequence sums of log-probabilities: Σ_t mask[b,t] · log softmax(logits[b,t])[targets[b,t]], shape [B].
 * `targets` are the next tokens (the inputs shifted by one) and `mask` is 1 where the target is an answer token.
 *
 * @example one sequence, two positions over a vocabulary of 2, logits [[0, 0], [0, ln 3]], targets [0, 1]:
 *   log p = [log ½, log ¾]; mask [0, 1] → log ¾ ≈ −0.2877;  mask [1, 1] → log ⅜ ≈ −0.9808
 */
export function maskedLogProbs(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    if (targets.shape[0] !== B || targets.shape[1] !== T || mask.shape[0] !== B || mask.shape[1] !== T) {
      throw new Error(`maskedLogProbs: logits [${logits.shape}], targets [${targets.shape}] and mask [${mask.shape}] must agree on [B, T]`);
    }
    // The fused kernel gives −log p(target) per position with its gradient (softmax − onehot) written out.
    const nll = softmaxCrossEntropy(logits.reshape([B * T, V]), tf.cast(targets, "int32").reshape([B * T])); // [B·T]
    return tf.neg(tf.sum(tf.mul(nll.reshape([B, T]), tf.cast(mask, "float32")), 1)) as tf.Tensor1D; // [B]
  });
}

/** Token sequences of equal length (padded), row-major, with a mask over the tokens that belong to the answer. */
export interface MaskedSequences {
  /** [rows × length] token ids: prompt, answer, then padding. */
  readonly ids: Int32Array;
  /** [rows × length] 1 where ids[t] is a token of the answer (what the model is judged on), else 0. */
  readonly mask: Float32Array;
  readonly rows: number;
  readonly length: number;
}

/**
 * log π(answer | prompt) of every row, shape [B], under `model`: the model reads ids[0 … T−2] and is scored on
 * predicting ids[1 … T−1] wherever that token is an answer token. Padding after the answer changes nothing (the
 * model is causal and the mask is 0 there), so rows of different lengths share one batch.
 *
 * @example sequenceLogProbs(model, encoded).dataSync()  // e.g. [−12.3, −40.1]: the first answer is e^28 times likelier
 */
export function sequenceLogProbs(model: Pick<GPT, "forward">, seqs: MaskedSequences, options: { training?: boolean } = {}): tf.Tensor1D {
  const { rows: B, length: T } = seqs;
  if (T < 2) throw new Error(`sequenceLogProbs: sequences of length ${T} have no next token to score`);
  return tf.tidy(() => {
    const ids = tf.tensor2d(seqs.ids, [B, T], "int32"); // [B, T]
    const mask = tf.tensor2d(seqs.mask, [B, T], "float32"); // [B, T]
    const input = tf.slice(ids, [0, 0], [B, T - 1]); // [B, T-1]
    const targets = tf.slice(ids, [0, 1], [B, T - 1]); // [B, T-1]
    const logits = model.forward(input as tf.Tensor2D, { training: options.training ?? false }); // [B, T-1, V]
    return maskedLogProbs(logits, targets as tf.Tensor2D, tf.slice(mask, [0, 1], [B, T - 1]) as tf.Tensor2D); // [B]
  });
}

/**
 * Per-token log-probabilities of the targets, [B, T−1] (0 where the mask is 0): what GRPO needs to weigh each
 * sampled token and to measure the KL to the reference token by token.
 */
export function tokenLogProbs(model: Pick<GPT, "forward">, seqs: MaskedSequences, options: { training?: boolean } = {}): tf.Tensor2D {
  const { rows: B, length: T } = seqs;
  if (T < 2) throw new Error(`tokenLogProbs: sequences of length ${T} have no next token to score`);
  return tf.tidy(() => {
    const ids = tf.tensor2d(seqs.ids, [B, T], "int32"); // [B, T]
    const mask = tf.slice(tf.tensor2d(seqs.mask, [B, T], "float32"), [0, 1], [B, T - 1]); // [B, T-1]
    const logits = model.forward(tf.slice(ids, [0, 0], [B, T - 1]) as tf.Tensor2D, { training: options.training ?? false }); // [B, T-1, V]
    const V = logits.shape[2];
    const nll = softmaxCrossEntropy(logits.reshape([B * (T - 1), V]), tf.slice(ids, [0, 1], [B, T - 1]).reshape([B * (T - 1)])); // [B·(T-1)]
    return tf.mul(tf.neg(nll.reshape([B, T - 1])), mask) as tf.Tensor2D; // [B, T-1]
  });
}

/**
 * The KL estimator GRPO uses per sampled token (Schulman's "k3"): with d = log π_ref(y) − log π(y),
 *   k3 = e^d − d − 1  ≥ 0,
 * whose mean over tokens sampled from π is KL(π ‖ π_ref) without bias, and which is never negative (unlike −d).
 * @example d = 0 (the policy agrees with the reference) → 0;  d = ln 2 → 2 − 0.693 − 1 = 0.307
 */
export function klK3(policyLogProbs: tf.Tensor, referenceLogProbs: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = tf.sub(referenceLogProbs, policyLogProbs);
    return tf.sub(tf.sub(tf.exp(d), d), 1);
  });
}

/** A copy of every weight's values on the host, to check later that nothing moved ({@link changedWeights}). */
export function snapshotWeights(weights: NamedVariables): Map<string, Float32Array> {
  return new Map([...weights].map(([name, v]) => [name, Float32Array.from(v.dataSync() as Float32Array)]));
}

/**
 * The names of the weights whose values differ from `snapshot` (bit for bit): [] for a frozen model. Tests and the
 * notebook use it to show that the reference and the reward model never change while the policy trains.
 */
export function changedWeights(weights: NamedVariables, snapshot: ReadonlyMap<string, Float32Array>): string[] {
  const changed: string[] = [];
  for (const [name, v] of weights) {
    const before = snapshot.get(name);
    const now = v.dataSync();
    if (!before || before.length !== now.length || now.some((x, i) => !Object.is(x, before[i]))) changed.push(name);
  }
  return changed;
}

// ---------------------------------------------------------------- preference pairs as batches

/** One preference: for `prompt`, `chosen` is the better answer and `rejected` the worse (see lib/data/preferences.ts). */
export interface PreferenceLike {
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
}

/** A prompt and an answer as token ids, with 1 on the answer's tokens (chapter 6's `encodeChat` gives this). */
export interface EncodedAnswer {
  readonly ids: readonly number[];
  readonly mask: readonly number[];
}

/** Turns (prompt, answer) into ids and an answer mask, e.g. in the chat format of chapter 6. */
export type AnswerEncoder = (prompt: string, answer: string) => EncodedAnswer;

/**
 * A batch of B preference pairs: rows 0 … B−1 hold prompt + chosen answer, rows B … 2B−1 prompt + rejected answer,
 * padded to one length, so a single forward pass scores both sides. `last[r]` is the position of row r's last
 * real token (where the reward model reads its score).
 */
export interface PairBatch extends MaskedSequences {
  readonly pairs: number;
  readonly last: Int32Array;
  /** Which pairs of the data set these are (to look up cached reference log-probabilities). */
  readonly index: Int32Array;
}

/** Preference pairs encoded once, ready to be cut into {@link PairBatch}es. */
export class EncodedPairs {
  private constructor(
    readonly chosen: readonly EncodedAnswer[],
    readonly rejected: readonly EncodedAnswer[],
    readonly padId: number,
  ) {}

  /**
   * Encodes every pair with `encode`. A pair whose prompt + answer is longer than `blockSize` tokens cannot be
   * scored whole by the model; it is an error, unless `dropTooLong` is set, in which case it is left out and
   * counted in `dropped` (the tiny quick-mode model has a 32-token context; the course model 128).
   */
  static encode(
    pairs: readonly PreferenceLike[],
    encode: AnswerEncoder,
    options: { blockSize: number; padId: number; dropTooLong?: boolean },
  ): { encoded: EncodedPairs; kept: number[]; dropped: number } {
    const chosen: EncodedAnswer[] = [];
    const rejected: EncodedAnswer[] = [];
    const kept: number[] = [];
    pairs.forEach((p, i) => {
      const c = checkEncoded(encode(p.prompt, p.chosen), `pair ${i} (chosen)`);
      const r = checkEncoded(encode(p.prompt, p.rejected), `pair ${i} (rejected)`);
      const longest = Math.max(c.ids.length, r.ids.length);
      if (longest > options.blockSize) {
        if (options.dropTooLong) return;
        throw new Error(`pair ${i} (prompt ${JSON.stringify(p.prompt)}) is ${longest} tokens long, more than blockSize ${options.blockSize}`);
      }
      chosen.push(c);
      rejected.push(r);
      kept.push(i);
    });
    return { encoded: new EncodedPairs(chosen, rejected, options.padId), kept, dropped: pairs.length - kept.length };
  }

  get size(): number {
    return this.chosen.length;
  }

  /** The first `n` pairs (e.g. a few held-out batches for the validation loss). */
  subset(n: number): EncodedPairs {
    return new EncodedPairs(this.chosen.slice(0, n), this.rejected.slice(0, n), this.padId);
  }

  /** The batch of the pairs at `indices` (chosen rows first, then rejected rows, padded to the longest). */
  batch(indices: readonly number[]): PairBatch {
    const B = indices.length;
    if (B === 0) throw new Error("EncodedPairs.batch: no pairs");
    const rowsOf = [...indices.map((i) => this.at(this.chosen, i)), ...indices.map((i) => this.at(this.rejected, i))];
    return { ...packRows(rowsOf, this.padId), pairs: B, index: Int32Array.from(indices) };
  }

  private at(list: readonly EncodedAnswer[], i: number): EncodedAnswer {
    if (!Number.isInteger(i) || i < 0 || i >= list.length) throw new Error(`pair index ${i} is out of range 0..${list.length - 1}`);
    return list[i];
  }
}

function checkEncoded(e: EncodedAnswer, what: string): EncodedAnswer {
  if (e.ids.length !== e.mask.length) throw new Error(`${what}: ${e.ids.length} ids but ${e.mask.length} mask values`);
  if (!e.mask.some((m) => m > 0)) throw new Error(`${what}: the answer mask is all zeros (an empty answer?)`);
  if (e.ids.length < 2) throw new Error(`${what}: ${e.ids.length} token(s) are too few to score`);
  return e;
}

/**
 * Right-pads encoded rows to one length. Padding sits after each row's last token, where a causal model cannot
 * see it from any real position, and the mask is 0 there.
 */
export function packRows(rows: readonly EncodedAnswer[], padId: number): MaskedSequences & { last: Int32Array } {
  const T = Math.max(...rows.map((r) => r.ids.length));
  const ids = new Int32Array(rows.length * T).fill(padId);
  const mask = new Float32Array(rows.length * T);
  const last = new Int32Array(rows.length);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.ids.length; t++) {
      ids[b * T + t] = r.ids[t];
      mask[b * T + t] = r.mask[t];
    }
    last[b] = r.ids.length - 1;
  });
  return { ids, mask, rows: rows.length, length: T, last };
}

/**
 * Draws batches of preference pairs epoch by epoch, each pair once per epoch in a seeded shuffled order (EpochSampler);
 * a batch never holds more pairs than there are.
 */
export class PairSampler extends EpochSampler<PairBatch> {
  constructor(
    readonly data: EncodedPairs,
    readonly batchSize: number,
    seed: number,
  ) {
    super("PairSampler", seed, Math.min(batchSize, Math.max(data.size, 1)), () => ({ count: data.size }), (items) => data.batch(items));
    if (data.size === 0) throw new Error("PairSampler: no preference pairs to train on");
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`PairSampler: batchSize ${batchSize} must be a positive integer`);
    this.begin();
  }
}

/** Fixed batches over all pairs in order (validation and evaluation: every pair once, the same every time). */
export function pairBatches(data: EncodedPairs, batchSize: number): PairBatch[] {
  const out: PairBatch[] = [];
  for (let i = 0; i < data.size; i += batchSize) {
    out.push(data.batch(Array.from({ length: Math.min(batchSize, data.size - i) }, (_, k) => i + k)));
  }
  return out;
}

// ---------------------------------------------------------------- in the chat format of chapter 6

/** (prompt, answer) → chapter 6's chat format, the mask on the answer and its closing <|end|> (what SFT learned). */
export function chatAnswerEncoder(tokenizer: ChatTokenizer): AnswerEncoder {
  return (prompt, answer) => {
    const e = encodeChat(tokenizer, { prompt, answer });
    return { ids: e.ids, mask: e.lossMask };
  };
}

/**
 * Preference pairs in the chat format, ready for the reward model and DPO. Pairs longer than `blockSize` are left
 * out and counted (the quick-mode model has a short context); `kept` maps the encoded pairs back to `pairs`.
 * @example const { encoded, dropped } = encodePreferences(tok, prefs.items.train, { blockSize: model.config.blockSize });
 */
export function encodePreferences(
  tokenizer: ChatTokenizer,
  pairs: readonly PreferenceLike[],
  options: { blockSize: number },
): { encoded: EncodedPairs; kept: number[]; dropped: number } {
  return EncodedPairs.encode(pairs, chatAnswerEncoder(tokenizer), { blockSize: options.blockSize, padId: padId(tokenizer), dropTooLong: true });
}

// ---------------------------------------------------------------- data and bookkeeping of a run

/** Preference pairs of one split, encoded: `items[i]` is the pair behind `encoded`'s pair i. */
export interface RlhfPairs<P extends PreferenceLike = PreferenceLike> {
  readonly items: readonly P[];
  readonly encoded: EncodedPairs;
  /** Pairs left out because they do not fit the model's context. */
  readonly dropped: number;
}

/**
 * At most `max` pairs of `items` (a seeded sample, so runs agree), encoded in the chat format for a model with
 * context `blockSize`. The course has ~160,000 training pairs; a run reads a few thousand, so only those are encoded.
 */
export function prepareRlhfPairs<P extends PreferenceLike>(
  tokenizer: ChatTokenizer,
  items: readonly P[],
  options: { blockSize: number; max?: number; seed?: number },
): RlhfPairs<P> {
  const sample = options.max !== undefined && items.length > options.max ? new Rng(options.seed ?? 7).shuffle([...items]).slice(0, options.max) : [...items];
  const { encoded, kept, dropped } = encodePreferences(tokenizer, sample, { blockSize: options.blockSize });
  return { items: kept.map((i) => sample[i]), encoded, dropped };
}

/**
 * The pairs a chapter-7 run trains and evaluates on, for a model with context `blockSize`: training pairs from the
 * questions SFT trained on, held-out pairs from the poems whose questions no stage trained on (chapter 6's
 * "heldout" and "unseen" splits). Full size samples 20,000 and 1,000 of them; quick mode keeps all that fit (its
 * tiny model reads only 32 tokens, so most pairs do not).
 */
export function rlhfPairs(
  tokenizer: ChatTokenizer,
  preferences: Pick<PreferenceDataset, "items">,
  options: { blockSize: number; quick?: boolean; maxTrain?: number; maxHeldout?: number },
): { train: RlhfPairs<PreferenceItem>; heldout: RlhfPairs<PreferenceItem> } {
  const quick = options.quick ?? isQuick();
  const { items } = preferences;
  return {
    train: prepareRlhfPairs(tokenizer, items.train, { blockSize: options.blockSize, max: options.maxTrain ?? (quick ? undefined : 20000) }),
    heldout: prepareRlhfPairs(tokenizer, [...items.heldout, ...items.unseen], { blockSize: options.blockSize, max: options.maxHeldout ?? (quick ? undefined : 1000) }),
  };
}

/**
 * The step a run will continue from: the run folder's latest checkpoint when `resume` is set, else 0 (the loop
 * makes the same decision; a stage uses it to cut its own metrics log back to that step).
 */
export function resumeStepOf(runDir: string | null, resume: boolean | "required"): number {
  if (!runDir || !resume) return 0;
  const all = listCheckpoints(runDir);
  return all.length ? all[all.length - 1].step : 0;
}

/**
 * A stage's own curves next to the loop's log: runs/<stage>/metrics.jsonl, one JSON record with a `step` per line.
 * A fresh run empties it; a resumed one keeps the records up to the step it resumes from, as the loop does with log.jsonl.
 */
export class MetricsLog<T extends { readonly step: number }> {
  readonly records: T[] = [];

  constructor(readonly file: string | null) {}

  /** Reads what a finished or interrupted run left, up to `upTo` (last record per step wins). */
  static read<T extends { readonly step: number }>(file: string, upTo = Infinity): T[] {
    if (!fs.existsSync(file)) return [];
    const byStep = new Map<number, T>();
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let r: T;
      try {
        r = JSON.parse(line) as T;
      } catch {
        continue; // a kill can cut the last line short
      }
      if (typeof r.step === "number" && r.step <= upTo) byStep.set(r.step, r);
    }
    return [...byStep.values()].sort((a, b) => a.step - b.step);
  }

  private rewritten = false;

  /**
   * Starts a run that continues from `fromStep` (0: a fresh run). The file is rewritten only at the first record,
   * atomically: by then the loop has accepted the run folder, so a refused start (a run already there) or a
   * `fresh` start (the old run moved aside) never empties the old run's metrics.
   */
  start(fromStep: number): this {
    this.records.length = 0;
    this.rewritten = false;
    if (!this.file) return this;
    this.records.push(...(fromStep > 0 ? MetricsLog.read<T>(this.file, fromStep) : []));
    return this;
  }

  append(record: T): void {
    if (this.file && !this.rewritten) {
      writeFileAtomicSync(this.file, this.records.map((r) => JSON.stringify(r) + "\n").join(""));
      this.rewritten = true;
    }
    this.records.push(record);
    if (this.file) fs.appendFileSync(this.file, JSON.stringify(record) + "\n");
  }
}
