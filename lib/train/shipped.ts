/**
 * Checkpoints shipped with the course: so that a class can open chapter 6 without an hour and a half of
 * pretraining first, the repository carries the course's own trained models in `checkpoints/`:
 *
 *   checkpoints/manifest.json          what each file is, its SHA-256, the command and commit that made it,
 *                                      its headline numbers, and a loss to reproduce on a fixed batch
 *   checkpoints/tokenizer.json         chapter 2's byte-level BPE, which every shipped model was trained with
 *   checkpoints/<name>/config.json     Hugging Face GPT-2 config
 *   checkpoints/<name>/model.safetensors   float16 weights by GPT-2 name (half the bytes of float32)
 *
 * A model of your own in runs/<stage> always takes precedence; a shipped one is used only when runs/ has none,
 * never in quick mode (CI and quick runs train their own tiny models), and installing one says so
 * ({@link installShipped}: it becomes an ordinary checkpoint in runs/<stage>). `npx tiaoyu ship` writes them.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { isQuick, projectPath, projectRoot } from "../course";
import { writeFileAtomic } from "../io/atomic";
import { writeSafetensors } from "../io/safetensors";
import { GPT } from "../model/gpt";
import { configToHF, loadModel, modelTensors } from "../model/gpt2format";
import { type JsonRecord, latestCheckpoint, saveTrainingCheckpoint, type TokenizerIdentity } from "./checkpoint";
import { STAGES, type StageName, stageDir } from "./registry";
import type { TokenBatch } from "./blocks";

/** One shipped model in the manifest. */
export interface ShippedModel {
  /** The course stage whose checkpoint it stands in for ("anneal": the base model at the end of chapter 5). */
  readonly stage: string;
  /** Its folder under checkpoints/. */
  readonly dir: string;
  readonly parameters: number;
  readonly tokenizer: TokenizerIdentity;
  /** How it was made: the command line, the commit of the project, and when. */
  readonly producedBy: { readonly command: string; readonly commit: string; readonly date: string };
  /** Its headline numbers as the chapters report them (validation loss, accuracies …). */
  readonly numbers: Readonly<Record<string, number>>;
  /**
   * The run's facts (its meta.json's `extra`: what the stage recorded about its data, e.g. chapter 7's share of
   * rewritten answers), restored into the installed checkpoint's meta.json so a chapter reads them as from its own run.
   */
  readonly facts?: JsonRecord;
  /** A loss anyone can reproduce: the first `rows` blocks of the validation stream, and the loss of these weights on them. */
  readonly check: { readonly split: "validation"; readonly rows: number; readonly batchSha256: string; readonly loss: number };
}

export interface ShippedManifest {
  readonly format: "tiaoyu-shipped";
  readonly version: 1;
  /** Every file under checkpoints/ but the manifest: size and SHA-256. */
  readonly files: Readonly<Record<string, { readonly bytes: number; readonly sha256: string }>>;
  readonly models: Readonly<Record<string, ShippedModel>>;
}

/** The folder of shipped checkpoints: checkpoints/ in the project (TIAOYU_SHIPPED_DIR elsewhere, e.g. an empty one in tests). */
export function shippedDir(): string {
  return process.env.TIAOYU_SHIPPED_DIR || path.join(projectRoot(), "checkpoints");
}

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** The SHA-256 of a batch's token ids: says whether a check batch is the one recorded. */
export function batchSha256(batch: TokenBatch): string {
  return crypto.createHash("sha256").update(Buffer.from(batch.x.buffer, batch.x.byteOffset, batch.x.byteLength)).update(Buffer.from(batch.y.buffer, batch.y.byteOffset, batch.y.byteLength)).digest("hex");
}

/** Reads and checks manifest.json; null when the folder has none. Errors name the file and the field. */
export function readShippedManifest(dir = shippedDir()): ShippedManifest | null {
  const file = path.join(dir, "manifest.json");
  if (!fs.existsSync(file)) return null;
  let json: ShippedManifest;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8")) as ShippedManifest;
  } catch (e) {
    throw new Error(`${projectPath(file)}: not valid JSON (${(e as Error).message})`);
  }
  if (json.format !== "tiaoyu-shipped" || json.version !== 1) throw new Error(`${projectPath(file)}: format must be "tiaoyu-shipped" version 1, got ${JSON.stringify(json.format)} version ${JSON.stringify(json.version)}`);
  if (typeof json.files !== "object" || json.files === null) throw new Error(`${projectPath(file)}: field 'files' must be an object`);
  if (typeof json.models !== "object" || json.models === null) throw new Error(`${projectPath(file)}: field 'models' must be an object`);
  for (const [name, m] of Object.entries(json.models)) {
    for (const f of ["stage", "dir"] as const) if (typeof m[f] !== "string" || !m[f]) throw new Error(`${projectPath(file)}: models.${name}.${f} must be a non-empty string`);
    if (!m.check || !Number.isFinite(m.check.loss) || !Number.isInteger(m.check.rows) || m.check.rows < 1) throw new Error(`${projectPath(file)}: models.${name}.check must have a finite loss and a whole number of rows ≥ 1`);
  }
  return json;
}

/**
 * Checks every file of the manifest against its size and SHA-256. Returns the problems (empty when all is well):
 * a changed, missing or unlisted file.
 */
export function verifyShipped(dir = shippedDir()): string[] {
  const manifest = readShippedManifest(dir);
  if (!manifest) return [`${projectPath(dir)}: no manifest.json`];
  const problems: string[] = [];
  for (const [rel, want] of Object.entries(manifest.files)) {
    const file = path.join(dir, rel);
    if (!fs.existsSync(file)) problems.push(`${rel}: missing`);
    else if (fs.statSync(file).size !== want.bytes) problems.push(`${rel}: ${fs.statSync(file).size} bytes, the manifest says ${want.bytes}`);
    else if (sha256(file) !== want.sha256) problems.push(`${rel}: SHA-256 differs from the manifest's (the file was changed)`);
  }
  const listed = new Set(Object.keys(manifest.files));
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.relative(dir, path.join(d, e.name)).split(path.sep).join("/")]));
  for (const rel of walk(dir)) if (rel !== "manifest.json" && !listed.has(rel)) problems.push(`${rel}: not in the manifest`);
  return problems;
}

/** The shipped model that stands in for `stage`, or null (none shipped, or quick mode: quick runs never use one). */
export function shippedModelFor(stage: string, dir = shippedDir()): { name: string; model: ShippedModel } | null {
  if (isQuick()) return null;
  const manifest = readShippedManifest(dir);
  const hit = manifest && Object.entries(manifest.models).find(([, m]) => m.stage === stage);
  return hit ? { name: hit[0], model: hit[1] } : null;
}

/**
 * Loads a shipped model after checking its files. The caller disposes `model`.
 * @example const { model } = loadShipped("base");   // the annealed base model of chapter 5
 */
export function loadShipped(name: string, dir = shippedDir()): { model: GPT; entry: ShippedModel; dir: string } {
  const manifest = readShippedManifest(dir);
  const entry = manifest?.models[name];
  if (!manifest || !entry) throw new Error(`no shipped model '${name}' in ${projectPath(dir)}/manifest.json (shipped: ${manifest ? Object.keys(manifest.models).join(", ") || "none" : "no manifest"})`);
  const mine = verifyShipped(dir).filter((p) => p.startsWith(`${entry.dir}/`) || p.startsWith("tokenizer.json"));
  if (mine.length) throw new Error(`shipped model '${name}' in ${projectPath(dir)} is damaged: ${mine.join("; ")} (git checkout -- checkpoints restores it)`);
  const { model } = loadModel(path.join(dir, entry.dir));
  return { model, entry, dir: path.join(dir, entry.dir) };
}

/** Mean next-token loss of a model on one batch. */
export function batchLoss(model: GPT, batch: TokenBatch): number {
  const loss = tf.tidy(() => {
    const x = tf.tensor2d(batch.x, [batch.batchSize, batch.blockSize], "int32");
    const y = tf.tensor2d(batch.y, [batch.batchSize, batch.blockSize], "int32");
    return model.loss(x, y);
  });
  const v = loss.dataSync()[0];
  loss.dispose();
  return v;
}

/** What {@link shipModel} records besides the weights. */
export interface ShipOptions {
  readonly stage: string;
  readonly tokenizerFile: string;
  readonly tokenizer: TokenizerIdentity;
  /** The fixed check batch: the first rows of the validation stream. */
  readonly checkBatch: TokenBatch;
  readonly command: string;
  readonly commit: string;
  readonly numbers: Readonly<Record<string, number>>;
  /** The run's facts (meta.json's extra), see ShippedModel.facts. */
  readonly facts?: JsonRecord;
  readonly dir?: string;
}

/**
 * Writes a model into checkpoints/<name> as float16 and records it in the manifest, with the loss of the float16
 * weights (as loaded back) on the check batch. Every file is written atomically; the manifest last.
 */
export async function shipModel(name: string, model: GPT, o: ShipOptions): Promise<ShippedModel> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`shipModel: name '${name}' must be lower-case letters, digits and '-'`);
  const dir = o.dir ?? shippedDir();
  const modelDir = path.join(dir, name);
  fs.mkdirSync(modelDir, { recursive: true });
  const half = new Map([...modelTensors(model)].map(([n, t]) => [n, { ...t, dtype: "F16" as const }]));
  await writeSafetensors(path.join(modelDir, "model.safetensors"), half, { format: "pt" });
  await writeFileAtomic(path.join(modelDir, "config.json"), JSON.stringify(configToHF(model.config), null, 2) + "\n");
  const tokenizerBytes = fs.readFileSync(o.tokenizerFile);
  const old = readShippedManifest(dir);
  const shippedTok = path.join(dir, "tokenizer.json");
  const others = Object.keys(old?.models ?? {}).filter((n) => n !== name);
  if (others.length && fs.existsSync(shippedTok) && !tokenizerBytes.equals(fs.readFileSync(shippedTok))) {
    throw new Error(`shipModel: ${projectPath(o.tokenizerFile)} differs from the shipped ${projectPath(shippedTok)} that ${others.join(", ")} were trained with; every shipped model must share one tokenizer`);
  }
  await writeFileAtomic(shippedTok, tokenizerBytes);

  const reloaded = loadModel(modelDir).model;
  let loss: number;
  try {
    loss = batchLoss(reloaded, o.checkBatch);
  } finally {
    reloaded.dispose();
  }
  const entry: ShippedModel = {
    stage: o.stage,
    dir: name,
    parameters: model.numParameters(),
    tokenizer: o.tokenizer,
    producedBy: { command: o.command, commit: o.commit, date: new Date().toISOString() },
    numbers: o.numbers,
    ...(o.facts ? { facts: o.facts } : {}),
    check: { split: "validation", rows: o.checkBatch.batchSize, batchSha256: batchSha256(o.checkBatch), loss },
  };
  const files: Record<string, { bytes: number; sha256: string }> = { ...(old?.files ?? {}) };
  for (const rel of ["tokenizer.json", `${name}/config.json`, `${name}/model.safetensors`]) {
    const file = path.join(dir, rel);
    files[rel] = { bytes: fs.statSync(file).size, sha256: sha256(file) };
  }
  const manifest: ShippedManifest = { format: "tiaoyu-shipped", version: 1, files, models: { ...(old?.models ?? {}), [name]: entry } };
  await writeFileAtomic(path.join(dir, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
  return entry;
}

/**
 * Puts the shipped model that stands in for `stage` into its run folder as an ordinary checkpoint (float32 weights,
 * meta.json naming the shipped model; no optimizer state, so it loads but cannot be resumed). From then on every
 * chapter and command reads runs/<stage> as if the learner had trained it. Returns false, doing nothing, in quick
 * mode, when nothing is shipped for `stage`, or when runs/<stage> already has a checkpoint (the learner's own
 * always wins). Throws when `tokenizer` is given and is not the one the shipped model was trained with.
 * @example await installShipped("anneal")   // runs/anneal from checkpoints/base, when runs/anneal is empty
 */
export async function installShipped(
  stage: StageName,
  options: { tokenizer?: TokenizerIdentity; log?: (line: string) => void; dir?: string } = {},
): Promise<boolean> {
  const runDir = stageDir(stage);
  if (latestCheckpoint(runDir)) return false;
  const hit = shippedModelFor(stage, options.dir);
  if (!hit) return false;
  const want = options.tokenizer;
  if (want && (want.hash !== hit.model.tokenizer.hash || want.vocabSize !== hit.model.tokenizer.vocabSize)) {
    throw new Error(
      `the shipped model '${hit.name}' for stage '${stage}' was trained with tokenizer ${hit.model.tokenizer.name ?? ""} ${hit.model.tokenizer.hash}, ` +
        `not ${want.name ?? ""} ${want.hash}: train stage '${stage}' yourself (${STAGES[stage].command}) or use the course's tokenizer`,
    );
  }
  const { model, entry, dir } = loadShipped(hit.name, options.dir);
  try {
    const at = (k: string) => (Number.isInteger(entry.numbers[k]) && entry.numbers[k] >= 0 ? entry.numbers[k] : 0);
    await saveTrainingCheckpoint(runDir, {
      stage,
      from: STAGES[stage].from,
      step: at("step"),
      tokens: at("tokens"),
      config: configToHF(model.config) as JsonRecord,
      weights: model.parameters(),
      tokenizer: entry.tokenizer,
      extra: { ...entry.facts, shipped: hit.name, producedBy: { ...entry.producedBy }, checkLoss: entry.check.loss },
    });
  } finally {
    model.dispose();
  }
  (options.log ?? console.log)(
    `no checkpoint of stage '${stage}' in ${projectPath(runDir)}: installed the course's shipped model ${projectPath(dir)} there ` +
      `(step ${entry.numbers.step ?? "?"}, made by \`${entry.producedBy.command}\` at ${entry.producedBy.commit.slice(0, 7)}; it loads but cannot be resumed). ` +
      `To train your own instead: ${STAGES[stage].command} --fresh`,
  );
  return true;
}
