/**
 * 模型预训练 (chapter 5): next-token prediction on the whole poetry corpus.
 *
 * Pretraining text is large, varied and unlabeled (规模大、多样性、无标签): the label of every position is simply the
 * token that follows it, so every token of every poem is a training example. The loss is the cross-entropy of the
 * model's predicted distribution against that next token, averaged over all positions of the batch:
 *
 *   loss = −(1/(B·T)) Σ log p(y[b,t] | x[b,0…t])        (in nats; an untrained model scores ln(vocabSize))
 *
 * After enough of it the model can continue text in a way that fits common knowledge — it does 词语接龙:
 * given 床前明月 it continues with 光.
 *
 * This file is only the stage: its batches, its loss and its defaults. The loop (lib/train/loop.ts) does the rest.
 */
import { isQuick } from "../course";
import type { GPT } from "../model/gpt";
import { configToHF } from "../model/gpt2format";
import type { JsonRecord } from "./checkpoint";
import type { Stage, TrainableModel, TrainingOptions } from "./loop";
import { BlockSampler, evalBatches, type TokenBatch, type TokenStream } from "./tokens";
import * as tf from "@tensorflow/tfjs";

/** A GPT as the training loop and checkpoints see it: config.json in Hugging Face's fields, weights by GPT-2 name. */
export function gptTrainable(model: GPT): TrainableModel {
  return {
    configJson: () => configToHF(model.config) as JsonRecord,
    weights: () => model.parameters(),
  };
}

/** What pretraining needs besides the loop's options. */
export interface PretrainSettings {
  /** Sequences per batch (each blockSize tokens long). */
  readonly batchSize: number;
  /** Validation batches per evaluation (the same ones each time). */
  readonly evalBatches: number;
  /** Seeds the batch order (the loop's `seed` seeds dropout). */
  readonly dataSeed: number;
  /** The loop's options for this preset. */
  readonly train: Partial<TrainingOptions>;
}

/**
 * Defaults per model preset. `course` is sized for the 2-core laptop this course is written on: about 2,000 tokens a
 * step; nanoGPT's small-model settings otherwise (peak lr 1e-3 with warmup, cosine to 1e-4, β2 0.95, decay 0.1,
 * clipping at 1). `tiny` is for tests and quick mode: a few hundred steps of seconds each.
 */
export const PRETRAIN_PRESETS: Readonly<Record<"tiny" | "course", PretrainSettings>> = Object.freeze({
  tiny: {
    batchSize: 8,
    evalBatches: 4,
    dataSeed: 1,
    train: { steps: 200, lr: 3e-3, minLr: 3e-4, warmupSteps: 20, evalEvery: 50, checkpointEvery: 100 },
  },
  course: {
    batchSize: 16,
    evalBatches: 8,
    dataSeed: 1,
    train: { steps: 3000, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, evalEvery: 250, checkpointEvery: 250 },
  },
});

/** The settings of a preset name (presets without their own settings use `course`'s). */
export function pretrainSettings(preset: string): PretrainSettings {
  return (PRETRAIN_PRESETS as Record<string, PretrainSettings>)[preset] ?? PRETRAIN_PRESETS.course;
}

/**
 * The pretraining stage for `model` on token streams of the train and validation splits.
 * @example await train(pretrainStage(model, { train, validation }, pretrainSettings("course")), { resume: true })
 */
export function pretrainStage(
  model: GPT,
  data: { readonly train: TokenStream; readonly validation: TokenStream },
  settings: PretrainSettings,
): Stage<TokenBatch> {
  const T = model.config.blockSize;
  if (data.train.tokenizer.hash !== data.validation.tokenizer.hash) {
    throw new Error(`pretrain: the train and validation streams were made by different tokenizers (${data.train.tokenizer.hash}, ${data.validation.tokenizer.hash})`);
  }
  if (data.train.tokenizer.vocabSize !== model.config.vocabSize) {
    throw new Error(`pretrain: the tokenizer has ${data.train.tokenizer.vocabSize} tokens but the model's vocabSize is ${model.config.vocabSize}`);
  }
  const val = evalBatches(data.validation.tokens, T, settings.batchSize, settings.evalBatches);
  return {
    name: "pretrain",
    from: null,
    model: gptTrainable(model),
    batches: new BlockSampler(data.train.tokens, T, settings.batchSize, settings.dataSeed),
    validation: () => val,
    loss(batch, ctx) {
      // The loop hands each micro-batch a seed from its saved random stream; the model's dropout masks follow it,
      // so a resumed run draws the same masks as an uninterrupted one.
      model.seeds.state = ctx.seed;
      const x = tf.tensor2d(batch.x, [batch.batchSize, batch.blockSize], "int32"); // [B, T]
      const y = tf.tensor2d(batch.y, [batch.batchSize, batch.blockSize], "int32"); // [B, T]
      return model.loss(x, y, { training: ctx.training });
    },
    tokens: (batch) => batch.batchSize * batch.blockSize,
    defaults: { ...settings.train, progress: "auto" },
    tokenizer: data.train.tokenizer,
  };
}

/** Bits per character from a loss in nats per token: comparable across tokenizers (a token may hold 1–3 characters). */
export function bitsPerCharacter(lossNatsPerToken: number, tokens: number, characters: number): number {
  return (lossNatsPerToken * tokens) / characters / Math.LN2;
}

/** Whether a run uses quick-mode sizes (the `tiny` preset's few steps), as the notebooks do under TIAOYU_QUICK. */
export function defaultPretrainPreset(): "tiny" | "course" {
  return isQuick() ? "tiny" : "course";
}
