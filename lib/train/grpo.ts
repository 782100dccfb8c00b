/**
 * GRPO, group relative policy optimization (Shao et al. 2024, "DeepSeekMath"): RLHF's on-policy route, without the
 * value network PPO needs.
 *
 *   for each prompt x:  the policy writes a group of G answers y_1 … y_G (sampled, so they differ)
 *                       the reward model scores them: r_1 … r_G
 *                       advantage A_i = (r_i − mean(r)) / std(r)    — better than its siblings: > 0
 *   loss = −mean_i (1/|y_i|) Σ_t [ min(ρ_t A_i, clip(ρ_t, 1−ε, 1+ε) A_i) − β · KL_t(π ‖ π_ref) ]
 *
 * ρ_t = π(y_t)/π_old(y_t) is the probability ratio of token t against the policy that sampled it (PPO's clipped
 * surrogate, Schulman et al. 2017). Each group is used for one update here, so ρ starts at 1 and the gradient is
 * A_i · ∇log π(y_i): answers better than the group's average become likelier, worse ones less likely. The group's
 * mean plays the part of PPO's learned value baseline. KL_t is the k3 estimate of rlhf.ts against the frozen SFT
 * model: without it the policy would drift into whatever text the (imperfect) reward model overrates.
 *
 * Sampling happens in the batch sampler (the loop's `batches.next()`): a "batch" of an on-policy method is a set of
 * fresh rollouts with their rewards, advantages, and the old and reference log-probabilities, all host arrays.
 */
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { ensureQa, type QaDataset } from "../data/qa";
import { pickToken, type SamplingOptions } from "../generate";
import type { GPT } from "../model/gpt";
import type { Tokenizer } from "../tokenizer/types";
import { chatPrompt, chatStopIds, padId } from "./chat";
import type { JsonValue, TokenizerIdentity } from "./checkpoint";
import { type BatchSampler, type Stage, train, type TrainingOptions, type TrainResult } from "./loop";
import { gptTrainable } from "./pretrain";
import {  ensureRewardModel, type RewardModel } from "./reward";
import { type EncodedAnswer, klK3, type MaskedSequences, MetricsLog, packRows, resumeStepOf, tokenLogProbs } from "./rlhf";
import { Rng, type RngState } from "../rng";
import { ensureSft } from "./sft";
import { loadStage, withOverrides } from "./handoff";
import { stageDir, coursePreset } from "./registry";
import { tokenizerIdentity } from "./tokens";

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

/** Settings of GRPO besides the loop's options. */
export interface GrpoSettings {
  /** G: answers sampled per prompt. */
  readonly groupSize: number;
  /** Prompts per step (the batch is promptsPerStep × groupSize answers). */
  readonly promptsPerStep: number;
  /** Weight of the KL penalty (DeepSeekMath: 0.04). */
  readonly beta: number;
  /** PPO's clip range ε for the probability ratio. */
  readonly clip: number;
  readonly maxNewTokens: number;
  /** Sampling of the rollouts: temperature 1 explores what the policy really believes. */
  readonly sampling: SamplingOptions;
  readonly seed: number;
  readonly train: Partial<TrainingOptions>;
}

/**
 * `tiny`: tests and quick mode. `course`: 32 sampled answers a step (4 questions × 8); the chapter's answers take
 * about 12 tokens, so 24 new tokens leave room; a step costs several seconds on a 2-core laptop, most of it sampling.
 */
export const GRPO_PRESETS: Readonly<Record<"tiny" | "course", GrpoSettings>> = Object.freeze({
  tiny: { groupSize: 4, promptsPerStep: 4, beta: 0.04, clip: 0.2, maxNewTokens: 16, sampling: { temperature: 1 }, seed: 3, train: { steps: 20, lr: 5e-4, minLr: 5e-5, warmupSteps: 2, weightDecay: 0, clipNorm: 1 } },
  course: { groupSize: 8, promptsPerStep: 4, beta: 0.04, clip: 0.2, maxNewTokens: 24, sampling: { temperature: 1 }, seed: 3, train: { steps: 100, lr: 5e-5, minLr: 5e-6, warmupSteps: 10, weightDecay: 0, clipNorm: 1, checkpointEvery: 25 } },
});

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
    private readonly settings: GrpoSettings,
    private readonly tokens: { readonly stopIds: readonly number[]; readonly padId: number },
    private readonly onStats?: (s: GrpoStepStats) => void,
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
    this.onStats?.(s);
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

/**
 * The GRPO loss of one rollout (see the file comment), as a scalar to minimize.
 * `logProbs` are the current policy's per-token log-probabilities [R, T−1] (0 off the answer).
 */
export function grpoLoss(logProbs: tf.Tensor2D, rollout: Rollout, settings: Pick<GrpoSettings, "beta" | "clip">): tf.Scalar {
  return tf.tidy(() => {
    const { rows: R, length: T } = rollout;
    const mask = tf.slice(tf.tensor2d(rollout.mask, [R, T]), [0, 1], [R, T - 1]); // [R, T-1]: answer tokens
    const old = tf.tensor2d(rollout.oldLogProbs, [R, T - 1]); // [R, T-1]
    const ref = tf.tensor2d(rollout.refLogProbs, [R, T - 1]); // [R, T-1]
    const adv = tf.tensor2d(rollout.advantages, [R, 1]); // [R, 1]
    const ratio = tf.exp(tf.sub(logProbs, old)); // [R, T-1]
    const surrogate = tf.minimum(tf.mul(ratio, adv), tf.mul(tf.clipByValue(ratio, 1 - settings.clip, 1 + settings.clip), adv)); // [R, T-1]
    const perToken = tf.mul(tf.sub(surrogate, tf.mul(settings.beta, klK3(logProbs, ref))), mask); // [R, T-1]
    const perAnswer = tf.div(tf.sum(perToken, 1), tf.maximum(tf.sum(mask, 1), 1)); // [R]: mean over the answer's tokens
    return tf.neg(tf.mean(perAnswer)) as tf.Scalar;
  });
}

/** The GRPO stage and its sampler (whose `history` holds the reward and KL curves). */
export interface GrpoStage extends Stage<Rollout> {
  readonly sampler: RolloutSampler;
}

/**
 * GRPO as a stage of the shared loop: `policy` trains; `reference` and the scorer (the reward model) only read.
 * @example const stage = grpoStage(policy, reference, rewardModelScorer(rm), prompts, GRPO_PRESETS.course, { stopIds, padId });
 *          await train(stage);  stage.sampler.history  // mean reward and KL per step
 */
export function grpoStage(
  policy: GPT,
  reference: Pick<GPT, "forward">,
  scorer: RolloutScorer,
  prompts: readonly (readonly number[])[],
  settings: GrpoSettings,
  tokens: { readonly stopIds: readonly number[]; readonly padId: number },
  options: { tokenizer?: TokenizerIdentity | null; name?: string; onStats?: (s: GrpoStepStats) => void } = {},
): GrpoStage {
  const sampler = new RolloutSampler(policy, reference, scorer, prompts, settings, tokens, options.onStats);
  return {
    name: options.name ?? "grpo",
    from: "sft",
    model: gptTrainable(policy),
    batches: sampler,
    loss(rollout) {
      // No dropout: the ratio π/π_old must compare the same function, or it measures dropout noise (TRL disables it too).
      return grpoLoss(tokenLogProbs(policy, rollout), rollout, settings);
    },
    tokens: (rollout) => rollout.rows * rollout.length,
    defaults: { ...settings.train },
    tokenizer: options.tokenizer ?? null,
    info: {
      groupSize: settings.groupSize,
      promptsPerStep: settings.promptsPerStep,
      beta: settings.beta,
      clip: settings.clip,
      maxNewTokens: settings.maxNewTokens,
      prompts: prompts.length,
    },
    sampler,
  };
}

// ---------------------------------------------------------------- a whole run

export interface GrpoRunOptions extends Partial<TrainingOptions> {
  readonly tokenizer: Tokenizer;
  readonly preset?: "tiny" | "course";
  /** The scorer (default: the reward model of runs/reward, ensureRewardModel). Not disposed by the run. */
  readonly rewardModel?: RewardModel;
  /** The questions to answer (default: ensureQa()'s training questions). */
  readonly qa?: QaDataset;
  /** At most this many distinct questions are encoded and drawn from (default 5,000). */
  readonly maxPrompts?: number;
  /** Overrides of the preset's settings ({@link withOverrides}), e.g. from a notebook cell: { groupSize: 4, beta: 0.1, sampling: { temperature: 0.8 } }. */
  readonly settings?: Partial<GrpoSettings>;
  readonly log?: (line: string) => void;
}

export interface GrpoRun {
  /** The aligned model and the frozen SFT reference (the caller disposes both). */
  readonly policy: GPT;
  readonly reference: GPT;
  /** The reward model it scored with (disposed by the caller, whether given or loaded). */
  readonly rewardModel: RewardModel;
  readonly result: TrainResult;
  readonly settings: GrpoSettings;
  /** Mean reward, KL to the reference and answer length at every step (the whole run, resumed parts included). */
  readonly history: readonly GrpoStepStats[];
}

/**
 * Chapter 7's on-policy run: the SFT model samples groups of answers to training questions, the reward model
 * scores them, and GRPO makes the better ones likelier while the KL term keeps it near the reference. Writes
 * runs/grpo, with the per-step reward and KL in runs/grpo/metrics.jsonl.
 * @example const { policy, history } = await runGrpo({ tokenizer: tok, resume: true });
 */
export async function runGrpo(options: GrpoRunOptions): Promise<GrpoRun> {
  const { tokenizer, preset = coursePreset(), settings: overrides, rewardModel, qa: givenQa, maxPrompts = 5000, log = console.log, ...trainOptions } = options;
  const settings = withOverrides(GRPO_PRESETS[preset], overrides);
  const qa = givenQa ?? (await ensureQa());
  const rm = rewardModel ?? (await ensureRewardModel(tokenizer, { log }));
  let policy: GPT | null = null;
  let reference: GPT | null = null;
  try {
    policy = (await ensureSft(tokenizer, { log })).model;
    reference = loadStage("sft", { tokenizer }).model;
    const T = policy.config.blockSize;
    const questions = [...new Set(qa.items.filter((q) => q.split === "train").map((q) => q.prompt))];
    const sample = questions.length > maxPrompts ? new Rng(settings.seed).shuffle(questions).slice(0, maxPrompts) : questions;
    // A question is usable when it leaves room for an answer of a few tokens in the model's context.
    const prompts = sample.map((q) => chatPrompt(tokenizer, q)).filter((p) => p.length + 8 <= T);
    log(`grpo: ${prompts.length.toLocaleString("en-US")} questions, ${settings.promptsPerStep} per step × ${settings.groupSize} answers, β = ${settings.beta}`);
    const o = { ...settings.train, ...trainOptions };
    const runDir = o.runDir === undefined ? stageDir("grpo") : o.runDir;
    const metrics = new MetricsLog<GrpoStepStats>(runDir ? path.join(runDir, "metrics.jsonl") : null).start(resumeStepOf(runDir, o.resume ?? false));
    const stage = grpoStage(policy, reference, rewardModelScorer(rm), prompts, settings, { stopIds: chatStopIds(tokenizer), padId: padId(tokenizer) }, {
      tokenizer: tokenizerIdentity(tokenizer),
      onStats: (s) => metrics.append(s),
    });
    const result = await train(stage, trainOptions);
    return { policy, reference, rewardModel: rm, result, settings, history: metrics.records };
  } catch (e) {
    policy?.dispose();
    reference?.dispose();
    if (!rewardModel) rm.dispose();
    throw e;
  }
}
