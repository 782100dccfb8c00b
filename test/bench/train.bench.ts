/**
 * `npm run bench -- train [--vs-pytorch] [--config=nanogpt-baby,course] [--steps=N] [--batch=N]
 *  [--backend=wasm|cpu|tensorflow] [--no-native] [--without=GROUP,...] [--ab=GROUP] [--ab-model=PATH] [--profile]`
 *
 * Training speed of TIAOYU's GPT (lib/model) with tf.train.adam, per named configuration:
 *   - training: ms per step (forward + backward + Adam update + reading the loss) and tokens/s, the median of
 *     several steps after warm-up;
 *   - forward only (evaluation, no gradients): tokens/s;
 *   - generation with the KV cache, batch 1, greedy: tokens/s;
 *   - peak memory (process RSS; the wasm heap is part of it) and the backend in use.
 * With --vs-pytorch it runs test/bench/nanogpt_ref.py (our own PyTorch version of the same model) with the same
 * shapes, float32, PyTorch's default threads, in the same run, and prints ours / PyTorch.
 *
 * Configurations:
 *   nanogpt-baby  nanoGPT's Shakespeare-char "baby GPT" shape on the Tang poems' 5,757 characters: 4 layers,
 *                 4 heads, 128 wide, block 64, batch 12, no biases, no dropout (the numbers in issue 5)
 *   course        PRESETS.course (chapter 5's model) at batch 16
 * On a shared machine wall times swing with other people's work; compare figures from the same run. Two helps:
 * "cpu ms" (this process's CPU time per step, all threads) moves less than wall time, and --ab=GROUP alternates
 * steps with and without one group of our kernels (lib/kernels/register.ts) in one process and prints both medians;
 * --ab-model=PATH does the same between lib/model's GPT and the GPT exported by the module at PATH (a modified
 * copy of the model, to measure a change before it lands).
 * This is a benchmark, not a test: nothing asserts a time.
 */
import { execSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { GPT, type GPTConfig, gptConfig, initBackend, LORA_DEFAULTS, PRESETS, tf } from "tiaoyu";
import { type KernelGroup, kernelSummary, useKernelGroup } from "tiaoyu/dist/lib/kernels";
import { pauseNative } from "tiaoyu/dist/lib/kernels/native";
import { matmulPeak, timeGeneration, timeLoop, timeSft, trainingFlops } from "./train_rows";

interface BenchConfig {
  readonly model: GPTConfig;
  readonly batch: number;
  readonly note: string;
}

const CONFIGS: Record<string, BenchConfig> = {
  "nanogpt-baby": {
    model: gptConfig({ vocabSize: 5757, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: false }),
    batch: 12,
    note: "nanoGPT baby GPT on Tang characters",
  },
  course: { model: PRESETS.course, batch: 16, note: "PRESETS.course, chapter 5" },
};

const PYTHON = "/usr/bin/python3"; // Debian's python3-torch; the pyenv python3 on PATH has no torch

interface Figures {
  msPerStep: number;
  cpuMsPerStep: number;
  trainTokensPerSec: number;
  forwardTokensPerSec: number;
  generateTokensPerSec: number;
  generate8TokensPerSec: number;
  peakRssMiB: number;
  params: number;
  /** ms per step of the course's own train() loop. */
  loopMs?: number;
  /** ms per SFT step, all weights / LoRA adapters only (course only). */
  sftFullMs?: number;
  sftLoraMs?: number;
  /** GFLOP/s of a 1024² float32 product in the same process. */
  peakGflops?: number;
  firstLoss: number;
  lastLoss: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/** Deterministic token ids in [0, vocab): benchmark batches do not need real text. */
function randomIds(B: number, T: number, vocab: number, seed: number): tf.Tensor2D {
  let s = seed >>> 0;
  const ids = new Int32Array(B * T);
  for (let i = 0; i < ids.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids[i] = s % vocab;
  }
  return tf.tensor2d(ids, [B, T], "int32");
}

let peakRss = 0;
function sampleRss(): void {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}

async function timeOurs(cfg: BenchConfig, steps: number, profile: boolean, ab?: KernelGroup, abModel?: string): Promise<Figures> {
  const { model: c, batch: B } = cfg;
  const T = c.blockSize;
  const model = new GPT(c, { seed: 1337 });
  const optimizer = tf.train.adam(1e-3, 0.9, 0.99);
  const vars = model.trainableVariables();
  const batches = Array.from({ length: 4 }, (_, i) => [randomIds(B, T, c.vocabSize, 2 * i + 1), randomIds(B, T, c.vocabSize, 2 * i + 2)]);
  const stepOf = (m: GPT, opt: tf.Optimizer, vs: tf.Variable[]) => (i: number): number => {
    const [x, y] = batches[i % batches.length];
    const loss = opt.minimize(() => m.loss(x, y, { training: true }), true, vs) as tf.Scalar;
    const value = loss.dataSync()[0];
    loss.dispose();
    sampleRss();
    return value;
  };
  const trainStep = stepOf(model, optimizer, vars);
  const warmup = 2;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const losses: number[] = [];
  const abTimes: [number[], number[]] = [[], []];
  const abCpu: [number[], number[]] = [[], []];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    losses.push(trainStep(i));
    const c1 = process.cpuUsage(c0);
    if (i >= warmup) {
      times.push(performance.now() - t0);
      cpuTimes.push((c1.user + c1.system) / 1000);
    }
  }
  let other: { step: (i: number) => number; dispose: () => void } | null = null;
  if (abModel) {
    const Other = (require(path.resolve(abModel)) as { GPT: typeof GPT }).GPT;
    const m = new Other(c, { seed: 1337 });
    const opt = tf.train.adam(1e-3, 0.9, 0.99);
    const step = stepOf(m, opt, m.trainableVariables());
    step(0);
    step(1);
    other = { step, dispose: () => (m.dispose(), opt.dispose()) };
  }
  if (ab || other) {
    // Alternate: even steps A, odd steps B; a burst of other work hits both about equally.
    for (let i = 0; i < 2 * steps; i++) {
      if (ab) useKernelGroup(ab, i % 2 === 0);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      if (other && i % 2 === 1) other.step(i);
      else trainStep(i);
      const c1 = process.cpuUsage(c0);
      abTimes[i % 2].push(performance.now() - t0);
      abCpu[i % 2].push((c1.user + c1.system) / 1000);
    }
    if (ab) useKernelGroup(ab, true);
    other?.dispose();
    const [a, b] = other ? ["lib/model", abModel] : ["with", "without"];
    console.log(
      `  A/B ${ab ? `'${ab}'` : "models"}: ${a} ${fmt(median(abTimes[0]), 1)} ms (cpu ${fmt(median(abCpu[0]), 1)}), ` +
        `${b} ${fmt(median(abTimes[1]), 1)} ms (cpu ${fmt(median(abCpu[1]), 1)}) per step, medians of ${steps}`,
    );
  }
  if (profile) await printProfile(() => trainStep(0));

  // Forward only: the loss without gradients, as in evaluation.
  const fwd: number[] = [];
  for (let i = 0; i < 1 + steps; i++) {
    const [x, y] = batches[i % batches.length];
    const t0 = performance.now();
    const l = tf.tidy(() => model.loss(x, y));
    l.dataSync();
    l.dispose();
    if (i > 0) fwd.push(performance.now() - t0);
    sampleRss();
  }

  // Generation: greedy, one token at a time through the KV cache, 64 tokens (or the context), batch 1 and 8.
  const n = Math.min(T, 64);
  const generateTokensPerSec = timeGeneration(model, 1, n);
  const generate8TokensPerSec = timeGeneration(model, 8, n);
  sampleRss();

  batches.flat().forEach((t) => t.dispose());
  optimizer.dispose();
  const params = model.numParameters();
  model.dispose();
  const ms = median(times);
  return {
    msPerStep: ms,
    cpuMsPerStep: median(cpuTimes),
    trainTokensPerSec: (B * T * 1000) / ms,
    forwardTokensPerSec: (B * T * 1000) / median(fwd),
    generateTokensPerSec,
    generate8TokensPerSec,
    peakRssMiB: peakRss / 2 ** 20,
    params,
    firstLoss: losses[0],
    lastLoss: losses[losses.length - 1],
  };
}

/** Per-kernel time of one training step, largest first (tf.profile). */
async function printProfile(step: () => void): Promise<void> {
  const info = await tf.profile(step);
  const byName = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += Number(k.kernelTimeMs) || 0;
    e.n++;
    byName.set(k.name, e);
  }
  const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(`  profile of one step: ${total.toFixed(0)} ms in ${info.kernels.length} kernels`);
  for (const [name, e] of rows.slice(0, 15)) console.log(`    ${name.padEnd(24)} ${e.ms.toFixed(1).padStart(8)} ms  ×${e.n}`);
}

/** The course's SFT batch size (lib/train/sft.ts, SFT_PRESETS.course). */
const SFT_BATCH = 32;

function timePyTorch(cfg: BenchConfig, steps: number, sft: boolean): Figures | string {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const c = cfg.model;
  const spec = {
    vocab_size: c.vocabSize, block_size: c.blockSize, n_layer: c.nLayer, n_head: c.nHead, n_embd: c.nEmbd,
    dropout: c.dropout, bias: c.bias, batch: cfg.batch, steps,
    ...(sft ? { sft_batch: SFT_BATCH, lora_rank: LORA_DEFAULTS.rank, lora_alpha: LORA_DEFAULTS.alpha } : {}),
  };
  const r = spawnSync(PYTHON, [path.join(__dirname, "nanogpt_ref.py"), JSON.stringify(spec)], { encoding: "utf8", timeout: 1_800_000 });
  if (r.status !== 0) return `nanogpt_ref.py failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`;
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
  return {
    msPerStep: out.ms_per_step,
    cpuMsPerStep: out.cpu_ms_per_step,
    trainTokensPerSec: out.train_tokens_per_sec,
    forwardTokensPerSec: out.forward_tokens_per_sec,
    generateTokensPerSec: out.generate_tokens_per_sec,
    generate8TokensPerSec: out.generate8_tokens_per_sec,
    peakRssMiB: out.peak_rss_mib,
    loopMs: out.loop_ms,
    sftFullMs: out.sft_full_ms,
    sftLoraMs: out.sft_lora_ms,
    peakGflops: out.peak_gflops,
    params: out.params,
    firstLoss: out.first_loss,
    lastLoss: out.last_loss,
  };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export async function run(args: string[]): Promise<void> {
  const names = (option(args, "--config") ?? "nanogpt-baby,course").split(",").filter(Boolean);
  const unknown = names.filter((n) => !CONFIGS[n]);
  if (unknown.length) throw new Error(`--config: unknown ${unknown.join(", ")}; use ${Object.keys(CONFIGS).join(", ")}`);
  const steps = Number(option(args, "--steps") ?? 5);
  const batchOverride = option(args, "--batch");
  if (args.includes("--no-native")) pauseNative(true);
  const backend = await initBackend({ force: option(args, "--backend"), quiet: true });
  const without = (option(args, "--without") ?? "").split(",").filter(Boolean) as KernelGroup[];
  for (const group of without) useKernelGroup(group, false);
  console.log(`backend: ${backend.summary}`);
  if (backend.name === "wasm") console.log(`kernels: ${kernelSummary()}${without.length ? `; without ours: ${without.join(", ")}` : ""}`);
  console.log(`load: ${execSync("uptime").toString().trim()}`);
  const ourPeak = matmulPeak();
  for (const name of names) {
    const base = CONFIGS[name];
    const cfg = batchOverride ? { ...base, batch: Number(batchOverride) } : base;
    const c = cfg.model;
    console.log(
      `\n${name} (${cfg.note}): nLayer ${c.nLayer}, nHead ${c.nHead}, nEmbd ${c.nEmbd}, blockSize ${c.blockSize}, ` +
        `batch ${cfg.batch}, vocab ${c.vocabSize}, bias ${c.bias}, dropout ${c.dropout}; median of ${steps} steps after 2 warm-up`,
    );
    peakRss = 0;
    const ab = option(args, "--ab") as KernelGroup | undefined;
    const ours = await timeOurs(cfg, steps, args.includes("--profile"), ab, option(args, "--ab-model"));
    // The course's own loop (lib/train's train(): AdamW, clipping at 1, loss and gradient norm read every step).
    const loopModel = new GPT(c, { seed: 1337 });
    ours.loopMs = await timeLoop(loopModel, cfg.batch, steps);
    loopModel.dispose();
    // SFT at the course's SFT batch size: all weights vs LoRA's adapters (rank 8 on every linear layer).
    const sft = name === "course" ? await timeSft(c, SFT_BATCH, steps) : null;
    if (sft) Object.assign(ours, { sftFullMs: sft.fullMs, sftLoraMs: sft.loraMs });
    const rows: [string, Figures][] = [[`TIAOYU (${backend.name})`, ours]];
    if (args.includes("--vs-pytorch")) {
      const theirs = timePyTorch(cfg, steps, sft !== null);
      if (typeof theirs === "string") console.log(`  PyTorch: skipped (${theirs})`);
      else rows.push(["PyTorch (CPU)", theirs]);
    }
    const peak = Math.max(ourPeak, ...rows.map(([, f]) => f.peakGflops ?? 0)); // the machine's best measured now
    const flops = trainingFlops(c, cfg.batch);
    const share = (ms: number) => `${((100 * flops) / (ms / 1000) / (peak * 1e9)).toFixed(1)}%`;
    console.log(`  ${"".padEnd(18)} ${"ms/step".padStart(9)} ${"cpu ms".padStart(8)} ${"train tok/s".padStart(12)} ${"loop ms".padStart(8)} ${"fwd tok/s".padStart(10)} ${"gen tok/s".padStart(10)} ${"gen×8 tok/s".padStart(11)} ${"peak MiB".padStart(9)} ${"params".padStart(10)}  loss first→last`);
    for (const [who, f] of rows) {
      console.log(
        `  ${who.padEnd(18)} ${fmt(f.msPerStep, 1).padStart(9)} ${fmt(f.cpuMsPerStep, 1).padStart(8)} ${fmt(f.trainTokensPerSec).padStart(12)} ` +
          `${fmt(f.loopMs ?? NaN, 1).padStart(8)} ${fmt(f.forwardTokensPerSec).padStart(10)} ${fmt(f.generateTokensPerSec).padStart(10)} ` +
          `${fmt(f.generate8TokensPerSec).padStart(11)} ${fmt(f.peakRssMiB).padStart(9)} ${fmt(f.params).padStart(10)}  ${f.firstLoss.toFixed(3)}→${f.lastLoss.toFixed(3)}`,
      );
    }
    console.log(
      `  share of the matrix-product peak (${fmt(peak, 1)} GFLOP/s measured in this run: ours ${fmt(ourPeak, 1)}` +
        `${rows[1]?.[1].peakGflops ? `, torch.mm ${fmt(rows[1][1].peakGflops, 1)}` : ""}; ${fmt(flops / 1e9, 2)} GFLOP per step): ` +
        rows.map(([who, f]) => `${who} model step ${share(f.msPerStep)}, loop ${f.loopMs ? share(f.loopMs) : "–"}`).join("; "),
    );
    console.log(`  TIAOYU's own loop / its model step: ${(ours.loopMs / ours.msPerStep).toFixed(2)}× the time (target ≤ 1.10)`);
    if (sft) {
      const line = rows
        .filter(([, f]) => f.sftFullMs && f.sftLoraMs)
        .map(([who, f]) => `${who} full ${fmt(f.sftFullMs!, 1)} ms, LoRA ${fmt(f.sftLoraMs!, 1)} ms (LoRA/full ${(f.sftLoraMs! / f.sftFullMs!).toFixed(2)})`);
      console.log(`  SFT step, batch ${SFT_BATCH}, loss on half the positions (${fmt(sft.loraParams)} LoRA parameters): ${line.join("; ")}`);
    }
    if (rows.length === 2) {
      const [o, p] = [rows[0][1], rows[1][1]];
      const r = (a: number | undefined, b: number | undefined, invert = false) => (a && b ? (invert ? b / a : a / b).toFixed(2) + "×" : "–");
      console.log(
        `  ours/PyTorch (above 1 = we are faster): training ${r(o.trainTokensPerSec, p.trainTokensPerSec)}, loop ${r(o.loopMs, p.loopMs, true)}, ` +
          `forward ${r(o.forwardTokensPerSec, p.forwardTokensPerSec)}, generation batch 1 ${r(o.generateTokensPerSec, p.generateTokensPerSec)}, ` +
          `batch 8 ${r(o.generate8TokensPerSec, p.generate8TokensPerSec)}` +
          (o.sftFullMs ? `, full SFT ${r(o.sftFullMs, p.sftFullMs, true)}, LoRA SFT ${r(o.sftLoraMs, p.sftLoraMs, true)}` : ""),
      );
    }
  }
}
