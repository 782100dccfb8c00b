/**
 * 推理模型训练 (chapter 10): teaching the model to write its reasoning before its answer.
 *
 * A reasoning model answers in two parts: first its working out between <think> and </think>, then the answer.
 * The common way to train one, as the book says, is black-box distillation on reasoning data: SFT on samples
 * whose answers carry the reasoning. Our "reasoning teacher" is a program (lib/data/reasoning.ts) that writes
 * correct traces for questions about the poems, so the stage is chapter 6's SFT on those samples, starting from
 * the SFT model.
 *
 * This file: reading a response back into its parts (and rejecting malformed ones), the verifiable reward
 * (well-formed and correct), the reasoning stage, and the evaluation against the same model fine-tuned on the
 * answers alone.
 */
import * as path from "path";
import { isQuick, projectPath } from "../course";
import { type ReasoningData, type ReasoningItem, type ReasoningTask, REASONING_TASKS, THINK_CLOSE, THINK_OPEN } from "../data/reasoning";
import { presetConfig } from "../model/config";
import { GPT } from "../model/gpt";
import type { Tokenizer } from "../tokenizer/types";
import { type ChatTokenizer, chatPrompt, chatStopIds, chatTokenIds, padId, type EncodedChat, fitsContext } from "./chat";
import { GRPO_PRESETS, type GrpoSettings, grpoStage } from "./grpo";
import { type GrpoStepStats } from "./rollouts";
import { MetricsLog } from "./preferencePairs";
import { tokenizerIdentity } from "./tokens";
import { train } from "./loop";
import { pretrainSettings, pretrainStage } from "./pretrain";
import { Rng } from "../rng";
import { ensureSft, runSft, sftSettings, sftStage } from "./sft";
import { copyModel, loadStage, type StageModel, type StageRunOptions } from "./handoff";
import { hasStage, type StageName, stageDir, coursePreset, type CoursePreset } from "./registry";
import { corpusTokenStreams } from "./tokens";
import { REASONING_REWARD_WEIGHTS, reasoningScorer } from "./reasoningReward";

/**
 * One reasoning sample in chapter 6's chat format, with <think> and </think> as the special tokens chapter 2
 * reserved for them (one id each, so the tags cost two tokens, not a dozen, and cannot be confused with text).
 * Only the response is learned: the mask is 0 on the prompt, 1 on the response and its closing <|end|>.
 *
 *   <|user|> 问题… <|end|> <|assistant|> <think> 推理… </think> 答案… <|end|>
 *       0      0      0         0           1       1       1       1      1
 *
 * Everywhere else the chat format reads special-token text as characters (a user cannot forge a marker); here only
 * the two tags are recognized, and only in the response the program wrote.
 */
export function encodeReasoningChat(tokenizer: ChatTokenizer, example: { readonly prompt: string; readonly response: string }): EncodedChat {
  for (const tag of [THINK_OPEN, THINK_CLOSE]) {
    if (tokenizer.tokenToId(tag) === undefined) throw new Error(`the tokenizer has no special token ${tag}: reasoning needs chapter 2's reserved specials`);
  }
  const prompt = chatPrompt(tokenizer, example.prompt);
  const body = tokenizer.encode(example.response, { allowedSpecial: [THINK_OPEN, THINK_CLOSE] });
  return {
    ids: [...prompt, ...body, chatTokenIds(tokenizer).end],
    lossMask: [...prompt.map(() => 0), ...body.map(() => 1), 1],
  };
}

// ---------------------------------------------------------------- training

/** The sizes of the chapter's experiment. */
export interface ReasoningSettings {
  /** Training questions (the same ones for both models: with traces and with answers alone). */
  readonly questions: number;
  /** Fine-tuning steps of each model. */
  readonly steps: number;
  /** Questions per task and split asked in the evaluation. */
  readonly evalQuestions: number;
  /** New tokens a reply may have: room for the reasoning and the answer. */
  readonly maxNewTokens: number;
  /** Questions per batch (default: chapter 6's for the model's size). */
  readonly batchSize?: number;
  /** Peak learning rate (default: chapter 6's for the model's size). */
  readonly lr?: number;
}

/** `course`: about 25,000 question presentations (800 steps of 32) from 12,000 questions. `tiny`: quick mode. */
export const REASONING_PRESETS: Readonly<Record<"tiny" | "course", ReasoningSettings>> = Object.freeze({
  // The quick model must learn two new tokens (<think>, </think>) in 60 steps: a higher rate than chapter 6's.
  tiny: { questions: 400, steps: 60, evalQuestions: 4, maxNewTokens: 120, batchSize: 8, lr: 1e-2 },
  course: { questions: 12000, steps: 800, evalQuestions: 50, maxNewTokens: 100 },
});

export function reasoningSettings(preset: CoursePreset = coursePreset()): ReasoningSettings {
  return REASONING_PRESETS[preset];
}

/** The two models the chapter compares: fine-tuned on the traces, or on the same questions' answers alone. */
export type ReasoningVariant = "traces" | "answers";

/** Run folders: runs/reasoning (traces) and runs/reasoning-answers. */
export const REASONING_STAGES: Readonly<Record<ReasoningVariant, StageName>> = Object.freeze({ traces: "reasoning", answers: "reasoning-answers" });

/** What a variant learns to write for an item: `<think>…</think>answer`, or only the answer. */
export function reasoningTarget(item: ReasoningItem, variant: ReasoningVariant): { prompt: string; response: string } {
  return { prompt: item.prompt, response: variant === "traces" ? item.response : item.answer };
}

/**
 * The items whose traced sample fits a context of `blockSize` (so both variants train on the same questions: the
 * traced one is the longer), at most `max` of them, in order: encoding stops once enough are found.
 */
export function fittingReasoningItems(tokenizer: ChatTokenizer, items: readonly ReasoningItem[], blockSize: number, max = Infinity): ReasoningItem[] {
  const out: ReasoningItem[] = [];
  for (const it of items) {
    if (out.length >= max) break;
    if (fitsContext(encodeReasoningChat(tokenizer, it), blockSize)) out.push(it);
  }
  return out;
}

/** The context the quick-mode base model needs: the quick tokenizer spends about 1.2 tokens per character. */
export const QUICK_REASONING_CONTEXT = 192;

/**
 * The model chapter 10 starts from: chapter 6's SFT model (runs/sft). In quick mode the SFT model is the `tiny`
 * preset with a 32-token context, too short for any reasoning sample, so a tiny model with a
 * {@link QUICK_REASONING_CONTEXT}-token context is pretrained and fine-tuned briefly on the spot (runs/reasoning-base-quick):
 * numbers from it mean nothing, but every step of the chapter runs.
 */
export async function ensureReasoningBase(tokenizer: Tokenizer, options: { log?: (line: string) => void } = {}): Promise<StageModel> {
  const log = options.log ?? console.log;
  if (!isQuick()) return ensureSft(tokenizer, { log });
  if (hasStage("sft")) {
    const sft = loadStage("sft", { tokenizer });
    if (sft.model.config.blockSize >= QUICK_REASONING_CONTEXT) return sft;
    sft.model.dispose();
  }
  const name = "reasoning-base";
  if (hasStage(name)) return loadStage(name, { tokenizer });
  log(`quick mode: the SFT model's context is too short for reasoning samples; training a tiny model with a ${QUICK_REASONING_CONTEXT}-token context…`);
  const data = await corpusTokenStreams(tokenizer);
  const model = new GPT(presetConfig("tiny", { vocabSize: tokenizer.vocabSize, blockSize: QUICK_REASONING_CONTEXT }), { seed: 1337 });
  try {
    await train(pretrainStage(model, data, pretrainSettings("tiny")), { steps: 40, runDir: null, progress: "none" });
    await runSft({ tokenizer, preset: "tiny", model, steps: 60, runDir: stageDir(name), progress: "none", log });
  } finally {
    model.dispose();
  }
  return loadStage(name, { tokenizer });
}

/** The tasks of the training questions, in REASONING_TASKS order: what a reasoning stage records in its meta.json. */
export function reasoningDataTasks(data: ReasoningData): ReasoningTask[] {
  return REASONING_TASKS.filter((t) => data.train.some((it) => it.task === t));
}

/**
 * A reasoning stage's checkpoint if it was trained on questions of the same tasks as the data now has, else null
 * (and a line in the log). A checkpoint from before a task was added (the rhyme questions, say) would be scored on
 * questions it never trained on, so it is trained again rather than loaded.
 */
function currentReasoningStage(
  name: StageName,
  tokenizer: Tokenizer,
  tasks: readonly ReasoningTask[],
  steps: number,
  log: (line: string) => void,
): StageModel | "resume" | null {
  if (!hasStage(name)) return null;
  const stage = loadStage(name, { tokenizer });
  const had = stage.meta.extra?.tasks;
  const where = projectPath(stage.dir);
  if (Array.isArray(had) && had.join(",") === tasks.join(",") && stage.meta.step >= steps) return stage;
  stage.model.dispose();
  if (Array.isArray(had) && had.join(",") === tasks.join(",")) {
    // A run that stopped early (Ctrl-C, a crashed kernel): the caller continues it rather than score a half-trained model.
    log(`${name}: the checkpoint in ${where} stopped at step ${stage.meta.step} of ${steps}: training on`);
    return "resume";
  }
  log(`${name}: the checkpoint in ${where} was trained on tasks ${Array.isArray(had) ? had.join(", ") : "(not recorded)"}, the data now has ${tasks.join(", ")}: training again`);
  return null;
}

export interface ReasoningRunOptions extends StageRunOptions {
  readonly tokenizer: Tokenizer;
  /** The reasoning data (ensureReasoningData()). */
  readonly data: ReasoningData;
  /** The model it starts from (ensureReasoningBase()); a copy is fine-tuned, this one is left as it is. */
  readonly base: StageModel;
  readonly settings?: ReasoningSettings;
  /** Train even when the stage has a checkpoint. */
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

/**
 * Fine-tunes a copy of the base model with chapter 6's SFT stage, on the traced samples ("traces": black-box
 * distillation of the program that wrote them) or on the same questions' answers alone ("answers"). Loaded from
 * runs/reasoning or runs/reasoning-answers when it exists and was trained on the same tasks (unless `force`).
 * The caller disposes the model.
 */
export async function ensureReasoningModel(variant: ReasoningVariant, options: ReasoningRunOptions): Promise<StageModel> {
  const { tokenizer, data, base, settings = reasoningSettings(), force = false, log = console.log, ...trainOptions } = options;
  const name = REASONING_STAGES[variant];
  const tasks = reasoningDataTasks(data);
  const saved = force ? null : currentReasoningStage(name, tokenizer, tasks, settings.steps, log);
  if (saved && saved !== "resume") return saved;
  const T = base.model.config.blockSize;
  const questions = fittingReasoningItems(tokenizer, new Rng(10).shuffle([...data.train]), T, settings.questions);
  const validation = fittingReasoningItems(tokenizer, data.heldout, T, 128);
  const encode = (items: readonly ReasoningItem[]) => items.map((it) => encodeReasoningChat(tokenizer, reasoningTarget(it, variant)));
  const model = copyModel(base.model, {}, base.dir);
  try {
    log(`${name}: ${questions.length.toLocaleString("en-US")} questions ${variant === "traces" ? "with reasoning traces" : "with answers alone"}, ${settings.steps} steps`);
    const s = sftSettings(coursePreset());
    const stage = sftStage(model, { train: encode(questions), validation: encode(validation) }, { ...s, batchSize: settings.batchSize ?? s.batchSize }, {
      name,
      from: "sft",
      tokenizer,
      info: { variant, tasks },
    });
    const lr = settings.lr === undefined ? {} : { lr: settings.lr, minLr: settings.lr / 10 };
    // The stage has checked that the tasks match before it resumes; more steps than the checkpoint had is its "training on".
    await train(stage, { steps: settings.steps, ...lr, ...trainOptions, ...(saved === "resume" ? { resume: true, acceptChanges: true } : { resume: false, fresh: true }) }); // a run of other tasks is moved aside, not overwritten
  } finally {
    model.dispose();
  }
  return loadStage(name, { tokenizer });
}

// ---------------------------------------------------------------- optional: GRPO with the verifiable reward

/** GRPO's settings for reasoning: chapter 7's, with room for a reasoning trace and a few steps. */
export function reasoningGrpoSettings(preset: CoursePreset = coursePreset()): GrpoSettings {
  const base = GRPO_PRESETS[preset];
  return preset === "tiny"
    ? { ...base, promptsPerStep: 2, maxNewTokens: 120, train: { ...base.train, steps: 4 } }
    : { ...base, maxNewTokens: 64, train: { ...base.train, steps: 100 } };
}

/**
 * GRPO (chapter 7's stage and sampler) from the traced model, rewarded by the verifiable reward: stage
 * runs/reasoning-grpo, its reward and KL curves in metrics.jsonl. Loaded when it exists and was trained on the same
 * tasks (unless `force`). The caller disposes the model.
 */
export async function ensureReasoningGrpo(options: {
  readonly tokenizer: Tokenizer;
  readonly data: ReasoningData;
  /** The model it starts from and stays close to (the traced model: ensureReasoningModel("traces")). */
  readonly start: StageModel;
  readonly settings?: GrpoSettings;
  readonly maxPrompts?: number;
  readonly force?: boolean;
  readonly log?: (line: string) => void;
} & StageRunOptions): Promise<StageModel & { history: GrpoStepStats[] }> {
  const { tokenizer, data, start, settings = reasoningGrpoSettings(), maxPrompts = 2000, force = false, log = console.log, ...trainOptions } = options;
  const name = "reasoning-grpo";
  const metricsFile = path.join(stageDir(name), "metrics.jsonl");
  const tasks = reasoningDataTasks(data);
  // An unfinished GRPO run starts over (its metrics log and sampler are not resumable): it is the shortest stage.
  const saved = force ? null : currentReasoningStage(name, tokenizer, tasks, settings.train.steps ?? 0, log);
  if (saved && saved !== "resume") return { ...saved, history: MetricsLog.read<GrpoStepStats>(metricsFile) };
  const T = start.model.config.blockSize;
  const items = new Rng(11).shuffle([...data.train]).filter((it) => chatPrompt(tokenizer, it.prompt).length + 16 <= T).slice(0, maxPrompts);
  const { scorer, prompts } = reasoningScorer(tokenizer, items);
  const policy = copyModel(start.model, {}, start.dir);
  try {
    log(`${name}: ${prompts.length.toLocaleString("en-US")} questions, ${settings.promptsPerStep} per step × ${settings.groupSize} answers, reward: format ${REASONING_REWARD_WEIGHTS.format} + correct ${REASONING_REWARD_WEIGHTS.correct}`);
    const metrics = new MetricsLog<GrpoStepStats>(metricsFile).start(0);
    const stage = grpoStage(policy, start.model, scorer, prompts, settings, { stopIds: chatStopIds(tokenizer), padId: padId(tokenizer) }, {
      name,
      tokenizer: tokenizerIdentity(tokenizer),
      onStats: (s) => metrics.append(s),
    });
    await train({ ...stage, from: REASONING_STAGES.traces, info: { ...stage.info, tasks } }, trainOptions);
  } finally {
    policy.dispose();
  }
  return { ...loadStage(name, { tokenizer }), history: MetricsLog.read<GrpoStepStats>(metricsFile) };
}
