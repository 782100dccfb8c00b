/** `npx tiaoyu rlhf <reward|dpo|grpo>`: chapter 7's three runs from a terminal, with the notebook's checkpoints. */
import { initBackend } from "../backend";
import { MAX_STEPS, numberFlag, parseCommandArgs, RUN_FLAGS, RUN_FLAGS_USAGE, runFlags, stopOnCtrlC, UsageError } from "../flags";
import { ensureTokenizer } from "../tokenizer/ensure";
import type { TrainingOptions } from "../train/loop";
import { runDpo } from "../train/dpo";
import { runGrpo } from "../train/grpo";
import { stageDir } from "../train/registry";
import { runRewardModel } from "../train/reward";
import { requireResumable, requireStage } from "./prerequisites";

const RLHF_USAGE = `usage: npx tiaoyu rlhf <reward|dpo|grpo> [options]

Chapter 7: align chapter 6's SFT model (runs/sft) with human preferences.
  reward   train the reward model on preference pairs (Bradley–Terry)      → runs/reward
  dpo      Direct Preference Optimization against the frozen SFT model      → runs/dpo
  grpo     GRPO: sample groups of answers, score them with runs/reward      → runs/grpo

  --steps N              total optimizer steps (default: the preset's)
  --lr X                 peak learning rate (default: the preset's)
  --beta X               dpo and grpo: β, how strongly the policy is held to the SFT model (default: the preset's)
  --group-size N         grpo: answers sampled per question (default: the preset's)
${RUN_FLAGS_USAGE}

Ctrl-C stops after the current step and writes a checkpoint.
Environment: TIAOYU_QUICK=1 for the quick sizes (runs/<stage>-quick; a missing SFT model is then trained tiny).`;

const RUNS = ["reward", "dpo", "grpo"] as const;

export async function rlhfCommand(args: string[]): Promise<void> {
  const parsed = parseCommandArgs("rlhf", args, { steps: { type: "string" }, lr: { type: "string" }, beta: { type: "string" }, "group-size": { type: "string" }, ...RUN_FLAGS }, RLHF_USAGE);
  if (!parsed) return;
  const { values, positionals } = parsed;
  const run0 = runFlags(values);
  const run = positionals[0] as (typeof RUNS)[number] | undefined;
  if (positionals.length !== 1 || !run || !RUNS.includes(run)) {
    throw new UsageError(`rlhf: say which run, one of ${RUNS.join(", ")} (got ${positionals.length ? `'${positionals.join(" ")}'` : "none"})\n${RLHF_USAGE}`);
  }
  const steps = numberFlag("steps", values.steps, { integer: true, min: 1, max: MAX_STEPS });
  const lr = numberFlag("lr", values.lr, { min: Number.MIN_VALUE, max: 1 });
  const beta = numberFlag("beta", values.beta, { min: 0, max: 1000 });
  const groupSize = numberFlag("group-size", values["group-size"], { integer: true, min: 2, max: 1024 });
  if (beta !== undefined && run === "reward") throw new UsageError("rlhf reward: --beta is for dpo and grpo (the reward model has no reference to stay near)");
  if (groupSize !== undefined && run !== "grpo") throw new UsageError(`rlhf ${run}: --group-size is for grpo (it samples groups of answers)`);
  if (run === "dpo" && beta === 0) throw new UsageError("rlhf dpo: --beta must be > 0 (β scales DPO's margin)");
  await requireStage("sft");
  if (run === "grpo") await requireStage("reward");
  if (values.resume) requireResumable(stageDir(run));
  const opts: Partial<TrainingOptions> = {};
  if (steps !== undefined) Object.assign(opts, { steps });
  if (lr !== undefined) Object.assign(opts, { lr });
  await initBackend();
  const tokenizer = await ensureTokenizer();
  await stopOnCtrlC(async (signal) => {
    if (run === "reward") {
      const r = await runRewardModel({ tokenizer, ...run0, signal, ...opts });
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      for (const k of r.byKind) console.log(`${k.group.padEnd(12)} ${k.pairs} pairs, accuracy ${pct(k.accuracy)}, mean margin ${k.meanMargin.toFixed(3)}`);
      r.rm.dispose();
    } else if (run === "dpo") {
      const r = await runDpo({ tokenizer, ...run0, signal, ...opts, ...(beta === undefined ? {} : { settings: { beta } }) });
      console.log(`held-out preference accuracy ${(100 * r.heldout.accuracy).toFixed(1)}%, mean implicit reward margin ${r.heldout.margin.toFixed(3)}`);
      r.policy.dispose();
      r.reference.dispose();
    } else {
      const settings = { ...(beta === undefined ? {} : { beta }), ...(groupSize === undefined ? {} : { groupSize }) };
      const r = await runGrpo({ tokenizer, ...run0, signal, ...opts, settings });
      const last = r.history[r.history.length - 1];
      if (last) console.log(`step ${last.step}: mean reward ${last.meanReward.toFixed(3)}, KL ${last.kl.toFixed(4)}`);
      r.policy.dispose();
      r.reference.dispose();
      r.rewardModel.dispose();
    }
  });
}
