/**
 * Long runs that stop when asked and never lose or overwrite work, and bad input answered with the file and the
 * field (issue 18). Child processes play the user: a real `npx tiaoyu pretrain` on the tiny preset gets Ctrl-C,
 * a toy run gets a second Ctrl-C in the middle of its save, a resume is killed while it rewrites the log.
 */
import * as assert from "assert";
import { type ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ByteBPETokenizer,
  checkTrainingMemory,
  configFromHF,
  initBackend,
  latestCheckpoint,
  loadTokenizer,
  loadTrainingCheckpoint,
  parameterCount,
  presetConfig,
  projectRoot,
  RunExistsError,
  saveTrainingCheckpoint,
  type Stage,
  tf,
  tokenizerFromJSON,
  train,
  validateConfig,
} from "tiaoyu";
import { nearest, numberFlag } from "../../lib/flags";

const ROOT = projectRoot();
const CLI = path.join(ROOT, "dist", "lib", "cli.js");

/** A toy stage in plain JavaScript, for child processes: one weight vector pulled towards [1, 2, 3]. */
const TOY_JS = `
  const { tf, train } = require(${JSON.stringify(path.join(ROOT, "dist", "lib", "index.js"))});
  const { stopOnCtrlC } = require(${JSON.stringify(path.join(ROOT, "dist", "lib", "flags.js"))});
  function toyStage() {
    const w = tf.variable(tf.zeros([3]));
    let i = 0;
    return {
      name: "toy",
      model: { configJson: () => ({ toy: 3 }), weights: () => new Map([["w", w]]) },
      batches: { next: () => ++i, state: () => ({ index: i }), restore: (s) => { i = s.index; } },
      loss: () => tf.sum(tf.square(tf.sub(w, tf.tensor1d([1, 2, 3])))),
      tokens: () => 1,
      defaults: { lr: 0.01, progress: "none" },
    };
  }
`;

/** Spawns a child, collecting its output; `on(text, child)` sees the output so far each time some arrives. */
function run(args: string[], on?: (out: string, child: ChildProcess) => void, env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const got = (d: Buffer) => {
      out += d;
      on?.(out, child);
    };
    child.stdout.on("data", got);
    child.stderr.on("data", got);
    child.on("exit", (code, signal) => resolve({ code, signal, out }));
  });
}

function trainSteps(logFile: string): number[] {
  return fs
    .readFileSync(logFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.kind === "train")
    .map((r) => r.step);
}

describe("reliability: stopping (issue 18)", function () {
  this.timeout(240_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-stop-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("Ctrl-C during `npx tiaoyu pretrain` stops within a step, with a checkpoint of that step and the resume command; the folder then refuses a new run", async () => {
    const runDir = path.join(dir, "pretrain");
    const log = path.join(runDir, "log.jsonl");
    let sent = false;
    // 2,000 steps with no checkpoint before the end: without the per-step check the run would go on to the end.
    const r = await run([CLI, "pretrain", "--preset", "tiny", "--steps", "2000", "--checkpoint-every", "0", "--eval-every", "0", "--run-dir", runDir], (_out, child) => {
      if (!sent && fs.existsSync(log) && trainSteps(log).length >= 3) {
        sent = true;
        child.kill("SIGINT");
      }
    }, { TIAOYU_QUICK: "1" });
    assert.ok(sent, `the run never logged 3 steps: ${r.out}`);
    assert.strictEqual(r.code, 0, r.out);
    assert.match(r.out, /stopped at step \d+/);
    assert.match(r.out, /resume with: npx tiaoyu pretrain --resume .*--steps 2000/);
    const steps = trainSteps(log);
    const last = steps[steps.length - 1];
    assert.ok(last < 2000, `stopped at ${last}`);
    const ckpt = loadTrainingCheckpoint(runDir);
    assert.strictEqual(ckpt.meta.step, last, "the checkpoint is of the step the run stopped at");
    ckpt.dispose();

    // Starting again without --resume or --fresh refuses, offering both; --resume with other steps lists them.
    const again = await run([CLI, "pretrain", "--preset", "tiny", "--steps", "5", "--run-dir", runDir], undefined, { TIAOYU_QUICK: "1" });
    assert.strictEqual(again.code, 1, again.out);
    assert.match(again.out, /already holds a run \(checkpoint at step \d+\).*--resume.*--fresh/s);
    const changed = await run([CLI, "pretrain", "--preset", "tiny", "--steps", "3000", "--resume", "--run-dir", runDir], undefined, { TIAOYU_QUICK: "1" });
    assert.strictEqual(changed.code, 1, changed.out);
    assert.match(changed.out, /steps 2000 → 3000.*--accept-changes/s);
    assert.strictEqual(loadTrainingCheckpoint(runDir).meta.step, last, "refusals leave the run as it was");
  });

  it("a second Ctrl-C during the save says it waits, and the checkpoint is complete", async () => {
    const runDir = path.join(dir, "toy");
    const child = `${TOY_JS}
      stopOnCtrlC((signal) => train(toyStage(), { steps: 100000, runDir: ${JSON.stringify(runDir)}, signal,
        onStep: (r) => r.step === 5 && process.stdout.write("STEP5\\n"),
        onCheckpointPhase: async (phase) => {
          if (phase !== "temp-folder-written") return;
          process.stdout.write("SAVING\\n");
          const alive = setInterval(() => {}, 1000); // a pending promise alone does not keep Node running
          await new Promise((resolve) => process.once("SIGINT", resolve)); // the second Ctrl-C arrives mid-save
          await new Promise((resolve) => setTimeout(resolve, 200));
          clearInterval(alive);
        },
      })).then((r) => console.log("DONE " + r.step + " " + r.stopped));`;
    let first = false;
    let second = false;
    const r = await run(["-e", child], (out, c) => {
      if (!first && out.includes("STEP5")) (first = true), c.kill("SIGINT");
      if (!second && out.includes("SAVING")) (second = true), c.kill("SIGINT");
    });
    assert.strictEqual(r.code, 0, r.out);
    assert.match(r.out, /still stopping — waiting for the step to finish and its checkpoint to be written/);
    const done = /DONE (\d+) true/.exec(r.out);
    assert.ok(done, r.out);
    const ckpt = loadTrainingCheckpoint(runDir);
    assert.strictEqual(ckpt.meta.step, Number(done[1]));
    ckpt.dispose();
  });

  it("in a notebook, the kernel's interrupt (SIGINT to the kernel process) stops the loop with a checkpoint", async () => {
    // What tslab does on Jupyter's interrupt: its own SIGINT handler abandons the cell's promise. The loop, seeing it
    // runs in a kernel (tslab's display writer is set), listens too and stops instead of training on unseen.
    const runDir = path.join(dir, "notebook");
    const child = `
      require(${JSON.stringify(path.join(ROOT, "node_modules", "tslab", "dist", "jupyter"))}).lastWriteDisplayData = () => {};
      process.on("SIGINT", () => console.log("CELL ABANDONED"));
      ${TOY_JS}
      train(toyStage(), { steps: 100000, runDir: ${JSON.stringify(runDir)}, onStep: (r) => r.step === 5 && console.log("STEP5") })
        .then((r) => console.log("DONE " + r.step + " " + r.stopped));`;
    let sent = false;
    const r = await run(["-e", child], (out, c) => {
      if (!sent && out.includes("STEP5")) (sent = true), c.kill("SIGINT");
    });
    assert.strictEqual(r.code, 0, r.out);
    assert.match(r.out, /interrupted — finishing this step and writing a checkpoint/);
    const done = /DONE (\d+) true/.exec(r.out);
    assert.ok(done, r.out);
    const ckpt = loadTrainingCheckpoint(runDir);
    assert.strictEqual(ckpt.meta.step, Number(done[1]));
    ckpt.dispose();
  });

  it("a kill while the log is rewritten on resume leaves the complete old log", async () => {
    const runDir = path.join(dir, "logkill");
    const first = await run(["-e", `${TOY_JS} train(toyStage(), { steps: 6, checkpointEvery: 3, keepCheckpoints: 2, runDir: ${JSON.stringify(runDir)} });`]);
    assert.strictEqual(first.code, 0, first.out);
    const before = fs.readFileSync(path.join(runDir, "log.jsonl"), "utf8");
    assert.deepStrictEqual(trainSteps(path.join(runDir, "log.jsonl")), [1, 2, 3, 4, 5, 6]);
    // Resume from step 3 after deleting the step-6 checkpoint: the log is cut back to step 3. The child writes half
    // of the new log and is SIGKILLed, as a closed laptop lid would do it.
    fs.rmSync(path.join(runDir, "step-00000006"), { recursive: true });
    fs.rmSync(path.join(runDir, "latest"));
    const crash = `
      const fs = require("fs");
      const write = fs.writeFileSync;
      fs.writeFileSync = function (target, data, ...rest) {
        if (typeof data === "string" && data.includes('"kind":"train"')) {
          write.call(fs, target, data.slice(0, data.length >> 1), ...rest);
          process.kill(process.pid, "SIGKILL");
        }
        return write.call(fs, target, data, ...rest);
      };
      ${TOY_JS} train(toyStage(), { steps: 6, runDir: ${JSON.stringify(runDir)}, resume: true });`;
    const killed = await run(["-e", crash]);
    assert.strictEqual(killed.signal, "SIGKILL", `the child was not killed during the log rewrite: ${killed.out}`);
    assert.strictEqual(fs.readFileSync(path.join(runDir, "log.jsonl"), "utf8"), before);
  });
});

// ---------------------------------------------------------------- in-process: run folders

function toy(): { stage: Stage<number>; w: tf.Variable } {
  const w = tf.variable(tf.zeros([3]));
  let i = 0;
  const stage: Stage<number> = {
    name: "toy",
    model: { configJson: () => ({ toy: 3 }), weights: () => new Map([["w", w]]) },
    batches: { next: () => ++i, state: () => ({ index: i }), restore: (s) => void (i = (s as { index: number }).index) },
    loss: () => tf.sum(tf.square(tf.sub(w, tf.tensor1d([1, 2, 3])))) as tf.Scalar,
    tokens: () => 1,
    defaults: { lr: 0.01, progress: "none" },
  };
  return { stage, w };
}

async function trainToy(runDir: string, options: Parameters<typeof train>[1] = {}) {
  const t = toy();
  try {
    return await train(t.stage, { steps: 4, runDir, ...options });
  } finally {
    t.w.dispose();
  }
}

describe("reliability: run folders are never overwritten by accident", function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    await initBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-runs-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("refuses a new run over one, offers resume and fresh; fresh moves it aside or deletes it when asked", async () => {
    const runDir = path.join(dir, "a");
    await trainToy(runDir);
    await assert.rejects(trainToy(runDir), (e: Error) => e instanceof RunExistsError && /step 4.*resume: true.*fresh: true/s.test(e.message));
    assert.strictEqual(loadTrainingCheckpoint(runDir).meta.step, 4);
    await trainToy(runDir, { fresh: true, steps: 2 });
    assert.strictEqual(loadTrainingCheckpoint(`${runDir}.old-1`).meta.step, 4, "the old run is kept aside");
    assert.strictEqual(loadTrainingCheckpoint(runDir).meta.step, 2);
    await trainToy(runDir, { fresh: "delete", steps: 3 });
    assert.ok(!fs.existsSync(`${runDir}.old-2`), "fresh: 'delete' keeps no copy");
    assert.strictEqual(loadTrainingCheckpoint(runDir).meta.step, 3);
    await assert.rejects(trainToy(runDir, { fresh: true, resume: true }), /not both/);
  });

  it("resume 'required' with no checkpoint is an error; resume true starts; changed settings are refused unless accepted", async () => {
    const empty = path.join(dir, "empty");
    await assert.rejects(trainToy(empty, { resume: "required" }), /nothing to resume in .*no checkpoint/);
    assert.ok(!latestCheckpoint(empty));
    await trainToy(empty, { resume: true, steps: 2 }); // a notebook's "continue if there is one"
    await assert.rejects(trainToy(empty, { resume: true, steps: 4, lr: 0.02 }), /steps 2 → 4; lr 0\.01 → 0\.02.*acceptChanges/s);
    const r = await trainToy(empty, { resume: true, steps: 4, acceptChanges: true });
    assert.strictEqual(r.step, 4);
    // A finished run asked for no more steps takes none: nothing to refuse.
    assert.strictEqual((await trainToy(empty, { resume: true, steps: 3 })).step, 4);
  });

  it("sweeps what an interrupted save left, saying so", async () => {
    const runDir = path.join(dir, "orphans");
    await trainToy(runDir, { steps: 2 });
    fs.mkdirSync(path.join(runDir, "step-00000001")); // a deletion cut short: no meta.json
    fs.writeFileSync(path.join(runDir, "step-00000001", "model.safetensors"), "half");
    fs.mkdirSync(path.join(runDir, ".tmp-999999999-dead-step-00000003")); // a save whose process is gone
    const lines: string[] = [];
    const log = console.log;
    console.log = (s: string) => lines.push(s);
    try {
      await trainToy(runDir, { resume: true, steps: 3, acceptChanges: true });
    } finally {
      console.log = log;
    }
    assert.ok(lines.some((l) => /removed .*step-00000001.*interrupted save/.test(l)), lines.join("\n"));
    assert.deepStrictEqual(fs.readdirSync(runDir).sort(), ["latest", "log.jsonl", "step-00000003"]);
  });
});

// ---------------------------------------------------------------- in-process: bad input

describe("reliability: bad input names the file and the field", function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    await initBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-bad-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const base = { vocab_size: 64, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 };
  for (const [field, value] of [
    ["n_embd", 1e6],
    ["vocab_size", 5e7],
    ["n_layer", 100000],
    ["n_positions", 1e9],
    ["n_head", -2],
    ["n_layer", 2.5],
  ] as const) {
    it(`config.json with ${field} = ${value} fails before allocating, naming the file and the field`, () => {
      const before = tf.memory().numTensors;
      assert.throws(() => configFromHF({ ...base, [field]: value }, "/x/config.json"), new RegExp(`^Error: /x/config\\.json: field ${field} .*= ${value}.*integer from 1 to`));
      assert.strictEqual(tf.memory().numTensors, before);
    });
  }

  it("sizes each within bounds that multiply beyond memory fail with the estimate, before allocating", () => {
    assert.throws(
      () => configFromHF({ ...base, n_embd: 16384, n_layer: 256, n_head: 16, vocab_size: 50257 }, "/x/config.json"),
      /\/x\/config\.json: n_layer 256, n_embd 16384.*parameters, .* TB of float32 weights/,
    );
    const cfg = presetConfig("tiny", { vocabSize: 1024 });
    assert.throws(() => checkTrainingMemory(cfg, 1e6, "batch size 1000000", 8e9), /batch size 1000000: training this model needs about .* GB.*batch 1000000/);
    assert.strictEqual(checkTrainingMemory(cfg, 8, "tiny", 8e9).weights, 16 * parameterCount(cfg));
    assert.throws(() => validateConfig({ ...cfg, nEmbd: 1e5 }), /GPTConfig\.nEmbd = 100000: must be an integer from 1 to 16,384/);
  });

  it("checkpoint metadata that makes no sense is rejected, naming meta.json and the field", async () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]));
    const runDir = path.join(dir, "meta");
    const ck = await saveTrainingCheckpoint(runDir, { stage: "toy", step: 5, tokens: 50, config: { v: 1 }, weights: new Map([["w", w]]), rng: [1, 2, 3, 4], data: { epoch: 1, index: 3 } });
    w.dispose();
    const metaFile = path.join(ck, "meta.json");
    const good = fs.readFileSync(metaFile, "utf8");
    for (const [edit, field] of [
      [(m: Record<string, any>) => (m.step = 1e9), "step"],
      [(m: Record<string, any>) => (m.step = -1), "step"],
      [(m: Record<string, any>) => (m.tokens = "many"), "tokens"],
      [(m: Record<string, any>) => (m.data.epoch = -5), "data.epoch"],
      [(m: Record<string, any>) => (m.data.index = 0.5), "data.index"],
      [(m: Record<string, any>) => (m.rng = [0, 0, 0, 0]), "rng"],
      [(m: Record<string, any>) => (m.version = 7), "version"],
      [(m: Record<string, any>) => (m.stage = 3), "stage"],
      [(m: Record<string, any>) => (m.files["model.safetensors"].bytes = -1), "files.model.safetensors.bytes"],
    ] as const) {
      const m = JSON.parse(good);
      edit(m);
      fs.writeFileSync(metaFile, JSON.stringify(m));
      assert.throws(() => loadTrainingCheckpoint(ck), (e: Error) => e.message.startsWith(`${metaFile}: field '${field}'`), `${field} was accepted`);
    }
    fs.writeFileSync(metaFile, good);
    loadTrainingCheckpoint(ck).dispose();
    // A folder where a file is expected, and a file where a folder is expected, name the path.
    const weights = path.join(ck, "model.safetensors");
    fs.renameSync(weights, weights + ".bak");
    fs.mkdirSync(weights);
    assert.throws(() => loadTrainingCheckpoint(ck), new RegExp(`${weights.replace(/[.]/g, "\\.")} is a folder`));
    assert.throws(() => loadTrainingCheckpoint(metaFile), /meta\.json is a file; a checkpoint folder/);
  });

  it("tokenizer.json with a vocabulary gap, an unknown normalizer or pre-tokenizer, or a folder in its place names file and field", async () => {
    const tok = await ByteBPETokenizer.train(["床前明月光，疑是地上霜。"], { vocabSize: 262, specialTokens: [] });
    const tdir = path.join(dir, "tok");
    tok.save(tdir);
    const file = path.join(tdir, "tokenizer.json");
    const good = JSON.parse(fs.readFileSync(file, "utf8"));
    loadTokenizer(tdir);
    const n = Object.keys(good.model.vocab).length;
    const last = Object.keys(good.model.vocab).find((k) => good.model.vocab[k] === n - 1)!;
    const cases: [string, (j: any) => void, RegExp][] = [
      ["a gap", (j) => (j.model.vocab[last] = n + 40), new RegExp(`model\\.vocab\\[.*\\]: id ${n + 40}, but the ${n} ids must be 0 to ${n - 1} without gaps \\(no token has id ${n - 1}\\)`)],
      ["a repeat", (j) => (j.model.vocab[last] = 5), /model\.vocab\[.*\]: id 5 is also used by/],
      ["an unknown normalizer", (j) => (j.normalizer = { type: "Shout" }), /normalizer: type string "Shout" is not supported/],
      ["an unknown pre-tokenizer", (j) => (j.pre_tokenizer = { type: "Whisper" }), /unsupported pre_tokenizer type "Whisper"/],
    ];
    for (const [what, edit, want] of cases) {
      const j = structuredClone(good);
      edit(j);
      assert.throws(() => tokenizerFromJSON(j, file), (e: Error) => e.message.startsWith(file) && want.test(e.message), `${what} was accepted`);
    }
    fs.rmSync(file);
    fs.mkdirSync(file);
    assert.throws(() => loadTokenizer(tdir), new RegExp(`${file.replace(/[.]/g, "\\.")} is a folder`));
  });
});

// ---------------------------------------------------------------- the command line

describe("reliability: command-line usage", function () {
  this.timeout(120_000);
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8" });

  it("--help, -h and help print usage and exit 0, for the program and each command", () => {
    for (const args of [[], ["--help"], ["-h"], ["help"]]) {
      const r = cli(...args);
      assert.strictEqual(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /usage: npx tiaoyu <command>/);
    }
    for (const cmd of ["backend", "data", "tokenizer", "pretrain", "anneal", "sft", "rlhf", "distill", "reasoning"]) {
      for (const args of [[cmd, "--help"], [cmd, "-h"], ["help", cmd]]) {
        const r = cli(...args);
        assert.strictEqual(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`usage: npx tiaoyu ${cmd}`), args.join(" "));
      }
    }
  });

  it("names an unknown command or flag with the nearest valid one, and checks numbers", () => {
    let r = cli("pretrian");
    assert.strictEqual(r.status, 2);
    assert.match(r.stderr, /unknown command 'pretrian' — did you mean 'pretrain'\?/);
    r = cli("pretrain", "--step", "5");
    assert.strictEqual(r.status, 2);
    assert.match(r.stderr, /unknown option --step — did you mean --steps\?/);
    r = cli("pretrain", "--steps", "-5");
    assert.strictEqual(r.status, 2);
    assert.match(r.stderr, /--steps -5: must be an integer from 1 to/);
    r = cli("pretrain", "--batch-size", "1e9");
    assert.match(r.stderr, /--batch-size 1e9: must be an integer from 1 to 65,536/);
    r = cli("sft", "--lr", "fast");
    assert.match(r.stderr, /--lr fast: not a number/);
    r = cli("pretrain", "--fresh", "--resume");
    assert.match(r.stderr, /--resume and --fresh/);
  });

  it("numberFlag and nearest, directly", () => {
    assert.strictEqual(numberFlag("steps", "200", { integer: true, min: 1 }), 200);
    assert.strictEqual(numberFlag("steps", undefined), undefined);
    assert.throws(() => numberFlag("steps", "2.5", { integer: true, min: 1 }), /--steps 2\.5: must be an integer ≥ 1/);
    assert.throws(() => numberFlag("lr", ""), /not a number/);
    assert.strictEqual(nearest("step", ["steps", "lr"]), "steps");
    assert.strictEqual(nearest("xyz", ["steps", "lr"]), null);
  });
});
