/**
 * 知识蒸馏 (chapter 9): a large "teacher" model's knowledge moved into a small "student".
 *
 * The book tells two kinds apart by what the student gets to see of the teacher:
 *
 *   黑盒蒸馏 (black-box)  only the teacher's inputs and outputs. Ask it the questions, keep its answers, and
 *                         fine-tune the student on them: in essence an SFT run on data the teacher wrote.
 *   白盒蒸馏 (white-box)  the teacher's internals: its logits at every position. The student learns the whole
 *                         distribution the teacher predicts — which wrong answers it thought nearly right — not
 *                         only the one token that was correct (Hinton, Vinyals & Dean 2015, "Distilling the
 *                         Knowledge in a Neural Network").
 *
 * White-box loss at one position, with teacher logits z_t, student logits z_s, temperature T and weight α:
 *
 *   p_t = softmax(z_t / T)      soft targets: T > 1 flattens them, so the small probabilities become visible
 *   q_s = softmax(z_s / T)
 *   KD  = T² · KL(p_t ‖ q_s) = T² · Σ_v p_t[v] · (log p_t[v] − log q_s[v])
 *   CE  = −log softmax(z_s)[y]  the ordinary hard-label loss at T = 1
 *   loss = α · KD + (1 − α) · CE
 *
 * Why T²: the gradient of KL(p_t ‖ q_s) with respect to z_s is (q_s − p_t) / T, which shrinks as T grows.
 * Multiplying by T² keeps the soft term's gradients about as large as the hard term's whatever T is, so α means the
 * same thing at every temperature.
 *
 * This file: the losses (pure tensor functions, tested against the closed form), the student presets, and the
 * two distillation stages run by the one training loop (lib/train/loop.ts).
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { readJsonl, writeJsonl } from "../data/jsonl";
import { ensureCorpus } from "../data/pipeline";
import type { QaItem } from "../data/qa";
import { readSamples } from "../data/sample";
import { type GenerativeModel, softmax } from "../generate";
import { type GPTConfig, gptConfig, validateConfig } from "../model/config";
import { crossEntropy, GPT } from "../model/gpt";
import type { Tokenizer } from "../tokenizer/types";
import { type ChatBatch, type ChatTokenizer, chatReply, type EncodedChat } from "./chat";
import type { TokenizerIdentity } from "./checkpoint";
import { type BatchSampler, type Stage, train, type TrainingOptions } from "./loop";
import { gptTrainable, pretrainSettings, pretrainStage } from "./pretrain";
import { Rng } from "../rng";
import { qaEvalSet } from "../eval/qa";
import { encodeChatData, sftSettings, sftStage } from "./sft";
import { ensureStage, loadStage, type StageModel, type StageRunOptions } from "./handoff";
import { type StageName, coursePreset, type CoursePreset } from "./registry";
import { ensureTokenStream } from "./tokens";

/** The knobs of the white-box loss. */
export interface DistillLossOptions {
  /** Softening temperature T (> 0). 1: the teacher's own distribution; 2–4 is usual. */
  readonly temperature: number;
  /** Weight α of the soft (teacher) term in [0, 1]; the hard-label cross-entropy gets 1 − α. */
  readonly alpha: number;
  /** [B, T] positions that count (1) or not (0), e.g. only the answer of a chat sample; default: all. */
  readonly mask?: tf.Tensor2D;
}

/** Defaults: T = 2 and α = 0.5, the middle of the usual range. */
export const DISTILL_LOSS_DEFAULTS: Readonly<{ temperature: number; alpha: number }> = Object.freeze({ temperature: 2, alpha: 0.5 });

function checkTemperature(temperature: number, where: string): void {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Error(`${where}: temperature = ${temperature} must be a finite number > 0`);
}

/**
 * Soft targets: softmax(logits / T) along the last axis.
 * @example softTargets(tf.tensor1d([0, Math.log(3)]), 1) // [0.25, 0.75]; at T = 2: [0.366, 0.634]; T → ∞: [0.5, 0.5]
 */
export function softTargets<R extends tf.Rank>(logits: tf.Tensor<R>, temperature: number): tf.Tensor<R> {
  checkTemperature(temperature, "softTargets");
  return tf.tidy(() => tf.softmax(tf.div(logits, temperature)) as tf.Tensor<R>);
}

/**
 * A model's soft targets for the token after `ids`, one distribution per temperature: what chapter 9 plots to show
 * the "dark knowledge" in a teacher's output (which wrong answers it finds nearly right).
 * @example const [p1, p4] = await softTargetsAfter(teacher, ids, [1, 4]);
 */
export async function softTargetsAfter(model: GenerativeModel, ids: readonly number[], temperatures: readonly number[]): Promise<Float64Array[]> {
  const last = tf.tidy(() => {
    const logits = model.forward([ids.slice(-model.config.blockSize)], { training: false }); // [1, T, V]
    const [, T, V] = logits.shape;
    return logits.slice([0, T - 1, 0], [1, 1, V]).reshape([V]); // [V]
  });
  const z = await last.data();
  last.dispose();
  return temperatures.map((t) => softmax(z, t));
}

/** Per-position weights that sum to 1: mask / Σmask, or 1/N everywhere. [B·T] */
function positionWeights(B: number, T: number, mask: tf.Tensor2D | undefined): tf.Tensor1D {
  if (mask && (mask.shape[0] !== B || mask.shape[1] !== T)) throw new Error(`distill: the mask has shape [${mask.shape}], the logits [${B}, ${T}, …]`);
  const m = mask ? tf.cast(mask, "float32").reshape([B * T]) : tf.ones([B * T]); // [B·T]
  return tf.div(m, tf.maximum(tf.sum(m), 1)) as tf.Tensor1D; // [B·T]
}

/**
 * The soft term: T² · KL(softmax(teacher / T) ‖ softmax(student / T)), averaged over the positions of `mask`
 * (all positions without one). Zero exactly when the student's softened distribution equals the teacher's.
 *
 * @example two classes, teacher logits [0, ln 3] (p = [¼, ¾]), student logits [0, 0] (q = [½, ½]), T = 1:
 *   KL = ¼·ln(¼ / ½) + ¾·ln(¾ / ½) = ¾·ln 3 − ln 2 ≈ 0.1308
 */
export function distillationKL(studentLogits: tf.Tensor3D, teacherLogits: tf.Tensor3D, temperature: number, mask?: tf.Tensor2D): tf.Scalar {
  checkTemperature(temperature, "distillationKL");
  const [B, T, V] = studentLogits.shape;
  if (teacherLogits.shape.join() !== studentLogits.shape.join()) {
    throw new Error(`distillationKL: teacher logits [${teacherLogits.shape}] and student logits [${studentLogits.shape}] differ (same tokenizer and batch?)`);
  }
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(teacherLogits.reshape([B * T, V]), temperature)); // [B·T, V] teacher
    const logQ = tf.logSoftmax(tf.div(studentLogits.reshape([B * T, V]), temperature)); // [B·T, V] student
    const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1); // [B·T]
    const w = positionWeights(B, T, mask); // [B·T]
    return tf.mul(tf.sum(tf.mul(kl, w)), temperature * temperature) as tf.Scalar;
  });
}

/**
 * The mixed loss: α · T²·KL(teacher ‖ student at T) + (1 − α) · cross-entropy against the hard labels at T = 1,
 * both averaged over the same positions. α = 0 is plain SFT; α = 1 learns from the teacher alone.
 */
export function distillationLoss(
  studentLogits: tf.Tensor3D,
  teacherLogits: tf.Tensor3D,
  targets: tf.Tensor2D,
  options: DistillLossOptions,
): tf.Scalar {
  const { temperature, alpha, mask } = options;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`distillationLoss: alpha = ${alpha} must be in [0, 1]`);
  const [B, T] = studentLogits.shape;
  if (targets.shape[0] !== B || targets.shape[1] !== T) throw new Error(`distillationLoss: targets [${targets.shape}] do not match the logits [${B}, ${T}, …]`);
  return tf.tidy(() => {
    // The hard term is exactly the model's own masked cross-entropy (one fused kernel over the [B·T, V] logits).
    const ce = crossEntropy(studentLogits, targets, mask); // []
    if (alpha === 0) return ce as tf.Scalar;
    const kd = distillationKL(studentLogits, teacherLogits, temperature, mask); // []
    return tf.add(tf.mul(kd, alpha), tf.mul(ce, 1 - alpha)) as tf.Scalar;
  });
}

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

// ---------------------------------------------------------------- white-box distillation: the stage

export interface WhiteBoxOptions extends Omit<DistillLossOptions, "mask"> {
  /** The stage's (and its run folder's) name (default "distill-whitebox"). */
  readonly name?: string;
  /** The stage the student starts from, recorded in meta.json. */
  readonly from?: string | null;
  /** Loop options of this stage (steps, lr, …). */
  readonly defaults?: Partial<TrainingOptions>;
  readonly tokenizer?: TokenizerIdentity | null;
}

/**
 * White-box distillation as a stage of the one loop: chapter 6's chat batches (question given, answer learned), and
 * at every answer position the student is pulled both towards the right token (hard label) and towards the
 * teacher's whole softened distribution. The teacher is frozen: it is not part of the stage's model, so the loop
 * neither computes its gradients nor updates it (tested); its logits are computed on the fly in each step, which
 * for a teacher of a few million parameters costs less than reading cached logits of a 6,400-token vocabulary
 * from disk (about 25 kB per position in float32).
 */
export function whiteBoxStage(
  student: GPT,
  teacher: GPT,
  data: { readonly batches: BatchSampler<ChatBatch>; readonly validation?: readonly ChatBatch[] },
  options: WhiteBoxOptions = DISTILL_LOSS_DEFAULTS,
): Stage<ChatBatch> {
  if (student.config.vocabSize !== teacher.config.vocabSize) {
    throw new Error(`whiteBoxStage: the student's vocabSize ${student.config.vocabSize} differs from the teacher's ${teacher.config.vocabSize}: both must use the same tokenizer`);
  }
  const { temperature, alpha } = options;
  checkTemperature(temperature, "whiteBoxStage");
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`whiteBoxStage: alpha = ${alpha} must be in [0, 1]`);
  const validation = data.validation;
  return {
    name: options.name ?? "distill-whitebox",
    from: options.from ?? null,
    model: gptTrainable(student),
    batches: data.batches,
    validation: validation ? () => validation : undefined,
    loss(batch, ctx) {
      student.seeds.state = ctx.seed;
      const shape: [number, number] = [batch.batchSize, batch.blockSize];
      const x = tf.tensor2d(batch.ids, shape, "int32"); // [B, T]
      const y = tf.tensor2d(batch.targets, shape, "int32"); // [B, T]
      const mask = tf.tensor2d(batch.mask, shape); // [B, T]
      const teacherLogits = teacher.forward(x, { training: false }); // [B, T, V], no dropout: the teacher's best guess
      const studentLogits = student.forward(x, { training: ctx.training }); // [B, T, V]
      return distillationLoss(studentLogits, teacherLogits, y, { temperature, alpha, mask });
    },
    tokens: (batch) => batch.batchSize * batch.blockSize,
    defaults: options.defaults,
    tokenizer: options.tokenizer ?? null,
    info: { temperature, alpha, teacherParameters: teacher.numParameters(), studentParameters: student.numParameters() },
  };
}

// ---------------------------------------------------------------- the chapter's experiment


/** The sizes of the chapter's experiment per teacher preset. */
export interface DistillSettings {
  /** Steps of the student's own pretraining on the corpus (hard labels), before any distillation. */
  readonly pretrainSteps: number;
  /** Training questions of chapter 6 that every student learns from (the same ones; the teacher answers them for black-box). */
  readonly questions: number;
  /** Fine-tuning steps of each student (the same for all three). */
  readonly steps: number;
  readonly temperature: number;
  readonly alpha: number;
  /** Held-out questions per template for the accuracy column. */
  readonly evalQuestions: number;
  /** New tokens a reply may have (the teacher's black-box answers and the evaluation). */
  readonly maxNewTokens: number;
}

/**
 * `course`: every student first reads the corpus for 2,000 steps (the teacher read it for 5,000), then 600 steps of 32
 * questions on 6,000 questions. Temperature 1: with a 6,400-token vocabulary, T = 2 spreads the teacher's
 * distribution thin (its entropy on answer tokens goes from 1.7 to 5.4 nats) and a 400K-parameter student spent its
 * capacity on that tail: held-out loss 2.135 at T = 2 vs 2.080 at T = 1 and 2.111 with hard labels alone (α = 0.5;
 * α = 0.9 at T = 1 gave 2.072). `tiny`: quick mode, for CI.
 */
export const DISTILL_PRESETS: Readonly<Record<"tiny" | "course", DistillSettings>> = Object.freeze({
  tiny: { pretrainSteps: 40, questions: 160, steps: 50, temperature: 1, alpha: 0.5, evalQuestions: 6, maxNewTokens: 16 },
  course: { pretrainSteps: 2000, questions: 6000, steps: 600, temperature: 1, alpha: 0.5, evalQuestions: 100, maxNewTokens: 24 },
});

/** The settings of the chapter: `tiny` in quick mode, `course` otherwise. */
export function distillSettings(preset: CoursePreset = coursePreset()): DistillSettings {
  return DISTILL_PRESETS[preset];
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
 * student starts from it, so the three differ only in how they are fine-tuned. Loaded when it exists; otherwise
 * trained now (a few seconds in quick mode; at full size about a third of the teacher's pretraining time).
 */
export async function ensureStudentPretrained(
  tokenizer: Tokenizer,
  teacherConfig: GPTConfig,
  options: { preset?: StudentPresetName; steps?: number; force?: boolean; log?: (line: string) => void } & StageRunOptions = {},
): Promise<StageModel> {
  const { preset = defaultStudentPreset(), steps, force = false, log = console.log, ...trainOptions } = options;
  const name = STUDENT_STAGES.pretrain;
  return ensureStage(name, {
    tokenizer,
    start: force ? "retrain" : "load",
    log,
    train: async () => {
      const corpus = await ensureCorpus();
      const stream = (file: string) => ensureTokenStream(file, () => readSamples(file), tokenizer);
      const data = { train: await stream(corpus.files.train), validation: await stream(corpus.files.validation) };
      const model = new GPT(studentConfig(teacherConfig, preset), { seed: 1337 });
      try {
        const teacherPreset = preset === "tiny-small" ? "tiny" : "course";
        const settings = pretrainSettings(teacherPreset);
        log(`student: preset ${preset}, ${model.numParameters().toLocaleString("en-US")} parameters; pretraining on the corpus first`);
        const stage = { ...pretrainStage(model, data, settings), name };
        await train(stage, { steps: steps ?? distillSettings(teacherPreset).pretrainSteps, ...trainOptions });
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
  /** Train even when the stage has a checkpoint. */
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

/**
 * One student of the comparison, fine-tuned from the pretrained student with chapter 6's SFT stage:
 *   hard      on the dataset's answers (the student alone, no teacher);
 *   blackbox  on the teacher's answers (pass them as `questions`: see teacherAnswers);
 *   whitebox  on the dataset's answers, with the loss mixed with T²·KL to the teacher's logits.
 * Loaded from runs/<stage> when it exists (unless `force`). The caller disposes the model.
 */
export async function ensureStudent(kind: StudentKind, options: StudentRunOptions): Promise<StageModel> {
  const { tokenizer, questions, validation, teacher, settings = distillSettings(), force = false, log = console.log, ...trainOptions } = options;
  const name = STUDENT_STAGES[kind];
  return ensureStage(name, {
    tokenizer,
    start: force ? "retrain" : "load",
    log,
    train: async () => {
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
        await train(stage, { steps: settings.steps, ...trainOptions });
      } finally {
        model.dispose();
      }
    },
  });
}
