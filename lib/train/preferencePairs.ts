/**
 * Chapter 7's preference pairs as batches: {prompt, chosen, rejected} encoded in chapter 6's chat format, packed
 * with the answer masked in, drawn by the seeded epoch sampler, and the pairs a chapter-7 run trains on.
 * The log-probabilities computed on them are in logprobs.ts; the stages in reward.ts, dpo.ts and grpo.ts.
 */
import { isQuick } from "../course";
import type { PreferenceDataset, PreferenceItem } from "../data/preferences";
import { type ChatTokenizer, encodeChat, padId } from "./chat";
import { Rng } from "../rng";
import { EpochSampler } from "./sampler";
import { MaskedSequences } from "./logprobs";

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

  /** Pairs already encoded (e.g. a rejected answer kept as the tokens a model sampled): chosen[i] against rejected[i]. */
  static fromAnswers(chosen: readonly EncodedAnswer[], rejected: readonly EncodedAnswer[], padId: number): EncodedPairs {
    if (chosen.length !== rejected.length) throw new Error(`EncodedPairs.fromAnswers: ${chosen.length} chosen answers but ${rejected.length} rejected`);
    chosen.forEach((c, i) => checkEncoded(c, `pair ${i} (chosen)`));
    rejected.forEach((r, i) => checkEncoded(r, `pair ${i} (rejected)`));
    return new EncodedPairs([...chosen], [...rejected], padId);
  }

  /** These pairs followed by `other`'s (the same padding id). */
  concat(other: EncodedPairs): EncodedPairs {
    if (other.padId !== this.padId) throw new Error(`EncodedPairs.concat: padding ids differ (${this.padId} and ${other.padId})`);
    return new EncodedPairs([...this.chosen, ...other.chosen], [...this.rejected, ...other.rejected], this.padId);
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

// ---------------------------------------------------------------- the pairs of a run

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
