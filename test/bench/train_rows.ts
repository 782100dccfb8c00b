/**
 * The rows of `npm run bench -- train` that measure what a learner runs, beyond the bare model step of
 * train.bench.ts: the course's own training loop (lib/train's `train()`: AdamW, clipping, the loss and gradient
 * norm read back every step), a LoRA-SFT step against a full-SFT step, greedy generation at batch 1 and 8 through
 * the KV cache, and the machine's float32 matrix-product peak measured in the same run, with the FLOPs of a
 * training step to express a step as a share of that peak.
 */
import { applyLora, GPT, type GPTConfig, LORA_DEFAULTS, type Stage, tf, train } from "tiaoyu";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Deterministic token ids in [0, vocab): benchmark batches do not need real text. */
export function randomIdArray(n: number, vocab: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids[i] = s % vocab;
  }
  return ids;
}

/**
 * FLOPs of one training step (forward + backward) by nanoGPT's `estimate_mfu` convention (PaLM, appendix B):
 * per token 6·N for the weight products (N: the matrices of the blocks plus the V×D output layer) and 12·L·D·T for
 * attention's two products, counted over the whole T×T square as PyTorch computes them.
 */
export function trainingFlops(c: GPTConfig, B: number): number {
  const D = c.nEmbd;
  const mlpHidden = c.mlp === "swiglu" ? 3 * (4 * D) : 2 * (4 * D); // per D: up (+gate) and down
  const N = c.nLayer * (4 * D * D + mlpHidden * D) + c.vocabSize * D;
  return B * c.blockSize * (6 * N + 12 * c.nLayer * D * c.blockSize);
}

/** GFLOP/s of a float32 [n, n]·[n, n] product on the current backend: the median of `reps` after 2 warm-ups. */
export function matmulPeak(n = 1024, reps = 7): number {
  const [a, b] = [tf.randomNormal([n, n]), tf.randomNormal([n, n])];
  const times: number[] = [];
  for (let i = 0; i < 2 + reps; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
    if (i >= 2) times.push(performance.now() - t0);
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / (median(times) / 1000) / 1e9;
}

interface Batch {
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly mask: Float32Array | null;
}

/**
 * ms per step of lib/train's `train()` on `model` (no run folder, no evaluation: only steps), the median of
 * `steps` after 2 warm-up steps. The stage is the shape of pretrainStage (or of sftStage when `masked`): the
 * loop's seed drives dropout, batches are host arrays turned into tensors in the loss.
 */
export async function timeLoop(
  model: GPT,
  B: number,
  steps: number,
  options: { masked?: boolean; trainable?: ReadonlyMap<string, tf.Variable>; weightDecay?: number } = {},
): Promise<number> {
  const c = model.config;
  const T = c.blockSize;
  const pool: Batch[] = Array.from({ length: 4 }, (_, i) => {
    const mask = options.masked ? new Float32Array(B * T).map((_, j) => (j % T >= T / 2 ? 1 : 0)) : null; // answers: the second half
    return { x: randomIdArray(B * T, c.vocabSize, 2 * i + 1), y: randomIdArray(B * T, c.vocabSize, 2 * i + 2), mask };
  });
  let k = 0;
  const stage: Stage<Batch> = {
    name: "bench",
    model: { configJson: () => ({}), weights: () => model.parameters() },
    trainable: options.trainable,
    batches: { next: () => pool[k++ % pool.length], state: () => k, restore: (s) => void (k = Number(s)) },
    loss(batch, ctx) {
      model.seeds.state = ctx.seed;
      const x = tf.tensor2d(batch.x, [B, T], "int32");
      const y = tf.tensor2d(batch.y, [B, T], "int32");
      const mask = batch.mask ? tf.tensor2d(batch.mask, [B, T], "float32") : undefined;
      return model.loss(x, y, { training: ctx.training, mask });
    },
    tokens: () => B * T,
  };
  const stamps: number[] = [];
  const t0 = performance.now();
  await train(stage, {
    steps: 2 + steps, lr: 1e-3, minLr: 1e-4, warmupSteps: 1, weightDecay: options.weightDecay ?? 0.1, clipNorm: 1,
    evalEvery: 0, checkpointEvery: 0, runDir: null, progress: "none", onStep: () => void stamps.push(performance.now()),
  });
  const times = stamps.map((t, i) => t - (i === 0 ? t0 : stamps[i - 1]));
  return median(times.slice(2));
}

/** Full SFT against LoRA SFT (lib/train/lora.ts's defaults: rank 8 on every linear layer), alternating runs. */
export async function timeSft(c: GPTConfig, B: number, steps: number, rounds = 2): Promise<{ fullMs: number; loraMs: number; loraParams: number }> {
  const full: number[] = [];
  const lora: number[] = [];
  let loraParams = 0;
  for (let r = 0; r < rounds; r++) {
    const m1 = new GPT(c, { seed: 1337 });
    full.push(await timeLoop(m1, B, steps, { masked: true }));
    m1.dispose();
    const m2 = new GPT(c, { seed: 1337 });
    const adapter = applyLora(m2, LORA_DEFAULTS);
    loraParams = adapter.numTrainable();
    lora.push(await timeLoop(m2, B, steps, { masked: true, trainable: adapter.trainable(), weightDecay: 0 }));
    adapter.dispose();
    m2.dispose();
  }
  return { fullMs: median(full), loraMs: median(lora), loraParams };
}

/** Tokens/s of greedy generation at batch B through the KV cache: a B×1 prompt, then `n` new tokens per row. */
export function timeGeneration(model: GPT, B: number, n: number, reps = 2): number {
  const times: number[] = [];
  const cache = model.newCache();
  for (let rep = 0; rep < 1 + reps; rep++) {
    cache.reset();
    let next = Array.from({ length: B }, (_, b) => [1 + b]);
    const t0 = performance.now();
    for (let t = 0; t < n; t++) {
      const ids = tf.tidy(() => {
        const logits = model.forward(next, { cache }); // [B, 1, V]
        return tf.argMax(logits.reshape([B, -1]), 1); // [B]
      });
      const picked = ids.dataSync();
      ids.dispose();
      next = Array.from(picked, (id) => [id]);
    }
    if (rep > 0) times.push(performance.now() - t0);
  }
  cache.dispose();
  return (B * n * 1000) / median(times);
}
