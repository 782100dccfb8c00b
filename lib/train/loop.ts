/**
 * The one training loop. Every stage of the course — pretraining (chapter 5), SFT, RLHF, LoRA, distillation,
 * reasoning — is a small {@link Stage}: where its batches come from, its loss, which weights train, its defaults.
 * This file owns everything they share:
 *
 *   for step = 1 … steps:
 *     for each of `accumulate` micro-batches:  loss, gradients  (summed)
 *     gradient norm → stop if not finite, else clip to `clipNorm`
 *     AdamW update with the learning rate of the schedule (warmup, cosine decay)
 *     every evalEvery steps: loss on the validation batches
 *     every checkpointEvery steps, and at the end: a crash-safe checkpoint
 *   progress bar / live chart, curves appended to runs/<stage>/log.jsonl
 *
 * Reproducible: batch order comes from the stage's seeded sampler, dropout seeds from the loop's seeded `Rng`,
 * and both states go into each checkpoint with the optimizer's, so a resumed run takes exactly the steps the
 * uninterrupted run would have taken (on the same backend; different backends round differently).
 *
 * Memory: a step keeps its gradients only until the update and its loss only until it is read; nothing made in a
 * step outlives it (tested), because a notebook kernel that leaks one tensor per step dies after a few thousand.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { projectPath } from "../course";
import {
  assignWeights,
  type CheckpointMeta,
  type JsonRecord,
  type JsonValue,
  latestCheckpoint,
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
  type SavePhase,
  sweepRunFolder,
  type TokenizerIdentity,
} from "./checkpoint";
import { inNotebook } from "../display";
import { fsyncDirSync, writeFileAtomicSync } from "../io/atomic";
import { AdamW, clipFactor, globalNorm, type NamedVariables } from "./optimizer";
import { type ProgressMode, TrainingProgress } from "./progress";
import { Rng, type RngState } from "../rng";
import { learningRate, validateSchedule } from "./schedule";
import { runFolder as stageDir } from "./registry";

/** Where a stage's training batches come from. Its position is saved in checkpoints and restored on resume. */
export interface BatchSampler<B> {
  /** The next batch (host data such as Int32Arrays, turned into tensors inside the loss: no tensor outlives a step). */
  next(): B;
  /** The position to save: JSON from which {@link restore} continues with the same batches. */
  state(): JsonValue;
  restore(state: JsonValue): void;
}

/** What the loss function is told besides the batch. */
export interface LossContext {
  /** True for training steps (dropout on), false for evaluation. */
  readonly training: boolean;
  /** A seed for this micro-batch's randomness (dropout masks), drawn from the loop's saved random stream. */
  readonly seed: number;
}

/** What a checkpoint needs from a model: its configuration and its weights by name. */
export interface TrainableModel {
  /** config.json's contents (Hugging Face GPT-2 fields for GPT models). */
  configJson(): JsonRecord;
  /** Every weight, by checkpoint name, in the model's order. */
  weights(): NamedVariables;
}

/** A training stage: what differs between pretraining, SFT, RLHF, LoRA, … */
export interface Stage<B> {
  /** Names the run folder (runs/<name>) and the checkpoints: "pretrain", "sft", … */
  readonly name: string;
  /** The stage whose checkpoint this one starts from, recorded in meta.json ("pretrain" for SFT). */
  readonly from?: string | null;
  readonly model: TrainableModel;
  /** The weights that train (default: all of the model's). LoRA passes only its adapters. */
  readonly trainable?: NamedVariables;
  readonly batches: BatchSampler<B>;
  /** Fixed validation batches (the same ones at every evaluation, so the curve is comparable). */
  readonly validation?: () => Iterable<B>;
  /** The loss of one batch as a scalar; called inside tf.tidy, so intermediate tensors need no care. */
  loss(batch: B, ctx: LossContext): tf.Scalar;
  /** Tokens in a batch (for tokens/s and the token count in checkpoints). */
  tokens(batch: B): number;
  /** The stage's defaults; options passed to {@link train} override them. */
  readonly defaults?: Partial<TrainingOptions>;
  /** The tokenizer the batches were made with, recorded in checkpoints and checked on resume. */
  readonly tokenizer?: TokenizerIdentity | null;
  /** Facts about the stage worth keeping in meta.json (batch size, preset, data files, …). */
  readonly info?: JsonRecord;
  /**
   * The stage's own curves (DPO's margins, GRPO's reward and KL), kept in log.jsonl beside the loss as
   * {@link MetricsRecord}s, so that a resumed run cuts them back to its checkpoint as it does the loss curve.
   * `afterStep` is asked after every step, `afterEval` after every evaluation; null records nothing.
   */
  readonly metrics?: {
    afterStep?(step: number): JsonRecord | null;
    afterEval?(step: number): Promise<JsonRecord | null>;
  };
}

export interface TrainingOptions {
  /** Total optimizer steps of the run (a resumed run continues up to this number). */
  readonly steps: number;
  /** Peak learning rate. */
  readonly lr: number;
  /** The learning rate the cosine decays to at the last step (default lr / 10). */
  readonly minLr: number;
  /** Linear warmup steps. */
  readonly warmupSteps: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Clip the gradient to this global L2 norm (Infinity: no clipping). */
  readonly clipNorm: number;
  /** Micro-batches per step: their gradients are averaged, as if the batch were this many times larger. */
  readonly accumulate: number;
  /** Evaluate on the validation batches every this many steps, at the start and at the end (0: never). */
  readonly evalEvery: number;
  /** Save a checkpoint every this many steps (0: only at the end). */
  readonly checkpointEvery: number;
  /** Checkpoints kept in the run folder. */
  readonly keepCheckpoints: number;
  /** Seeds the loop's random stream (dropout). The sampler has its own seed, given when the stage is built. */
  readonly seed: number;
  /** The run folder; null: no checkpoints and no log (quick experiments, tests). Default runs/<stage> (see stageDir). */
  readonly runDir: string | null;
  /**
   * Continue the run in `runDir` from its last checkpoint. `true`: if it has one (a folder without a checkpoint
   * starts a new run: what a notebook that may or may not have run before wants); `"required"`: a folder without a
   * checkpoint is an error (what `--resume` means on the command line: the user expects a run to be there).
   */
  readonly resume: boolean | "required";
  /**
   * Start a new run even though `runDir` holds one: `true` moves the old run aside to `<runDir>.old-N` (nothing is
   * lost), `"delete"` deletes it. With neither `resume` nor `fresh`, a run folder holding a checkpoint is refused
   * ({@link RunExistsError}): hours of training are never overwritten by a call that forgot a flag.
   */
  readonly fresh: boolean | "delete";
  /**
   * Resume even when settings that shape the run differ from the checkpoint's (steps, learning rates, warmup,
   * accumulation, seeds, batch size, …: they change the schedule or the data order, so the run is no longer the one
   * being continued). Without it such a resume is refused with the list of differences.
   */
  readonly acceptChanges: boolean;
  readonly progress: ProgressMode;
  /** Called after every step with its record (e.g. to collect curves in a test or a notebook). */
  readonly onStep?: (record: StepRecord) => void;
  /** Called (and awaited) after every evaluation, e.g. to print a sample of generated text. */
  readonly onEval?: (step: number, valLoss: number) => void | Promise<void>;
  /** Called (and awaited) during checkpoint saves (see SavePhase). */
  readonly onCheckpointPhase?: (phase: SavePhase, dir: string) => void | Promise<void>;
  /**
   * Stops the run cleanly between steps, with a checkpoint (the CLI aborts it on Ctrl-C and SIGTERM). In a notebook
   * the loop also stops on the kernel's interrupt (Jupyter sends the kernel process SIGINT), see {@link train}.
   */
  readonly signal?: AbortSignal;
}

/** Defaults shared by every stage (a stage's own defaults override them; nanoGPT's values where it has one). */
export const TRAIN_DEFAULTS: Omit<TrainingOptions, "steps" | "lr" | "minLr" | "runDir" | "onStep" | "onEval" | "onCheckpointPhase" | "signal"> =
  Object.freeze({
    warmupSteps: 0,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    weightDecay: 0.1,
    clipNorm: 1.0,
    accumulate: 1,
    evalEvery: 0,
    checkpointEvery: 0,
    keepCheckpoints: 1,
    seed: 1337,
    resume: false,
    fresh: false,
    acceptChanges: false,
    progress: "auto" as ProgressMode,
  });

/** One line of log.jsonl for a training step. */
export interface StepRecord {
  readonly kind: "train";
  readonly step: number;
  /** Mean loss over the step's micro-batches (nats per token for language models). */
  readonly loss: number;
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Tokens seen so far, this step included. */
  readonly tokens: number;
  /** Seconds since this (possibly resumed) run started. */
  readonly seconds: number;
}

/** One line of log.jsonl for an evaluation. */
export interface EvalRecord {
  readonly kind: "val";
  readonly step: number;
  readonly loss: number;
}

/** One line of log.jsonl with a stage's own measurements at a step (see {@link Stage.metrics}). */
export interface MetricsRecord {
  readonly kind: "metrics";
  readonly step: number;
  readonly values: JsonRecord;
}

/** A run's curves as log.jsonl holds them. */
export interface TrainingLog {
  readonly train: readonly StepRecord[];
  readonly val: readonly EvalRecord[];
  readonly metrics: readonly MetricsRecord[];
}

export interface TrainResult {
  readonly stage: string;
  /** The step the run ended at. */
  readonly step: number;
  readonly tokens: number;
  /** The last step's training loss (NaN when no step ran, e.g. resuming a finished run). */
  readonly trainLoss: number;
  /** The last validation loss, or null without validation. */
  readonly valLoss: number | null;
  /** The whole run's curves (the earlier part of a resumed run included, from its log). */
  readonly history: TrainingLog;
  /** The folder of the last checkpoint written, or null. */
  readonly checkpoint: string | null;
  /** Wall time of this call, and its training throughput. */
  readonly seconds: number;
  readonly tokensPerSecond: number;
  /** True when the run was stopped by its AbortSignal before reaching `steps`. */
  readonly stopped: boolean;
}

/** Thrown when a loss or gradient norm is NaN or infinite; the weights are left as they were before that step. */
export class NonFiniteError extends Error {
  constructor(
    readonly step: number,
    readonly what: "loss" | "gradient norm",
    readonly value: number,
    detail: string,
  ) {
    super(`step ${step}: the ${what} is ${value} — training stopped before this step's update, so no NaN reached the weights. ${detail}`);
    this.name = "NonFiniteError";
  }
}

/**
 * Thrown when a run would start in a folder that already holds one: the old checkpoints would be replaced.
 * The message says both ways on: continue it (resume) or start over (fresh, which keeps the old run aside).
 */
export class RunExistsError extends Error {
  constructor(
    readonly runDir: string,
    readonly step: number,
  ) {
    super(
      `${projectPath(runDir)} already holds a run (checkpoint at step ${step}); starting a new one there would replace it. ` +
        `To continue it: resume: true (on the command line --resume). To start over: fresh: true (--fresh), which moves ` +
        `the old run to ${projectPath(asideName(runDir))}, or fresh: "delete" (--fresh --delete-old) to delete it.`,
    );
    this.name = "RunExistsError";
  }
}

/** Where `fresh` moves an old run: the first free `<runDir>.old-N`. */
function asideName(runDir: string): string {
  const base = runDir.replace(/[\\/]+$/, "");
  let n = 1;
  while (fs.existsSync(`${base}.old-${n}`)) n++;
  return `${base}.old-${n}`;
}

/** The step of a checkpoint folder from its name (step-00001200 → 1200). */
function stepOfCheckpoint(dir: string): number {
  const m = /^step-(\d+)/.exec(path.basename(dir));
  return m ? Number(m[1]) : NaN;
}

/**
 * Readies the run folder before anything is allocated: sweeps what interrupted saves left, then decides between
 * resuming, refusing and starting over (see the `resume` and `fresh` options). Returns the checkpoint to resume
 * from, or null for a new run.
 */
function prepareRunFolder(o: TrainingOptions, where: string): string | null {
  const runDir = o.runDir;
  if (!runDir) {
    if (o.resume === "required") throw new Error(`${where}: resume needs a run folder, and runDir is null`);
    return null;
  }
  const swept = sweepRunFolder(runDir);
  if (swept.length) console.log(`${projectPath(runDir)}: removed ${swept.join(", ")}, left by an interrupted save`);
  const latest = latestCheckpoint(runDir);
  if (o.resume) {
    if (!latest && o.resume === "required") {
      throw new Error(`nothing to resume in ${projectPath(runDir)}: it holds no checkpoint. Start a new run (without --resume / resume).`);
    }
    return latest;
  }
  if (!latest) return null;
  if (!o.fresh) throw new RunExistsError(runDir, stepOfCheckpoint(latest));
  startOver(runDir, o.fresh);
  return null;
}

/**
 * Clears a run folder for a new run, keeping the old run: `true` moves it to `<runDir>.old-N`, `"delete"` deletes
 * it. What `fresh` does in {@link train}; for a caller that decides to retrain before it calls the loop.
 * @returns where the old run went (null: deleted, or there was none)
 */
export function startOver(runDir: string, how: true | "delete" = true): string | null {
  const latest = latestCheckpoint(runDir);
  if (!fs.existsSync(runDir)) return null;
  const what = latest ? `the previous run (checkpoint at step ${stepOfCheckpoint(latest)})` : "the previous run folder";
  if (how === "delete") {
    fs.rmSync(runDir, { recursive: true, force: true });
    console.log(`deleted ${what} in ${projectPath(runDir)}, as asked`);
    return null;
  }
  const aside = asideName(runDir);
  fs.renameSync(runDir, aside);
  fsyncDirSync(path.dirname(aside));
  console.log(`moved ${what} from ${projectPath(runDir)} to ${projectPath(aside)}`);
  return aside;
}

/** Options that shape the run: changing one changes the learning-rate schedule, the updates or the data order. */
const SHAPING_OPTIONS = ["steps", "lr", "minLr", "warmupSteps", "accumulate", "seed", "beta1", "beta2", "eps", "weightDecay", "clipNorm"] as const;

/**
 * What differs between the run a checkpoint was written by and the one about to continue it, as "name was → now":
 * the shaping options (meta.json's `train`) and the stage's facts (`stage.info`, kept in meta.json's `extra`:
 * batch size, data seed, token counts, …). Fields an older checkpoint does not record are not compared.
 */
export function resumeChanges(meta: CheckpointMeta, options: TrainingOptions, info: JsonRecord | undefined): string[] {
  const now = optionsJson(options);
  const show = (v: JsonValue | undefined) => JSON.stringify(v);
  const out: string[] = [];
  for (const k of SHAPING_OPTIONS) {
    const was = meta.train?.[k];
    if (was !== undefined && show(was) !== show(now[k])) out.push(`${k} ${show(was)} → ${show(now[k])}`);
  }
  for (const [k, v] of Object.entries(info ?? {})) {
    const was = meta.extra?.[k];
    if (was === undefined || (v !== null && typeof v === "object")) continue;
    if (show(was) !== show(v)) out.push(`${k} ${show(was)} → ${show(v)}`);
  }
  return out;
}

/**
 * Stop requests from outside the program's own signal: in a notebook, the kernel's interrupt button. Jupyter
 * interrupts a kernel by sending its process SIGINT; tslab answers by abandoning the running cell's promise, so the
 * cell ends at once but the loop would go on training, unseen, in the background. Listening too, the loop finishes
 * its step, writes a checkpoint and stops. Outside a notebook nothing is installed: a script keeps Node's own
 * SIGINT behaviour, and the CLI passes `signal` (lib/flags.ts stopOnCtrlC).
 */
function watchNotebookInterrupt(stage: string): { readonly requested: () => boolean; dispose(): void } {
  if (!inNotebook()) return { requested: () => false, dispose() {} };
  let requested = false;
  const onSigint = () => {
    if (!requested) console.error(`${stage}: interrupted — finishing this step and writing a checkpoint; then resume: true continues`);
    requested = true;
  };
  process.on("SIGINT", onSigint);
  return { requested: () => requested, dispose: () => void process.off("SIGINT", onSigint) };
}

/** The options of a run: stage defaults, then the caller's, validated. */
export function resolveOptions<B>(stage: Stage<B>, options: Partial<TrainingOptions>): TrainingOptions {
  const merged = { ...TRAIN_DEFAULTS, runDir: stageDir(stage.name), ...stage.defaults, ...options } as Partial<TrainingOptions>;
  const o = { ...merged, minLr: merged.minLr ?? (merged.lr ?? 0) / 10 } as TrainingOptions;
  const where = `train(${stage.name})`;
  const int = (k: keyof TrainingOptions, min: number) => {
    const v = o[k] as number;
    if (!Number.isInteger(v) || v < min) throw new Error(`${where}: ${k} = ${v} must be an integer ≥ ${min}`);
  };
  int("steps", 0);
  int("accumulate", 1);
  int("evalEvery", 0);
  int("checkpointEvery", 0);
  int("keepCheckpoints", 1);
  if (![true, false, "required"].includes(o.resume)) throw new Error(`${where}: resume = ${JSON.stringify(o.resume)} must be true, false or "required"`);
  if (![true, false, "delete"].includes(o.fresh)) throw new Error(`${where}: fresh = ${JSON.stringify(o.fresh)} must be true, false or "delete"`);
  if (o.resume && o.fresh) throw new Error(`${where}: resume and fresh both set: continue the run (resume) or start over (fresh), not both`);
  if (!(o.clipNorm > 0)) throw new Error(`${where}: clipNorm = ${o.clipNorm} must be > 0 (Infinity: no clipping)`);
  validateSchedule({ maxLr: o.lr, minLr: o.minLr, warmupSteps: o.warmupSteps, decaySteps: Math.max(o.steps, o.warmupSteps) });
  return Object.freeze(o);
}

/** The options worth recording in meta.json (numbers and strings; no callbacks). */
function optionsJson(o: TrainingOptions): JsonRecord {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number") out[k] = Number.isFinite(v) ? v : String(v);
    else if (typeof v === "string" || typeof v === "boolean" || v === null) out[k] = v;
  }
  return out;
}

/** Mean loss over a set of batches, without dropout and without gradients. */
export async function evaluate<B>(stage: Pick<Stage<B>, "loss">, batches: Iterable<B>): Promise<number> {
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    const t = tf.tidy(() => stage.loss(b, { training: false, seed: 0 }));
    sum += (await t.data())[0];
    t.dispose();
    n++;
  }
  if (n === 0) throw new Error("evaluate: no validation batches");
  return sum / n;
}

function readLog(file: string, upTo: number): { train: StepRecord[]; val: EvalRecord[]; metrics: MetricsRecord[] } {
  const train: StepRecord[] = [];
  const val: EvalRecord[] = [];
  const metrics: MetricsRecord[] = [];
  if (!fs.existsSync(file)) return { train, val, metrics };
  if (fs.statSync(file).isDirectory()) throw new Error(`${file} is a folder; the training log (a JSONL file) was expected there`);
  for (const [i, line] of fs.readFileSync(file, "utf8").split("\n").entries()) {
    if (!line.trim()) continue;
    let r: StepRecord | EvalRecord | MetricsRecord;
    try {
      r = JSON.parse(line);
    } catch {
      // A kill can cut the last line short; anything after the checkpoint is dropped anyway.
      continue;
    }
    const isMetrics = typeof r === "object" && r !== null && r.kind === "metrics";
    if (
      typeof r !== "object" || r === null || !Number.isInteger(r.step) || r.step < 0 ||
      (isMetrics ? typeof (r as MetricsRecord).values !== "object" || (r as MetricsRecord).values === null : typeof (r as StepRecord).loss !== "number")
    ) {
      throw new Error(`line ${i + 1} of ${file}: expected a record with an integer 'step' ≥ 0 and a numeric 'loss' (or, of kind 'metrics', an object 'values'), got ${line.slice(0, 80)}`);
    }
    if (r.step > upTo) continue;
    if (r.kind === "train") train.push(r);
    else if (r.kind === "val") val.push(r);
    else if (r.kind === "metrics") metrics.push(r);
    else throw new Error(`line ${i + 1} of ${file}: unknown record kind '${(r as { kind: unknown }).kind}'`);
  }
  return { train, val, metrics };
}

/**
 * The curves of a run, from its log.jsonl: how a notebook shows a finished run without training it again.
 * @example plotLossCurves(readTrainingLog(stageDir("pretrain")))
 */
export function readTrainingLog(runDir: string): TrainingLog {
  const file = path.join(runDir, "log.jsonl");
  if (!fs.existsSync(file)) throw new Error(`no training log in ${runDir} (log.jsonl is missing)`);
  return readLog(file, Infinity);
}

/**
 * Trains `stage.model` for `options.steps` steps (see the file comment), resuming from the run folder's last
 * checkpoint when `options.resume` is set.
 *
 * @example
 *   const result = await train(pretrainStage(model, data), { steps: 2000, resume: true });
 *   console.log(result.valLoss);
 */
export async function train<B>(stage: Stage<B>, options: Partial<TrainingOptions> = {}): Promise<TrainResult> {
  const o = resolveOptions(stage, options);
  const resumeFrom = prepareRunFolder(o, `train(${stage.name})`);
  const weights = stage.model.weights();
  const trainable = stage.trainable ?? weights;
  const optimizer = new AdamW(trainable, { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
  // tf.variableGrads names gradients by the tf.Variable's own (globally unique) name; map them back.
  const varList = [...trainable.values()];
  const byVarName = new Map([...trainable].map(([name, v]) => [v.name, name]));
  const schedule = { maxLr: o.lr, minLr: o.minLr, warmupSteps: o.warmupSteps, decaySteps: Math.max(o.steps, o.warmupSteps) };
  const logFile = o.runDir ? path.join(o.runDir, "log.jsonl") : null;

  let step = 0;
  let tokens = 0;
  let rng = new Rng(o.seed);
  let history: { train: StepRecord[]; val: EvalRecord[]; metrics: MetricsRecord[] } = { train: [], val: [], metrics: [] };
  let checkpoint: string | null = null;
  let resumed = false;
  const interrupt = watchNotebookInterrupt(stage.name);

  try {
    if (resumeFrom) {
      const ckpt = loadTrainingCheckpoint(resumeFrom, {
        optimizer: true,
        tokenizer: stage.tokenizer ?? undefined,
        config: stage.model.configJson(),
      });
      try {
        if (ckpt.meta.stage !== stage.name) {
          throw new Error(`${ckpt.dir} belongs to stage '${ckpt.meta.stage}', not '${stage.name}': resume from the right run folder`);
        }
        if (!ckpt.optimizer || !ckpt.meta.rng) throw new Error(`${ckpt.dir} has no optimizer or RNG state: it cannot be resumed`);
        // A finished run asked for no more steps takes none, so only a resume that trains on must match.
        const changes = ckpt.meta.step < o.steps && !o.acceptChanges ? resumeChanges(ckpt.meta, o, stage.info) : [];
        if (changes.length) {
          throw new Error(
            `cannot resume ${projectPath(ckpt.dir)} with other settings: ${changes.join("; ")}. These change the learning-rate ` +
              `schedule or the order of the data, so the result would not be the run being continued. Resume with the ` +
              `checkpoint's settings, start over (fresh: true / --fresh), or accept the change (acceptChanges: true / --accept-changes).`,
          );
        }
        assignWeights(weights, ckpt.weights, ckpt.dir);
        optimizer.loadState(ckpt.optimizer);
        rng = Rng.fromState(ckpt.meta.rng as RngState);
        try {
          stage.batches.restore(ckpt.meta.data);
        } catch (e) {
          throw new Error(`${path.join(ckpt.dir, "meta.json")}: field 'data' does not fit this stage's batches: ${(e as Error).message}`);
        }
        step = ckpt.meta.step;
        tokens = ckpt.meta.tokens;
        checkpoint = ckpt.dir;
        resumed = true;
      } finally {
        ckpt.dispose();
      }
    }
    if (logFile) {
      // Steps logged after the checkpoint we resume from will be taken again: drop them so the curve has no doubles.
      // Rewritten atomically (temporary file, fsync, rename): a kill at this moment leaves the old log or the new
      // one, never an empty file. During the run lines are appended; a kill can cut only the last one short, and
      // readLog skips a torn line.
      history = resumed ? readLog(logFile, step) : { train: [], val: [], metrics: [] };
      const text = [...history.train, ...history.val, ...history.metrics].sort((a, b) => a.step - b.step).map((r) => JSON.stringify(r) + "\n").join("");
      writeFileAtomicSync(logFile, text);
    }

    const progress = new TrainingProgress(o.progress);
    progress.seed(history.train, history.val);
    const started = Date.now();
    const tokensAtStart = tokens;
    const stepAtStart = step;
    let lastLoss = NaN;
    let lastVal: number | null = history.val.length ? history.val[history.val.length - 1].loss : null;
    let savedStep = resumed ? step : -1;
    let stopped = false;

    const log = (r: StepRecord | EvalRecord | MetricsRecord) => {
      if (logFile) fs.appendFileSync(logFile, JSON.stringify(r) + "\n");
    };
    const logMetrics = (values: JsonRecord | null) => {
      if (!values) return;
      const r: MetricsRecord = { kind: "metrics", step, values };
      history.metrics.push(r);
      log(r);
    };
    const runEval = async () => {
      if (!stage.validation || o.evalEvery === 0) return;
      lastVal = await evaluate(stage, stage.validation());
      const r: EvalRecord = { kind: "val", step, loss: lastVal };
      history.val.push(r);
      log(r);
      progress.evaluated(step, lastVal);
      if (stage.metrics?.afterEval) logMetrics(await stage.metrics.afterEval(step));
      await o.onEval?.(step, lastVal);
    };
    const save = async () => {
      if (!o.runDir || savedStep === step) return;
      checkpoint = await saveTrainingCheckpoint(
        o.runDir,
        {
          stage: stage.name,
          from: stage.from ?? null,
          step,
          tokens,
          config: stage.model.configJson(),
          weights,
          optimizer: { ...optimizer.state(), config: { ...optimizer.config } },
          rng: rng.state(),
          data: stage.batches.state(),
          tokenizer: stage.tokenizer ?? null,
          train: optionsJson(o),
          extra: { ...stage.info, trainLoss: Number.isFinite(lastLoss) ? lastLoss : null, valLoss: lastVal },
        },
        { keep: o.keepCheckpoints, onPhase: o.onCheckpointPhase },
      );
      savedStep = step;
    };

    if (!resumed && step < o.steps) await runEval(); // the untrained model's loss: where the curve starts

    while (step < o.steps) {
      // Yield to the event loop once a step: without it a step's awaits all resolve as microtasks, and a Ctrl-C
      // (SIGINT), SIGTERM or kernel interrupt would wait for the next checkpoint's file I/O to be noticed.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (o.signal?.aborted || interrupt.requested()) {
        stopped = true;
        break;
      }
      const stepNo = step + 1;
      const lr = learningRate(stepNo, schedule);

      // Forward and backward for each micro-batch; the gradients are summed in `acc`.
      let acc: tf.Tensor[] | null = null;
      let lossSum: tf.Scalar | null = null;
      let stepTokens = 0;
      for (let micro = 0; micro < o.accumulate; micro++) {
        const batch = stage.batches.next();
        stepTokens += stage.tokens(batch);
        const seed = rng.seed();
        const { value, grads } = tf.tidy(() => tf.variableGrads(() => stage.loss(batch, { training: true, seed }), varList));
        const unused = varList.filter((v) => !grads[v.name]);
        if (unused.length) {
          tf.dispose([value, ...Object.values(grads), ...(acc ?? []), ...(lossSum ? [lossSum] : [])]);
          const names = unused.map((v) => byVarName.get(v.name)).join(", ");
          throw new Error(`${stage.name}: the loss does not depend on ${names}, marked trainable: leave it out of stage.trainable`);
        }
        const ordered = varList.map((v) => grads[v.name]);
        if (acc === null || lossSum === null) {
          acc = ordered;
          lossSum = value;
        } else {
          const prev: tf.Tensor[] = acc;
          const prevLoss: tf.Scalar = lossSum;
          acc = tf.tidy(() => prev.map((a, i) => tf.add(a, ordered[i])));
          lossSum = tf.tidy(() => tf.add(prevLoss, value) as tf.Scalar);
          tf.dispose([...prev, prevLoss, ...ordered, value]);
        }
      }
      const sums = acc!;
      const lossAndNorm = tf.tidy(() => tf.stack([tf.div(lossSum!, o.accumulate), tf.div(globalNorm(sums), o.accumulate)]));
      const [loss, gradNorm] = await lossAndNorm.data();
      tf.dispose([lossAndNorm, lossSum!]);

      try {
        const hint = `Learning rate was ${lr.toExponential(2)}; try a lower one, stronger clipping (clipNorm), or check the data.`;
        if (!Number.isFinite(loss)) throw new NonFiniteError(stepNo, "loss", loss, hint);
        if (!Number.isFinite(gradNorm)) throw new NonFiniteError(stepNo, "gradient norm", gradNorm, hint);
        const named: Record<string, tf.Tensor> = {};
        varList.forEach((v, i) => (named[byVarName.get(v.name)!] = sums[i]));
        optimizer.apply(named, lr, clipFactor(gradNorm, o.clipNorm) / o.accumulate);
      } finally {
        tf.dispose(sums);
      }

      step = stepNo;
      tokens += stepTokens;
      lastLoss = loss;
      const seconds = (Date.now() - started) / 1000;
      const record: StepRecord = { kind: "train", step, loss, lr, gradNorm, tokens, seconds };
      history.train.push(record);
      log(record);
      logMetrics(stage.metrics?.afterStep?.(step) ?? null);
      o.onStep?.(record);
      const done = step - stepAtStart;
      progress.step({
        stage: stage.name,
        step,
        steps: o.steps,
        loss,
        valLoss: lastVal,
        lr,
        tokensPerSecond: seconds > 0 ? (tokens - tokensAtStart) / seconds : 0,
        etaSeconds: done >= 2 ? (seconds / done) * (o.steps - step) : null,
      });

      if (o.evalEvery > 0 && step % o.evalEvery === 0 && step < o.steps) await runEval();
      if (o.checkpointEvery > 0 && step % o.checkpointEvery === 0 && step < o.steps) await save();
    }

    if (step > stepAtStart || !resumed) {
      if (!stopped && (history.val.length === 0 || history.val[history.val.length - 1].step !== step)) await runEval();
      await save();
    }
    const seconds = (Date.now() - started) / 1000;
    const tokensPerSecond = seconds > 0 ? (tokens - tokensAtStart) / seconds : 0;
    progress.finish(
      `${stage.name}: ${stopped ? "stopped at" : "finished"} step ${step}` +
        (lastVal === null ? "" : `, validation loss ${lastVal.toFixed(3)}`) +
        (step > stepAtStart ? `, ${Math.round(tokensPerSecond).toLocaleString("en-US")} tokens/s` : "") +
        (checkpoint ? `; checkpoint ${projectPath(checkpoint)}` : "") +
        (stopped && checkpoint ? ". To continue: the same call with resume: true" : ""),
    );
    return { stage: stage.name, step, tokens, trainLoss: lastLoss, valLoss: lastVal, history, checkpoint, seconds, tokensPerSecond, stopped };
  } finally {
    interrupt.dispose();
    optimizer.dispose();
  }
}
