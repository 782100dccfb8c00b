/**
 * 第 5 章练习的参考答案:学习率调度、全局范数裁剪、AdamW 更新、top-k / top-p。
 * (Reference solutions for chapter 5; `npm run grade 05 -- --target solutions` must pass them all.)
 */
import { tf } from "tiaoyu";

export interface Schedule {
  readonly maxLr: number;
  readonly minLr: number;
  readonly warmupSteps: number;
  readonly decaySteps: number;
}

/** 5.1 预热 + 余弦衰减。 */
export function scheduledLr(step: number, s: Schedule): number {
  if (step <= s.warmupSteps) return (s.maxLr * step) / s.warmupSteps;
  if (step >= s.decaySteps) return s.minLr;
  const progress = (step - s.warmupSteps) / (s.decaySteps - s.warmupSteps);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.maxLr - s.minLr);
}

/** 5.2 按全局范数裁剪:一个因子作用在所有张量上。 */
export function clipGlobalNorm(grads: tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: number } {
  const norm = Math.sqrt(grads.reduce((sum, g) => sum + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]), 0));
  const factor = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  return { grads: tf.tidy(() => grads.map((g) => tf.mul(g, factor))), norm };
}

export interface AdamWHyper {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

/** 5.3 一个张量的 AdamW 更新(衰减作用在权重上,带偏差修正)。 */
export function adamwUpdate(
  w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, t: number, lr: number, h: AdamWHyper,
): { w: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
    const v2 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const mHat = tf.div(m2, 1 - h.beta1 ** t);
    const vHat = tf.div(v2, 1 - h.beta2 ** t);
    const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), h.eps)), lr);
    const w2 = tf.sub(tf.mul(w, 1 - lr * h.weightDecay), step);
    return { w: w2, m: m2, v: v2 };
  });
}

function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/** Indices by probability, largest first; ties by index. */
function ranked(p: number[]): number[] {
  return p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
}

function keepOnly(p: number[], keep: number[]): number[] {
  const out = p.map(() => 0);
  for (const i of keep) out[i] = p[i];
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((x) => x / sum);
}

/** 5.4 top-k。 */
export function topKFromLogits(logits: number[], k: number): number[] {
  const p = softmax(logits);
  return keepOnly(p, ranked(p).slice(0, k));
}

/** 5.5 top-p:越过 p 的那个 token 也留下。 */
export function topPFromLogits(logits: number[], p: number): number[] {
  const probs = softmax(logits);
  const keep: number[] = [];
  let mass = 0;
  for (const i of ranked(probs)) {
    keep.push(i);
    mass += probs[i];
    if (mass >= p - 1e-12) break;
  }
  return keepOnly(probs, keep);
}
