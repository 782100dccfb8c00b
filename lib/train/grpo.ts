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
 * mean plays the part of PPO's learned value baseline. KL_t is the k3 estimate of logprobs.ts against the frozen SFT
 * model: without it the policy would drift into whatever text the (imperfect) reward model overrates.
 *
 * Sampling happens in the batch sampler (the loop's `batches.next()`): a "batch" of an on-policy method is a set of
 * fresh rollouts with their rewards, advantages, and the old and reference log-probabilities, all host arrays.
 */
import * as tf from "@tensorflow/tfjs";
import type { QaItem } from "../data/qa";
import type { GPT } from "../model/gpt";
import type { Tokenizer } from "../tokenizer/types";
import { chatPrompt, chatStopIds, padId } from "./chat";
import type { JsonRecord, TokenizerIdentity } from "./checkpoint";
import { type Stage, train, type TrainingOptions, type TrainResult } from "./loop";
import { gptTrainable } from "./pretrain";
import { ensureRewardModel } from "./reward";
import type { RewardModel } from "./rewardModel";
import { klK3, tokenLogProbs } from "./logprobs";
import { Rng } from "../rng";
import { ensureFlawedSft } from "./flawedSft";
import { rlhfQuestions } from "./rlhfData";
import { loadStage, withOverrides } from "./handoff";
import { runFolder, coursePreset } from "./registry";
import { stageCurves } from "./stageCurves";
import { tokenizerIdentity } from "./tokens";
import { RolloutScorer, rewardModelScorer, Rollout, GrpoStepStats, RolloutSettings, RolloutSampler } from "./rollouts";

/** Settings of GRPO besides the loop's options. */
export interface GrpoSettings extends RolloutSettings {
  /** Weight of the KL penalty (DeepSeekMath: 0.04). */
  readonly beta: number;
  /** PPO's clip range ε for the probability ratio. */
  readonly clip: number;
  readonly train: Partial<TrainingOptions>;
}

/**
 * `tiny`: tests and quick mode. `course`: 32 sampled answers a step (4 questions × 8); the chapter's answers take
 * about 12 tokens, so 24 new tokens leave room; a step costs several seconds on a 2-core laptop, most of it sampling.
 */
export const GRPO_PRESETS: Readonly<Record<"tiny" | "course", GrpoSettings>> = Object.freeze({
  tiny: { groupSize: 4, promptsPerStep: 4, beta: 0.04, clip: 0.2, maxNewTokens: 16, sampling: { temperature: 1 }, seed: 3, train: { steps: 20, lr: 5e-4, minLr: 5e-5, warmupSteps: 2, weightDecay: 0, clipNorm: 1 } },
  // Chapter 7's full run with β = 0.04 and lr 5e-5: the reward rose within 10 steps at a KL of 0.06, then the policy
  // drifted (KL 1.5 a token by step 100) into text the reward model overrates ("这是「五言「五言「五言…").
  // A KL weight five times larger and less than half the learning rate.
  course: { groupSize: 8, promptsPerStep: 4, beta: 0.2, clip: 0.2, maxNewTokens: 24, sampling: { temperature: 1 }, seed: 3, train: { steps: 100, lr: 2e-5, minLr: 2e-6, warmupSteps: 10, weightDecay: 0, clipNorm: 1, checkpointEvery: 25 } },
});

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
  options: { tokenizer?: TokenizerIdentity | null; name?: string } = {},
): GrpoStage {
  const sampler = new RolloutSampler(policy, reference, scorer, prompts, settings, tokens);
  return {
    name: options.name ?? "grpo",
    from: "sft-flawed",
    model: gptTrainable(policy),
    batches: sampler,
    loss(rollout) {
      // No dropout: the ratio π/π_old must compare the same function, or it measures dropout noise (TRL disables it too).
      return grpoLoss(tokenLogProbs(policy, rollout), rollout, settings);
    },
    tokens: (rollout) => rollout.rows * rollout.length,
    defaults: { ...settings.train },
    tokenizer: options.tokenizer ?? null,
    // The reward and KL of the step's rollouts (its last ones when it accumulates several), into the loop's log
    // (stageCurves reads them back as GrpoStepStats).
    metrics: { afterStep: () => (sampler.history.length ? ({ ...sampler.history[sampler.history.length - 1] } as unknown as JsonRecord) : null) },
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
  /** The questions to answer (default: the flawed SFT's training questions, rlhfQuestions().train). */
  readonly questions?: readonly Pick<QaItem, "prompt">[];
  /** The stage (its run folder): "grpo", or "grpo-nokl" for the reward-hacking sidebar (with beta 0). */
  readonly stage?: "grpo" | "grpo-nokl";
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
  const { tokenizer, preset = coursePreset(), settings: overrides, rewardModel, questions: given, stage: name = "grpo", maxPrompts = 5000, log = console.log, ...trainOptions } = options;
  const settings = withOverrides(GRPO_PRESETS[preset], overrides);
  const asked = given ?? (await rlhfQuestions({ preset })).train;
  const rm = rewardModel ?? (await ensureRewardModel(tokenizer, { log }));
  let policy: GPT | null = null;
  let reference: GPT | null = null;
  try {
    policy = (await ensureFlawedSft(tokenizer, { log })).model;
    reference = loadStage("sft-flawed", { tokenizer }).model;
    const T = policy.config.blockSize;
    const questions = [...new Set(asked.map((q) => q.prompt))];
    const sample = questions.length > maxPrompts ? new Rng(settings.seed).shuffle(questions).slice(0, maxPrompts) : questions;
    // A question is usable when it leaves room for an answer of a few tokens in the model's context.
    const prompts = sample.map((q) => chatPrompt(tokenizer, q)).filter((p) => p.length + 8 <= T);
    log(`grpo: ${prompts.length.toLocaleString("en-US")} questions, ${settings.promptsPerStep} per step × ${settings.groupSize} answers, β = ${settings.beta}`);
    const stage = grpoStage(policy, reference, rewardModelScorer(rm), prompts, settings, { stopIds: chatStopIds(tokenizer), padId: padId(tokenizer) }, {
      tokenizer: tokenizerIdentity(tokenizer),
      name,
    });
    const result = await train(stage, trainOptions);
    const runDir = trainOptions.runDir === undefined ? runFolder(stage.name) : trainOptions.runDir;
    return { policy, reference, rewardModel: rm, result, settings, history: stageCurves<GrpoStepStats>(runDir, result.history) };
  } catch (e) {
    policy?.dispose();
    reference?.dispose();
    if (!rewardModel) rm.dispose();
    throw e;
  }
}
