/**
 * 有监督微调 (SFT, chapter 6): teaching the pretrained model to answer questions instead of continuing them.
 *
 * The pretrained model does 词语接龙: given 除夕夜应该吃 it continues 饺子, but asked 除夕夜应该吃什么呢？ it keeps
 * writing, as if the question were the start of an essay. SFT trains it further on question–answer pairs in the
 * chat format (lib/train/chat.ts), with the loss only on the answer:
 *
 *   loss = −(1/N) Σ_{answer positions} log p(answer token | question, earlier answer tokens)
 *
 * The question is given, never predicted: training the model to write questions too would teach it nothing
 * about answering and spend its capacity on the user's side of the conversation.
 *
 * This file is the stage (batches of padded chat sequences, the masked loss, its defaults) and the whole run; which
 * questions it trains on is chatData.ts's sftExamples, how the answers are scored lib/eval/qa.ts. With a LoRA config
 * the same run trains only low-rank adapters (chapter 8).
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { type CorpusInfo, ensureCorpus } from "../data/pipeline";
import { ensureQa, type QaDataset, type QaItem, type QaTemplate } from "../data/qa";
import type { GPT } from "../model/gpt";
import { configToHF } from "../model/gpt2format";
import type { Tokenizer } from "../tokenizer/types";
import { type ChatBatch, type ChatTokenizer, chatTokenIds, collateChat, type EncodedChat, padId } from "./chat";
import { type JsonRecord, type JsonValue } from "./checkpoint";
import { applyLora, type LoraAdapter, type LoraConfig } from "./lora";
import { saveLoraAdapter } from "./loraFiles";
import { type Stage, train, type TrainableModel, type TrainingOptions, type TrainResult } from "./loop";
import type { NamedVariables } from "./optimizer";
import { ensureBase } from "./anneal";
import { gptTrainable } from "./pretrain";
import { ensureStage, type StageModel, type StageStart, withOverrides } from "./handoff";
import { stageDir, coursePreset, type StageName } from "./registry";
import { tokenizerIdentity } from "./tokens";
import { ChatSampler, encodeChatData, replayExamples, sftExamples } from "./chatData";
import { anthology, anthologyQuestions, anthologySamples } from "./mixture";
import { ensureSelfAnswers } from "./selfAnswers";

// ---------------------------------------------------------------- the stage

/** What SFT needs besides the loop's options. */
export interface SftSettings {
  /** Questions per batch. */
  readonly batchSize: number;
  /** Validation batches (of held-out questions) per evaluation of the loss. */
  readonly evalBatches: number;
  /** Seeds the batch order. */
  readonly dataSeed: number;
  /** Held-out questions per template asked when scoring accuracy. */
  readonly evalQuestions: number;
  /**
   * Copies of the anthology's training questions (lib/data/anthologyQa.ts) in the training data: the questions
   * about poems the base model has read many times, the ones SFT can teach it to answer from what it knows.
   */
  readonly anthologyRepeat: number;
  /** At most this many of the corpus's training questions (lib/data/qa.ts), drawn with `dataSeed`; null: all. */
  readonly corpusQuestions: number | null;
  /**
   * Which of the corpus's templates SFT trains on (null: all). `course` trains on the ones a model can answer from
   * the question itself (五言/七言, 写一句诗): the corpus poems were read once, so asked for their next line or
   * their poet the base model does not know, and training it on such answers teaches it to make them up.
   */
  readonly corpusTemplates: readonly QaTemplate[] | null;
  /**
   * Copies of the anthology as the base read it (poems and cited couplets, anthologySamples) mixed into the
   * training examples as plain text with the loss on every token (replayExamples): what keeps full fine-tuning
   * from erasing the base's recall (LoRA, which leaves the base as it is, does not use it). 0: none.
   */
  readonly replay: number;
  /**
   * Corpus couplets asked as next-line questions and answered with the base model's own continuation of the line
   * (selfAnswers.ts): practice in copying the quoted line and going on as the model read it, with no new facts.
   * Drawn with `dataSeed`; the base leaves a few without a line, so a little fewer are trained on. 0: none.
   */
  readonly selfAnswers: number;
  /** The loop's options for full fine-tuning. */
  readonly train: Partial<TrainingOptions>;
  /** What LoRA changes: a higher learning rate (only the small adapters move) and no weight decay. */
  readonly lora: Partial<TrainingOptions>;
}

/**
 * Per model preset. `course`: 1,500 steps of 32 questions: the anthology's training questions (× 4, answered by
 * citing the couplet), 8,000 of the corpus's 五言/七言 and 写一句诗 questions and about 10,500 corpus next-line
 * questions answered by the base itself (selfAnswers.ts), with 8 copies of the anthology replayed as text. Each part
 * answers a failure measured on held-out anthology questions (issue 16's runs): without replay the run forgot what the
 * base read (the first line of a held-out couplet → the second: 85.3% before SFT, 0.0% after); without the
 * self-answered questions the model cited another poem when asked for a next line (0.3% right); at the learning rate
 * of 3e-4 that copy practice needs, 4 copies of replay no longer held recall (63%) and 8 do (92%). `tiny`: quick mode
 * and tests.
 */
export const SFT_PRESETS: Readonly<Record<"tiny" | "course", SftSettings>> = Object.freeze({
  tiny: {
    batchSize: 16,
    evalBatches: 2,
    dataSeed: 6,
    evalQuestions: 12,
    anthologyRepeat: 0,
    corpusQuestions: null,
    corpusTemplates: null,
    replay: 0,
    selfAnswers: 0,
    train: { steps: 150, lr: 2e-3, minLr: 2e-4, warmupSteps: 10, evalEvery: 25, checkpointEvery: 0 },
    lora: { lr: 5e-3, minLr: 5e-4, weightDecay: 0 },
  },
  course: {
    batchSize: 32,
    evalBatches: 4,
    dataSeed: 6,
    evalQuestions: 300,
    anthologyRepeat: 4,
    corpusQuestions: 8000,
    corpusTemplates: ["meter", "topic"],
    replay: 8,
    selfAnswers: 12_000,
    train: { steps: 1500, lr: 3e-4, minLr: 3e-5, warmupSteps: 50, evalEvery: 100, checkpointEvery: 500 },
    lora: { lr: 2e-3, minLr: 2e-4, weightDecay: 0 },
  },
});

/** The SFT preset for a model: `tiny` for models of the tiny preset's width or smaller, `course` otherwise. */
export function sftSettings(preset: "tiny" | "course"): SftSettings {
  return SFT_PRESETS[preset];
}

export interface SftStageOptions {
  /** Stage name (default "sft"; a LoRA run is "lora"). */
  readonly name?: string;
  /** The stage it starts from (default "anneal": chapter 5's base model). */
  readonly from?: string | null;
  /** What checkpoints save (default: the whole GPT; LoRA: only its adapters). */
  readonly model?: TrainableModel;
  /** The weights that train (default: all of the GPT's). */
  readonly trainable?: NamedVariables;
  readonly tokenizer: ChatTokenizer & Pick<Tokenizer, "toJSON">;
  /** Facts to record in meta.json. */
  readonly info?: JsonRecord;
}

/**
 * The SFT stage for `model` on encoded chat examples: padded batches and the loss on answer tokens only.
 * @example await train(sftStage(model, { train, validation }, sftSettings("course"), { tokenizer: tok }), { steps: 1500 })
 */
export function sftStage(
  model: GPT,
  data: { readonly train: readonly EncodedChat[]; readonly validation: readonly EncodedChat[] },
  settings: SftSettings,
  options: SftStageOptions,
): Stage<ChatBatch> {
  const tok = options.tokenizer;
  if (tok.vocabSize !== model.config.vocabSize) throw new Error(`sft: the tokenizer has ${tok.vocabSize} tokens but the model's vocabSize is ${model.config.vocabSize}`);
  const pad = padId(tok);
  const T = model.config.blockSize;
  const valRows = data.validation.slice(0, settings.evalBatches * settings.batchSize);
  const val: ChatBatch[] = [];
  for (let i = 0; i < valRows.length; i += settings.batchSize) val.push(collateChat(valRows.slice(i, i + settings.batchSize), T, pad));
  const identity = tokenizerIdentity(tok as Parameters<typeof tokenizerIdentity>[0]);
  return {
    name: options.name ?? "sft",
    from: options.from === undefined ? "anneal" : options.from,
    model: options.model ?? gptTrainable(model),
    trainable: options.trainable,
    batches: new ChatSampler(data.train, settings.batchSize, settings.dataSeed, T, pad),
    validation: val.length ? () => val : undefined,
    loss(batch, ctx) {
      model.seeds.state = ctx.seed;
      const shape: [number, number] = [batch.batchSize, batch.blockSize];
      const x = tf.tensor2d(batch.ids, shape, "int32"); // [B, T]
      const y = tf.tensor2d(batch.targets, shape, "int32"); // [B, T]
      const m = tf.tensor2d(batch.mask, shape, "float32"); // [B, T]: 1 on answer tokens only
      return model.loss(x, y, { training: ctx.training, mask: m });
    },
    // Tokens the loss is computed on (answer tokens): the ones SFT learns from.
    tokens: (batch) => batch.mask.reduce((s, v) => s + v, 0),
    defaults: { ...settings.train, progress: "auto" },
    tokenizer: identity,
    info: {
      batchSize: settings.batchSize,
      blockSize: T,
      trainExamples: data.train.length,
      validationExamples: valRows.length,
      dataSeed: settings.dataSeed,
      ...options.info,
    },
  };
}

// ---------------------------------------------------------------- a whole run

export interface SftRunOptions extends Partial<TrainingOptions> {
  readonly tokenizer: Tokenizer;
  /** Settings preset (default: `tiny` in quick mode, `course` otherwise). */
  readonly preset?: "tiny" | "course";
  /** The corpus's questions (default: ensureQa(), chapter 6's data). */
  readonly qa?: QaDataset | readonly QaItem[];
  /** The questions about the anthology (default: anthologyQuestions(corpus) when the settings repeat them, else none). */
  readonly anthology?: readonly QaItem[];
  /** The model to fine-tune, changed in place (default: a fresh copy of the base model, ensureBase: chapter 5's end). */
  readonly model?: GPT;
  /**
   * Train LoRA adapters with this config instead of every weight (stage "lora"). Unless the config lists its own
   * `trainableTokens`, the embedding rows of the chat markers train too (they are new to the pretrained model).
   */
  readonly lora?: LoraConfig | null;
  readonly batchSize?: number;
  /** At most this many of the chosen training questions (default all that fit the context); the self-answered ones come on top. */
  readonly maxTrain?: number;
  /** The corpus ensureBase trains on when there is no base model (default: ensureCorpus()). */
  readonly corpus?: CorpusInfo;
  /** Told what is happening before training starts; default: printed. */
  /** Overrides of the preset's settings ({@link withOverrides}), e.g. from a notebook cell: { batchSize: 16, train: { lr: 1e-4 } }. */
  readonly settings?: Partial<SftSettings>;
  /** The stage's name, its run folder under runs/ (default "sft"; "lora" with `lora`): chapter 7's flawed SFT is "sft-flawed". */
  readonly stage?: StageName;
  /**
   * Changes the training questions after they are chosen (the held-out ones are never passed): chapter 7 rewrites
   * a share of the answers into flawed ones (lib/train/flawedSft.ts). `info` goes into meta.json.
   */
  readonly rewrite?: (train: readonly QaItem[]) => { readonly items: readonly QaItem[]; readonly info: JsonRecord };
  readonly log?: (line: string) => void;
}

export interface SftRun {
  /** The fine-tuned model; with LoRA, the base with the adapters attached (unmerged). The caller disposes it. */
  readonly model: GPT;
  /** The adapters of a LoRA run (the caller disposes them before the model), else null. */
  readonly lora: LoraAdapter | null;
  readonly result: TrainResult;
  /** Training and validation questions used, and how many were too long for the context. */
  readonly data: { readonly train: number; readonly validation: number; readonly dropped: number };
  /** Weights that trained. */
  readonly trainableParameters: number;
  readonly totalParameters: number;
  /** Bytes of what the run leaves to load later: the model's safetensors, or only the adapter's. Null without a run folder. */
  readonly checkpointBytes: number | null;
}

/** `copies` copies of the anthology as the base read it, encoded for replay (replayExamples). */
async function replayOf(tokenizer: Tokenizer, corpus: CorpusInfo, copies: number, blockSize: number): Promise<EncodedChat[]> {
  const once = replayExamples(tokenizer, anthologySamples(await anthology(corpus), true), blockSize);
  return Array.from({ length: copies }, () => once).flat();
}

function qaItemsOf(qa: QaDataset | readonly QaItem[]): readonly QaItem[] {
  return "items" in qa ? (qa as QaDataset).items : (qa as readonly QaItem[]);
}

/**
 * Chapter 6 (and, with `lora`, chapter 8) end to end: the base model, the questions that fit its context,
 * the loop. Writes runs/sft (or runs/lora: the loop's checkpoints hold only the adapters, and adapter/ the
 * adapter in its own format).
 * @example const { model, result } = await runSft({ tokenizer: tok, steps: 1500 });
 */
export async function runSft(options: SftRunOptions): Promise<SftRun> {
  const { tokenizer, preset = coursePreset(), qa: givenQa, anthology: givenAnthology, model: given, lora: loraConfig = null, settings: overrides, batchSize, maxTrain, corpus, stage: stageName, rewrite, log = console.log, ...trainOptions } = options;
  const s0 = withOverrides(sftSettings(preset), overrides);
  const settings = batchSize ? { ...s0, batchSize } : s0;
  const items = qaItemsOf(givenQa ?? (await ensureQa({ corpus })));
  // The anthology's questions only when the settings ask for them (the tiny preset does not).
  const anthologyItems = givenAnthology ?? (settings.anthologyRepeat === 0 ? [] : await anthologyQuestions(corpus ?? (await ensureCorpus())));
  const model = given ?? (await ensureBase(tokenizer, { log, corpus })).model;
  let lora: LoraAdapter | null = null;
  try {
    const T = model.config.blockSize;
    const { train: chosen, validation: valItems, corpusTrain, anthologyTrain } = sftExamples(items, anthologyItems, settings, maxTrain);
    // Asked of the base before any training (and before LoRA's adapters attach), so a resumed run gets the same ones.
    // The corpus, read once, when the self-answered questions or replay need it.
    const corpusInfo = settings.selfAnswers > 0 || settings.replay > 0 ? corpus ?? (await ensureCorpus()) : null;
    const selfTrain = corpusInfo && settings.selfAnswers > 0 ? await ensureSelfAnswers(model, tokenizer, corpusInfo, { count: settings.selfAnswers, seed: settings.dataSeed, log }) : [];
    const chosenAll = [...chosen, ...selfTrain];
    const rewritten = rewrite ? rewrite(chosenAll) : null;
    const trainItems = rewritten ? rewritten.items : chosenAll;
    const questions = encodeChatData(tokenizer, trainItems, T);
    // LoRA leaves the base's weights as they are, so it has nothing to forget and reads nothing again.
    const replayed = corpusInfo && settings.replay > 0 && !loraConfig && anthologyItems.length > 0 ? await replayOf(tokenizer, corpusInfo, settings.replay, T) : [];
    const train0 = { ...questions, encoded: [...questions.encoded, ...replayed] };
    const val0 = encodeChatData(tokenizer, valItems.slice(0, settings.evalBatches * settings.batchSize * 4), T);
    log(
      `sft: ${questions.encoded.length.toLocaleString("en-US")} training questions` +
        (settings.anthologyRepeat > 0 ? ` (${corpusTrain.toLocaleString("en-US")} about corpus poems, ${anthologyTrain.toLocaleString("en-US")} about 唐诗三百首 × ${settings.anthologyRepeat})` : "") +
        (selfTrain.length ? `, including ${selfTrain.length.toLocaleString("en-US")} next-line questions the base answered itself` : "") +
        (replayed.length ? `, + ${replayed.length.toLocaleString("en-US")} samples of the anthology read again as text (replay × ${settings.replay})` : "") +
        (train0.dropped ? `, ${train0.dropped.toLocaleString("en-US")} longer than the ${T}-token context left out` : "") +
        `; ${Math.min(val0.encoded.length, settings.evalBatches * settings.batchSize)} held-out for the validation loss`,
    );
    const name: StageName = stageName ?? (loraConfig ? "lora" : "sft");
    let stageModel: TrainableModel | undefined;
    let trainable: NamedVariables | undefined;
    if (loraConfig) {
      // The chat markers are new to the pretrained model: their embedding rows train with the adapters (see lora.ts).
      const trainableTokens = loraConfig.trainableTokens ?? Object.values(chatTokenIds(tokenizer));
      lora = applyLora(model, { ...loraConfig, trainableTokens });
      const adapter = lora;
      trainable = adapter.trainable();
      // The run's checkpoints hold only the adapters (with the base's config, to refuse resuming onto another base).
      stageModel = { configJson: () => ({ ...(configToHF(model.config) as JsonRecord), lora: adapter.configJson() as unknown as JsonValue }), weights: () => adapter.trainable() };
    }
    const stage = sftStage(model, { train: train0.encoded, validation: val0.encoded }, settings, {
      name,
      tokenizer,
      model: stageModel,
      trainable,
      info: {
        preset,
        droppedTooLong: train0.dropped,
        replaySamples: replayed.length,
        selfAnswers: selfTrain.length,
        ...(rewritten ? { rewrite: rewritten.info } : {}),
        trainableParameters: lora ? lora.numTrainable() : model.numParameters(),
        totalParameters: model.numParameters(),
        ...(loraConfig ? { rank: loraConfig.rank, alpha: loraConfig.alpha, trainableTokens: lora ? lora.tokens?.ids.length ?? 0 : 0 } : {}),
      },
    });
    const defaults = loraConfig ? { ...settings.train, ...settings.lora } : settings.train;
    const result = await train({ ...stage, defaults: { ...stage.defaults, ...defaults } }, trainOptions);
    const trainableParameters = lora ? lora.numTrainable() : model.numParameters();
    let checkpointBytes: number | null = null;
    const runDir = trainOptions.runDir === undefined ? stageDir(name) : trainOptions.runDir;
    if (lora && runDir) checkpointBytes = await saveLoraAdapter(path.join(runDir, "adapter"), lora);
    else if (result.checkpoint) checkpointBytes = fs.statSync(path.join(result.checkpoint, "model.safetensors")).size;
    return {
      model,
      lora,
      result,
      data: { train: train0.encoded.length, validation: Math.min(val0.encoded.length, settings.evalBatches * settings.batchSize), dropped: train0.dropped },
      trainableParameters,
      totalParameters: model.numParameters(),
      checkpointBytes,
    };
  } catch (e) {
    lora?.dispose();
    if (!given) model.dispose();
    throw e;
  }
}

/**
 * The SFT model later chapters start from (RLHF, distillation, reasoning): runs/sft, fine-tuned now when there is
 * none (ensureStage: the same in quick and full mode). Trained here it takes `steps` steps: by default 150 in quick
 * mode (so any notebook runs alone in a fresh clone), the preset's at full size.
 * @example const { model } = await ensureSft(tok);
 */
export async function ensureSft(
  tokenizer: Tokenizer,
  options: {
    steps?: number;
    start?: StageStart;
    qa?: QaDataset | readonly QaItem[];
    corpus?: CorpusInfo;
    log?: (line: string) => void;
    /** Another SFT stage on chapter 6's recipe with its training questions rewritten (chapter 7's sft-flawed), and what to call the rewrite. */
    variant?: { readonly stage: StageName; readonly rewrite: NonNullable<SftRunOptions["rewrite"]>; readonly describe: string };
  } = {},
): Promise<StageModel> {
  const log = options.log ?? console.log;
  const preset = coursePreset();
  const steps = options.steps ?? (preset === "tiny" ? 150 : sftSettings(preset).train.steps);
  const variant = options.variant;
  return ensureStage(variant?.stage ?? "sft", {
    tokenizer,
    start: options.start,
    log,
    describe: `${preset} preset, ${steps} steps${variant ? `, ${variant.describe}` : ""}`,
    train: async (resume) => {
      const run = await runSft({ tokenizer, preset, steps, resume, ...(preset === "tiny" ? { progress: "none" as const } : {}), log, qa: options.qa, corpus: options.corpus, ...(variant ? { stage: variant.stage, rewrite: variant.rewrite } : {}) });
      run.model.dispose();
    },
  });
}
