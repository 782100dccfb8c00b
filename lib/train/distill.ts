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
import * as tf from "@tensorflow/tfjs";
import { isQuick } from "../course";
import { type GenerativeModel, generateIds } from "../generate";
import { type GPTConfig, gptConfig, validateConfig } from "../model/config";
import { crossEntropy, type GPT } from "../model/gpt";
import type { ChatBatch } from "./chat";
import type { TokenizerIdentity } from "./checkpoint";
import { type BatchSampler, evaluate, type Stage, type TrainingOptions } from "./loop";
import { gptTrainable } from "./pretrain";

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
  return isQuick() ? "tiny-small" : "course-small";
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

/**
 * The hard-label loss of a model on chat batches (mean cross-entropy over the answer tokens): the validation loss
 * of the comparison table, the same measure for teacher and students whatever they were trained with.
 */
export async function chatLoss(model: GPT, batches: Iterable<ChatBatch>): Promise<number> {
  return evaluate(
    {
      loss: (batch: ChatBatch) => {
        const shape: [number, number] = [batch.batchSize, batch.blockSize];
        return model.loss(tf.tensor2d(batch.ids, shape, "int32"), tf.tensor2d(batch.targets, shape, "int32"), { mask: tf.tensor2d(batch.mask, shape) });
      },
    },
    batches,
  );
}

/**
 * Generation speed in new tokens per second: greedy, with the KV cache, `tokens` new tokens after `prompt`
 * (the stop tokens are ignored so every model writes the same number), after one warm-up run.
 */
export async function generationSpeed(model: GenerativeModel, prompt: readonly number[], tokens = 32): Promise<number> {
  const run = async () => {
    let n = 0;
    for await (const _ of generateIds(model, prompt, { temperature: 0, maxNewTokens: tokens })) n++;
    return n;
  };
  await run();
  const start = performance.now();
  const n = await run();
  return n / ((performance.now() - start) / 1000);
}
