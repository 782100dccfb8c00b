/**
 * The hand-off between stages: the model of a stage's latest checkpoint, checked against the tokenizer. Chapter 6
 * starts from `loadStage("pretrain")`, chapter 7 from `loadStage("sft")` (the folders: lib/train/registry.ts).
 */
import { projectPath } from "../course";
import type { GPTConfig } from "../model/config";
import { GPT, type GPTOptions } from "../model/gpt";
import { configFromHF } from "../model/gpt2format";
import { assignWeights, type CheckpointMeta, latestCheckpoint, loadTrainingCheckpoint, type TokenizerIdentity } from "./checkpoint";
import { startOver, type TrainingOptions } from "./loop";
import { hasStage, type StageName, stageDir } from "./registry";
import { installShipped } from "./shipped";
import { type StreamTokenizer, tokenizerIdentity } from "./tokens";

/** A tokenizer's identity, whether given as the identity or as the tokenizer. */
function identityOf(t: TokenizerIdentity | StreamTokenizer | undefined): TokenizerIdentity | undefined {
  return t === undefined ? undefined : "hash" in t ? t : tokenizerIdentity(t);
}

/** A model loaded from a stage's checkpoint. The caller disposes `model`. */
export interface StageModel {
  readonly model: GPT;
  readonly meta: CheckpointMeta;
  /** The checkpoint folder it came from. */
  readonly dir: string;
}

/**
 * The model of a stage's current checkpoint, from {@link stageDir} (runs/<stage>). With `tokenizer`, the
 * checkpoint must have been trained with that tokenizer (the tokenizer itself, or its identity), or this throws.
 * @example const { model } = loadStage("pretrain", { tokenizer: tok });
 */
export function loadStage(
  stage: StageName,
  options: { tokenizer?: TokenizerIdentity | StreamTokenizer } & GPTOptions = {},
): StageModel {
  const dir = stageDir(stage);
  if (!latestCheckpoint(dir)) {
    throw new Error(`no checkpoint for stage '${stage}' in ${dir}: train that stage first (its chapter's notebook, or npx tiaoyu ${stage})`);
  }
  const tokenizer = identityOf(options.tokenizer);
  const ckpt = loadTrainingCheckpoint(dir, { tokenizer });
  try {
    const config = configFromHF(ckpt.config as Record<string, unknown>, `${ckpt.dir}/config.json`);
    const model = new GPT(config, { seed: options.seed });
    try {
      assignWeights(model.parameters(), ckpt.weights, ckpt.dir);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return { model, meta: ckpt.meta, dir: ckpt.dir };
  } finally {
    ckpt.dispose();
  }
}

/**
 * The loop's options for a stage that a later chapter builds on (chapters 9 and 10). Not `runDir`: each stage keeps its checkpoint in runs/<stage>
 * (stageDir), where the next stage and the next run of the notebook look for it.
 */
export type StageRunOptions = Omit<Partial<TrainingOptions>, "runDir">;

/** What {@link ensureStage} does with a stage that already has a checkpoint: load it, continue its run, or train anew. */
export type StageStart = "load" | "resume" | "retrain";

export interface EnsureStageOptions<M> {
  /** Trains the stage into its run folder (stageDir), disposing what it made; `resume`: continue the last checkpoint. */
  readonly train: (resume: boolean) => Promise<void>;
  /** Reads the stage's checkpoint; by default its GPT (loadStage with `tokenizer`). */
  readonly load?: () => M;
  readonly tokenizer?: TokenizerIdentity | StreamTokenizer;
  /** Default "load". */
  readonly start?: StageStart;
  /** A line saying that the stage is being trained and why (default console.log). */
  readonly log?: (line: string) => void;
  /** How it will be trained, for that line ("tiny preset, 60 steps"). */
  readonly describe?: string;
}

/**
 * The one contract for making a stage available, the same in quick and full mode (quick mode changes sizes, never
 * what happens): a stage with a checkpoint is loaded; one without is trained, then loaded — unless the course
 * ships a model for it (checkpoints/, full mode only: lib/train/shipped.ts), which is installed into its run folder. `start: "retrain"`
 * trains even when there is a checkpoint, `"resume"` continues the checkpoint's run up to its steps.
 * @example const { model } = await ensureStage("pretrain", { tokenizer: tok, train: async (resume) => … });
 */
export async function ensureStage<M = StageModel>(stage: StageName, options: EnsureStageOptions<M>): Promise<M> {
  const { start = "load", log = console.log } = options;
  const load = options.load ?? (() => loadStage(stage, { tokenizer: options.tokenizer }) as unknown as M);
  // A stage that the course ships (checkpoints/, full mode only) is installed into its empty run folder, not trained.
  const has = hasStage(stage) || (start === "load" && (await installShipped(stage, { tokenizer: identityOf(options.tokenizer), log })));
  if (has && start === "load") return load();
  const how = options.describe ? ` (${options.describe})` : "";
  if (!has) log(`no checkpoint of stage '${stage}' in ${projectPath(stageDir(stage))}: training it now${how}…`);
  else log(`${start === "resume" ? "continuing" : "training again"} stage '${stage}' in ${projectPath(stageDir(stage))}${how}…`);
  // Retraining never overwrites: the old run is moved aside (runs/<stage>.old-N) before the loop starts a new one.
  if (has && start === "retrain") startOver(stageDir(stage));
  await options.train(has && start === "resume");
  return load();
}

/**
 * A stage's settings with a notebook's overrides on top: fields replace the preset's, and `train` (the loop's
 * options) is merged field by field, so `{ beta: 0.3, train: { steps: 50 } }` keeps the preset's learning rate.
 * @example runDpo({ tokenizer: tok, settings: { beta: 0.3 } })   // try another β without editing lib/
 */
export function withOverrides<S extends { readonly train: Partial<TrainingOptions> }>(preset: S, overrides: Partial<S> | undefined): S {
  if (!overrides) return preset;
  return { ...preset, ...overrides, train: { ...preset.train, ...overrides.train } };
}

/**
 * A new GPT with `model`'s weights, bit for bit, and its config with `changes` (another dropout rate, say): the
 * copy a stage trains while the original stays as it was (a reference, or the start of another stage). The caller
 * disposes the copy.
 * @example const policy = copyModel(sft.model);   const annealed = copyModel(pretrained, { dropout: 0 });
 */
export function copyModel(model: GPT, changes: Partial<Pick<GPTConfig, "dropout">> = {}, where = "the model copied"): GPT {
  const copy = new GPT({ ...model.config, ...changes });
  try {
    assignWeights(copy.parameters(), model.parameters(), where);
  } catch (e) {
    copy.dispose();
    throw e;
  }
  return copy;
}
