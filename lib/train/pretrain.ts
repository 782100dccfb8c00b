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
import * as tf from "@tensorflow/tfjs";
import { type CorpusInfo, ensureCorpus } from "../data/pipeline";
import { checkTrainingMemory, formatBytes, presetConfig, type PresetName } from "../model/config";
import { GPT } from "../model/gpt";
import { configToHF } from "../model/gpt2format";
import type { Tokenizer } from "../tokenizer/types";
import type { JsonRecord } from "./checkpoint";
import { type Stage, train, type TrainableModel, type TrainingOptions, type TrainResult } from "./loop";
import { type StageModel, ensureStage, type StageStart } from "./handoff";
import { coursePreset } from "./registry";
import { anthology, anthologySamples, canMixAnthology, mixStream } from "./mixture";
import { BlockSampler, evalBatches, type TokenBatch } from "./blocks";
import { corpusTokenStreams, type TokenStream } from "./tokens";

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
  /** Copies of the anthology (唐诗三百首) added to the training stream; see lib/train/mixture.ts. 0: the corpus alone. */
  readonly anthologyRepeat: number;
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
    anthologyRepeat: 2,
    train: { steps: 200, lr: 3e-3, minLr: 3e-4, warmupSteps: 20, evalEvery: 50, checkpointEvery: 100 },
  },
  course: {
    batchSize: 16,
    evalBatches: 8,
    dataSeed: 1,
    // 唐诗三百首 20 times: about 9% of the stream, so each famous poem is read ~50 times in a run.
    anthologyRepeat: 20,
    // 5,000 steps × 2,048 tokens ≈ 10M tokens, about 2.4 passes over the mixture: an hour on the 2-core machine.
    train: { steps: 5000, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, evalEvery: 200, checkpointEvery: 200 },
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
    info: {
      batchSize: settings.batchSize,
      blockSize: T,
      trainTokens: data.train.tokens.length,
      validationTokens: data.validation.tokens.length,
      dataSeed: settings.dataSeed,
      anthologyRepeat: settings.anthologyRepeat,
    },
  };
}

/**
 * Characters per token of a stream: how much text one token carries on average (each <s> or </s> counts as one
 * character: it is one symbol the model has to predict). A character-level tokenizer gives 1; the course's BPE more.
 */
export function charactersPerToken(stream: TokenStream, tokenizer: Pick<Tokenizer, "decode">): number {
  const text = tokenizer.decode(stream.tokens).replace(/<\/?s>/g, "\u0000");
  return [...text].length / stream.tokens.length;
}

/**
 * Bits per character from a loss in nats per token: loss / ln 2 gives bits per token, divided by the characters a
 * token holds. Unlike the loss per token it compares models with different tokenizers.
 * @example bitsPerCharacter(4.0, 1.6) ≈ 3.61 (4 nats = 5.77 bits per token, over 1.6 characters)
 */
export function bitsPerCharacter(lossNatsPerToken: number, charsPerToken: number): number {
  return lossNatsPerToken / Math.LN2 / charsPerToken;
}

/**
 * The token streams pretraining reads: chapter 1's train split (+ `anthologyRepeat` copies of 唐诗三百首, see
 * lib/train/mixture.ts) and the validation split, encoded with the tokenizer (cached on disk after the first time).
 * @example const data = await pretrainData(tok, { anthologyRepeat: 20, dataSeed: 1 });
 */
export async function pretrainData(
  tokenizer: Tokenizer,
  options: { corpus?: CorpusInfo; anthologyRepeat: number; dataSeed: number; attribution?: boolean; log?: (line: string) => void },
): Promise<{ train: TokenStream; validation: TokenStream }> {
  const { anthologyRepeat, dataSeed, attribution = false, log = console.log } = options;
  const corpus = options.corpus ?? (await ensureCorpus());
  const streams = await corpusTokenStreams(tokenizer, { corpus, log });
  let trainStream = streams.train;
  if (anthologyRepeat > 0 && !canMixAnthology(corpus)) {
    log(`mixture: none (the corpus in ${corpus.dir} was not built from 唐诗三百首 by chapter 1's pipeline)`);
  } else if (anthologyRepeat > 0) {
    const a = await anthology(corpus);
    const corpusTokens = trainStream.tokens.length;
    const samples = anthologySamples(a, attribution);
    trainStream = mixStream(trainStream, samples, tokenizer, anthologyRepeat, dataSeed);
    const share = 1 - corpusTokens / trainStream.tokens.length;
    log(
      `mixture: + 唐诗三百首 ${a.samples.length} poems × ${anthologyRepeat} ` +
        `(${a.heldOut} left out: a copy is in the validation or test split)${attribution ? ", each followed by its poet and title and with its couplets cited on their own" : ""} → ${trainStream.tokens.length.toLocaleString("en-US")} training tokens, ` +
        `${(100 * share).toFixed(1)}% from the anthology`,
    );
  }
  return { train: trainStream, validation: streams.validation };
}

export interface PretrainRunOptions extends Partial<TrainingOptions> {
  /** The course's tokenizer (chapter 2). */
  readonly tokenizer: Tokenizer;
  /** Model preset (default: `course`, or `tiny` in quick mode). */
  readonly preset?: PresetName;
  /** Sequences per batch (default: the preset's). */
  readonly batchSize?: number;
  /** The corpus (default: `ensureCorpus()`, chapter 1's cleaned poems). */
  readonly corpus?: CorpusInfo;
  /** Seeds the initial weights (default 1337). */
  readonly modelSeed?: number;
  /** Copies of the anthology in the training stream (default: the preset's). */
  readonly anthologyRepeat?: number;
  /** Told what is happening before training starts (data and model sizes); default: printed. */
  readonly log?: (line: string) => void;
}

export interface PretrainRun {
  /** The trained model (the caller disposes it). */
  readonly model: GPT;
  readonly result: TrainResult;
  readonly data: { readonly train: TokenStream; readonly validation: TokenStream };
  /** Characters per token of the validation split, for bits per character. */
  readonly charsPerToken: number;
}

/**
 * Chapter 5 end to end: corpus → token streams (cached) → a fresh GPT of the preset → the training loop, resuming
 * from runs/pretrain when `resume` is set. What `npx tiaoyu pretrain` and the notebook both run.
 *
 * @example const { model, result } = await runPretraining({ tokenizer: tok, steps: 3000, resume: true });
 */
export async function runPretraining(options: PretrainRunOptions): Promise<PretrainRun> {
  const { tokenizer, preset = coursePreset(), batchSize, anthologyRepeat, corpus: given, modelSeed = 1337, log = console.log, ...trainOptions } = options;
  const settings0 = pretrainSettings(preset);
  const settings = { ...settings0, batchSize: batchSize ?? settings0.batchSize, anthologyRepeat: anthologyRepeat ?? settings0.anthologyRepeat };
  const config = presetConfig(preset, { vocabSize: tokenizer.vocabSize });
  // Before any tensor is made: a batch size that cannot fit fails here with the estimate, not as a RangeError.
  const memory = checkTrainingMemory(config, settings.batchSize, `preset ${preset}, batch size ${settings.batchSize}`);
  log(`memory: about ${formatBytes(memory.total)} (weights and optimizer ${formatBytes(memory.weights)}, activations ${formatBytes(memory.activations)})`);
  const data = await pretrainData(tokenizer, { corpus: given, anthologyRepeat: settings.anthologyRepeat, dataSeed: settings.dataSeed, log });
  const model = new GPT(config, { seed: modelSeed });
  try {
    const c = model.config;
    log(
      `model: preset ${preset}, ${model.numParameters().toLocaleString("en-US")} parameters ` +
        `(nLayer ${c.nLayer}, nHead ${c.nHead}, nEmbd ${c.nEmbd}, blockSize ${c.blockSize}, vocabSize ${c.vocabSize}); ` +
        `batch ${settings.batchSize} × ${c.blockSize} tokens`,
    );
    const result = await train(pretrainStage(model, data, settings), trainOptions);
    return { model, result, data, charsPerToken: charactersPerToken(data.validation, tokenizer) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The pretrained model a later chapter starts from: chapter 5's checkpoint (runs/pretrain), trained now when there
 * is none (ensureStage: the same in quick and full mode). Trained here it takes `steps` steps: by default 60 in
 * quick mode (a few seconds, so any notebook runs alone in a fresh clone and in CI), the preset's at full size.
 *
 * @example const { model } = await ensurePretrained(tok);   // chapter 6 (SFT) starts here
 */
export async function ensurePretrained(
  tokenizer: Tokenizer,
  options: { steps?: number; start?: StageStart; corpus?: CorpusInfo; log?: (line: string) => void } = {},
): Promise<StageModel> {
  const log = options.log ?? console.log;
  const preset = coursePreset();
  const steps = options.steps ?? (preset === "tiny" ? 60 : pretrainSettings(preset).train.steps);
  return ensureStage("pretrain", {
    tokenizer,
    start: options.start,
    log,
    describe: `${preset} preset, ${steps} steps`,
    train: async (resume) => {
      const run = await runPretraining({ tokenizer, preset, steps, resume, ...(preset === "tiny" ? { progress: "none" as const } : {}), log, corpus: options.corpus });
      run.model.dispose();
    },
  });
}
