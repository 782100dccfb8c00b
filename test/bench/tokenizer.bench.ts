/**
 * `npm run bench -- tokenizer [--quick] [--repeat N] [--vocab 6400,30000] [--with-js]`
 *
 * Chapter 2's byte-level BPE against Hugging Face `tokenizers` (the Rust library's Node binding), on the same text
 * in the same run: chapter 1's training split (the <s>/</s> markers removed, one poem a line).
 *   training   ours at each vocabulary size; native at 30,000 (its Node binding cannot set another size, see
 *              ../shared/reference/perf-baseline.md §3), so at 6,400 its 30,000 time is an upper bound
 *   encoding   every poem, MB of UTF-8 per second: ours one poem at a time on one thread; native on OUR
 *              tokenizer.json (same model, ids checked identical), batched (encodeBatch, 4,096 poems a call,
 *              parallel in Rust) and one awaited encode() per poem; optionally @huggingface/tokenizers (--with-js)
 *   memory     peak resident memory (maxRSS) of the process doing the work
 * Each measurement runs in a fresh child process, `--repeat` times (default 3); the table shows medians and ranges.
 * Targets (issue 3): training ≤ 3× native's time, encoding ≥ 0.5× native's batched throughput.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

interface Job {
  readonly what: "train-ours" | "train-native" | "encode-ours" | "encode-native-batch" | "encode-native-single" | "encode-js";
  readonly corpus: string;
  readonly vocab: number;
  readonly dir: string;
}

interface Result {
  readonly seconds: number;
  /** CPU seconds (user + system, all threads) of the measured section: less sensitive than wall time to other load. */
  readonly cpu: number;
  readonly maxRssMB: number;
  readonly tokens?: number;
  readonly checksum?: number;
  readonly extra?: Record<string, number>;
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

function lines(file: string): string[] {
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
}

/** Sum of ids weighted by position, to check two encoders agree without storing all ids. */
function checksum(all: ArrayLike<number>[]): number {
  let s = 0, k = 0;
  for (const ids of all) for (let i = 0; i < ids.length; i++) s = (s + ids[i] * ((k++ % 1000) + 1)) % 2147483647;
  return s;
}

async function child(job: Job): Promise<Result> {
  const texts = lines(job.corpus);
  const rss = () => process.resourceUsage().maxRSS / 1024;
  switch (job.what) {
    case "train-ours": {
      const { ByteBPETokenizer } = await import("tiaoyu");
      const t1 = performance.now(), c1 = process.cpuUsage();
      const tok = await ByteBPETokenizer.train(texts, { vocabSize: job.vocab });
      const seconds = (performance.now() - t1) / 1000, cpu = cpuSince(c1);
      tok.save(job.dir);
      const s = tok.stats!;
      return { seconds, cpu, maxRssMB: rss(), extra: { countSeconds: s.countSeconds, mergeSeconds: s.mergeSeconds, loopMB: s.loopBytes / 2 ** 20, merges: s.merges, distinctWords: s.distinctWords } };
    }
    case "train-native": {
      const { Tokenizer, BPE, byteLevelPreTokenizer } = await import("tokenizers");
      const t1 = performance.now(), c1 = process.cpuUsage();
      const tok = new Tokenizer(BPE.empty());
      tok.setPreTokenizer(byteLevelPreTokenizer(false, true));
      tok.train([job.corpus]);
      const seconds = (performance.now() - t1) / 1000, cpu = cpuSince(c1);
      fs.mkdirSync(job.dir, { recursive: true });
      tok.save(path.join(job.dir, "tokenizer.json"));
      return { seconds, cpu, maxRssMB: rss(), extra: { vocab: tok.getVocabSize(true) } };
    }
    case "encode-ours": {
      const { loadTokenizer } = await import("tiaoyu");
      const tok = loadTokenizer(job.dir);
      const all: number[][] = [];
      const t1 = performance.now(), c1 = process.cpuUsage();
      for (const t of texts) all.push(tok.encode(t));
      const seconds = (performance.now() - t1) / 1000, cpu = cpuSince(c1);
      return { seconds, cpu, maxRssMB: rss(), tokens: all.reduce((n, a) => n + a.length, 0), checksum: checksum(all) };
    }
    case "encode-native-batch":
    case "encode-native-single": {
      const { Tokenizer } = await import("tokenizers");
      const tok = Tokenizer.fromFile(path.join(job.dir, "tokenizer.json"));
      const all: number[][] = [];
      const t1 = performance.now(), c1 = process.cpuUsage();
      if (job.what === "encode-native-batch") {
        for (let i = 0; i < texts.length; i += 4096) for (const e of await tok.encodeBatch(texts.slice(i, i + 4096))) all.push(e.getIds());
      } else {
        for (const t of texts) all.push((await tok.encode(t)).getIds());
      }
      const seconds = (performance.now() - t1) / 1000, cpu = cpuSince(c1);
      return { seconds, cpu, maxRssMB: rss(), tokens: all.reduce((n, a) => n + a.length, 0), checksum: checksum(all) };
    }
    case "encode-js": {
      const { Tokenizer } = await import("@huggingface/tokenizers");
      const tok = new Tokenizer(JSON.parse(fs.readFileSync(path.join(job.dir, "tokenizer.json"), "utf8")), {});
      const all: number[][] = [];
      const t1 = performance.now(), c1 = process.cpuUsage();
      for (const t of texts) all.push(tok.encode(t).ids);
      const seconds = (performance.now() - t1) / 1000, cpu = cpuSince(c1);
      return { seconds, cpu, maxRssMB: rss(), tokens: all.reduce((n, a) => n + a.length, 0), checksum: checksum(all) };
    }
  }
}

/** Runs one job in a fresh Node process (same loader flags), returning its result. */
function inChild(job: Job): Result {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename], {
    env: { ...process.env, TIAOYU_TOKBENCH_JOB: JSON.stringify(job) },
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !last.startsWith("{")) throw new Error(`${job.what} (vocab ${job.vocab}) failed:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(last) as Result;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function summary(rs: Result[], f: (r: Result) => number, digits: number): string {
  const xs = rs.map(f);
  const m = median(xs).toFixed(digits);
  return xs.length > 1 ? `${m} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})` : m;
}

export async function run(args: string[]): Promise<void> {
  const flag = (name: string) => args.includes(name);
  const value = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const quick = flag("--quick");
  const repeat = Number(value("--repeat", quick ? "1" : "3"));
  const vocabs = value("--vocab", quick ? "1024,6400" : "6400,30000").split(",").map(Number);
  const { ensureCorpus, readSamples, sampleBody } = await import("tiaoyu");

  const corpusInfo = await ensureCorpus({ quick });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-tokbench-"));
  const corpus = path.join(work, "train.txt");
  const texts: string[] = [];
  for await (const s of readSamples(corpusInfo.files.train)) texts.push(sampleBody(s));
  fs.writeFileSync(corpus, texts.join("\n") + "\n");
  const mb = Buffer.byteLength(texts.join("")) / 1e6;
  console.log(`corpus: ${corpusInfo.files.train} → ${texts.length} poems, ${mb.toFixed(2)} MB of UTF-8 (markers removed), ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  console.log(`each figure: median (min–max) of ${repeat} run(s), each in a fresh process\n`);

  const runs = (job: Job): Result[] => {
    const out: Result[] = [];
    for (let i = 0; i < repeat; i++) {
      out.push(inChild(job));
      process.stdout.write(".");
    }
    return out;
  };
  const rows: string[][] = [["measurement", "vocab", "ours", "native", "ours/native", "target"]];
  const nativeDir = path.join(work, "native");
  process.stdout.write("native training 30,000 ");
  const nativeTrain = runs({ what: "train-native", corpus, vocab: 30000, dir: nativeDir });
  // Native on its own file (GPT-2's built-in ByteLevel regex instead of our Split pattern), as in perf-baseline.md.
  const nativeOwn = runs({ what: "encode-native-batch", corpus, vocab: 30000, dir: nativeDir });
  console.log();
  for (const vocab of vocabs) {
    const dir = path.join(work, `ours-${vocab}`);
    process.stdout.write(`vocab ${vocab}: training `);
    const train = runs({ what: "train-ours", corpus, vocab, dir });
    process.stdout.write(" encoding ");
    const enc = runs({ what: "encode-ours", corpus, vocab, dir });
    const batch = runs({ what: "encode-native-batch", corpus, vocab, dir });
    const single = runs({ what: "encode-native-single", corpus, vocab, dir });
    const js = flag("--with-js") ? runs({ what: "encode-js", corpus, vocab, dir }) : [];
    console.log();
    for (const other of [batch[0], single[0], ...js.slice(0, 1)]) {
      if (other.checksum !== enc[0].checksum || other.tokens !== enc[0].tokens) throw new Error(`vocab ${vocab}: native ids differ from ours (${other.tokens} vs ${enc[0].tokens} tokens)`);
    }
    const tTrain = median(train.map((r) => r.seconds)), tNative = median(nativeTrain.map((r) => r.seconds));
    const mbps = (r: Result) => mb / r.seconds;
    const eOurs = median(enc.map(mbps)), eBatch = median(batch.map(mbps)), eSingle = median(single.map(mbps));
    const native30k = vocab === 30000 ? "" : " (at 30,000: upper bound)";
    rows.push(["training time, s", String(vocab), summary(train, (r) => r.seconds, 1), summary(nativeTrain, (r) => r.seconds, 1) + native30k, (tTrain / tNative).toFixed(2) + "×", "≤ 3×"]);
    rows.push(["training CPU time (all threads), s", String(vocab), summary(train, (r) => r.cpu, 1), summary(nativeTrain, (r) => r.cpu, 1) + native30k, (median(train.map((r) => r.cpu)) / median(nativeTrain.map((r) => r.cpu))).toFixed(2) + "×", ""]);
    rows.push(["  of which counting / merging, s", String(vocab), `${summary(train, (r) => r.extra!.countSeconds, 1)} / ${summary(train, (r) => r.extra!.mergeSeconds, 1)}`, "", "", ""]);
    rows.push(["training peak memory, MB", String(vocab), summary(train, (r) => r.maxRssMB, 0) + ` (merge loop arrays ${median(train.map((r) => r.extra!.loopMB)).toFixed(0)})`, summary(nativeTrain, (r) => r.maxRssMB, 0), (median(train.map((r) => r.maxRssMB)) / median(nativeTrain.map((r) => r.maxRssMB))).toFixed(2) + "×", ""]);
    rows.push(["encode MB/s: ours (1 thread) vs native batched", String(vocab), summary(enc, mbps, 2), summary(batch, mbps, 2), (eOurs / eBatch).toFixed(2) + "×", "≥ 0.5×"]);
    rows.push(["encode MB/s: ours vs native one poem per call", String(vocab), summary(enc, mbps, 2), summary(single, mbps, 2), (eOurs / eSingle).toFixed(2) + "×", ""]);
    if (vocab === 30000) rows.push(["  native batched on its own tokenizer.json", "30000", "", summary(nativeOwn, mbps, 2) + ` (${nativeOwn[0].tokens} tokens)`, (eOurs / median(nativeOwn.map(mbps))).toFixed(2) + "×", ""]);
    if (js.length) rows.push(["encode MB/s: ours vs @huggingface/tokenizers", String(vocab), summary(enc, mbps, 2), summary(js, mbps, 2) + " (pure JS)", (eOurs / median(js.map(mbps))).toFixed(2) + "×", ""]);
    rows.push(["encode CPU time (all threads), s", String(vocab), summary(enc, (r) => r.cpu, 2), summary(batch, (r) => r.cpu, 2) + " (batched)", (median(enc.map((r) => r.cpu)) / median(batch.map((r) => r.cpu))).toFixed(2) + "×", ""]);
    rows.push(["encode peak memory, MB", String(vocab), summary(enc, (r) => r.maxRssMB, 0), summary(batch, (r) => r.maxRssMB, 0) + " (batched)", "", ""]);
    rows.push(["tokens (ids identical to native)", String(vocab), String(enc[0].tokens), String(batch[0].tokens), `${(enc[0].tokens! / texts.reduce((n, t) => n + [...t].length, 0)).toFixed(3)} tokens/char`, ""]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...r[c]].length)));
  console.log("\n" + rows.map((r, i) => r.map((x, c) => x.padEnd(widths[c])).join("  ") + (i === 0 ? "\n" + widths.map((w) => "-".repeat(w)).join("  ") : "")).join("\n"));
  console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(" ")} (other work on the machine slows the 2-thread native library more than our 1 thread)`);
  fs.rmSync(work, { recursive: true, force: true });
}

if (process.env.TIAOYU_TOKBENCH_JOB) {
  child(JSON.parse(process.env.TIAOYU_TOKBENCH_JOB) as Job)
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
