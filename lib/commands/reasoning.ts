/** `npx tiaoyu reasoning`: chapter 10's two fine-tunings (and optionally GRPO) from a terminal, then the table. */
import { initBackend } from "../backend";
import { ensureReasoningData } from "../data/reasoning";
import { formatTable } from "../display";
import { evaluateReasoning, reasoningComparisonRows, reasoningEvalSet, type ReasoningEvaluation } from "../eval/reasoning";
import { MAX_STEPS, numberFlag, parseCommandFlags, stopOnCtrlC } from "../flags";
import { ensureTokenizer } from "../tokenizer/ensure";
import type { StageModel } from "../train/handoff";
import { ensureReasoningBase, ensureReasoningModel, reasoningSettings } from "../train/reasoning";
import { ensureReasoningGrpo } from "../train/reasoningGrpo";
import { requireStage } from "./prerequisites";

const REASONING_USAGE = `usage: npx tiaoyu reasoning [options]

Chapter 10: fine-tune chapter 6's SFT model (runs/sft) on questions whose answers come with a reasoning trace in
<think>…</think> (runs/reasoning), and on the same questions' answers alone (runs/reasoning-answers); with --grpo,
continue the traced model with GRPO and the verifiable reward (runs/reasoning-grpo). Prints accuracy and format
compliance per task. Stages with a checkpoint are loaded, not retrained.

  --steps N              fine-tuning steps of each model (default: the preset's)
  --lr X                 fine-tuning learning rate (default: the preset's)
  --grpo                 also run GRPO from the traced model
  --force                train again even if the stages have checkpoints
  --no-table             skip the evaluation (it generates an answer for every question)

Environment: TIAOYU_QUICK=1 for the quick sizes (a tiny base with room for traces is trained on the spot).`;

export async function reasoningCommand(args: string[]): Promise<void> {
  const values = parseCommandFlags(
    "reasoning",
    args,
    {
      steps: { type: "string" },
      lr: { type: "string" },
      grpo: { type: "boolean" },
      force: { type: "boolean" },
      "no-table": { type: "boolean" },
    },
    REASONING_USAGE,
  );
  if (!values) return;
  const steps = numberFlag("steps", values.steps, { integer: true, min: 1, max: MAX_STEPS });
  const lr = numberFlag("lr", values.lr, { min: Number.MIN_VALUE, max: 1 });
  const settings = { ...reasoningSettings(), ...(steps === undefined ? {} : { steps }), ...(lr === undefined ? {} : { lr }) };
  await requireStage("sft");
  await initBackend();
  const tokenizer = await ensureTokenizer();
  const data = await ensureReasoningData();
  const held: StageModel[] = [];
  try {
    await stopOnCtrlC(async (signal) => {
      const base = await ensureReasoningBase(tokenizer);
      held.push(base);
      const start = values.force ? "retrain" : "load";
      const traced = await ensureReasoningModel("traces", { tokenizer, data, base, settings, start, signal });
      held.push(traced);
      const answers = await ensureReasoningModel("answers", { tokenizer, data, base, settings, start, signal });
      held.push(answers);
      const grpo = values.grpo ? await ensureReasoningGrpo({ tokenizer, data, from: traced, start, signal }) : null;
      if (grpo) held.push(grpo);
      if (values["no-table"] || signal.aborted) return;
      const evalSet = reasoningEvalSet(data, { perGroup: settings.evalQuestions, tokenizer, blockSize: base.model.config.blockSize });
      const evaluations: Record<string, ReasoningEvaluation> = {
        只有答案: await evaluateReasoning(answers.model, tokenizer, evalSet),
        带推理: await evaluateReasoning(traced.model, tokenizer, evalSet),
      };
      if (grpo) evaluations["带推理+GRPO"] = await evaluateReasoning(grpo.model, tokenizer, evalSet);
      console.log(formatTable(reasoningComparisonRows(evaluations)));
    });
  } finally {
    for (const s of held) s.model.dispose();
  }
}
