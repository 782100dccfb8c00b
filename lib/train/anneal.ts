/**
 * 退火 (annealing): the last stretch of pretraining, on the best data.
 *
 *   pretrain   5,000 steps   corpus + 唐诗三百首 × 20 (7.9% of the stream)   lr 1e-3 → 1e-4, dropout 0.1
 *   anneal     1,500 steps   corpus + 唐诗三百首 × 200, cited (76%)          lr 1e-3 → 1e-5, dropout 0
 *
 * Large pretraining runs end the same way: while the learning rate decays towards zero, the mixture shifts towards
 * curated, high-quality text (MiniCPM's warmup-stable-decay schedule, Llama 3's "annealing" on its best sources).
 * What a model reads last, with small steps, it keeps best. Here it is what makes 词语接龙 work: after the main run
 * the `course` model has read each famous poem about 50 times (20 copies, the stream read 2.5 times) and completes 1
 * of 10 first lines; after 1,500 annealing steps (about 40 more readings, and each couplet about 40 more on its own)
 * it completes all 8 that are in the anthology and neither of the 2 that are not (chapter 5's notebook has the table). The validation loss on the whole
 * corpus rises (below): a model that spends most of its last steps on 300 poems becomes more of a 唐诗三百首
 * model. Dropout is off, as in most modern pretraining: it fights memorization, which is
 * exactly what this phase is for.
 *
 * Each anthology poem is read with its source after it, and each of its couplets is also read cited on its own
 * (attributedSample, citedCouplets in mixture.ts): `床前明月光，疑是地上霜。——李白《静夜思》`. Without them the
 * corpus never says who wrote a poem, and nothing can later draw out what was never read; with them the model
 * recalls the next line of a held-out anthology poem's line 48% of the time and its poet after the poem 74 times in
 * 100 (31% and 0 without; chapter 5's notebook has the table). The price is a validation loss on the whole corpus of
 * 6.05 instead of 5.74 nats/token: three quarters of what this phase reads is the anthology.
 *
 * The stage starts from chapter 5's checkpoint (runs/pretrain) and writes runs/anneal; it resumes like any stage.
 * Its result is the course's base model: chapters 6–10 start from it (ensureBase), and the course ships it as
 * checkpoints/base (lib/train/shipped.ts).
 */
import { projectPath } from "../course";
import type { CorpusInfo } from "../data/pipeline";
import { GPT } from "../model/gpt";
import type { Tokenizer } from "../tokenizer/types";
import { type Stage, train, type TrainingOptions } from "./loop";
import {
  charactersPerToken,
  ensurePretrained,
  pretrainData,
  pretrainSettings,
  pretrainStage,
  type PretrainRun,
  type PretrainSettings,
} from "./pretrain";
import type { TokenBatch } from "./blocks";
import type { TokenStream } from "./tokens";
import { coursePreset } from "./registry";
import { copyModel, ensureStage, type StageModel, type StageStart } from "./handoff";

/** What the annealing phase changes from pretraining (batch size, evaluation batches and data seed stay the same). */
export interface AnnealSettings {
  /** Copies of 唐诗三百首 in the training stream (pretraining's `course` preset has 20). */
  readonly anthologyRepeat: number;
  /** Each anthology poem followed by its poet and title (`——李白《静夜思》`, see attributedSample). */
  readonly attribution: boolean;
  /** Dropout during this phase (0: off). */
  readonly dropout: number;
  /** The loop's options: a short warmup back to the peak rate, then cosine decay to almost nothing. */
  readonly train: Partial<TrainingOptions>;
}

/**
 * `course`: 1,500 steps (about a fifth of an hour on 2 cores) with the anthology, cited, at 76% of the stream. `tiny`: quick
 * mode, a few seconds.
 */
export const ANNEAL_PRESETS: Readonly<Record<"tiny" | "course", AnnealSettings>> = Object.freeze({
  tiny: { anthologyRepeat: 20, attribution: true, dropout: 0, train: { steps: 60, lr: 3e-3, minLr: 3e-5, warmupSteps: 5, evalEvery: 20, checkpointEvery: 60 } },
  course: { anthologyRepeat: 200, attribution: true, dropout: 0, train: { steps: 1500, lr: 1e-3, minLr: 1e-5, warmupSteps: 50, evalEvery: 250, checkpointEvery: 250 } },
});

/** The annealing settings for a pretraining preset (presets without their own use `course`'s). */
export function annealSettings(preset: string): AnnealSettings {
  return (ANNEAL_PRESETS as Record<string, AnnealSettings>)[preset] ?? ANNEAL_PRESETS.course;
}

/**
 * The annealing stage: pretraining's batches and loss on the anthology-rich stream, named "anneal", starting from
 * "pretrain", with the annealing schedule.
 */
export function annealStage(
  model: GPT,
  data: { readonly train: TokenStream; readonly validation: TokenStream },
  settings: PretrainSettings,
  anneal: AnnealSettings,
): Stage<TokenBatch> {
  const stage = pretrainStage(model, data, { ...settings, anthologyRepeat: anneal.anthologyRepeat });
  return {
    ...stage,
    name: "anneal",
    from: "pretrain",
    defaults: { ...anneal.train, progress: "auto" },
    info: { ...stage.info, dropout: anneal.dropout, attribution: anneal.attribution },
  };
}

/**
 * A copy of `model` with another dropout rate (the weights are copied; the caller keeps and disposes `model`).
 * @example const annealed = withDropout(pretrained, 0)
 */
export function withDropout(model: GPT, dropout: number): GPT {
  return copyModel(model, { dropout });
}

export interface AnnealRunOptions extends Partial<TrainingOptions> {
  readonly tokenizer: Tokenizer;
  /** `course`, or `tiny` in quick mode: which ANNEAL_PRESETS entry (and pretraining settings) to use. */
  readonly preset?: "tiny" | "course";
  /** Copies of the anthology (default: the preset's). */
  readonly anthologyRepeat?: number;
  /** Anthology poems followed by their poet and title (default: the preset's). */
  readonly attribution?: boolean;
  readonly corpus?: CorpusInfo;
  readonly log?: (line: string) => void;
}

/**
 * Chapter 5's annealing end to end: the pretrained model (runs/pretrain; in quick mode a tiny one is made if there is
 * none) → the anthology-rich stream → the loop, writing runs/anneal. With `resume`, continues runs/anneal.
 * @example const { model, result } = await runAnnealing({ tokenizer: tok });
 */
export async function runAnnealing(options: AnnealRunOptions): Promise<PretrainRun> {
  const { tokenizer, preset = coursePreset(), anthologyRepeat, attribution, corpus, log = console.log, ...trainOptions } = options;
  const settings = pretrainSettings(preset);
  const anneal0 = annealSettings(preset);
  const anneal = { ...anneal0, anthologyRepeat: anthologyRepeat ?? anneal0.anthologyRepeat, attribution: attribution ?? anneal0.attribution };
  const data = await pretrainData(tokenizer, { corpus, anthologyRepeat: anneal.anthologyRepeat, attribution: anneal.attribution, dataSeed: settings.dataSeed + 1, log });
  const pretrained = await ensurePretrained(tokenizer, { corpus, log });
  const model = withDropout(pretrained.model, anneal.dropout);
  pretrained.model.dispose();
  try {
    log(`annealing from ${projectPath(pretrained.dir)} (step ${pretrained.meta.step}), dropout ${anneal.dropout}`);
    const result = await train(annealStage(model, data, settings, anneal), trainOptions);
    return { model, result, data, charsPerToken: charactersPerToken(data.validation, tokenizer) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The annealed base model: runs/anneal, the end of chapter 5. When it has no checkpoint, the shipped
 * one is installed (full mode), or it is trained now — pretraining first if that is missing too (ensureStage: the
 * same in quick and full mode; quick mode trains tiny ones in seconds).
 * @example const { model } = await ensureBase(tok);
 */
export async function ensureBase(
  tokenizer: Tokenizer,
  options: { start?: StageStart; corpus?: CorpusInfo; log?: (line: string) => void } = {},
): Promise<StageModel> {
  const log = options.log ?? console.log;
  const preset = coursePreset();
  return ensureStage("anneal", {
    tokenizer,
    start: options.start,
    log,
    describe: `${preset} preset, ${annealSettings(preset).train.steps} steps`,
    train: async (resume) => {
      const run = await runAnnealing({ tokenizer, preset, resume, ...(preset === "tiny" ? { progress: "none" as const } : {}), log, corpus: options.corpus });
      run.model.dispose();
    },
  });
}
