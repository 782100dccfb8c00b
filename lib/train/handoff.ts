/**
 * The hand-off between stages: the model of a stage's latest checkpoint, checked against the tokenizer. Chapter 6
 * starts from `loadStage("pretrain")`, chapter 7 from `loadStage("sft")` (the folders: lib/train/registry.ts).
 */
import { GPT, type GPTOptions } from "../model/gpt";
import { configFromHF } from "../model/gpt2format";
import { assignWeights, type CheckpointMeta, latestCheckpoint, loadTrainingCheckpoint, type TokenizerIdentity } from "./checkpoint";
import type { TrainingOptions } from "./loop";
import { type StageName, stageDir } from "./registry";
import { type StreamTokenizer, tokenizerIdentity } from "./tokens";

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
  const t = options.tokenizer;
  const tokenizer = t === undefined ? undefined : "hash" in t ? t : tokenizerIdentity(t);
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
