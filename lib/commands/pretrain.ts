/** `npx tiaoyu pretrain`: chapter 5's pretraining from a terminal, with the notebook's checkpoints. */
import { initBackend } from "../backend";
import { MAX_BATCH_SIZE, MAX_STEPS, numberFlag, parseCommandFlags, resumeCommand, RUN_FLAGS, RUN_FLAGS_USAGE, runFlags, stopOnCtrlC } from "../flags";
import { presetConfig, type PresetName } from "../model/config";
import { ensureTokenizer } from "../tokenizer/ensure";
import { loadTokenizer } from "../tokenizer/load";
import type { Tokenizer } from "../tokenizer/types";
import type { TrainingOptions } from "../train/loop";
import { stageDir, coursePreset } from "../train/registry";
import { bitsPerCharacter,  type PretrainRun, runPretraining } from "../train/pretrain";
import { requireResumable } from "./prerequisites";

/** The course's tokenizer: `--tokenizer DIR` (a tokenizer.json), else chapter 2's `ensureTokenizer()`. */
export async function courseTokenizer(dir: string | undefined): Promise<Tokenizer> {
  return dir ? loadTokenizer(dir) : ensureTokenizer();
}

const PRETRAIN_USAGE = `usage: npx tiaoyu pretrain [options]

  --preset NAME          model size: tiny, course (default; tiny in quick mode), gpu-small, gpu-base
  --steps N              total optimizer steps of the run (default: the preset's)
  --batch-size N         sequences per batch (default: the preset's)
  --anthology-repeat N   copies of 唐诗三百首 added to the training data (default: the preset's; 0 for none)
  --lr X                 peak learning rate
  --accumulate N         micro-batches per step (gradient accumulation)
  --eval-every N         validation every N steps
  --checkpoint-every N   checkpoint every N steps (always one at the end)
  --run-dir DIR          where checkpoints and log.jsonl go (default runs/pretrain)
  --tokenizer DIR        a folder with tokenizer.json (default: chapter 2's tokenizer)
${RUN_FLAGS_USAGE}

Ctrl-C stops after the current step and writes a checkpoint; --resume continues from it.
Environment: TIAOYU_BACKEND=wasm|cpu|tensorflow picks the backend, TIAOYU_QUICK=1 the quick sizes.`;

/** The end of a pretraining command: prints the validation loss in both units and how to resume a stopped run, then disposes the run's model. */
export function reportRun(run: PretrainRun, command: string, args: readonly string[]): void {
  const r = run.result;
  if (r.valLoss !== null) {
    console.log(
      `validation loss ${r.valLoss.toFixed(4)} nats/token = ${bitsPerCharacter(r.valLoss, run.charsPerToken).toFixed(3)} bits/character ` +
        `(${run.charsPerToken.toFixed(2)} characters/token)`,
    );
  }
  if (r.stopped) console.log(`resume with: ${resumeCommand(command, args)}`);
  run.model.dispose();
}

/** `npx tiaoyu pretrain …`: the notebook's training run in a terminal, with the same checkpoints. */
export async function pretrainCommand(args: string[]): Promise<void> {
  const values = parseCommandFlags(
    "pretrain",
    args,
    {
      preset: { type: "string" },
      steps: { type: "string" },
      ...RUN_FLAGS,
      "batch-size": { type: "string" },
      "anthology-repeat": { type: "string" },
      lr: { type: "string" },
      accumulate: { type: "string" },
      "eval-every": { type: "string" },
      "checkpoint-every": { type: "string" },
      "run-dir": { type: "string" },
      tokenizer: { type: "string" },
    },
    PRETRAIN_USAGE,
  );
  if (!values) return;
  const run0 = runFlags(values);
  const steps = numberFlag("steps", values.steps, { integer: true, min: 1, max: MAX_STEPS });
  const lr = numberFlag("lr", values.lr, { min: Number.MIN_VALUE, max: 1 });
  const accumulate = numberFlag("accumulate", values.accumulate, { integer: true, min: 1, max: 1024 });
  const evalEvery = numberFlag("eval-every", values["eval-every"], { integer: true, min: 0, max: MAX_STEPS });
  const checkpointEvery = numberFlag("checkpoint-every", values["checkpoint-every"], { integer: true, min: 0, max: MAX_STEPS });
  const batchSize = numberFlag("batch-size", values["batch-size"], { integer: true, min: 1, max: MAX_BATCH_SIZE });
  const anthologyRepeat = numberFlag("anthology-repeat", values["anthology-repeat"], { integer: true, min: 0, max: 1000 });
  if (values.resume) requireResumable(values["run-dir"] ?? stageDir("pretrain"));
  const preset = (values.preset ?? coursePreset()) as PresetName;
  presetConfig(preset); // fails early, naming the presets, on a typo

  await initBackend();
  const tokenizer = await courseTokenizer(values.tokenizer);
  const run = await stopOnCtrlC((signal) => {
    const options: Record<string, unknown> = {
      steps,
      lr,
      accumulate,
      evalEvery,
      checkpointEvery,
      runDir: values["run-dir"],
    };
    for (const k of Object.keys(options)) if (options[k] === undefined) delete options[k];
    return runPretraining({
      tokenizer,
      preset,
      batchSize,
      anthologyRepeat,
      ...run0,
      signal,
      ...(options as Partial<TrainingOptions>),
    });
  });
  reportRun(run, "pretrain", args);
}
