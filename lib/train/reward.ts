/**
 * Training the reward model (奖励模型, chapter 7): a number for "how good is this answer to this question". The
 * model (the SFT backbone with a scalar head on the last token) is rewardModel.ts; this file is its stage, its
 * scores on held-out pairs, and its run.
 *
 * People rarely agree on an absolute score, but they easily say which of two answers is better. The Bradley–Terry
 * model (Bradley & Terry 1952; used for RLHF by Ouyang et al. 2022, "InstructGPT") turns scores into preferences:
 *
 *   P(chosen ≻ rejected) = σ(r_chosen − r_rejected)       loss = −log σ(r_chosen − r_rejected)
 *
 * Only the difference matters: adding a constant to every reward changes nothing. The model is judged by its
 * pairwise accuracy on held-out pairs: how often r_chosen > r_rejected (chance: 50%).
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenizerIdentity } from "./checkpoint";
import type { PreferenceDataset, PreferenceItem } from "../data/preferences";
import type { Tokenizer } from "../tokenizer/types";
import { type Stage, train, type TrainingOptions, type TrainResult } from "./loop";
import { type EncodedPairs, type PairBatch, pairBatches, PairSampler, rlhfPairs, type RlhfPairs } from "./preferencePairs";
import { logSigmoid } from "./logprobs";
import { loadRewardModel, RewardModel } from "./rewardModel";
import { ensureFlawedSft } from "./flawedSft";
import { rlhfPreferences, rlhfQuestions } from "./rlhfData";
import { stageDir, coursePreset } from "./registry";
import { tokenizerIdentity } from "./tokens";
import { ensureStage, type StageStart, withOverrides } from "./handoff";

/**
 * The Bradley–Terry loss, averaged over pairs: mean of −log σ(r_chosen − r_rejected).
 * @example rewards [2] vs [0]: −log σ(2) ≈ 0.1269;  equal rewards: log 2 ≈ 0.6931;  [0] vs [2]: ≈ 2.1269
 */
export function bradleyTerryLoss(chosen: tf.Tensor1D, rejected: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(logSigmoid(tf.sub(chosen, rejected)))) as tf.Scalar);
}

/** Settings of reward-model training besides the loop's options. */
export interface RewardSettings {
  /** Preference pairs per batch (each pair is two sequences). */
  readonly batchSize: number;
  readonly dataSeed: number;
  readonly train: Partial<TrainingOptions>;
}

/**
 * `tiny`: tests and quick mode. `course`: the chapter's model, with a smaller learning rate than pretraining (it starts
 * trained); 300 steps of 16 pairs take ~4 s each on a busy 2-core laptop (≈ 20 minutes), less on an idle one.
 */
export const REWARD_PRESETS: Readonly<Record<"tiny" | "course", RewardSettings>> = Object.freeze({
  tiny: { batchSize: 16, dataSeed: 1, train: { steps: 80, lr: 1e-3, minLr: 1e-4, warmupSteps: 5, evalEvery: 20, weightDecay: 0 } },
  course: { batchSize: 16, dataSeed: 1, train: { steps: 300, lr: 2e-4, minLr: 2e-5, warmupSteps: 20, evalEvery: 50, checkpointEvery: 100, weightDecay: 0 } },
});

/**
 * The reward-model stage: Bradley–Terry on preference pairs, every weight of the backbone and the head training.
 * @example await train(rewardStage(rm, { train, validation }, REWARD_PRESETS.course), { resume: true })
 */
export function rewardStage(
  rm: RewardModel,
  data: { readonly train: EncodedPairs; readonly validation?: EncodedPairs },
  settings: RewardSettings,
  options: { tokenizer?: TokenizerIdentity | null; name?: string } = {},
): Stage<PairBatch> {
  const val = data.validation && data.validation.size > 0 ? pairBatches(data.validation, settings.batchSize) : null;
  return {
    name: options.name ?? "reward",
    from: "sft-flawed",
    model: rm.trainable(),
    batches: new PairSampler(data.train, settings.batchSize, settings.dataSeed),
    validation: val ? () => val : undefined,
    loss(batch, ctx) {
      rm.backbone.seeds.state = ctx.seed;
      const r = rm.rewards(batch, { training: ctx.training }); // [2B]: chosen rows, then rejected rows
      const B = batch.pairs;
      return bradleyTerryLoss(r.slice(0, B) as tf.Tensor1D, r.slice(B, B) as tf.Tensor1D);
    },
    tokens: (batch) => batch.rows * batch.length,
    defaults: { ...settings.train },
    tokenizer: options.tokenizer ?? null,
    info: { batchSize: settings.batchSize, trainPairs: data.train.size, validationPairs: data.validation?.size ?? 0, dataSeed: settings.dataSeed },
  };
}

/** Rewards of both sides of every pair, and how often the chosen side wins. */
export interface PairScores {
  readonly chosen: Float32Array;
  readonly rejected: Float32Array;
  /** Fraction of pairs with r_chosen > r_rejected (a tie counts as half: a constant model scores 50%). */
  readonly accuracy: number;
  /** Mean of r_chosen − r_rejected. */
  readonly meanMargin: number;
  /** Mean Bradley–Terry loss. */
  readonly loss: number;
}

/** Scores every pair of `data` with the reward model (no dropout) and measures its pairwise accuracy. */
export async function scorePairs(rm: RewardModel, data: EncodedPairs, batchSize = 32): Promise<PairScores> {
  const chosen = new Float32Array(data.size);
  const rejected = new Float32Array(data.size);
  for (const batch of pairBatches(data, batchSize)) {
    const r = rm.rewards(batch);
    const values = (await r.data()) as Float32Array;
    r.dispose();
    batch.index.forEach((pair, k) => {
      chosen[pair] = values[k];
      rejected[pair] = values[batch.pairs + k];
    });
  }
  return { chosen, rejected, ...pairStatistics(chosen, rejected) };
}

/**
 * Accuracy, mean margin and Bradley–Terry loss of paired scores (host arithmetic, float64).
 * @example pairStatistics([2, 0], [0, 0]) → accuracy 0.75 (one win, one tie), meanMargin 1, loss (0.1269 + 0.6931) / 2
 */
export function pairStatistics(chosen: ArrayLike<number>, rejected: ArrayLike<number>): { accuracy: number; meanMargin: number; loss: number } {
  const n = chosen.length;
  if (n === 0 || rejected.length !== n) throw new Error(`pairStatistics: ${n} chosen and ${rejected.length} rejected scores`);
  let wins = 0, margin = 0, loss = 0;
  for (let i = 0; i < n; i++) {
    const d = chosen[i] - rejected[i];
    wins += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    margin += d;
    loss += Math.max(-d, 0) + Math.log1p(Math.exp(-Math.abs(d))); // −log σ(d), stably
  }
  return { accuracy: wins / n, meanMargin: margin / n, loss: loss / n };
}

/** Accuracy per group (e.g. per kind of rejected answer): `{ wrong: 0.9, rude: 1, … }` with the pair counts. */
export function accuracyBy(groups: readonly string[], scores: Pick<PairScores, "chosen" | "rejected">): { group: string; pairs: number; accuracy: number; meanMargin: number }[] {
  if (groups.length !== scores.chosen.length) throw new Error(`accuracyBy: ${groups.length} labels for ${scores.chosen.length} pairs`);
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => byGroup.set(g, [...(byGroup.get(g) ?? []), i]));
  return [...byGroup].map(([group, idx]) => {
    const s = pairStatistics(idx.map((i) => scores.chosen[i]), idx.map((i) => scores.rejected[i]));
    return { group, pairs: idx.length, accuracy: s.accuracy, meanMargin: s.meanMargin };
  });
}

// ---------------------------------------------------------------- a whole run

export interface RewardRunOptions extends Partial<TrainingOptions> {
  readonly tokenizer: Tokenizer;
  readonly preset?: "tiny" | "course";
  /** The pairs (default: rlhfPreferences(): the flawed SFT's training questions, each with a flawed or a wrong answer). */
  readonly preferences?: Pick<PreferenceDataset, "items">;
  /** At most this many training pairs are encoded and drawn from (default 20,000; quick mode: all that fit). */
  readonly maxTrain?: number;
  /** Held-out pairs scored for the accuracy table (default 1,000; quick mode: all that fit). */
  readonly maxHeldout?: number;
  /** Overrides of the preset's settings ({@link withOverrides}), e.g. from a notebook cell: { batchSize: 8 }. */
  readonly settings?: Partial<RewardSettings>;
  readonly log?: (line: string) => void;
}

export interface RewardRun {
  /** The trained reward model (the caller disposes it). */
  readonly rm: RewardModel;
  readonly result: TrainResult;
  readonly data: { readonly train: RlhfPairs<PreferenceItem>; readonly heldout: RlhfPairs<PreferenceItem> };
  /** Rewards of the held-out pairs after training, and pairwise accuracy per kind of rejected answer. */
  readonly heldout: PairScores;
  readonly byKind: ReturnType<typeof accuracyBy>;
}

/**
 * Chapter 7's reward model end to end: the flawed SFT model (flawedSft.ts) as backbone plus a fresh scalar head, trained with
 * Bradley–Terry on the training pairs, scored on held-out pairs. Writes runs/reward; with `resume` a finished run is
 * loaded instead of trained again.
 * @example const { rm, heldout, byKind } = await runRewardModel({ tokenizer: tok, resume: true });
 */
export async function runRewardModel(options: RewardRunOptions): Promise<RewardRun> {
  const { tokenizer, preset = coursePreset(), settings: overrides, preferences, maxTrain, maxHeldout, log = console.log, ...trainOptions } = options;
  const settings = withOverrides(REWARD_PRESETS[preset], overrides);
  const prefs = preferences ?? rlhfPreferences(await rlhfQuestions({ preset }));
  const { model } = await ensureFlawedSft(tokenizer, { log });
  const rm = new RewardModel(model);
  try {
    const T = model.config.blockSize;
    const { train: train0, heldout } = rlhfPairs(tokenizer, prefs, { blockSize: T, quick: preset === "tiny", maxTrain, maxHeldout });
    log(
      `reward model: ${train0.encoded.size.toLocaleString("en-US")} training pairs, ${heldout.encoded.size.toLocaleString("en-US")} held-out` +
        (train0.dropped + heldout.dropped ? ` (${(train0.dropped + heldout.dropped).toLocaleString("en-US")} longer than the ${T}-token context left out)` : ""),
    );
    // The validation loss reads a few batches; the accuracy below reads every held-out pair.
    const validation = heldout.encoded.subset(Math.min(heldout.encoded.size, 4 * settings.batchSize));
    const stage = rewardStage(rm, { train: train0.encoded, validation }, settings, { tokenizer: tokenizerIdentity(tokenizer) });
    const result = await train(stage, trainOptions);
    const scores = await scorePairs(rm, heldout.encoded);
    return { rm, result, data: { train: train0, heldout }, heldout: scores, byKind: accuracyBy(heldout.items.map((p) => p.kind), scores) };
  } catch (e) {
    rm.dispose();
    throw e;
  }
}

/**
 * The reward model of runs/reward (what GRPO scores with), trained now when there is none (ensureStage: the same
 * in quick and full mode; the preset follows the mode).
 */
export async function ensureRewardModel(
  tokenizer: Tokenizer,
  options: { start?: StageStart; log?: (line: string) => void; preferences?: Pick<PreferenceDataset, "items"> } = {},
): Promise<RewardModel> {
  const preset = coursePreset();
  return ensureStage("reward", {
    start: options.start,
    log: options.log,
    describe: `${preset} preset`,
    load: () => loadRewardModel(stageDir("reward"), { tokenizer: tokenizerIdentity(tokenizer) }),
    train: async (resume) => {
      const run = await runRewardModel({ tokenizer, preset, resume, ...(preset === "tiny" ? { progress: "none" as const } : {}), log: options.log, preferences: options.preferences });
      run.rm.dispose();
    },
  });
}
