/** `npx tiaoyu anneal`: chapter 5's annealing from a terminal, with the notebook's checkpoints. */
import { parseArgs } from "util";
import { initBackend } from "../backend";
import { numberFlag, stopOnCtrlC } from "../flags";
import { runAnnealing } from "../train/anneal";
import { stageDir } from "../train/registry";
import { courseTokenizer, reportRun } from "./pretrain";
import { requireResumable, requireStage } from "./prerequisites";

const ANNEAL_USAGE = `usage: npx tiaoyu anneal [options]

Chapter 5's last phase: continue the pretrained model (runs/pretrain) on a stream rich in 唐诗三百首, with the
learning rate decaying to almost nothing. Writes runs/anneal.

  --steps N              optimizer steps (default: 1,500; tiny in quick mode)
  --resume               continue from the last checkpoint in runs/anneal
  --anthology-repeat N   copies of 唐诗三百首 in the stream (default 200)
  --lr X                 peak learning rate (default 1e-3)
  --tokenizer DIR        a folder with tokenizer.json (default: chapter 2's tokenizer)

Ctrl-C stops after the current step and writes a checkpoint; --resume continues from it.`;

/** `npx tiaoyu anneal …`: the notebook's annealing in a terminal, with the same checkpoints. */
export async function annealCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      steps: { type: "string" },
      resume: { type: "boolean" },
      "anthology-repeat": { type: "string" },
      lr: { type: "string" },
      tokenizer: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(ANNEAL_USAGE);
    return;
  }
  requireStage("pretrain");
  if (values.resume) requireResumable(stageDir("anneal"));
  await initBackend();
  const tokenizer = await courseTokenizer(values.tokenizer);
  const steps = numberFlag("steps", values.steps);
  const lr = numberFlag("lr", values.lr);
  const run = await stopOnCtrlC((signal) =>
    runAnnealing({
      tokenizer,
      anthologyRepeat: numberFlag("anthology-repeat", values["anthology-repeat"]),
      resume: values.resume ?? false,
      signal,
      ...(steps === undefined ? {} : { steps }),
      ...(lr === undefined ? {} : { lr }),
    }),
  );
  reportRun(run, "anneal", args);
}
