import * as tf from "@tensorflow/tfjs";
import { type GenerativeModel, softmax } from "../generate";
import { crossEntropy, GPT } from "../model/gpt";
import { type ChatBatch } from "./chat";
import type { JsonRecord, TokenizerIdentity } from "./checkpoint";
import { type BatchSampler, type Stage, type TrainingOptions } from "./loop";
import { gptTrainable } from "./pretrain";
import { coursePreset, type CoursePreset } from "./registry";
import type { DistillPromptSizes } from "./distillPrompts";

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

// ---------------------------------------------------------------- white-box distillation: the stage

export interface WhiteBoxOptions extends Omit<DistillLossOptions, "mask"> {
  /** The stage's (and its run folder's) name (default "distill-whitebox"). */
  readonly name?: string;
  /** The stage the student starts from, recorded in meta.json. */
  readonly from?: string | null;
  /** Loop options of this stage (steps, lr, …). */
  readonly defaults?: Partial<TrainingOptions>;
  readonly tokenizer?: TokenizerIdentity | null;
  /** More facts for meta.json (a student's kind, seed and data key: lib/train/students.ts reads them back). */
  readonly info?: JsonRecord;
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
    info: { ...options.info, temperature, alpha, teacherParameters: teacher.numParameters(), studentParameters: student.numParameters() },
  };
}

// ---------------------------------------------------------------- the chapter's experiment

/** The sizes of the chapter's experiment per teacher preset. */
export interface DistillSettings extends DistillPromptSizes {
  /** Steps of the student's own pretraining on the corpus (hard labels), before any fine-tuning. */
  readonly pretrainSteps: number;
  /** Fine-tuning steps of each student (the same for all: the students differ in data and loss, not in compute). */
  readonly steps: number;
  /** Seeds of each student (batch order and dropout; all start from the same pretrained student). */
  readonly seeds: number;
  readonly temperature: number;
  readonly alpha: number;
  /** New tokens a reply may have (the teacher's black-box answers). */
  readonly maxNewTokens: number;
  /** The loop's options of the students' fine-tuning (learning rate, warm-up, evaluation). */
  readonly train: Partial<TrainingOptions>;
}

/**
 * `course`: the student reads the corpus for 1,500 steps (the teacher read it for 5,000 and then 唐诗三百首 about 80
 * times, with citations); 600 labelled questions (300 五言/七言, 300 体裁) against about 22,000 prompts for the
 * teacher (the labelled ones, 20,000 more 五言/七言, every other 体裁 question of the anthology's training poems, 1,200
 * 体裁 questions about corpus couplets); 1,000 steps of 32 questions per student, 3 seeds. The learning rate is ten
 * times chapter 6's: the student is small and meets the chat format for the first time. T = 2, α = ½: the middle of
 * the usual range (a 6,400-token vocabulary spreads the teacher's distribution thin at higher T). `tiny`: quick
 * mode, for CI (author questions: no 五言/七言 question fits its 32-token context).
 *
 * Why so many prompts and steps: the first design (1,700 more 五言/七言, 400 steps) left every student at the cheap
 * answer's base rate (五言/七言 80–82%, always 五言). With 20,000 teacher answers a black-box student (seed 1) reached
 * 96.7% after 1,000 steps and 99.3% after 2,000 (the teacher: 98.3%), while the student on the 600 labels alone,
 * 2,000 steps, stayed at 78.3%: the student can learn to tell 五言 from 七言, it needs many more examples than
 * anyone would label by hand, which is what the teacher supplies.
 */
export const DISTILL_PRESETS: Readonly<Record<"tiny" | "course", DistillSettings>> = Object.freeze({
  tiny: {
    corpusTemplate: "author", pretrainSteps: 40, labelledCorpus: 24, labelledForm: 8, extraCorpus: 60, extraForm: 40, evalQuestions: 12, validationQuestions: 16,
    steps: 30, seeds: 3, temperature: 2, alpha: 0.5, maxNewTokens: 16,
    train: { lr: 2e-3, minLr: 2e-4, warmupSteps: 5, evalEvery: 10, checkpointEvery: 0 },
  },
  course: {
    corpusTemplate: "meter", pretrainSteps: 1500, labelledCorpus: 300, labelledForm: 300, extraCorpus: 20_000, extraForm: 1200, evalQuestions: 300, validationQuestions: 64,
    steps: 1000, seeds: 3, temperature: 2, alpha: 0.5, maxNewTokens: 24,
    train: { lr: 1e-3, minLr: 1e-4, warmupSteps: 30, evalEvery: 100, checkpointEvery: 500 },
  },
});

/** The settings of the chapter: `tiny` in quick mode, `course` otherwise. */
export function distillSettings(preset: CoursePreset = coursePreset()): DistillSettings {
  return DISTILL_PRESETS[preset];
}
