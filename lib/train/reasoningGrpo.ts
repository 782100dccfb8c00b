/**
 * Chapter 10's optional last step: GRPO (chapter 7's stage and rollout sampler) from the model fine-tuned on
 * reasoning traces, rewarded by the verifiable reward (reasoningReward.ts: well-formed and correct) instead of a
 * reward model. Stage runs/reasoning-grpo.
 */
import type { ReasoningData } from "../data/reasoning";
import { Rng } from "../rng";
import type { Tokenizer } from "../tokenizer/types";
import { chatStopIds, padId } from "./chat";
import { GRPO_PRESETS, type GrpoSettings, grpoStage } from "./grpo";
import { copyModel, ensureStage, type StageModel, type StageRunOptions, type StageStart, withOverrides } from "./handoff";
import { train } from "./loop";
import { reasoningPrompt, reasoningStart, reasoningTrainedOn, REASONING_STAGES } from "./reasoning";
import { REASONING_REWARD_WEIGHTS, reasoningScorer } from "./reasoningReward";
import { type CoursePreset, coursePreset, stageDir } from "./registry";
import type { GrpoStepStats } from "./rollouts";
import { stageCurves } from "./stageCurves";
import { tokenizerIdentity } from "./tokens";

/** GRPO's settings for reasoning: chapter 7's, with room for a reasoning trace and a few steps. */
export function reasoningGrpoSettings(preset: CoursePreset = coursePreset()): GrpoSettings {
  const base = GRPO_PRESETS[preset];
  return preset === "tiny"
    ? { ...base, promptsPerStep: 2, maxNewTokens: 120, train: { ...base.train, steps: 4 } }
    : // Room for the longest default sample (a 七言绝句 rhyme question walked to line 4: about 65 tokens with the answer).
      { ...base, maxNewTokens: 80, train: { ...base.train, steps: 100 } };
}

export interface ReasoningGrpoOptions extends StageRunOptions {
  readonly tokenizer: Tokenizer;
  readonly data: ReasoningData;
  /** The model it starts from and stays close to (the traced model: ensureReasoningModel("traces")). */
  readonly from: StageModel;
  /** Overrides of reasoningGrpoSettings() ({@link withOverrides}), e.g. from a notebook cell: { groupSize: 4, beta: 0.1 }. */
  readonly settings?: Partial<GrpoSettings>;
  /** At most this many questions are drawn from (default 2,000). */
  readonly maxPrompts?: number;
  /** What to do with a checkpoint that exists (ensureStage; default "load"). */
  readonly start?: StageStart;
  readonly log?: (line: string) => void;
}

/**
 * GRPO with the verifiable reward, through ensureStage (load, resume or train once, the same in quick and full
 * mode; retrained when its checkpoint trained on other tasks or traces: reasoningStart). `history`: the mean reward and KL
 * of every step, from the run's log. The caller disposes the model.
 * @example const grpo = await ensureReasoningGrpo({ tokenizer: tok, data, from: traced });   grpo.history
 */
export async function ensureReasoningGrpo(options: ReasoningGrpoOptions): Promise<StageModel & { history: GrpoStepStats[] }> {
  const { tokenizer, data, from, settings: overrides, maxPrompts = 2000, start = "load", log = console.log, ...trainOptions } = options;
  const settings = withOverrides(reasoningGrpoSettings(), overrides);
  const name = "reasoning-grpo";
  const trainedOn = reasoningTrainedOn(data, "traces");   // the traced model it starts from was trained on these
  const model = await ensureStage(name, {
    tokenizer,
    start: reasoningStart(name, trainedOn, settings.train.steps ?? 0, start, log),
    log,
    describe: `${settings.train.steps} steps from ${REASONING_STAGES.traces}`,
    train: async (resume) => {
      const T = from.model.config.blockSize;
      const items = new Rng(11).shuffle([...data.train]).filter((it) => reasoningPrompt(tokenizer, it.prompt).length + 16 <= T).slice(0, maxPrompts);
      const { scorer, prompts } = reasoningScorer(tokenizer, items);
      const policy = copyModel(from.model, {}, from.dir);
      try {
        log(`${name}: ${prompts.length.toLocaleString("en-US")} questions, ${settings.promptsPerStep} per step × ${settings.groupSize} answers, reward: format ${REASONING_REWARD_WEIGHTS.format} + correct ${REASONING_REWARD_WEIGHTS.correct}`);
        const stage = grpoStage(policy, from.model, scorer, prompts, settings, { stopIds: chatStopIds(tokenizer), padId: padId(tokenizer) }, {
          name,
          tokenizer: tokenizerIdentity(tokenizer),
        });
        // reasoningStart checked the data before choosing to resume; more steps than the checkpoint had is its "training on".
        await train({ ...stage, from: REASONING_STAGES.traces, info: { ...stage.info, ...trainedOn } }, { ...trainOptions, resume, acceptChanges: resume });
      } finally {
        policy.dispose();
      }
    },
  });
  return { ...model, history: stageCurves<GrpoStepStats>(stageDir(name)) };
}
