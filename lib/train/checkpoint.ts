/**
 * Checkpoints: a training run's complete state in one folder, written so that a crash never destroys the last one.
 *
 * A stage's run folder (`runs/pretrain`, `runs/sft`, …) holds
 *
 *   runs/pretrain/
 *     latest                  "step-00001200": which checkpoint is current (replaced atomically)
 *     step-00001200/
 *       config.json           the model's configuration (Hugging Face GPT-2 fields for GPT models)
 *       model.safetensors     the weights under Hugging Face names: PyTorch users can load this folder
 *       optimizer.safetensors AdamW's m and v for every trained weight
 *       meta.json             step, stage, RNG state, data position, tokenizer identity, training options,
 *                             and the size and SHA-256 of every file above
 *     log.jsonl               the loss curves (written by the training loop)
 *
 * Why a pointer file and new folders, instead of overwriting `model.safetensors` in place: a save that is killed
 * halfway (Ctrl-C, a closed laptop lid, the kernel restarted by an impatient reader) would otherwise leave half a
 * file where the only copy of hours of training used to be. Instead a save
 *   1. writes every file into a hidden temporary folder and fsyncs them,
 *   2. renames the folder to `step-N` (one atomic step; the folder is complete before it has its real name),
 *   3. replaces `latest` atomically (temporary file + fsync + rename),
 *   4. only then deletes the checkpoints it replaces.
 * Killed before 3, `latest` still names the previous checkpoint, which nothing has touched; killed after 3, the new
 * one is complete. Temporary folders of dead processes are swept at the next save.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { fsyncDirSync, writeFileAtomic } from "../io/atomic";
import type { NamedVariables, OptimizerState } from "./optimizer";
import { decodeSafetensors, encodeSafetensors, type SafeTensorInput } from "../io/safetensors";
import { checkWeightsFit } from "../model/weightsFit";
import type { RngState } from "../rng";

/** A value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonRecord = { readonly [key: string]: JsonValue };

/** Which tokenizer produced the ids a model was trained on: a model is meaningless with another one. */
export interface TokenizerIdentity {
  /** A hash of the tokenizer's full definition (vocabulary, merges, special tokens). */
  readonly hash: string;
  readonly vocabSize: number;
  /** For messages only, e.g. "byte-level BPE, 6400 tokens". */
  readonly name?: string;
}

/** Everything a checkpoint holds, as handed to {@link saveTrainingCheckpoint}. */
export interface CheckpointState {
  /** The stage that wrote it: "pretrain", "sft", … */
  readonly stage: string;
  /** The stage whose checkpoint this run started from, if any (the lineage, for people reading meta.json). */
  readonly from?: string | null;
  /** Optimizer steps taken (the number the next run continues from). */
  readonly step: number;
  /** Training tokens seen so far. */
  readonly tokens?: number;
  /** config.json's contents. */
  readonly config: JsonRecord;
  /** The weights, by checkpoint name. */
  readonly weights: NamedVariables;
  /** AdamW's state and settings; absent for a checkpoint made without training (e.g. a converted model). */
  readonly optimizer?: OptimizerState & { readonly config?: JsonRecord };
  /** The training loop's random stream, so dropout seeds continue where they stopped. */
  readonly rng?: RngState;
  /** The batch sampler's position (its own JSON). */
  readonly data?: JsonValue;
  readonly tokenizer?: TokenizerIdentity | null;
  /** The training options of the run (learning rate, batch size, …), for the record and for resuming. */
  readonly train?: JsonRecord;
  /** Anything else the stage wants to keep (e.g. the final validation loss). */
  readonly extra?: JsonRecord;
}

/** meta.json: everything but the tensors, plus an inventory of the files. */
export interface CheckpointMeta {
  readonly format: "tiaoyu-checkpoint";
  readonly version: 1;
  readonly stage: string;
  readonly from: string | null;
  readonly step: number;
  readonly tokens: number;
  readonly rng: RngState | null;
  readonly data: JsonValue;
  readonly tokenizer: TokenizerIdentity | null;
  readonly optimizer: { readonly step: number; readonly config: JsonRecord | null } | null;
  readonly train: JsonRecord | null;
  readonly extra: JsonRecord | null;
  readonly createdAt: string;
  /** Size and SHA-256 of every other file of the checkpoint, checked on load. */
  readonly files: { readonly [file: string]: { readonly bytes: number; readonly sha256: string } };
}

/** The points of a save, in order; tests stop a child process at each one to prove the save is crash-safe. */
export type SavePhase = "temp-folder-written" | "folder-renamed" | "pointer-written" | "old-renamed" | "done";

export interface SaveOptions {
  /** How many checkpoints to keep in the run folder, newest first (default 1: the previous one goes once the new one is current). */
  readonly keep?: number;
  /** Called (and awaited) after each phase of the save. */
  readonly onPhase?: (phase: SavePhase, dir: string) => void | Promise<void>;
}

const POINTER = "latest";
const TEMP_PREFIX = ".tmp-";
const STEP_DIR = /^step-(\d+)(?:\.(\d+))?$/; // step-00000200, or step-00000200.1 when that step was saved again

/** The folder name of the checkpoint at `step`: zero-padded so that folders sort by step. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

async function writeAndSync(file: string, chunks: readonly Uint8Array[]): Promise<{ bytes: number; sha256: string }> {
  const hash = crypto.createHash("sha256");
  const fh = await fs.promises.open(file, "wx");
  let bytes = 0;
  try {
    for (const c of chunks) {
      hash.update(c);
      let off = 0;
      while (off < c.length) off += (await fh.write(c, off, c.length - off)).bytesWritten;
      bytes += c.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { bytes, sha256: hash.digest("hex") };
}

/** Copies tensors to host memory, awaiting each so that the GPU or wasm heap is read without blocking the event loop. */
async function toHost(tensors: Iterable<[string, tf.Tensor]>): Promise<Map<string, SafeTensorInput>> {
  const out = new Map<string, SafeTensorInput>();
  for (const [name, t] of tensors) {
    if (t.dtype !== "float32" && t.dtype !== "int32") throw new Error(`tensor '${name}': dtype ${t.dtype} cannot be saved (float32 or int32 only)`);
    out.set(name, { shape: [...t.shape], data: (await t.data()) as Float32Array | Int32Array });
  }
  return out;
}


function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes temporary folders of saves whose process is gone (a kill leaves them behind); returns their names. */
function sweepTemps(runDir: string): string[] {
  const removed: string[] = [];
  for (const name of fs.existsSync(runDir) ? fs.readdirSync(runDir) : []) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(name.slice(TEMP_PREFIX.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) continue;
    if (pid === process.pid) continue; // our own save in progress (not possible in one loop, but never delete it)
    fs.rmSync(path.join(runDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Cleans what interrupted saves left in a run folder: temporary folders of dead processes, and step-N folders
 * without meta.json (a save or a deletion cut short: never a checkpoint, since meta.json is written last and a
 * deletion renames the folder away first). The training loop calls it when a run starts, and says what it removed.
 * @returns the names removed
 */
export function sweepRunFolder(runDir: string): string[] {
  const removed = sweepTemps(runDir);
  for (const name of fs.existsSync(runDir) ? fs.readdirSync(runDir) : []) {
    const dir = path.join(runDir, name);
    if (!STEP_DIR.test(name) || !fs.statSync(dir).isDirectory() || fs.existsSync(path.join(dir, "meta.json"))) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(name);
  }
  if (removed.length) fsyncDirSync(runDir);
  return removed;
}

/**
 * Saves a checkpoint into `runDir` as `step-N/` and makes it the current one; see the file comment for why it is
 * crash-safe. Returns the checkpoint's folder.
 */
export async function saveTrainingCheckpoint(runDir: string, state: CheckpointState, options: SaveOptions = {}): Promise<string> {
  const keep = options.keep ?? 1;
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`saveTrainingCheckpoint: keep = ${keep} must be an integer ≥ 1`);
  if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`saveTrainingCheckpoint: step ${state.step} is not an integer ≥ 0`);
  await fs.promises.mkdir(runDir, { recursive: true });
  sweepTemps(runDir);

  const name = checkpointName(state.step);
  const tmp = path.join(runDir, `${TEMP_PREFIX}${process.pid}-${crypto.randomBytes(4).toString("hex")}-${name}`);
  await fs.promises.mkdir(tmp);
  try {
    const files: Record<string, { bytes: number; sha256: string }> = {};
    const json = (x: unknown) => [Buffer.from(JSON.stringify(x, null, 2) + "\n", "utf8")];
    files["config.json"] = await writeAndSync(path.join(tmp, "config.json"), json(state.config));
    const weights = await toHost(state.weights);
    files["model.safetensors"] = await writeAndSync(
      path.join(tmp, "model.safetensors"),
      [encodeSafetensors(weights, { format: "pt", stage: state.stage, step: String(state.step) })],
    );
    if (state.optimizer) {
      const opt = await toHost(Object.entries(state.optimizer.tensors));
      files["optimizer.safetensors"] = await writeAndSync(path.join(tmp, "optimizer.safetensors"), [encodeSafetensors(opt)]);
    }
    const meta: CheckpointMeta = {
      format: "tiaoyu-checkpoint",
      version: 1,
      stage: state.stage,
      from: state.from ?? null,
      step: state.step,
      tokens: state.tokens ?? 0,
      rng: state.rng ?? null,
      data: state.data ?? null,
      tokenizer: state.tokenizer ?? null,
      optimizer: state.optimizer ? { step: state.optimizer.step, config: state.optimizer.config ?? null } : null,
      train: state.train ?? null,
      extra: state.extra ?? null,
      createdAt: new Date().toISOString(),
      files,
    };
    await writeAndSync(path.join(tmp, "meta.json"), json(meta)); // last: a folder with meta.json is complete
    fsyncDirSync(tmp);
    await options.onPhase?.("temp-folder-written", tmp);

    // Saving the same step twice (e.g. a stage re-saved with new extras) must not touch the folder `latest` may
    // name, so the second one gets a generation suffix: step-00000200.1.
    let final = path.join(runDir, name);
    for (let gen = 1; fs.existsSync(final); gen++) final = path.join(runDir, `${name}.${gen}`);
    await fs.promises.rename(tmp, final);
    fsyncDirSync(runDir);
    await options.onPhase?.("folder-renamed", final);

    await writeFileAtomic(path.join(runDir, POINTER), path.basename(final) + "\n");
    await options.onPhase?.("pointer-written", final);

    const older = listCheckpoints(runDir).filter((c) => c.dir !== final);
    for (const c of older.slice(0, Math.max(0, older.length - (keep - 1)))) {
      // Renamed to a temporary name first (one atomic step), then deleted: a kill halfway through the deletion
      // leaves a temporary folder that the next start sweeps, never a half-deleted step-N that looks like a checkpoint.
      const doomed = path.join(runDir, `${TEMP_PREFIX}${process.pid}-${crypto.randomBytes(4).toString("hex")}-old-${c.name}`);
      await fs.promises.rename(c.dir, doomed);
      fsyncDirSync(runDir);
      await options.onPhase?.("old-renamed", doomed);
      await fs.promises.rm(doomed, { recursive: true, force: true });
    }
    await options.onPhase?.("done", final);
    return final;
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The complete checkpoints in a run folder (those with meta.json), oldest first. */
export function listCheckpoints(runDir: string): { name: string; dir: string; step: number }[] {
  if (!fs.existsSync(runDir)) return [];
  return fs
    .readdirSync(runDir)
    .map((name) => ({ name, m: STEP_DIR.exec(name) }))
    .filter((x) => x.m && fs.existsSync(path.join(runDir, x.name, "meta.json")))
    .map((x) => ({ name: x.name, dir: path.join(runDir, x.name), step: Number(x.m![1]), gen: Number(x.m![2] ?? 0) }))
    .sort((a, b) => a.step - b.step || a.gen - b.gen)
    .map(({ name, dir, step }) => ({ name, dir, step }));
}

/**
 * The current checkpoint folder of a run: the one `latest` names, or (if `latest` is missing or names a folder
 * that is gone) the newest complete one. Null when the run has none.
 */
export function latestCheckpoint(runDir: string): string | null {
  const pointer = path.join(runDir, POINTER);
  if (fs.existsSync(pointer)) {
    const name = fs.readFileSync(pointer, "utf8").trim();
    const dir = path.join(runDir, name);
    if (STEP_DIR.test(name) && fs.existsSync(path.join(dir, "meta.json"))) return dir;
  }
  const all = listCheckpoints(runDir);
  return all.length ? all[all.length - 1].dir : null;
}

/** A checkpoint read back: its tensors live in memory until {@link LoadedCheckpoint.dispose}. */
export interface LoadedCheckpoint {
  readonly dir: string;
  readonly meta: CheckpointMeta;
  readonly config: JsonRecord;
  /** Weights by checkpoint name. */
  readonly weights: ReadonlyMap<string, tf.Tensor>;
  /** AdamW's state, or null when the checkpoint has none or it was not asked for. */
  readonly optimizer: OptimizerState | null;
  dispose(): void;
}

export interface LoadOptions {
  /** Fail unless the checkpoint was trained with this tokenizer. */
  readonly tokenizer?: TokenizerIdentity;
  /** Fail unless config.json has these values (e.g. the config of the model about to receive the weights). */
  readonly config?: JsonRecord;
  /** Also load optimizer.safetensors (to resume training). Default false. */
  readonly optimizer?: boolean;
}

function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function readJson<T>(file: string): T {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new Error(`${file} is a folder; a JSON file was expected there`);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** The most optimizer steps a checkpoint may claim: the course's longest run is 10,000; a billion is a damaged file. */
export const MAX_CHECKPOINT_STEP = 10_000_000;

/**
 * Checks meta.json field by field before anything trusts it, so that a damaged or hand-edited file fails here,
 * naming the file, the field, the value and what is allowed, instead of resuming at step 1e9 or at epoch −5.
 */
export function validateMeta(raw: unknown, file: string): CheckpointMeta {
  const fail = (field: string, value: unknown, allowed: string): never => {
    throw new Error(`${file}: field '${field}' is ${JSON.stringify(value)}; allowed: ${allowed}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("(top level)", raw, "a JSON object");
  const m = raw as Record<string, unknown>;
  if (m.format !== "tiaoyu-checkpoint") fail("format", m.format, `"tiaoyu-checkpoint" (this is not a TIAOYU checkpoint)`);
  if (m.version !== 1) fail("version", m.version, "1 (a newer version needs newer code)");
  if (typeof m.stage !== "string" || !m.stage) fail("stage", m.stage, "a stage name such as \"pretrain\"");
  const count = (field: string, value: unknown, max: number) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > max) {
      fail(field, value, `an integer from 0 to ${max.toLocaleString("en-US")}`);
    }
  };
  count("step", m.step, MAX_CHECKPOINT_STEP);
  count("tokens", m.tokens, Number.MAX_SAFE_INTEGER);
  if (m.from !== null && m.from !== undefined && typeof m.from !== "string") fail("from", m.from, "a stage name or null");
  if (m.rng !== null && m.rng !== undefined) {
    const r = m.rng;
    if (!Array.isArray(r) || r.length !== 4 || !r.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) || r.every((w) => w === 0)) {
      fail("rng", r, "four unsigned 32-bit integers, not all 0");
    }
  }
  if (m.optimizer !== null && m.optimizer !== undefined) {
    const o = m.optimizer as Record<string, unknown>;
    if (typeof o !== "object") fail("optimizer", o, "an object with step and config, or null");
    count("optimizer.step", o.step, MAX_CHECKPOINT_STEP);
  }
  if (m.tokenizer !== null && m.tokenizer !== undefined) {
    const t = m.tokenizer as Record<string, unknown>;
    if (typeof t !== "object" || typeof t.hash !== "string") fail("tokenizer", t, "{ hash, vocabSize } or null");
    count("tokenizer.vocabSize", t.vocabSize, 10_000_000);
  }
  // The data position (each sampler's own JSON): its counters must be counts, whatever the sampler.
  const positions = (value: unknown, where: string): void => {
    if (Array.isArray(value)) value.forEach((v, i) => positions(v, `${where}[${i}]`));
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (["epoch", "index", "step", "position", "offset"].includes(k)) count(`${where}.${k}`, v, 2 ** 31 - 1);
        else positions(v, `${where}.${k}`);
      }
    }
  };
  positions(m.data, "data");
  if (typeof m.files !== "object" || m.files === null) fail("files", m.files, "an object of { bytes, sha256 } per file");
  for (const [name, info] of Object.entries(m.files as Record<string, unknown>)) {
    const i = info as Record<string, unknown>;
    if (typeof i !== "object" || i === null) fail(`files.${name}`, i, "{ bytes, sha256 }");
    count(`files.${name}.bytes`, i.bytes, Number.MAX_SAFE_INTEGER);
    if (typeof i.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(i.sha256)) fail(`files.${name}.sha256`, i.sha256, "64 hexadecimal digits");
  }
  return m as unknown as CheckpointMeta;
}

/**
 * Loads a checkpoint: `dir` is a checkpoint folder, or a run folder (its current checkpoint is loaded).
 * Checks every file against meta.json's size and hash, and the tokenizer and config against `options`; any
 * disagreement throws with both values, because weights silently loaded into the wrong setting produce nonsense.
 *
 * @example const ckpt = loadTrainingCheckpoint("runs/pretrain", { tokenizer: tok.identity() });
 */
export function loadTrainingCheckpoint(dir: string, options: LoadOptions = {}): LoadedCheckpoint {
  if (!fs.existsSync(dir)) throw new Error(`no checkpoint at ${dir}: the folder does not exist`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir} is a file; a checkpoint folder (step-N) or a run folder was expected`);
  const found = fs.existsSync(path.join(dir, "meta.json")) ? dir : latestCheckpoint(dir);
  if (!found) throw new Error(`no checkpoint in ${dir}: it has neither meta.json nor a complete step-N folder`);
  const meta = readCheckpointMeta(found);

  const bytesOf = (file: string): Buffer => {
    const p = path.join(found, file);
    const info = meta.files[file];
    if (!info) throw new Error(`${found}/meta.json does not list ${file}`);
    if (!fs.existsSync(p)) throw new Error(`${p} is missing (meta.json lists it): the checkpoint is incomplete`);
    if (fs.statSync(p).isDirectory()) throw new Error(`${p} is a folder; meta.json lists it as a file of ${info.bytes} bytes`);
    const buf = fs.readFileSync(p);
    if (buf.length !== info.bytes) throw new Error(`${p}: ${buf.length} bytes, meta.json says ${info.bytes} (truncated or replaced)`);
    const sha = crypto.createHash("sha256").update(buf).digest("hex");
    if (sha !== info.sha256) throw new Error(`${p}: SHA-256 ${sha.slice(0, 12)}… differs from meta.json's ${info.sha256.slice(0, 12)}… (corrupted)`);
    return buf;
  };

  const configBytes = bytesOf("config.json");
  let config: JsonRecord;
  try {
    config = JSON.parse(configBytes.toString("utf8")) as JsonRecord;
  } catch (e) {
    throw new Error(`${path.join(found, "config.json")}: ${(e as Error).message}`);
  }
  if (options.tokenizer) {
    const t = meta.tokenizer;
    const want = options.tokenizer;
    if (!t) throw new Error(`${found} does not record its tokenizer, so it cannot be checked against ${want.name ?? want.hash}`);
    if (t.hash !== want.hash || t.vocabSize !== want.vocabSize) {
      throw new Error(
        `${found} was trained with tokenizer ${t.name ?? ""} ${t.hash.slice(0, 12)} (${t.vocabSize} tokens), but the current ` +
          `tokenizer is ${want.name ?? ""} ${want.hash.slice(0, 12)} (${want.vocabSize} tokens): token ids would mean different ` +
          `things. Retrain from this tokenizer, or load the tokenizer the checkpoint was trained with.`,
      );
    }
  }
  if (options.config) {
    const diffs = Object.keys(options.config)
      .filter((k) => !jsonEqual(config[k], options.config![k]))
      .map((k) => `${k}: checkpoint ${JSON.stringify(config[k])}, expected ${JSON.stringify(options.config![k])}`);
    if (diffs.length) throw new Error(`${found}/config.json does not match the model: ${diffs.join("; ")}`);
  }

  const toTensors = (file: string): Map<string, tf.Tensor> => {
    const { tensors } = decodeSafetensors(bytesOf(file), path.join(found, file));
    return new Map([...tensors].map(([n, t]) => [n, tf.tensor(t.data, [...t.shape], t.data instanceof Int32Array ? "int32" : "float32")]));
  };
  const weights = toTensors("model.safetensors");
  let optimizer: OptimizerState | null = null;
  if (options.optimizer && meta.optimizer) {
    optimizer = { step: meta.optimizer.step, tensors: Object.fromEntries(toTensors("optimizer.safetensors")) };
  }
  return {
    dir: found,
    meta,
    config,
    weights,
    optimizer,
    dispose() {
      for (const t of weights.values()) t.dispose();
      if (optimizer) for (const t of Object.values(optimizer.tensors)) t.dispose();
    },
  };
}

/**
 * A checkpoint folder's meta.json, validated, without its tensors: what a stage reads to decide whether its
 * checkpoint is still the one it wants (the tasks it trained on, its step) before loading or retraining it.
 */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const file = path.join(dir, "meta.json");
  return validateMeta(readJson<unknown>(file), file);
}

/**
 * Copies loaded weights into a model's variables, after checking them all (checkWeightsFit, the rule every loader
 * shares): every variable must be in the checkpoint with the same shape, and extra tensors are an error too (they
 * usually mean a different architecture).
 */
export function assignWeights(target: NamedVariables, weights: ReadonlyMap<string, tf.Tensor>, where = "checkpoint"): void {
  checkWeightsFit(target, weights, where);
  for (const [name, v] of target) v.assign(weights.get(name)!);
}
