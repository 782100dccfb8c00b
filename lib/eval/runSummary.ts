/**
 * What a stage's run folder says about its training: steps, time, trainable parameters and the size of what it
 * saved (chapter 8's full fine-tuning vs LoRA table).
 */
import * as fs from "fs";
import * as path from "path";
import { type CheckpointMeta, type JsonValue, latestCheckpoint } from "../train/checkpoint";
import { ADAPTER_WEIGHTS_FILE } from "../train/loraFiles";
import { readTrainingLog } from "../train/loop";
import { type StageName, stageDir } from "../train/registry";

/** What a finished SFT or LoRA run cost, read from its run folder (for the comparison table of chapter 8). */
export interface StageTrainingSummary {
  readonly stage: string;
  readonly steps: number;
  /** Seconds of training, from log.jsonl (the last uninterrupted part, for a resumed run). */
  readonly seconds: number;
  readonly trainableParameters: number | null;
  readonly totalParameters: number | null;
  /** Bytes of the weights a reader keeps: model.safetensors, or for LoRA only adapter/adapter_model.safetensors. */
  readonly checkpointBytes: number;
}

/**
 * Reads a stage's run folder: steps, training time, trainable parameters and the size of what it saved.
 * @example stageTrainingSummary("lora").checkpointBytes   // the adapter alone
 */
export function stageTrainingSummary(stage: StageName): StageTrainingSummary {
  const dir = stageDir(stage);
  const ckpt = latestCheckpoint(dir);
  if (!ckpt) throw new Error(`no checkpoint for stage '${stage}' in ${dir}`);
  const meta = JSON.parse(fs.readFileSync(path.join(ckpt, "meta.json"), "utf8")) as CheckpointMeta;
  const log = readTrainingLog(dir).train;
  const num = (v: JsonValue | undefined) => (typeof v === "number" ? v : null);
  const adapter = path.join(dir, "adapter", ADAPTER_WEIGHTS_FILE);
  const weights = fs.existsSync(adapter) ? adapter : path.join(ckpt, "model.safetensors");
  return {
    stage,
    steps: meta.step,
    seconds: log.length ? log[log.length - 1].seconds : 0,
    trainableParameters: num(meta.extra?.trainableParameters),
    totalParameters: num(meta.extra?.totalParameters),
    checkpointBytes: fs.statSync(weights).size,
  };
}
