/**
 * A stage's own curves (DPO's margins, GRPO's reward and KL), read back from its run's log: the loop keeps them in
 * log.jsonl beside the loss (Stage.metrics), cut back to the checkpoint on resume like the loss curve.
 */
import * as fs from "fs";
import * as path from "path";
import { readTrainingLog, type TrainingLog } from "./loop";

/**
 * The stage records of a run (`log`: a run's result.history; by default `runDir`'s log.jsonl, if it has one),
 * each with the step it was taken at. Runs trained before the curves moved into log.jsonl kept them in
 * runs/<stage>/metrics.jsonl (one JSON record with a `step` per line): when the log has no curves and `runDir` has
 * that file, they are read from it, so a finished run of before still shows its curves.
 * @example const history = stageCurves<DpoRecord>(stageDir("dpo"), result.history);
 */
export function stageCurves<T extends { readonly step: number }>(runDir: string | null, log?: TrainingLog): T[] {
  const logged = log ?? (runDir && fs.existsSync(path.join(runDir, "log.jsonl")) ? readTrainingLog(runDir) : null);
  if ((logged && logged.metrics.length > 0) || !runDir) return (logged?.metrics ?? []).map((r) => ({ ...r.values, step: r.step }) as unknown as T);
  const file = path.join(runDir, "metrics.jsonl");
  if (!fs.existsSync(file)) return [];
  const byStep = new Map<number, T>();
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    let r: T;
    try {
      r = JSON.parse(line) as T;
    } catch {
      continue; // a blank line, or the last one cut short by a kill
    }
    if (typeof r === "object" && r !== null && Number.isInteger(r.step)) byStep.set(r.step, r); // last record per step wins
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}
