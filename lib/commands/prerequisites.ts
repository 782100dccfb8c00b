/**
 * What every training command checks before it loads anything: that the stage it starts from has a checkpoint.
 * In full mode a missing one is an error naming the folder and the command that fills it (training it on the spot
 * would take hours without being asked to); in quick mode the stage files train a tiny one as the notebooks do.
 */
import * as fs from "fs";
import { isQuick, projectPath } from "../course";
import { latestCheckpoint } from "../train/checkpoint";
import { hasStage, STAGES, type StageName, stageDir } from "../train/registry";
import { installShipped } from "../train/shipped";

/**
 * Throws, in full mode, when `stage` has no checkpoint and the course ships none for it (a shipped one is
 * installed into runs/<stage>, saying so): "no checkpoint of stage 'sft' in runs/sft: train it first (npx tiaoyu sft …)".
 */
export async function requireStage(stage: StageName): Promise<void> {
  if (isQuick() || hasStage(stage) || (await installShipped(stage))) return;
  const s = STAGES[stage];
  throw new Error(`no checkpoint of stage '${stage}' in ${projectPath(stageDir(stage))}: train it first (${s.command}, or chapter ${s.chapter}'s notebook)`);
}

/** Throws when --resume is given but `runDir` holds no checkpoint to continue from (rather than silently starting over). */
export function requireResumable(runDir: string): void {
  if (fs.existsSync(runDir) && latestCheckpoint(runDir)) return;
  throw new Error(`--resume: nothing to resume in ${projectPath(runDir)} (no checkpoint there); leave out --resume to start a new run`);
}
