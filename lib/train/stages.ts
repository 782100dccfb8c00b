/**
 * Stages hand off through named checkpoints: chapter 5 leaves its model in runs/pretrain, chapter 6 starts from
 * `loadStage("pretrain")` and leaves runs/sft, and so on (nanochat's `load_model("base" | "sft" | "rl")`).
 */
import { isQuick, runsDir } from "../course";
import { GPT, type GPTOptions } from "../model/gpt";
import { configFromHF } from "../model/gpt2format";
import { assignWeights, type CheckpointMeta, latestCheckpoint, loadTrainingCheckpoint, type TokenizerIdentity } from "./checkpoint";
import { type StreamTokenizer, tokenizerIdentity } from "./tokens";

/** The stages of the course, in the order they build on each other. */
export type StageName = "pretrain" | "anneal" | "sft" | "rlhf" | "lora" | "distill" | "reasoning";

/** A model loaded from a stage's checkpoint. The caller disposes `model`. */
export interface StageModel {
  readonly model: GPT;
  readonly meta: CheckpointMeta;
  /** The checkpoint folder it came from. */
  readonly dir: string;
}

/**
 * The run folder of a stage: runs/<stage>, or runs/<stage>-quick in quick mode, so that a quick run (CI, a reader
 * trying a notebook quickly) never replaces the checkpoint of a full one (as datasets/poems-quick for the corpus).
 */
export function stageDir(stage: StageName | string): string {
  return runsDir(isQuick() ? `${stage}-quick` : stage);
}

/** Whether a stage has a checkpoint (a notebook trains only when it has none, or when asked to). */
export function hasStage(stage: StageName | string): boolean {
  return latestCheckpoint(stageDir(stage)) !== null;
}

/**
 * The model of a stage's current checkpoint, from {@link stageDir} (runs/<stage>). With `tokenizer`, the
 * checkpoint must have been trained with that tokenizer (the tokenizer itself, or its identity), or this throws.
 * @example const { model } = loadStage("pretrain", { tokenizer: tok });
 */
export function loadStage(
  stage: StageName | string,
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
