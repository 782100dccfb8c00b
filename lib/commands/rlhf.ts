/** `npx tiaoyu rlhf <sft|reward|dpo|grpo|grpo-nokl>`: chapter 7's runs from a terminal, with the notebook's checkpoints. */
import { initBackend } from "../backend";
import { MAX_STEPS, numberFlag, parseCommandArgs, RUN_FLAGS, RUN_FLAGS_USAGE, runFlags, stopOnCtrlC, UsageError } from "../flags";
import { ensureTokenizer } from "../tokenizer/ensure";
import type { TrainingOptions } from "../train/loop";
import { runDpo } from "../train/dpo";
import { runFlawedSft } from "../train/flawedSft";
import { runGrpo } from "../train/grpo";
import { stageDir } from "../train/registry";
import { runRewardModel } from "../train/reward";
import { requireResumable, requireStage } from "./prerequisites";

const RLHF_USAGE = `usage: npx tiaoyu rlhf <sft|reward|dpo|grpo|grpo-nokl> [options]

Chapter 7: remove the flaws an SFT model learned from its data, with human preferences.
  sft        chapter 6's SFT with 35% of its answers flawed (many writers)  → runs/sft-flawed
  reward     train the reward model on preference pairs (Bradley–Terry)     → runs/reward
  dpo        Direct Preference Optimization against the frozen SFT model     → runs/dpo
  grpo       GRPO: sample groups of answers, score them with runs/reward     → runs/grpo
  grpo-nokl  the sidebar: GRPO with the KL penalty off (reward hacking)      → runs/grpo-nokl

  --steps N              total optimizer steps (default: the preset's)
  --lr X                 peak learning rate (default: the preset's)
  --beta X               dpo and grpo: β, how strongly the policy is held to the SFT model (default: the preset's)
  --group-size N         grpo: answers sampled per question (default: the preset's)
${RUN_FLAGS_USAGE}

Ctrl-C stops after the current step and writes a checkpoint.
Environment: TIAOYU_QUICK=1 for the quick sizes (runs/<stage>-quick; a missing SFT model is then trained tiny).`;

const RUNS = ["sft", "reward", "dpo", "grpo", "grpo-nokl"] as const;

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
  if (beta !== undefined && (run === "reward" || run === "sft")) throw new UsageError(`rlhf ${run}: --beta is for dpo and grpo`);
  if (beta !== undefined && run === "grpo-nokl") throw new UsageError("rlhf grpo-nokl: β is 0 there by definition (use grpo --beta X for another β)");
  if (beta !== undefined && run === "reward") throw new UsageError("rlhf reward: --beta is for dpo and grpo (the reward model has no reference to stay near)");
  if (groupSize !== undefined && run !== "grpo" && run !== "grpo-nokl") throw new UsageError(`rlhf ${run}: --group-size is for grpo (it samples groups of answers)`);
  if (run === "dpo" && beta === 0) throw new UsageError("rlhf dpo: --beta must be > 0 (β scales DPO's margin)");
  await requireStage(run === "sft" ? "anneal" : "sft-flawed");
  if (run === "grpo" || run === "grpo-nokl") await requireStage("reward");
  if (values.resume) requireResumable(stageDir(run === "sft" ? "sft-flawed" : run));
  const opts: Partial<TrainingOptions> = {};
  if (steps !== undefined) Object.assign(opts, { steps });
  if (lr !== undefined) Object.assign(opts, { lr });
  await initBackend();
  const tokenizer = await ensureTokenizer();
  await stopOnCtrlC(async (signal) => {
    if (run === "sft") {
      const r = await runFlawedSft({ tokenizer, ...run0, signal, ...opts });
      console.log(`sft-flawed: ${r.data.train.toLocaleString("en-US")} training examples; final loss ${r.result.trainLoss.toFixed(3)}`);
      r.model.dispose();
    } else if (run === "reward") {
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
      const settings = { ...(run === "grpo-nokl" ? { beta: 0 } : beta === undefined ? {} : { beta }), ...(groupSize === undefined ? {} : { groupSize }) };
      const r = await runGrpo({ tokenizer, ...run0, signal, ...opts, settings, stage: run });
      const last = r.history[r.history.length - 1];
      if (last) console.log(`step ${last.step}: mean reward ${last.meanReward.toFixed(3)}, KL ${last.kl.toFixed(4)}`);
      r.policy.dispose();
      r.reference.dispose();
      r.rewardModel.dispose();
    }
  });
}
