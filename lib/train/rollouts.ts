import * as tf from "@tensorflow/tfjs";
import { pickToken, type SamplingOptions } from "../generate";
import type { GPT } from "../model/gpt";
import type { JsonValue } from "./checkpoint";
import { type BatchSampler } from "./loop";
import type { RewardModel } from "./rewardModel";
import { type EncodedAnswer, packRows } from "./preferencePairs";
import { type MaskedSequences, tokenLogProbs } from "./logprobs";
import { Rng, type RngState } from "../rng";

/**
 * Group-relative advantages: each reward minus its group's mean, divided by the group's standard deviation
 * (population std, + eps so that a group of equal rewards gives advantages 0 instead of 0/0).
 * Groups are consecutive runs of `groupSize` rewards.
 * @example groupAdvantages([1, 2, 3, 5, 5, 5], 3) → [−1.2247, 0, 1.2247, 0, 0, 0]
 */
export function groupAdvantages(rewards: ArrayLike<number>, groupSize: number, eps = 1e-6): Float32Array {
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new Error(`groupAdvantages: groupSize ${groupSize} must be a positive integer`);
  if (rewards.length % groupSize !== 0) throw new Error(`groupAdvantages: ${rewards.length} rewards do not split into groups of ${groupSize}`);
  const out = new Float32Array(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let mean = 0;
    for (let i = g; i < g + groupSize; i++) mean += rewards[i] / groupSize;
    let variance = 0;
    for (let i = g; i < g + groupSize; i++) variance += (rewards[i] - mean) ** 2 / groupSize;
    const std = Math.sqrt(variance);
    for (let i = g; i < g + groupSize; i++) out[i] = (rewards[i] - mean) / (std + eps);
  }
  return out;
}

export interface GroupSamplingOptions extends SamplingOptions {
  /** At most this many new tokens per answer (also limited by the model's context). */
  readonly maxNewTokens: number;
  /** Tokens that end an answer; the stop token is kept as the answer's last token (the policy learns to stop). */
  readonly stopIds: readonly number[];
  /** Fed after an answer has stopped while its siblings go on (never read: the rows are scored up to their end). */
  readonly padId: number;
}

/**
 * Samples `groupSize` answers to one prompt at once: the prompt goes through the model as a batch of G identical
 * rows (filling one KV cache), then each step feeds every row's newest token and picks the next one per row with
 * lib/generate's `pickToken`. Synchronous (it reads logits with dataSync) because a batch sampler is.
 *
 * @returns the answers' token ids (each ends with a stop id unless it hit the length limit)
 */
export function sampleGroup(model: Pick<GPT, "forward" | "newCache" | "config">, prompt: readonly number[], groupSize: number, options: GroupSamplingOptions, rng: Rng): number[][] {
  const room = model.config.blockSize - prompt.length;
  if (room < 1) throw new Error(`sampleGroup: the prompt has ${prompt.length} tokens, the model's context ${model.config.blockSize}: no room for an answer`);
  const maxNew = Math.min(options.maxNewTokens, room);
  const stops = new Set(options.stopIds);
  const answers: number[][] = Array.from({ length: groupSize }, () => []);
  const done = new Array<boolean>(groupSize).fill(false);
  const cache = model.newCache();
  try {
    let feed: number[][] = Array.from({ length: groupSize }, () => [...prompt]);
    for (let step = 0; step < maxNew && done.includes(false); step++) {
      const last = tf.tidy(() => {
        const logits = model.forward(feed, { training: false, cache }); // [G, t, V]
        const [G, t, V] = logits.shape;
        return tf.reshape(tf.slice(logits, [0, t - 1, 0], [G, 1, V]), [G, V]); // [G, V]
      });
      const V = last.shape[1] as number;
      const values = last.dataSync();
      last.dispose();
      const next: number[][] = [];
      for (let g = 0; g < groupSize; g++) {
        if (done[g]) {
          next.push([options.padId]);
          continue;
        }
        const id = pickToken(values.subarray(g * V, (g + 1) * V), options, rng);
        answers[g].push(id);
        if (stops.has(id)) done[g] = true;
        next.push([id]);
      }
      feed = next;
    }
  } finally {
    cache.dispose();
  }
  return answers;
}

/** Scores rollouts: prompt + answer rows (with the position of each row's last token) → one reward per row. */
export type RolloutScorer = (seqs: MaskedSequences & { readonly last: Int32Array }) => ArrayLike<number>;
/** The reward model as a {@link RolloutScorer} (no dropout; its weights are only read). */
export function rewardModelScorer(rm: RewardModel): RolloutScorer {
  return (seqs) => {
    const r = rm.rewards(seqs);
    const v = r.dataSync();
    r.dispose();
    return v;
  };
}

/** One step's rollouts: G answers to each of P prompts, with everything the loss needs as host arrays. */
export interface Rollout extends MaskedSequences {
  /** Answers per prompt. */
  readonly groupSize: number;
  /** [rows] reward of each answer and its group-relative advantage. */
  readonly rewards: Float32Array;
  readonly advantages: Float32Array;
  /** [rows × (length−1)] log-probabilities of each answer token under the sampling policy and the reference (0 off the answer). */
  readonly oldLogProbs: Float32Array;
  readonly refLogProbs: Float32Array;
  /** Which prompts (indices into the sampler's prompt list) the groups answered. */
  readonly prompts: readonly number[];
  /** The answers' token ids, for showing them. */
  readonly answers: readonly (readonly number[])[];
}

/** What a GRPO step looked like, recorded by the sampler when it draws the step's rollouts. */
export interface GrpoStepStats {
  /** The step these rollouts trained (1-based). */
  readonly step: number;
  readonly meanReward: number;
  /** Mean over answers of the mean per-token k3 KL estimate to the reference, before this step's update. */
  readonly kl: number;
  /** Mean answer length in tokens. */
  readonly meanLength: number;
  /** Fraction of groups whose answers all got the same reward (no learning signal). */
  readonly flatGroups: number;
}

/** What drawing rollouts needs of GRPO's settings. */
export interface RolloutSettings {
  /** G: answers sampled per prompt. */
  readonly groupSize: number;
  /** Prompts per step (the batch is promptsPerStep × groupSize answers). */
  readonly promptsPerStep: number;
  readonly maxNewTokens: number;
  /** Sampling of the rollouts: temperature 1 explores what the policy really believes. */
  readonly sampling: SamplingOptions;
  readonly seed: number;
}

interface RolloutSamplerState {
  readonly seed: number;
  readonly rng: RngState;
  readonly step: number;
}

/**
 * The on-policy "batch sampler": each next() draws prompts at random, samples a group of answers per prompt with
 * the current policy, scores them, and computes advantages and the old and reference log-probabilities.
 */
export class RolloutSampler implements BatchSampler<Rollout> {
  private rng: Rng;
  private step = 0;
  /** One entry per rollout drawn, in order. */
  readonly history: GrpoStepStats[] = [];

  constructor(
    private readonly policy: GPT,
    private readonly reference: Pick<GPT, "forward">,
    private readonly scorer: RolloutScorer,
    /** Encoded prompts (ending where the answer starts, e.g. after <|assistant|>). */
    readonly prompts: readonly (readonly number[])[],
    private readonly settings: RolloutSettings,
    private readonly tokens: { readonly stopIds: readonly number[]; readonly padId: number },
  ) {
    if (prompts.length === 0) throw new Error("RolloutSampler: no prompts");
    this.rng = new Rng(settings.seed);
  }

  next(): Rollout {
    const { groupSize: G, promptsPerStep: P } = this.settings;
    const picked = Array.from({ length: P }, () => this.rng.int(this.prompts.length));
    const rows: EncodedAnswer[] = [];
    const answers: number[][] = [];
    for (const p of picked) {
      const prompt = this.prompts[p];
      for (const answer of sampleGroup(this.policy, prompt, G, { ...this.settings.sampling, maxNewTokens: this.settings.maxNewTokens, ...this.tokens }, this.rng)) {
        answers.push(answer);
        rows.push({ ids: [...prompt, ...answer], mask: [...prompt.map(() => 0), ...answer.map(() => 1)] });
      }
    }
    const seqs = packRows(rows, this.tokens.padId);
    const rewards = Float32Array.from(this.scorer(seqs));
    const advantages = groupAdvantages(rewards, G);
    const oldT = tokenLogProbs(this.policy, seqs);
    const refT = tokenLogProbs(this.reference, seqs);
    const oldLogProbs = oldT.dataSync() as Float32Array;
    const refLogProbs = refT.dataSync() as Float32Array;
    tf.dispose([oldT, refT]);
    this.step++;
    this.record(seqs, rewards, oldLogProbs, refLogProbs, answers);
    return { ...seqs, groupSize: G, rewards, advantages, oldLogProbs, refLogProbs, prompts: picked, answers };
  }

  private record(seqs: MaskedSequences, rewards: Float32Array, old: Float32Array, ref: Float32Array, answers: number[][]): void {
    const { rows: R, length: T } = seqs;
    let kl = 0;
    for (let r = 0; r < R; r++) {
      let sum = 0, n = 0;
      for (let t = 0; t < T - 1; t++) {
        if (seqs.mask[r * T + t + 1] === 0) continue;
        const d = ref[r * (T - 1) + t] - old[r * (T - 1) + t];
        sum += Math.exp(d) - d - 1;
        n++;
      }
      kl += sum / Math.max(n, 1) / R;
    }
    const G = this.settings.groupSize;
    let flat = 0;
    for (let g = 0; g < R; g += G) if (rewards.subarray(g, g + G).every((x) => x === rewards[g])) flat++;
    const s: GrpoStepStats = {
      step: this.step,
      meanReward: rewards.reduce((a, b) => a + b, 0) / R,
      kl,
      meanLength: answers.reduce((a, b) => a + b.length, 0) / R,
      flatGroups: flat / (R / G),
    };
    this.history.push(s);
  }

  state(): JsonValue {
    const s: RolloutSamplerState = { seed: this.settings.seed, rng: this.rng.state(), step: this.step };
    return { ...s, rng: [...s.rng] };
  }

  restore(state: JsonValue): void {
    const s = state as unknown as RolloutSamplerState;
    if (!s || typeof s !== "object" || s.seed !== this.settings.seed || !Array.isArray(s.rng) || !Number.isInteger(s.step)) {
      throw new Error(`RolloutSampler: cannot restore ${JSON.stringify(state)} into a sampler seeded with ${this.settings.seed}`);
    }
    this.rng = Rng.fromState(s.rng);
    this.step = s.step;
  }
}
