/** `npx tiaoyu ship`: put a trained stage into checkpoints/, the models the course ships with (lib/train/shipped.ts). */
import { execFileSync } from "child_process";
import * as path from "path";
import { initBackend } from "../backend";
import { isQuick, projectPath, projectRoot } from "../course";
import { ensureCorpus } from "../data/pipeline";
import { readSamples } from "../data/sample";
import { parseCommandArgs, UsageError } from "../flags";
import { courseTokenizerDir } from "../tokenizer/ensure";
import { TOKENIZER_FILE } from "../tokenizer/hfjson";
import { loadStage } from "../train/handoff";
import { isStageName, STAGES, type StageName, stageDir } from "../train/registry";
import { batchLoss, shipModel } from "../train/shipped";
import { evalBatches } from "../train/blocks";
import { ensureTokenStream, tokenizerIdentity } from "../train/tokens";
import { courseTokenizer } from "./pretrain";
import { requireStage } from "./prerequisites";

const SHIP_USAGE = `usage: npx tiaoyu ship [STAGE] [options]

Writes the model of runs/STAGE (default: anneal, the base model at the end of chapter 5) into checkpoints/NAME as
float16 weights, and records in checkpoints/manifest.json each file's SHA-256, the stages and commit that made it,
its loss on the whole validation stream (the poems as pretraining reads them: the measure for pretrain and anneal;
for a fine-tuned model only a check, since it was trained on another format), and its loss on a fixed check batch (the first 4 blocks of the validation stream) that anyone
can reproduce. Commit checkpoints/ afterwards. Full mode only: quick-mode models are never shipped.

  --name NAME       folder under checkpoints/ (default: base for anneal, else the stage's name)
  --tokenizer DIR   a folder with tokenizer.json (default: chapter 2's tokenizer)`;

/** The stages that led to `stage`, oldest first: pretrain → anneal. */
function lineage(stage: StageName): StageName[] {
  const out: StageName[] = [];
  for (let s: StageName | null = stage; s; s = STAGES[s].from) out.unshift(s);
  return out;
}

/** The project's commit, with "-dirty" when tracked files differ from it; "unknown" outside git. */
function currentCommit(): string {
  try {
    const git = (...a: string[]) => execFileSync("git", a, { cwd: projectRoot(), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return git("rev-parse", "HEAD") + (git("status", "--porcelain", "--untracked-files=no") ? "-dirty" : "");
  } catch {
    return "unknown";
  }
}

export async function shipCommand(args: string[]): Promise<void> {
  const parsed = parseCommandArgs("ship", args, { name: { type: "string" }, tokenizer: { type: "string" } }, SHIP_USAGE);
  if (!parsed) return;
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`ship takes one stage, got '${positionals.join(" ")}'`);
  const stage = positionals[0] ?? "anneal";
  if (!isStageName(stage)) throw new UsageError(`ship: no stage called '${stage}'; the stages are ${Object.keys(STAGES).join(", ")}`);
  const name = values.name ?? (stage === "anneal" ? "base" : stage);
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new UsageError(`ship: --name ${name} must be lower-case letters, digits and '-'`);
  if (isQuick()) throw new UsageError("ship: quick-mode models are not shipped (unset TIAOYU_QUICK and ship a full-size run)");
  await requireStage(stage);
  await initBackend();
  const tok = await courseTokenizer(values.tokenizer);
  const corpus = await ensureCorpus();
  const val = await ensureTokenStream(corpus.files.validation, () => readSamples(corpus.files.validation), tok);
  const { model, meta } = loadStage(stage, { tokenizer: tok });
  try {
    if (meta.extra?.shipped) throw new UsageError(`ship: ${projectPath(stageDir(stage))} holds the shipped model '${String(meta.extra.shipped)}' itself, not a run of yours`);
    const { blockSize } = model.config;
    const batches = evalBatches(val.tokens, blockSize, 16, Number.MAX_SAFE_INTEGER);
    const valLoss = batches.reduce((sum, b) => sum + batchLoss(model, b), 0) / batches.length;
    const entry = await shipModel(name, model, {
      stage,
      tokenizerFile: path.join(values.tokenizer ?? courseTokenizerDir(), TOKENIZER_FILE),
      tokenizer: tokenizerIdentity(tok),
      checkBatch: evalBatches(val.tokens, blockSize, 4, 1)[0],
      command: `${lineage(stage).map((s) => STAGES[s].command).join(" → ")}, then npx tiaoyu ship ${args.join(" ")}`.trim(),
      commit: currentCommit(),
      numbers: { step: meta.step, tokens: meta.tokens, validationStreamLoss: valLoss, validationBlocks: batches.length * batches[0].batchSize },
      facts: meta.extra ?? undefined,
    });
    console.log(
      `shipped runs/${stage} (step ${meta.step}) as ${projectPath(path.join("checkpoints", name))}: ${entry.parameters.toLocaleString("en-US")} parameters, ` +
        `validation-stream loss ${valLoss.toFixed(4)} over ${batches.length} batches (float32), check-batch loss ${entry.check.loss.toFixed(4)} (float16 as loaded back)`,
    );
  } finally {
    model.dispose();
  }
}
