/** `npx tiaoyu anneal`: chapter 5's annealing from a terminal, with the notebook's checkpoints. */
import { initBackend } from "../backend";
import { MAX_STEPS, numberFlag, parseCommandFlags, RUN_FLAGS, RUN_FLAGS_USAGE, runFlags, stopOnCtrlC } from "../flags";
import { runAnnealing } from "../train/anneal";
import { stageDir } from "../train/registry";
import { courseTokenizer, reportRun } from "./pretrain";
import { requireResumable, requireStage } from "./prerequisites";

const ANNEAL_USAGE = `usage: npx tiaoyu anneal [options]

Chapter 5's last phase: continue the pretrained model (runs/pretrain) on a stream rich in 唐诗三百首 (each poem
and each couplet followed by its poet and title), with the learning rate decaying to almost nothing. Writes
runs/anneal, the base model chapters 6–10 start from.

  --steps N              optimizer steps (default: 1,500; tiny in quick mode)
  --anthology-repeat N   copies of 唐诗三百首 in the stream (default 200)
  --lr X                 peak learning rate (default 1e-3)
  --tokenizer DIR        a folder with tokenizer.json (default: chapter 2's tokenizer)
${RUN_FLAGS_USAGE}

Ctrl-C stops after the current step and writes a checkpoint; --resume continues from it.`;

/** `npx tiaoyu anneal …`: the notebook's annealing in a terminal, with the same checkpoints. */
export async function annealCommand(args: string[]): Promise<void> {
  const values = parseCommandFlags(
    "anneal",
    args,
    {
      steps: { type: "string" },
      ...RUN_FLAGS,
      "anthology-repeat": { type: "string" },
      lr: { type: "string" },
      tokenizer: { type: "string" },
    },
    ANNEAL_USAGE,
  );
  if (!values) return;
  const run0 = runFlags(values);
  const steps = numberFlag("steps", values.steps, { integer: true, min: 1, max: MAX_STEPS });
  const lr = numberFlag("lr", values.lr, { min: Number.MIN_VALUE, max: 1 });
  const anthologyRepeat = numberFlag("anthology-repeat", values["anthology-repeat"], { integer: true, min: 0, max: 10_000 });
  await requireStage("pretrain");
  if (values.resume) requireResumable(stageDir("anneal"));
  await initBackend();
  const tokenizer = await courseTokenizer(values.tokenizer);
  const run = await stopOnCtrlC((signal) =>
    runAnnealing({
      tokenizer,
      anthologyRepeat,
      ...run0,
      signal,
      ...(steps === undefined ? {} : { steps }),
      ...(lr === undefined ? {} : { lr }),
    }),
  );
  reportRun(run, "anneal", args);
}
