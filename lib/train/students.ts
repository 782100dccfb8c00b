/**
 * Chapter 9's students: the small model (a quarter of the teacher), its own pretraining, the questions of the
 * experiment, the teacher's answers for black-box distillation, and the three students fine-tuned from the same
 * start — on the dataset's answers, on the teacher's, and (white-box) on the teacher's distributions (distill.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { readJsonl, writeJsonl } from "../data/jsonl";
import type { QaItem } from "../data/qa";
import { type GPTConfig, gptConfig, validateConfig } from "../model/config";
import { GPT } from "../model/gpt";
import type { Tokenizer } from "../tokenizer/types";
import { type ChatBatch, type ChatTokenizer, chatReply, type EncodedChat } from "./chat";
import { type Stage, train } from "./loop";
import { pretrainSettings, pretrainStage } from "./pretrain";
import { Rng } from "../rng";
import { qaEvalSet } from "../eval/qa";
import { sftSettings, sftStage } from "./sft";
import { encodeChatData } from "./chatData";
import { ensureStage, loadStage, type StageModel, type StageRunOptions, type StageStart } from "./handoff";
import { type StageName, coursePreset } from "./registry";
import { corpusTokenStreams } from "./tokens";
import { distillSettings, type DistillSettings, whiteBoxStage } from "./distill";

// ---------------------------------------------------------------- the student

/**
 * Student models: the same architecture as their teacher, much smaller. They must share the teacher's vocabulary
 * (white-box distillation compares the two distributions token by token) and its context.
 *
 * - `course-small`: the `course` model (4 layers × 4 heads × 128 wide, ~1.65M parameters) cut to 3 × 3 × 48:
 *   about 0.4M parameters, a quarter of the teacher's (most of both are the 6,400 × width embedding).
 * - `tiny-small`: the student of the quick-mode `tiny` teacher, for CI and tests.
 *
 * (They live here, not in lib/model/config.ts's PRESETS, because only this chapter uses them.)
 */
export const STUDENT_PRESETS = Object.freeze({
  "course-small": gptConfig({ vocabSize: 6400, blockSize: 128, nLayer: 3, nHead: 3, nEmbd: 48, dropout: 0.1 }),
  "tiny-small": gptConfig({ vocabSize: 512, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }),
});

export type StudentPresetName = keyof typeof STUDENT_PRESETS;
/** The student preset of the chapter: `course-small`, or `tiny-small` in quick mode. */
export function defaultStudentPreset(): StudentPresetName {
  return `${coursePreset()}-small`;
}

/**
 * The configuration of a student for `teacher`: the preset's depth and width with the teacher's vocabulary and
 * context (which it must share).
 * @example studentConfig(teacher.config, "course-small") // { …, nLayer: 3, nHead: 3, nEmbd: 48, vocabSize: 6400, blockSize: 128 }
 */
export function studentConfig(teacher: GPTConfig, preset: StudentPresetName = defaultStudentPreset()): GPTConfig {
  const base = STUDENT_PRESETS[preset];
  if (!base) throw new Error(`unknown student preset '${preset}': use one of ${Object.keys(STUDENT_PRESETS).join(", ")}`);
  return validateConfig({ ...base, vocabSize: teacher.vocabSize, blockSize: teacher.blockSize });
}

/** The three students of the comparison, by how they learn. */
export type StudentKind = "hard" | "blackbox" | "whitebox";
/** Run folder names of the students (runs/<name>), and of the student's pretraining. */
export const STUDENT_STAGES: Readonly<Record<StudentKind | "pretrain", StageName>> = Object.freeze({
  pretrain: "student-pretrain",
  hard: "distill-hard",
  blackbox: "distill-blackbox",
  whitebox: "distill-whitebox",
});

/**
 * The student's own pretraining (stage "student-pretrain"): chapter 5's stage and data with the small model. Every
 * student starts from it, so the three differ only in how they are fine-tuned. Through ensureStage: loaded when it
 * exists, otherwise trained now (a few seconds in quick mode; at full size about a third of the teacher's
 * pretraining time); `start` as for every stage.
 */
export async function ensureStudentPretrained(
  tokenizer: Tokenizer,
  teacherConfig: GPTConfig,
  options: { preset?: StudentPresetName; steps?: number; start?: StageStart; log?: (line: string) => void } & StageRunOptions = {},
): Promise<StageModel> {
  const { preset = defaultStudentPreset(), steps, start, log = console.log, ...trainOptions } = options;
  const name = STUDENT_STAGES.pretrain;
  return ensureStage(name, {
    tokenizer,
    start,
    log,
    describe: `preset ${preset}`,
    train: async (resume) => {
      const data = await corpusTokenStreams(tokenizer);
      const model = new GPT(studentConfig(teacherConfig, preset), { seed: 1337 });
      try {
        const teacherPreset = preset === "tiny-small" ? "tiny" : "course";
        const settings = pretrainSettings(teacherPreset);
        log(`student: preset ${preset}, ${model.numParameters().toLocaleString("en-US")} parameters; pretraining on the corpus first`);
        const stage = { ...pretrainStage(model, data, settings), name };
        await train(stage, { steps: steps ?? distillSettings(teacherPreset).pretrainSteps, ...trainOptions, resume });
      } finally {
        model.dispose();
      }
    },
  });
}

/** The questions and evaluation sets of the experiment, encoded for a context of `blockSize`. */
export interface DistillData {
  /** Chapter 6's training questions the students learn from (a fixed random subset of those that fit). */
  readonly questions: readonly QaItem[];
  /** Held-out questions with the dataset's answers: the validation loss of every model. */
  readonly validation: readonly EncodedChat[];
  /** Held-out questions asked for the accuracy column (per template). */
  readonly evalSet: readonly QaItem[];
}

/** Picks the experiment's questions from chapter 6's data (deterministic: the same data gives the same questions). */
export function distillData(items: readonly QaItem[], tokenizer: ChatTokenizer, blockSize: number, settings: DistillSettings, seed = 9): DistillData {
  // Encoding ~100,000 questions to keep 6,000 would take a while: encode a margin more than needed (most fit).
  const shuffled = new Rng(seed).shuffle(items.filter((q) => q.split === "train"));
  let train: QaItem[] = [];
  for (let n = settings.questions * 2; ; n *= 2) {
    train = encodeChatData(tokenizer, shuffled.slice(0, n), blockSize).kept.slice(0, settings.questions) as QaItem[];
    if (train.length >= settings.questions || n >= shuffled.length) break;
  }
  const validation = encodeChatData(tokenizer, items.filter((q) => q.split === "heldout").slice(0, 1024), blockSize).encoded.slice(0, 128);
  const evalSet = qaEvalSet(items, { split: "heldout", perTemplate: settings.evalQuestions, tokenizer, blockSize });
  return { questions: train, validation, evalSet };
}

/** A question with the teacher's reply as its answer: black-box distillation's training data. */
export interface TeacherAnswer extends QaItem {
  /** The dataset's own answer, for comparison. */
  readonly reference: string;
}

/**
 * Black-box distillation's data: the teacher answers each question (greedy, chapter 5's generation in chapter 6's
 * chat format) and its replies become the answers to learn, right or wrong: the student sees nothing else of the
 * teacher. Replies cut off by the token limit are left out. Cached in `file` (JSONL) with the teacher checkpoint
 * it came from, since asking thousands of questions takes minutes.
 */
export async function teacherAnswers(
  teacher: GPT,
  tokenizer: ChatTokenizer,
  questions: readonly QaItem[],
  options: { file?: string; teacherId?: string; maxNewTokens?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<TeacherAnswer[]> {
  const { file, teacherId = "", maxNewTokens = distillSettings().maxNewTokens } = options;
  const key = JSON.stringify({ teacherId, maxNewTokens, prompts: questions.length, first: questions[0]?.prompt ?? "", last: questions[questions.length - 1]?.prompt ?? "" });
  const metaFile = file ? `${file}.meta.json` : null;
  if (file && metaFile && fs.existsSync(file) && fs.existsSync(metaFile) && fs.readFileSync(metaFile, "utf8").trim() === key) {
    const out: TeacherAnswer[] = [];
    for await (const row of readJsonl(file)) out.push(row as unknown as TeacherAnswer);
    return out;
  }
  const out: TeacherAnswer[] = [];
  for (const [i, q] of questions.entries()) {
    const r = await chatReply(teacher, tokenizer, q.prompt, { maxNewTokens });
    if (r.reason === "stop" && r.reply.trim() !== "") out.push({ ...q, answer: r.reply, reference: q.answer });
    options.onProgress?.(i + 1, questions.length);
  }
  if (file && metaFile) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await writeJsonl(file, out);
    fs.writeFileSync(metaFile, key + "\n"); // last: its presence says the answers are complete
  }
  return out;
}

export interface StudentRunOptions extends StageRunOptions {
  readonly tokenizer: Tokenizer;
  /** The questions to learn from: chapter 6's answers (hard, white-box) or the teacher's (black-box). */
  readonly questions: readonly QaItem[];
  readonly validation: readonly EncodedChat[];
  /** The frozen teacher (white-box only). */
  readonly teacher?: GPT;
  readonly settings?: DistillSettings;
  /** What to do with a checkpoint that exists (ensureStage; default "load"). */
  readonly start?: StageStart;
  readonly log?: (line: string) => void;
}

/**
 * One student of the comparison, fine-tuned from the pretrained student with chapter 6's SFT stage:
 *   hard      on the dataset's answers (the student alone, no teacher);
 *   blackbox  on the teacher's answers (pass them as `questions`: see teacherAnswers);
 *   whitebox  on the dataset's answers, with the loss mixed with T²·KL to the teacher's logits.
 * Through ensureStage: loaded from runs/<stage> when it exists, else trained now; `start` as for every stage.
 * The caller disposes the model.
 */
export async function ensureStudent(kind: StudentKind, options: StudentRunOptions): Promise<StageModel> {
  const { tokenizer, questions, validation, teacher, settings = distillSettings(), start, log = console.log, ...trainOptions } = options;
  const name = STUDENT_STAGES[kind];
  return ensureStage(name, {
    tokenizer,
    start,
    log,
    describe: `${settings.steps} steps from ${STUDENT_STAGES.pretrain}`,
    train: async (resume) => {
      if (kind === "whitebox" && !teacher) throw new Error("ensureStudent('whitebox'): white-box distillation needs the teacher");
      const { model } = loadStage(STUDENT_STAGES.pretrain, { tokenizer });
      try {
        const s = sftSettings(coursePreset());
        const encoded = encodeChatData(tokenizer, questions, model.config.blockSize);
        log(`${name}: ${encoded.encoded.length.toLocaleString("en-US")} questions, ${settings.steps} steps from ${STUDENT_STAGES.pretrain}`);
        const base = sftStage(model, { train: encoded.encoded, validation }, s, { name, from: STUDENT_STAGES.pretrain, tokenizer, info: { kind } });
        const stage: Stage<ChatBatch> =
          kind === "whitebox"
            ? whiteBoxStage(model, teacher!, { batches: base.batches, validation: base.validation ? [...base.validation()] : undefined }, {
                name,
                from: STUDENT_STAGES.pretrain,
                temperature: settings.temperature,
                alpha: settings.alpha,
                defaults: base.defaults,
                tokenizer: base.tokenizer,
              })
            : base;
        await train(stage, { steps: settings.steps, ...trainOptions, resume });
      } finally {
        model.dispose();
      }
    },
  });
}
