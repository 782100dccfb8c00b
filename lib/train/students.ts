/**
 * Chapter 9's students: the small model (a quarter of the teacher), its own pretraining, the questions of the
 * experiment (distillPrompts.ts), the teacher's answers for black-box distillation, and the three kinds of student
 * fine-tuned from the same start — on the labelled answers alone, on the teacher's answers to many more questions,
 * and (white-box) on the teacher's distributions over those same answers (distill.ts) — each with several seeds.
 */
import * as fs from "fs";
import * as path from "path";
import { readJsonl, writeJsonl } from "../data/jsonl";
import type { QaItem } from "../data/qa";
import { type GPTConfig, gptConfig, validateConfig } from "../model/config";
import { GPT } from "../model/gpt";
import type { Tokenizer } from "../tokenizer/types";
import { type ChatBatch, type ChatTokenizer, chatReply, type EncodedChat, encodeChat, fitsContext } from "./chat";
import { type Stage, train } from "./loop";
import { pretrainSettings, pretrainStage } from "./pretrain";
import { sftSettings, sftStage } from "./sft";
import { encodeChatData } from "./chatData";
import { ensureStage, loadStage, type StageModel, type StageRunOptions, type StageStart } from "./handoff";
import { type StageName, coursePreset, runFolder, stageDir, type StudentKind, type StudentSeed, studentStage } from "./registry";
import { type DistillPrompts, distillPrompts } from "./distillPrompts";
import { corpusTokenStreams } from "./tokens";
import { latestCheckpoint, readCheckpointMeta } from "./checkpoint";
import { fnv1a32 } from "../data/hash";
import { projectPath } from "../course";
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

/** The student's pretraining stage (every student starts from it). */
export const STUDENT_PRETRAIN: StageName = "student-pretrain";

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
  const name = STUDENT_PRETRAIN;
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

/** The experiment's questions (distillPrompts), and the held-out ones encoded for the validation loss. */
export interface DistillData extends DistillPrompts {
  /** `validation` in the chat format, for the loss of every model on the dataset's answers. */
  readonly validationEncoded: readonly EncodedChat[];
}

/**
 * The experiment's questions for a model of context `blockSize`: chapter 6's corpus questions (`items`) and the
 * anthology's (`anthologyItems`), keeping those whose question and answer fit the context.
 */
export function distillData(items: readonly QaItem[], anthologyItems: readonly QaItem[], tokenizer: ChatTokenizer, blockSize: number, settings: DistillSettings): DistillData {
  // An unlabelled question must leave room for an answer as long as the longest of its kind (这是一首「七言律诗」。).
  const fits = (q: QaItem) => fitsContext(encodeChat(tokenizer, q.answer === "" ? { ...q, answer: "这是一首「七言律诗」。" } : q), blockSize);
  const sets = distillPrompts(items, anthologyItems, settings, { fits });
  return { ...sets, validationEncoded: encodeChatData(tokenizer, sets.validation, blockSize).encoded };
}

/**
 * Where the teacher's answers are kept: runs/distill-answers/teacher-answers.jsonl (not in a student's run folder,
 * which retraining moves aside: the answers depend on the teacher, not on the student).
 */
export function teacherAnswersFile(): string {
  return path.join(runFolder("distill-answers"), "teacher-answers.jsonl");
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
  /** The questions to learn from: the labelled ones (labels), or the teacher's answers (blackbox, whitebox). */
  readonly questions: readonly QaItem[];
  readonly validation: readonly EncodedChat[];
  /** The frozen teacher (white-box only). */
  readonly teacher?: GPT;
  /**
   * Names the teacher (teacherIdentity): a student of the white-box kind depends on it directly, so one trained with
   * another teacher is trained again.
   */
  readonly teacherId?: string;
  /** Which of STUDENT_SEEDS (batch order and dropout; default 1). */
  readonly seed?: StudentSeed;
  readonly settings?: DistillSettings;
  /** What to do with a checkpoint that exists (ensureStage; default "load"). */
  readonly start?: StageStart;
  readonly log?: (line: string) => void;
}

/**
 * What a student learned from, as a short key kept in its meta.json (`extra.data`): its kind, the teacher (white-box
 * only) and a hash of every question and answer. A new SFT model gives new teacher answers, hence a new key.
 */
export function studentDataKey(kind: StudentKind, questions: readonly Pick<QaItem, "prompt" | "answer">[], teacherId = ""): string {
  let h = fnv1a32(kind === "whitebox" ? teacherId : "");
  for (const q of questions) h = fnv1a32(`${h}|${q.prompt}|${q.answer}`);
  return `${kind}:${questions.length}:${h.toString(16)}`;
}

/**
 * What ensureStage should do with a student's checkpoint, given what the caller asked: one trained on other data
 * (another teacher's answers, other sizes) is trained again, one that stopped before `steps` (Ctrl-C, a crashed
 * kernel) is continued rather than scored half-trained. Says why in the log when it overrides "load".
 */
export function studentStart(name: StageName, data: string, steps: number, start: StageStart, log: (line: string) => void): StageStart {
  const dir = latestCheckpoint(stageDir(name));
  if (!dir || start === "retrain") return start;
  const meta = readCheckpointMeta(dir);
  if (meta.extra?.data !== data) {
    log(`${name}: the checkpoint in ${projectPath(dir)} was trained on other questions or answers (${String(meta.extra?.data ?? "not recorded")}, now ${data}): training again`);
    return "retrain";
  }
  if (start === "load" && meta.step < steps) {
    log(`${name}: the checkpoint in ${projectPath(dir)} stopped at step ${meta.step} of ${steps}: training on`);
    return "resume";
  }
  return start;
}

/** Names a teacher's checkpoint for the caches that depend on it: its folder, step and when its weights were written. */
export function teacherIdentity(stage: Pick<StageModel, "dir" | "meta">): string {
  const weights = path.join(stage.dir, "model.safetensors");
  const written = fs.existsSync(weights) ? Math.round(fs.statSync(weights).mtimeMs) : 0;
  return `${stage.dir}@${stage.meta.step}@${written}`;
}

/**
 * One student of the comparison, fine-tuned from the pretrained student with chapter 6's SFT stage:
 *   labels    on the labelled questions' answers (the student alone, no teacher);
 *   blackbox  on the teacher's answers to the larger prompt set (pass them as `questions`: see teacherAnswers);
 *   whitebox  on the same teacher answers, with the loss mixed with T²·KL to the teacher's softened logits.
 * The same steps for all. Through ensureStage: loaded from runs/<stage> when it exists, else trained now; `start`
 * as for every stage. The caller disposes the model.
 */
export async function ensureStudent(kind: StudentKind, options: StudentRunOptions): Promise<StageModel> {
  const { tokenizer, questions, validation, teacher, teacherId = "", seed = 1, settings = distillSettings(), log = console.log, ...trainOptions } = options;
  const name = studentStage(kind, seed);
  if (questions.length === 0) throw new Error(`ensureStudent('${kind}'): no questions to learn from`);
  if (kind === "whitebox" && !teacher) throw new Error("ensureStudent('whitebox'): white-box distillation needs the teacher");
  const data = studentDataKey(kind, questions, teacherId);
  const start = studentStart(name, data, settings.steps, options.start ?? "load", log);
  return ensureStage(name, {
    tokenizer,
    start,
    log,
    describe: `${settings.steps} steps from ${STUDENT_PRETRAIN}, seed ${seed}`,
    train: async (resume) => {
      const { model } = loadStage(STUDENT_PRETRAIN, { tokenizer });
      try {
        // The seed moves the batch order (dataSeed) and the dropout masks (the loop's seed); the start is the same.
        const s = { ...sftSettings(coursePreset()), dataSeed: 6 + seed, train: { ...settings.train, seed: 1337 + seed } };
        const encoded = encodeChatData(tokenizer, questions, model.config.blockSize);
        log(`${name}: ${encoded.encoded.length.toLocaleString("en-US")} questions, ${settings.steps} steps from ${STUDENT_PRETRAIN}, seed ${seed}`);
        const base = sftStage(model, { train: encoded.encoded, validation }, s, { name, from: STUDENT_PRETRAIN, tokenizer, info: { kind, seed, data } });
        const stage: Stage<ChatBatch> =
          kind === "whitebox"
            ? whiteBoxStage(model, teacher!, { batches: base.batches, validation: base.validation ? [...base.validation()] : undefined }, {
                name,
                from: STUDENT_PRETRAIN,
                temperature: settings.temperature,
                alpha: settings.alpha,
                defaults: base.defaults,
                tokenizer: base.tokenizer,
                info: { kind, seed, data },
              })
            : base;
        await train(stage, { steps: settings.steps, ...trainOptions, resume });
      } finally {
        model.dispose();
      }
    },
  });
}
