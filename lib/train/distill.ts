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
import { crossEntropy } from "../model/gpt";

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
