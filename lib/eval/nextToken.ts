/**
 * 合乎常识的词语接龙, measured on text the model never saw: next-token accuracy on held-out poems.
 *
 * Validation loss says how surprised the model is on average; top-1 and top-5 accuracy say how often its first
 * guess (or one of its first five) is the token that really comes next. On its own a number like "31% top-1"
 * means little, so it is set beside two models that know no context at all:
 *
 *   unigram  always guesses the most common tokens of the training stream (，and 。 win most of the time);
 *   bigram   guesses the tokens that most often followed the previous one in the training stream.
 *
 * A pretrained model that beats the bigram clearly uses more than the last token: it has learned something of
 * the language of the poems (meter, parallel couplets, which words go together), not only common pairs.
 * Accuracy is counted per token of the byte-level BPE of chapter 2 (a token is mostly one or two characters).
 */
import * as tf from "@tensorflow/tfjs";
import { type Rate, wilson } from "./stats";

/** Top-1 and top-5 accuracy of one predictor. */
export interface TopKScore {
  readonly top1: Rate;
  readonly top5: Rate;
}

export interface NextTokenReport {
  readonly model: TopKScore;
  readonly unigram: TopKScore;
  readonly bigram: TopKScore;
  /** Positions scored (the same ones for all three). */
  readonly positions: number;
}

/** The part of a model this needs: logits [B, T, V] for token ids [B, T]. */
export interface NextTokenModel {
  readonly config: { readonly blockSize: number; readonly vocabSize: number };
  forward(ids: readonly (readonly number[])[]): tf.Tensor3D;
}

/** The k most frequent keys of a count table, most frequent first (ties: the smaller id first, for determinism). */
function topKeys(counts: ReadonlyMap<number, number>, k: number): number[] {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k).map(([id]) => id);
}

/**
 * The unigram and bigram guessers of a training stream: for a previous token, its five most common successors,
 * filled up with the five most common tokens overall when it has fewer (or was never seen).
 */
export class NgramBaseline {
  private readonly unigram: number[];
  private readonly successors = new Map<number, Map<number, number>>();
  private readonly cache = new Map<number, number[]>();

  constructor(train: ArrayLike<number>) {
    if (train.length < 2) throw new Error(`NgramBaseline: the training stream has ${train.length} tokens; at least 2 are needed`);
    const counts = new Map<number, number>();
    for (let i = 0; i < train.length; i++) counts.set(train[i], (counts.get(train[i]) ?? 0) + 1);
    for (let i = 1; i < train.length; i++) {
      let s = this.successors.get(train[i - 1]);
      if (!s) this.successors.set(train[i - 1], (s = new Map()));
      s.set(train[i], (s.get(train[i]) ?? 0) + 1);
    }
    this.unigram = topKeys(counts, 5);
  }

  /** The unigram's five guesses (the same at every position). */
  unigramGuesses(): readonly number[] {
    return this.unigram;
  }

  /** The bigram's five guesses after `prev`. */
  bigramGuesses(prev: number): readonly number[] {
    let g = this.cache.get(prev);
    if (!g) {
      const own = topKeys(this.successors.get(prev) ?? new Map(), 5);
      g = [...own, ...this.unigram.filter((id) => !own.includes(id))].slice(0, 5);
      this.cache.set(prev, g);
    }
    return g;
  }
}

/**
 * Top-1 and top-5 next-token accuracy of a model on a held-out stream, beside the unigram and bigram baselines of
 * the training stream. The held-out stream is cut into blocks of `blockSize` + 1 tokens (as in training); within a
 * block the model sees every earlier token of the block.
 * @param options.maxPositions stop after this many positions (default 20,000: intervals are then ±0.7 points).
 * @example const r = nextTokenAccuracy(model, val.tokens, train.tokens); formatRate(r.model.top1)
 */
export function nextTokenAccuracy(
  model: NextTokenModel,
  heldout: ArrayLike<number>,
  train: ArrayLike<number> | NgramBaseline,
  options: { maxPositions?: number; batchSize?: number } = {},
): NextTokenReport {
  const T = model.config.blockSize;
  const maxPositions = options.maxPositions ?? 20_000;
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(maxPositions) || maxPositions < 1) throw new Error(`nextTokenAccuracy: maxPositions must be a whole number ≥ 1, got ${maxPositions}`);
  if (heldout.length < T + 1) throw new Error(`nextTokenAccuracy: the held-out stream has ${heldout.length} tokens, fewer than one block of ${T + 1}`);
  const ngrams = train instanceof NgramBaseline ? train : new NgramBaseline(train);
  const uni = ngrams.unigramGuesses();

  const hits = { model1: 0, model5: 0, uni1: 0, uni5: 0, bi1: 0, bi5: 0 };
  let positions = 0;
  const blocks = Math.floor((heldout.length - 1) / T);
  for (let b0 = 0; b0 < blocks && positions < maxPositions; b0 += batchSize) {
    const rows: number[][] = [];
    for (let b = b0; b < Math.min(blocks, b0 + batchSize); b++) rows.push(Array.from({ length: T + 1 }, (_, t) => heldout[b * T + t]));
    const top = tf.tidy(() => tf.topk(model.forward(rows.map((r) => r.slice(0, T))), 5).indices); // [B, T, 5]
    const guesses = top.arraySync() as number[][][];
    top.dispose();
    for (let r = 0; r < rows.length && positions < maxPositions; r++) {
      for (let t = 0; t < T && positions < maxPositions; t++, positions++) {
        const next = rows[r][t + 1];
        const bi = ngrams.bigramGuesses(rows[r][t]);
        if (guesses[r][t][0] === next) hits.model1++;
        if (guesses[r][t].includes(next)) hits.model5++;
        if (uni[0] === next) hits.uni1++;
        if (uni.includes(next)) hits.uni5++;
        if (bi[0] === next) hits.bi1++;
        if (bi.includes(next)) hits.bi5++;
      }
    }
  }
  const score = (one: number, five: number): TopKScore => ({ top1: wilson(one, positions), top5: wilson(five, positions) });
  return {
    model: score(hits.model1, hits.model5),
    unigram: score(hits.uni1, hits.uni5),
    bigram: score(hits.bi1, hits.bi5),
    positions,
  };
}
