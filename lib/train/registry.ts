/**
 * The course's stages in one table: each one's run folder, the stage whose checkpoint it starts from, and the chapter
 * that trains it. Stages hand off through these folders (nanochat's `load_model("base" | "sft" | "rl")`): chapter 5
 * leaves runs/pretrain and runs/anneal (the base model), chapter 6 starts from runs/anneal and leaves runs/sft, and so on.
 *
 * `StageName` is closed: `stageDir("sfft")` fails to compile instead of looking in an empty folder at run time.
 * A new chapter's stage adds its line here (see the README's developer section).
 */
import { isQuick, runsDir } from "../course";
import { latestCheckpoint } from "./checkpoint";

/** The name of a stage of the course: its run folder under runs/. A typo fails to compile. */
export type StageName =
  | "pretrain" | "anneal" // chapter 5
  | "sft" // chapter 6
  | "sft-flawed" | "reward" | "dpo" | "grpo" | "grpo-nokl" // chapter 7
  | "lora" // chapter 8
  | "student-pretrain" | StudentStageName // chapter 9
  | "reasoning-base" | "reasoning" | "reasoning-answers" | "reasoning-grpo"; // chapter 10

/** Chapter 9's students by how they learn: the dataset's labels alone, the teacher's answers, the teacher's distributions. */
export type StudentKind = "labels" | "blackbox" | "whitebox";
/** The seeds each student is trained with (seed 1 in distill-<kind>, the others in distill-<kind>-<seed>). */
export const STUDENT_SEEDS = Object.freeze([1, 2, 3] as const);
export type StudentSeed = (typeof STUDENT_SEEDS)[number];
/** A student's run folder: runs/distill-blackbox, runs/distill-blackbox-2, … */
export type StudentStageName = `distill-${StudentKind}` | `distill-${StudentKind}-${Exclude<StudentSeed, 1>}`;

/** The stage of a student of `kind` trained with `seed`. @example studentStage("whitebox", 2) // "distill-whitebox-2" */
export function studentStage(kind: StudentKind, seed: StudentSeed = 1): StudentStageName {
  if (!(STUDENT_SEEDS as readonly number[]).includes(seed)) throw new Error(`studentStage: seed ${seed} is not one of ${STUDENT_SEEDS.join(", ")}`);
  return seed === 1 ? `distill-${kind}` : `distill-${kind}-${seed as Exclude<StudentSeed, 1>}`;
}

const STUDENT_HOLDS: Readonly<Record<StudentKind, string>> = {
  labels: "the student fine-tuned on the dataset's answers alone",
  blackbox: "the student fine-tuned on the teacher's answers (black-box distillation)",
  whitebox: "the student trained on the teacher's softened distributions (white-box distillation)",
};
function studentEntries(): Record<StudentStageName, StageInfo> {
  const out: Partial<Record<StudentStageName, StageInfo>> = {};
  for (const kind of Object.keys(STUDENT_HOLDS) as StudentKind[]) {
    for (const seed of STUDENT_SEEDS) {
      out[studentStage(kind, seed)] = { chapter: 9, from: "student-pretrain", holds: `${STUDENT_HOLDS[kind]}${seed === 1 ? "" : `, seed ${seed}`}`, command: "npx tiaoyu distill" };
    }
  }
  return out as Record<StudentStageName, StageInfo>;
}

export interface StageInfo {
  /** The chapter whose notebook (and command) trains it. */
  readonly chapter: number;
  /** The stage whose checkpoint it starts from; null: from random weights. */
  readonly from: StageName | null;
  /** What it leaves behind, in a few words. */
  readonly holds: string;
  /** The terminal command that trains it (besides the chapter's notebook). */
  readonly command: string;
}

/** Every run folder the course writes (runs/<name>, runs/<name>-quick in quick mode), in the order they build up. */
export const STAGES: Readonly<Record<StageName, StageInfo>> = Object.freeze({
  pretrain: { chapter: 5, from: null, holds: "the pretrained model", command: "npx tiaoyu pretrain" },
  anneal: { chapter: 5, from: "pretrain", holds: "the pretrained model after annealing on 唐诗三百首", command: "npx tiaoyu anneal" },
  sft: { chapter: 6, from: "anneal", holds: "the base model (chapter 5's end) fine-tuned on the poem questions", command: "npx tiaoyu sft" },
  "sft-flawed": { chapter: 7, from: "anneal", holds: "chapter 6's SFT with a share of its answers flawed (many writers): what RLHF fixes", command: "npx tiaoyu rlhf sft" },
  reward: { chapter: 7, from: "sft-flawed", holds: "the reward model (the flawed SFT model with a scalar head)", command: "npx tiaoyu rlhf reward" },
  dpo: { chapter: 7, from: "sft-flawed", holds: "the flawed SFT model aligned with DPO", command: "npx tiaoyu rlhf dpo" },
  grpo: { chapter: 7, from: "sft-flawed", holds: "the flawed SFT model aligned with GRPO against the reward model", command: "npx tiaoyu rlhf grpo" },
  "grpo-nokl": { chapter: 7, from: "sft-flawed", holds: "sidebar: GRPO against the reward model with the KL penalty off (reward hacking)", command: "npx tiaoyu rlhf grpo-nokl" },
  lora: { chapter: 8, from: "anneal", holds: "LoRA adapters (runs/lora/adapter) on the frozen base model", command: "npx tiaoyu sft --lora" },
  "student-pretrain": { chapter: 9, from: null, holds: "the small student, pretrained like chapter 5's model", command: "npx tiaoyu distill" },
  ...studentEntries(),
  "reasoning-base": { chapter: 10, from: null, holds: "quick mode only: a tiny model pretrained and fine-tuned on the spot with room for reasoning traces", command: "TIAOYU_QUICK=1 npx tiaoyu reasoning" },
  reasoning: { chapter: 10, from: "sft", holds: "the SFT model fine-tuned on questions with reasoning traces", command: "npx tiaoyu reasoning" },
  "reasoning-answers": { chapter: 10, from: "sft", holds: "the SFT model fine-tuned on the same questions' answers alone", command: "npx tiaoyu reasoning" },
  "reasoning-grpo": { chapter: 10, from: "reasoning", holds: "the reasoning model after GRPO with the verifiable reward", command: "npx tiaoyu reasoning --grpo" },
});

/** Whether `name` is a stage of the course (for names read from a command line or a file). */
export function isStageName(name: string): name is StageName {
  return Object.prototype.hasOwnProperty.call(STAGES, name);
}

/**
 * The folder of a run called `name`: runs/<name>, or runs/<name>-quick in quick mode, so that a quick run (CI, a
 * reader trying a notebook quickly) never replaces the checkpoint of a full one (as datasets/poems-quick for the
 * corpus). Untyped for the loop, which also runs stages outside the course (tests, experiments); use
 * {@link stageDir} for the course's stages.
 */
export function runFolder(name: string): string {
  return runsDir(isQuick() ? `${name}-quick` : name);
}

/** The run folder of a stage of the course. @example stageDir("pretrain") → runs/pretrain (runs/pretrain-quick in quick mode) */
export function stageDir(stage: StageName): string {
  return runFolder(stage);
}

/** Whether a stage has a checkpoint (a notebook trains only when it has none, or when asked to). */
export function hasStage(stage: StageName): boolean {
  return latestCheckpoint(stageDir(stage)) !== null;
}

/** The two sizes every stage has: `tiny` for quick mode (CI, a first read), `course` for the chapters. */
export type CoursePreset = "tiny" | "course";

/**
 * The preset of every stage in this mode — the one place that reads quick mode for sizes: `tiny` when
 * TIAOYU_QUICK=1, `course` otherwise.
 */
export function coursePreset(): CoursePreset {
  return isQuick() ? "tiny" : "course";
}
