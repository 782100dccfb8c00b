/** `npx tiaoyu sft`: chapter 6's fine-tuning (chapter 8's with --lora) from a terminal, with the notebook's checkpoints. */
import { initBackend } from "../backend";
import { ensureCorpus } from "../data/pipeline";
import { ensureQa } from "../data/qa";
import { MAX_BATCH_SIZE, MAX_STEPS, numberFlag, parseCommandFlags, resumeCommand, RUN_FLAGS, RUN_FLAGS_USAGE, runFlags, stopOnCtrlC } from "../flags";
import { ensureTokenizer } from "../tokenizer/ensure";
import { LORA_DEFAULTS } from "../train/lora";
import type { TrainingOptions } from "../train/loop";
import { evaluateQa, qaEvalSet, qaRowRate } from "../eval/qa";
import { formatRate } from "../eval/stats";
import { anthologyQuestions } from "../train/mixture";
import { stageDir, coursePreset } from "../train/registry";
import { runSft, sftSettings } from "../train/sft";
import { requireResumable, requireStage } from "./prerequisites";

const SFT_USAGE = `usage: npx tiaoyu sft [options]

  --lora                 train LoRA adapters (rank 8, alpha 16 on attention and MLP) instead of every weight
  --rank N --alpha X     LoRA's rank and alpha
  --steps N              total optimizer steps (default: the preset's)
  --batch-size N         questions per batch
  --lr X                 peak learning rate
  --eval N               held-out questions per template to score after training (default: the preset's; 0: none)
${RUN_FLAGS_USAGE}

Starts from runs/anneal (the base model at the end of chapter 5; the course's shipped checkpoints/base when
runs/anneal is empty). Trains on the questions about 唐诗三百首's training poems, the corpus's 五言/七言 and 写一句诗, and
next-line questions on corpus couplets answered by the base model itself (lib/train/selfAnswers.ts; generated once,
a few minutes, then cached in datasets/self-answers/).
Scores the held-out corpus questions, and those about 唐诗三百首 (lib/data/anthologyQa.ts) as a second set.
Ctrl-C stops after the current step and writes a checkpoint.
Environment: TIAOYU_QUICK=1 for the quick sizes (runs/sft-quick).`;

/** `npx tiaoyu sft …`: chapter 6's (or, with --lora, chapter 8's) training run in a terminal, with the same checkpoints. */
export async function sftCommand(args: string[]): Promise<void> {
  const values = parseCommandFlags(
    "sft",
    args,
    {
      lora: { type: "boolean" },
      rank: { type: "string" },
      alpha: { type: "string" },
      steps: { type: "string" },
      ...RUN_FLAGS,
      "batch-size": { type: "string" },
      lr: { type: "string" },
      eval: { type: "string" },
    },
    SFT_USAGE,
  );
  if (!values) return;
  const run0 = runFlags(values);
  const rank = numberFlag("rank", values.rank, { integer: true, min: 1, max: 1024 });
  const alpha = numberFlag("alpha", values.alpha, { min: Number.MIN_VALUE, max: 1e6 });
  const steps = numberFlag("steps", values.steps, { integer: true, min: 1, max: MAX_STEPS });
  const lr = numberFlag("lr", values.lr, { min: Number.MIN_VALUE, max: 1 });
  const batchSize = numberFlag("batch-size", values["batch-size"], { integer: true, min: 1, max: MAX_BATCH_SIZE });
  const evalPerTemplate = numberFlag("eval", values.eval, { integer: true, min: 0, max: 100_000 });
  await requireStage("anneal");
  if (values.resume) requireResumable(stageDir(values.lora ? "lora" : "sft"));
  await initBackend();
  const tokenizer = await ensureTokenizer();
  const lora = values.lora
    ? { ...LORA_DEFAULTS, rank: rank ?? LORA_DEFAULTS.rank, alpha: alpha ?? LORA_DEFAULTS.alpha }
    : null;
  await stopOnCtrlC(async (signal) => {
    const corpus = await ensureCorpus();
    const qa = await ensureQa({ corpus });
    const anthology = await anthologyQuestions(corpus);
    const opts: Record<string, unknown> = { steps, lr };
    for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
    const run = await runSft({ tokenizer, qa, anthology, corpus, lora, batchSize, ...run0, signal, ...(opts as Partial<TrainingOptions>) });
    if (run.result.stopped) console.log(`resume with: ${resumeCommand("sft", args)}`);
    const perTemplate = evalPerTemplate ?? sftSettings(coursePreset()).evalQuestions;
    if (perTemplate > 0 && !run.result.stopped) {
      for (const [label, items] of [["唐诗三百首, held-out poems", anthology], ["corpus, held-out poems", qa.items]] as const) {
        const questions = qaEvalSet(items, { perTemplate, tokenizer, blockSize: run.model.config.blockSize });
        if (questions.length === 0) continue;
        const ev = await evaluateQa(run.model, tokenizer, questions);
        console.log(`\n${label}:`);
        for (const r of ev.rows) console.log(`  ${r.题型.padEnd(8)} ${formatRate(qaRowRate(r), { withN: true })}`);
      }
    }
    console.log(`trainable parameters ${run.trainableParameters.toLocaleString("en-US")} of ${run.totalParameters.toLocaleString("en-US")}`);
    run.lora?.dispose();
    run.model.dispose();
  });
}
