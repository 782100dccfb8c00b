/**
 * `npm run bench -- generate [--vs-pytorch] [--config=nanogpt-baby,course] [--reps=N]`: generation only, the rows
 * of the train bench that a change to the generation step moves, in a minute instead of ten.
 *
 * Per model shape, tokens/s of generation with the key/value cache:
 *   - batch 1 and batch 8, greedy, timed as the train bench times them (model.forward + argMax, train_rows.ts);
 *   - generateIds (lib/generate.ts, what complete() and the notebooks call), batch 1, greedy and sampled
 *     (temperature 1), which adds picking the token in JavaScript;
 * each with the one-call native step (lib/kernels/decode.ts) and with the kernel-by-kernel forward it replaces,
 * measured in the same process, run by run in turn, so that a busy machine slows both alike. With --vs-pytorch, PyTorch's generation
 * (test/bench/nanogpt_ref.py, generate_only) at batch 1 greedy and sampled and batch 8 greedy, and the ratios.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generateIds, GPT, type GPTConfig, gptConfig, initBackend, nativeDecodeAvailable, PRESETS, tf, useNativeDecode } from "tiaoyu";
import { kernelSummary } from "tiaoyu/dist/lib/kernels";
import { timeGeneration } from "./train_rows";

const CONFIGS: Record<string, GPTConfig> = {
  "nanogpt-baby": gptConfig({ vocabSize: 5757, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: false }),
  course: PRESETS.course,
};

const PYTHON = "/usr/bin/python3";

function option(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds per token of one run of generateIds from a one-token prompt, n tokens. */
async function generateIdsMs(model: GPT, n: number, temperature: number, seed: number): Promise<number> {
  const t0 = performance.now();
  let count = 0;
  for await (const _ of generateIds(model, [1], { temperature, maxNewTokens: n, seed })) count++;
  return (performance.now() - t0) / count;
}

/** Milliseconds per token of one run of greedy generation at batch B timed as train_rows.ts's timeGeneration. */
function forwardMs(model: GPT, B: number, n: number): number {
  const tokensPerSec = timeGeneration(model, B, n, 1); // one warm-up run (cheap), one timed
  return (B * 1000) / tokensPerSec;
}

interface Row {
  bench1: number;
  greedy1: number;
  sampled1: number;
  greedy8: number;
}

/**
 * Tokens/s of each row with the native step on and off, median of `reps` runs; the two routes alternate run by
 * run, so that a busy machine (other processes come and go) slows both alike.
 */
async function measureBoth(model: GPT, n: number, reps: number, native: boolean): Promise<{ fast: Row | null; slow: Row }> {
  const runs: Record<"fast" | "slow", Record<keyof Row, number[]>> = {
    fast: { bench1: [], greedy1: [], sampled1: [], greedy8: [] },
    slow: { bench1: [], greedy1: [], sampled1: [], greedy8: [] },
  };
  for (let rep = 0; rep < reps; rep++) {
    for (const route of native ? (["fast", "slow"] as const) : (["slow"] as const)) {
      useNativeDecode(route === "fast");
      const r = runs[route];
      r.bench1.push(forwardMs(model, 1, n));
      r.greedy8.push(forwardMs(model, 8, n) / 8);
      r.greedy1.push(await generateIdsMs(model, n, 0, rep));
      r.sampled1.push(await generateIdsMs(model, n, 1, rep));
    }
  }
  useNativeDecode(true);
  const rate = (r: Record<keyof Row, number[]>): Row => ({
    bench1: 1000 / median(r.bench1),
    greedy1: 1000 / median(r.greedy1),
    sampled1: 1000 / median(r.sampled1),
    greedy8: 1000 / median(r.greedy8),
  });
  return { fast: native ? rate(runs.fast) : null, slow: rate(runs.slow) };
}

function pytorch(c: GPTConfig, reps: number): Record<string, number> | string {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const spec = {
    vocab_size: c.vocabSize, block_size: c.blockSize, n_layer: c.nLayer, n_head: c.nHead, n_embd: c.nEmbd,
    dropout: c.dropout, bias: c.bias, generate_only: true, reps,
  };
  const r = spawnSync(PYTHON, [path.join(__dirname, "nanogpt_ref.py"), JSON.stringify(spec)], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) return `nanogpt_ref.py failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`;
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
}

const fmt = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 0 });

export async function run(args: string[]): Promise<void> {
  const names = (option(args, "--config") ?? "nanogpt-baby,course").split(",").filter(Boolean);
  const unknown = names.filter((n) => !CONFIGS[n]);
  if (unknown.length) throw new Error(`--config: unknown ${unknown.join(", ")}; use ${Object.keys(CONFIGS).join(", ")}`);
  const reps = Number(option(args, "--reps") ?? 5);
  if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps=${reps}: use a whole number ≥ 1`);
  await initBackend({ force: option(args, "--backend"), quiet: true });
  console.log(`backend: ${tf.getBackend()}; ${kernelSummary()}`);
  console.log(`load: ${os.loadavg().map((l) => l.toFixed(2)).join(", ")} (1, 5, 15 min) on ${os.cpus().length} cores`);
  for (const name of names) {
    const config = CONFIGS[name];
    const n = Math.min(config.blockSize, 64);
    const model = new GPT(config);
    console.log(`\n${name}: nLayer ${config.nLayer}, nHead ${config.nHead}, nEmbd ${config.nEmbd}, blockSize ${config.blockSize}, vocab ${config.vocabSize}; ${n} tokens, median of ${reps} runs, tokens/s`);
    console.log(`  ${"".padEnd(34)} ${"bench b1".padStart(9)} ${"greedy b1".padStart(10)} ${"sampled b1".padStart(11)} ${"greedy b8".padStart(10)}`);
    const line = (label: string, r: { bench1?: number; greedy1: number; sampled1: number; greedy8: number }) =>
      console.log(`  ${label.padEnd(34)} ${fmt(r.bench1 ?? NaN).padStart(9)} ${fmt(r.greedy1).padStart(10)} ${fmt(r.sampled1).padStart(11)} ${fmt(r.greedy8).padStart(10)}`);
    const { fast, slow } = await measureBoth(model, n, reps, nativeDecodeAvailable(model));
    if (fast) line("TIAOYU, one-call step (native)", fast);
    else console.log("  TIAOYU, one-call step: not available here (needs wasm with the native addon)");
    line("TIAOYU, kernel-by-kernel forward", slow);
    model.dispose();
    if (args.includes("--vs-pytorch")) {
      const p = pytorch(config, reps);
      if (typeof p === "string") {
        console.log(`  PyTorch: ${p}`);
        continue;
      }
      const torchRow = { greedy1: p.generate_tokens_per_sec, sampled1: p.generate_sampled_tokens_per_sec, greedy8: p.generate8_tokens_per_sec };
      line(`PyTorch ${p.torch} (${p.threads} threads)`, { bench1: p.generate_tokens_per_sec, ...torchRow });
      const ours = fast ?? slow;
      const r = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
      console.log(
        `  ours/PyTorch (above 1 = we are faster): batch 1 greedy ${r(ours.bench1, torchRow.greedy1)} (bench timing), ` +
          `${r(ours.greedy1, torchRow.greedy1)} (generateIds); sampled ${r(ours.sampled1, torchRow.sampled1)}; batch 8 ${r(ours.greedy8, torchRow.greedy8)}`,
      );
    }
  }
}
