/**
 * LoRA adapters on disk, in PEFT's layout (adapter_config.json + adapter_model.safetensors): saved alone, a few
 * hundred kilobytes instead of the whole model, and loaded back onto the base they were trained on.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { projectPath } from "../course";
import { writeFileAtomic } from "../io/atomic";
import { readSafetensors, writeSafetensors } from "../io/safetensors";
import { checkWeightsFit } from "../model/weightsFit";
import type { GPT } from "../model/gpt";
import type { Tokenizer } from "../tokenizer/types";
import { loadStage } from "./handoff";
import { applyLora, linearLayers, type LoraAdapter, type LoraAdapterConfigJson } from "./lora";
import { stageDir } from "./registry";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

/**
 * Saves only the adapters: dir/adapter_model.safetensors (A and B of each layer) and dir/adapter_config.json.
 * The base model is not copied: the adapter is loaded onto it again with {@link loadLoraAdapter}.
 * @returns the size of the weights file in bytes
 */
export async function saveLoraAdapter(dir: string, adapter: LoraAdapter): Promise<number> {
  if (adapter.merged) throw new Error("saveLoraAdapter: the adapter is merged into the base weights; unmerge() it first");
  fs.mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, v] of adapter.trainable()) tensors.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
  const file = path.join(dir, ADAPTER_WEIGHTS_FILE);
  await writeSafetensors(file, tensors, { format: "pt" });
  // The config last: its presence says the weights are complete.
  await writeFileAtomic(path.join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(adapter.configJson(), null, 2) + "\n");
  return fs.statSync(file).size;
}

/**
 * Attaches a saved adapter to `model` (the base it was trained on). Fails, naming the layer and both shapes, when
 * the base does not fit: another preset or vocabulary, or layers the adapter has and the model lacks.
 */
export function loadLoraAdapter(dir: string, model: GPT): LoraAdapter {
  const cfgFile = path.join(dir, ADAPTER_CONFIG_FILE);
  const where = projectPath(cfgFile); // for messages
  if (!fs.existsSync(cfgFile)) throw new Error(`no LoRA adapter in ${projectPath(dir)}: ${ADAPTER_CONFIG_FILE} is missing`);
  const cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8")) as LoraAdapterConfigJson;
  if (cfg.format !== "tiaoyu-lora") throw new Error(`${where}: format '${cfg.format}' is not a TIAOYU LoRA adapter`);
  if (cfg.version !== 1) throw new Error(`${where}: version ${cfg.version} is newer than this code (1)`);
  const layers = linearLayers(model);
  for (const [name, [i, o]] of Object.entries(cfg.layers)) {
    const l = layers.get(name);
    if (!l) throw new Error(`${where}: the adapter has layer ${name}, which the base model lacks (it has ${model.config.nLayer} blocks): a different base model`);
    const [mi, mo] = l.weight.shape;
    if (mi !== i || mo !== o) {
      throw new Error(`${where}: layer ${name} was adapted on a ${i}×${o} weight, but this base model's is ${mi}×${mo}: the adapter belongs to another base model`);
    }
  }
  const [V, D] = model.wte.weight.shape;
  if (cfg.trainableTokens.length && (cfg.embedding[0] !== V || cfg.embedding[1] !== D)) {
    throw new Error(`${where}: the adapter corrects token rows of a ${cfg.embedding[0]}×${cfg.embedding[1]} embedding, but this base model's is ${V}×${D}: another tokenizer or base model`);
  }
  const { tensors } = readSafetensors(path.join(dir, ADAPTER_WEIGHTS_FILE));
  const adapter = applyLora(model, { rank: cfg.rank, alpha: cfg.alpha, targets: Object.keys(cfg.layers), trainableTokens: cfg.trainableTokens });
  try {
    const vars = adapter.trainable();
    // The model here is the adapters that its config describes.
    checkWeightsFit(vars, tensors, path.join(dir, ADAPTER_WEIGHTS_FILE), `the adapters of ${path.join(dir, ADAPTER_CONFIG_FILE)}`);
    for (const [name, v] of vars) {
      const t = tensors.get(name)!;
      tf.tidy(() => v.assign(tf.tensor(t.data, [...t.shape], "float32")));
    }
  } catch (e) {
    adapter.dispose();
    throw e;
  }
  return adapter;
}

/**
 * Chapter 8's result: the base model (chapter 5's end) with the adapter of runs/lora attached. The caller disposes the
 * adapter, then the model.
 */
export async function loadLoraStage(tokenizer: Tokenizer): Promise<{ model: GPT; lora: LoraAdapter }> {
  const dir = path.join(stageDir("lora"), "adapter");
  if (!fs.existsSync(path.join(dir, ADAPTER_WEIGHTS_FILE))) throw new Error(`no LoRA adapter in ${dir}: run chapter 8's notebook, or npx tiaoyu sft --lora, first`);
  const { model } = loadStage("anneal", { tokenizer });
  try {
    return { model, lora: loadLoraAdapter(dir, model) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
