/** `npx tiaoyu distill`: chapter 9's experiment from a terminal — the student's pretraining, three students, the table. */
import { initBackend } from "../backend";
import { ensureQa } from "../data/qa";
import { formatTable } from "../display";
import { type DistillResult, distillResultRows, distillSummaryRows, evaluateDistilled } from "../eval/distillation";
import { MAX_STEPS, nearest, numberFlag, parseCommandFlags, stopOnCtrlC, UsageError } from "../flags";
import { ensureTokenizer } from "../tokenizer/ensure";
import { distillSettings } from "../train/distill";
import { distillData, ensureStudent, ensureStudentPretrained, teacherAnswers, teacherAnswersFile, teacherIdentity } from "../train/students";
import { STUDENT_SEEDS, type StudentKind } from "../train/registry";
import { ensureCorpus } from "../data/pipeline";
import { anthologyQuestions } from "../train/mixture";
import { ensureSft } from "../train/sft";
import { requireStage } from "./prerequisites";

const DISTILL_USAGE = `usage: npx tiaoyu distill [options]

Chapter 9: distil chapter 6's SFT model (the teacher, runs/sft) into a student a quarter of its size.
Pretrains the student (runs/student-pretrain), has the teacher answer the prompt set (runs/distill-blackbox/
teacher-answers.jsonl), then fine-tunes three kinds of student from the same start, each with every seed — on the
labelled answers alone (runs/distill-labels[-2|-3]), on the teacher's answers (runs/distill-blackbox[-2|-3]), on
the teacher's softened distributions over the same answers (runs/distill-whitebox[-2|-3]) — and prints the tables.
Stages with a checkpoint are loaded, not retrained.

  --student KIND         only this student: labels, blackbox or whitebox (default: all three)
  --seeds N              seeds per student, 1…3 (default: the preset's)
  --steps N              fine-tuning steps of each student (default: the preset's)
  --temperature T        white-box temperature (default: the preset's)
  --alpha A              white-box weight of the KL term, 0…1 (default: the preset's)
  --force                train the students again even if they have checkpoints
  --no-table             skip the comparison tables (they generate answers for every model)

Environment: TIAOYU_QUICK=1 for the quick sizes (runs/<stage>-quick; a missing SFT model is then trained tiny).`;

const KINDS: readonly StudentKind[] = ["labels", "blackbox", "whitebox"];
const LABELS: Readonly<Record<StudentKind, string>> = { labels: "学生(只用标注答案)", blackbox: "学生(黑盒蒸馏)", whitebox: "学生(白盒蒸馏)" };

export async function distillCommand(args: string[]): Promise<void> {
  const values = parseCommandFlags(
    "distill",
    args,
    {
      student: { type: "string" },
      seeds: { type: "string" },
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
  const seeds = numberFlag("seeds", values.seeds, { integer: true, min: 1, max: STUDENT_SEEDS.length });
  const temperature = numberFlag("temperature", values.temperature, { min: Number.MIN_VALUE, max: 100 });
  const alpha = numberFlag("alpha", values.alpha, { min: 0, max: 1 });
  const settings = {
    ...base,
    ...(steps === undefined ? {} : { steps }),
    ...(seeds === undefined ? {} : { seeds }),
    ...(temperature === undefined ? {} : { temperature }),
    ...(alpha === undefined ? {} : { alpha }),
  };
  await requireStage("sft");
  await initBackend();
  const tokenizer = await ensureTokenizer();
  const teacherStage = await ensureSft(tokenizer);
  const teacher = teacherStage.model;
  const results: DistillResult[] = [];
  try {
    await stopOnCtrlC(async (signal) => {
      const corpus = await ensureCorpus();
      const data = distillData((await ensureQa({ corpus })).items, await anthologyQuestions(corpus), tokenizer, teacher.config.blockSize, settings);
      (await ensureStudentPretrained(tokenizer, teacher.config, { signal })).model.dispose();
      const teacherId = teacherIdentity(teacherStage);
      const answers = await teacherAnswers(teacher, tokenizer, data.prompts, {
        file: teacherAnswersFile(),
        teacherId,
        maxNewTokens: settings.maxNewTokens,
        onProgress: (done, total) => void (done % 1000 === 0 || done === total ? console.log(`teacher: ${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} questions answered`) : undefined),
      });
      const table = !values["no-table"];
      if (table) results.push(await evaluateDistilled("教师", teacher, tokenizer, data));
      for (const kind of only ? [only] : KINDS) {
        for (const seed of STUDENT_SEEDS.slice(0, settings.seeds)) {
          if (signal.aborted) return;
          const questions = kind === "labels" ? data.labelled : answers;
          const start = values.force ? "retrain" : "load";
          const { model } = await ensureStudent(kind, { tokenizer, questions, validation: data.validationEncoded, teacher, teacherId, seed, settings, start, signal });
          try {
            if (table && !signal.aborted) results.push(await evaluateDistilled(LABELS[kind], model, tokenizer, data, { seed }));
          } finally {
            model.dispose();
          }
        }
      }
      if (!table || signal.aborted) return;
      console.log(formatTable(distillResultRows(results, teacher.numParameters())));
      console.log(formatTable(distillSummaryRows(results.slice(1), results[0])));
    });
  } finally {
    teacher.dispose();
  }
}
