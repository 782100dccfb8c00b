/** `npx tiaoyu distill`: chapter 9's experiment from a terminal — the student's pretraining, three students, the table. */
import { initBackend } from "../backend";
import { ensureQa } from "../data/qa";
import { formatTable } from "../display";
import { compareDistillation } from "../eval/distillation";
import { MAX_STEPS, nearest, numberFlag, parseCommandFlags, stopOnCtrlC, UsageError } from "../flags";
import type { GPT } from "../model/gpt";
import { ensureTokenizer } from "../tokenizer/ensure";
import { distillSettings } from "../train/distill";
import { distillData, ensureStudent, ensureStudentPretrained, STUDENT_STAGES, type StudentKind, teacherAnswers } from "../train/students";
import { stageDir } from "../train/registry";
import { ensureSft } from "../train/sft";
import { requireStage } from "./prerequisites";

const DISTILL_USAGE = `usage: npx tiaoyu distill [options]

Chapter 9: distil chapter 6's SFT model (the teacher, runs/sft) into a student a quarter of its size.
Pretrains the student (runs/student-pretrain), then fine-tunes three students from it — on the dataset's answers
(runs/distill-hard), on the teacher's answers (runs/distill-blackbox), on the teacher's distributions
(runs/distill-whitebox) — and prints the comparison table. Stages with a checkpoint are loaded, not retrained.

  --student KIND         only this student: hard, blackbox or whitebox (default: all three)
  --steps N              fine-tuning steps of each student (default: the preset's)
  --temperature T        white-box temperature (default: the preset's)
  --alpha A              white-box weight of the KL term, 0…1 (default: the preset's)
  --force                train the students again even if they have checkpoints
  --no-table             skip the comparison table (it generates answers for every model)

Environment: TIAOYU_QUICK=1 for the quick sizes (runs/<stage>-quick; a missing SFT model is then trained tiny).`;

const KINDS: readonly StudentKind[] = ["hard", "blackbox", "whitebox"];

export async function distillCommand(args: string[]): Promise<void> {
  const values = parseCommandFlags(
    "distill",
    args,
    {
      student: { type: "string" },
      steps: { type: "string" },
      temperature: { type: "string" },
      alpha: { type: "string" },
      force: { type: "boolean" },
      "no-table": { type: "boolean" },
    },
    DISTILL_USAGE,
  );
  if (!values) return;
  const only = values.student as StudentKind | undefined;
  if (only !== undefined && !KINDS.includes(only)) {
    const near = nearest(only, KINDS);
    throw new UsageError(`distill: --student ${only}: use one of ${KINDS.join(", ")}${near ? ` (did you mean ${near}?)` : ""}`);
  }
  const base = distillSettings();
  const steps = numberFlag("steps", values.steps, { integer: true, min: 1, max: MAX_STEPS });
  const temperature = numberFlag("temperature", values.temperature, { min: Number.MIN_VALUE, max: 100 });
  const alpha = numberFlag("alpha", values.alpha, { min: 0, max: 1 });
  const settings = { ...base, ...(steps === undefined ? {} : { steps }), ...(temperature === undefined ? {} : { temperature }), ...(alpha === undefined ? {} : { alpha }) };
  await requireStage("sft");
  await initBackend();
  const tokenizer = await ensureTokenizer();
  const teacherStage = await ensureSft(tokenizer);
  const teacher = teacherStage.model;
  const students: Partial<Record<StudentKind, GPT>> = {};
  try {
    await stopOnCtrlC(async (signal) => {
      const data = distillData((await ensureQa()).items, tokenizer, teacher.config.blockSize, settings);
      (await ensureStudentPretrained(tokenizer, teacher.config, { signal })).model.dispose();
      for (const kind of only ? [only] : KINDS) {
        const questions =
          kind === "blackbox"
            ? await teacherAnswers(teacher, tokenizer, data.questions, { file: `${stageDir(STUDENT_STAGES.blackbox)}/teacher-answers.jsonl`, teacherId: teacherStage.dir })
            : data.questions;
        const start = values.force ? "retrain" : "load";
        students[kind] = (await ensureStudent(kind, { tokenizer, questions, validation: data.validation, teacher, settings, start, signal })).model;
      }
      if (values["no-table"] || signal.aborted) return;
      const labels: Record<StudentKind, string> = { hard: "学生(只用硬标签)", blackbox: "学生(黑盒蒸馏)", whitebox: "学生(白盒蒸馏)" };
      const models = Object.fromEntries(Object.entries(students).map(([k, m]) => [labels[k as StudentKind], m!]));
      const cmp = await compareDistillation({ ...models, 教师: teacher }, tokenizer, data);
      console.log(formatTable(cmp.rows));
    });
  } finally {
    for (const m of Object.values(students)) m?.dispose();
    teacher.dispose();
  }
}
