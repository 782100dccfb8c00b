/**
 * The training loop's parts against hand-computed values (RNG, schedule, AdamW, clipping), then the loop itself on
 * a toy bigram model made of two tf.Variables: loss goes down, no tensor leaks, NaN stops training, and a run that
 * is stopped and resumed takes exactly the steps of an uninterrupted one.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  AdamW,
  type BatchSampler,
  clipByGlobalNorm,
  clipFactor,
  decaysByDefault,
  globalNorm,
  initBackend,
  type JsonValue,
  learningRate,
  NonFiniteError,
  readTrainingLog,
  Rng,
  stageCurves,
  type RngState,
  type Stage,
  tf,
  train,
  thin,
} from "tiaoyu";
import { expectNoLeak } from "../leak";

function close(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}] = ${actual[i]}, expected ${expected[i]} ± ${tol}`);
  }
}

describe("rng", () => {
  it("repeats a seed's stream, and continues exactly from a saved state", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const first = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepStrictEqual(Array.from({ length: 5 }, () => b.nextUint32()), first);
    assert.notDeepStrictEqual(Array.from({ length: 5 }, () => new Rng(43).nextUint32()), first);
    const saved = JSON.parse(JSON.stringify(a.state())) as RngState; // through JSON, as in meta.json
    const next = Array.from({ length: 100 }, () => a.float());
    const c = Rng.fromState(saved);
    assert.deepStrictEqual(Array.from({ length: 100 }, () => c.float()), next);
  });

  it("draws integers in range, roughly uniformly, and shuffles into a permutation", () => {
    const r = new Rng(7);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[r.int(6)]++;
    for (const c of counts) assert.ok(c > 850 && c < 1150, `die counts ${counts}`);
    const p = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
    assert.deepStrictEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.notDeepStrictEqual(p, Array.from({ length: 50 }, (_, i) => i));
    assert.throws(() => r.int(0), /1 ≤ n/);
    assert.throws(() => Rng.fromState([0, 0, 0, 0]), /cannot leave it/);
  });
});

describe("train/schedule", () => {
  const c = { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, decaySteps: 110 };
  it("warms up linearly, decays along a cosine to the floor", () => {
    assert.strictEqual(learningRate(1, c), 1e-4); // 1/10 of the peak
    assert.ok(Math.abs(learningRate(5, c) - 5e-4) < 1e-12);
    assert.strictEqual(learningRate(10, c), 1e-3);
    // Halfway down the cosine (step 60): min + 0.5·(max − min) = 5.5e-4.
    assert.ok(Math.abs(learningRate(60, c) - 5.5e-4) < 1e-12);
    // A quarter of the way: cos(π/4) → min + (1 + √2/2)/2 · 9e-4.
    assert.ok(Math.abs(learningRate(35, c) - (1e-4 + ((1 + Math.SQRT1_2) / 2) * 9e-4)) < 1e-12);
    assert.strictEqual(learningRate(110, c), 1e-4);
    assert.strictEqual(learningRate(500, c), 1e-4);
    assert.throws(() => learningRate(0, c), /step must be an integer ≥ 1/);
  });
});

describe("train/optimizer", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("AdamW: two steps on a 2-element matrix and a bias match the hand computation", () => {
    // lr 0.1, β1 0.9, β2 0.999, ε 1e-8, λ 0.1. Both start at [1, −2].
    // Step 1, g = [0.5, −1]:  m = 0.1·g = [0.05, −0.1];  v = 0.001·g² = [0.00025, 0.001]
    //   m̂ = m / (1 − 0.9) = g;  v̂ = v / (1 − 0.999) = g²;  m̂ / (√v̂ + ε) ≈ sign(g) = [1, −1]
    //   matrix (decays): w·(1 − 0.1·0.1) = [0.99, −1.98], minus 0.1·[1, −1] → [0.89, −1.88]
    //   bias (no decay): [1, −2] − 0.1·[1, −1] → [0.9, −1.9]
    // Step 2, g = [0.5, 1]:  m = 0.9·m + 0.1·g = [0.095, 0.01];  v = 0.999·v + 0.001·g² = [0.00049975, 0.001999]
    //   bias corrections 1 − 0.9² = 0.19 and 1 − 0.999² = 0.001999:  m̂ = [0.5, 0.0526316], v̂ = [0.25, 1]
    //   step = m̂ / (√v̂ + ε) = [1, 0.0526316]
    //   matrix: [0.89, −1.88]·0.99 = [0.8811, −1.8612], minus 0.1·step → [0.7811, −1.8664632]
    //   bias:   [0.9, −1.9] − 0.1·step → [0.8, −1.9052632]
    const w = tf.variable(tf.tensor2d([[1, -2]]));
    const b = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW(new Map<string, tf.Variable>([["w", w], ["b", b]]), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    assert.deepStrictEqual(opt.decayed(), ["w"]);
    const g1 = { w: tf.tensor2d([[0.5, -1]]), b: tf.tensor1d([0.5, -1]) };
    opt.apply(g1, 0.1);
    close(w.dataSync(), [0.89, -1.88], 1e-6, "w after step 1");
    close(b.dataSync(), [0.9, -1.9], 1e-6, "b after step 1");
    const g2 = { w: tf.tensor2d([[0.5, 1]]), b: tf.tensor1d([0.5, 1]) };
    opt.apply(g2, 0.1);
    close(w.dataSync(), [0.7811, -1.8664632], 1e-6, "w after step 2");
    close(b.dataSync(), [0.8, -1.9052632], 1e-6, "b after step 2");
    assert.strictEqual(opt.step, 2);
    tf.dispose([w, b, ...Object.values(g1), ...Object.values(g2)]);
    opt.dispose();
  });

  it("AdamW: a restored state continues exactly like the original", () => {
    const make = () => tf.variable(tf.tensor2d([[0.3, -0.7, 1.1]]));
    const g = (k: number) => tf.tensor2d([[Math.sin(k), Math.cos(k), 0.1 * k]]);
    const wa = make();
    const a = new AdamW(new Map([["w", wa]]));
    for (let k = 1; k <= 3; k++) tf.tidy(() => a.apply({ w: g(k) }, 0.01));
    // Save a's state (copies, as a checkpoint would) and restore it into a fresh optimizer on a copy of the weight.
    const state = a.state();
    const copies = Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, t.clone()]));
    const wb = tf.variable(wa.clone());
    const b = new AdamW(new Map([["w", wb]]));
    b.loadState({ step: state.step, tensors: copies });
    for (let k = 4; k <= 6; k++) {
      tf.tidy(() => a.apply({ w: g(k) }, 0.01));
      tf.tidy(() => b.apply({ w: g(k) }, 0.01));
    }
    assert.deepStrictEqual(Array.from(wb.dataSync()), Array.from(wa.dataSync()));
    assert.throws(() => b.loadState({ step: 1, tensors: {} }), /missing 'm.w'/);
    tf.dispose([wa, wb, ...Object.values(copies)]);
    a.dispose();
    b.dispose();
  });

  it("decays matrices but not biases or normalization weights", () => {
    const m = tf.variable(tf.zeros([2, 2]));
    const v = tf.variable(tf.zeros([2]));
    assert.strictEqual(decaysByDefault("transformer.h.0.attn.c_attn.weight", m), true);
    assert.strictEqual(decaysByDefault("transformer.wte.weight", m), true);
    assert.strictEqual(decaysByDefault("transformer.h.0.attn.c_attn.bias", v), false);
    assert.strictEqual(decaysByDefault("transformer.ln_f.weight", v), false);
    assert.strictEqual(decaysByDefault("transformer.h.1.ln_2.weight", m), false); // by name, even at rank 2
    tf.dispose([m, v]);
  });

  it("clips by global norm: [3, 4] has norm 5, clipped to 1 it becomes [0.6, 0.8]", () => {
    const g = [tf.tensor1d([3]), tf.tensor1d([4])];
    const n = globalNorm(g);
    close(n.dataSync(), [5], 1e-6, "norm");
    const { grads, norm } = clipByGlobalNorm(g, 1);
    assert.ok(Math.abs(norm - 5) < 1e-6);
    close([...grads[0].dataSync(), ...grads[1].dataSync()], [0.6, 0.8], 1e-6, "clipped");
    assert.strictEqual(clipFactor(0.5, 1), 1);
    assert.strictEqual(clipFactor(1e9, Infinity), 1);
    tf.dispose([...g, n, ...grads]);
  });
});

// ---------- a toy language model: next token = f(current token), learned by a bigram table ----------

const V = 8;
/** The toy corpus: a repeating pattern with a little noise, so the loss has somewhere to go. */
const CORPUS = Int32Array.from({ length: 400 }, (_, i) => ((i * 3) % V + (i % 17 === 0 ? 1 : 0)) % V);

interface ToyBatch {
  readonly x: Int32Array;
  readonly y: Int32Array;
}

class ToySampler implements BatchSampler<ToyBatch> {
  private rng: Rng;
  constructor(seed: number, private readonly batch = 16) {
    this.rng = new Rng(seed);
  }
  next(): ToyBatch {
    const x = new Int32Array(this.batch);
    const y = new Int32Array(this.batch);
    for (let i = 0; i < this.batch; i++) {
      const p = this.rng.int(CORPUS.length - 1);
      x[i] = CORPUS[p];
      y[i] = CORPUS[p + 1];
    }
    return { x, y };
  }
  state(): JsonValue {
    return [...this.rng.state()];
  }
  restore(s: JsonValue): void {
    this.rng = Rng.fromState(s as unknown as RngState);
  }
}

class Toy {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(seed = 1) {
    this.w = tf.tidy(() => tf.variable(tf.randomNormal([V, V], 0, 0.1, "float32", seed)));
    this.b = tf.tidy(() => tf.variable(tf.zeros([V])));
  }
  weights() {
    return new Map<string, tf.Variable>([["bigram.weight", this.w], ["bigram.bias", this.b]]);
  }
  configJson() {
    return { vocab_size: V, model_type: "toy-bigram" };
  }
  dispose() {
    tf.dispose([this.w, this.b]);
  }
}

function toyStage(model: Toy, seed: number, opts: { nanAtCall?: number; dropout?: number } = {}): Stage<ToyBatch> {
  let calls = 0;
  const val = new ToySampler(999, 32);
  const valBatches = [val.next(), val.next()];
  return {
    name: "toy",
    model,
    batches: new ToySampler(seed),
    validation: () => valBatches,
    loss(batch, ctx) {
      if (ctx.training) calls++;
      let logits = tf.add(tf.matMul(tf.oneHot(tf.tensor1d(batch.x, "int32"), V), model.w), model.b) as tf.Tensor2D;
      // Dropout seeded by the loop: the resume test needs the masks to be reproducible too.
      if (ctx.training && opts.dropout) logits = tf.dropout(logits, opts.dropout, undefined, ctx.seed) as tf.Tensor2D;
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(batch.y, "int32"), V), logits) as tf.Scalar;
      return opts.nanAtCall !== undefined && calls === opts.nanAtCall ? (tf.mul(loss, NaN) as tf.Scalar) : loss;
    },
    tokens: (batch) => batch.x.length,
    defaults: { lr: 0.1, warmupSteps: 2, progress: "none", evalEvery: 5 },
  };
}

describe("train/loop (toy bigram model)", function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
  });
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-train-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("lowers the loss, logs both curves, and writes a final checkpoint", async () => {
    const model = new Toy();
    const r = await train(toyStage(model, 1), { steps: 30, runDir: dir });
    assert.strictEqual(r.step, 30);
    assert.strictEqual(r.history.train.length, 30);
    assert.deepStrictEqual(r.history.val.map((e) => e.step), [0, 5, 10, 15, 20, 25, 30]);
    assert.ok(r.valLoss! < r.history.val[0].loss * 0.7, `val loss ${r.history.val[0].loss} → ${r.valLoss}`);
    assert.strictEqual(r.tokens, 30 * 16);
    const log = fs.readFileSync(path.join(dir, "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.strictEqual(log.filter((l) => l.kind === "train").length, 30);
    assert.strictEqual(log.filter((l) => l.kind === "val").length, 7);
    assert.ok(r.checkpoint && fs.existsSync(path.join(r.checkpoint, "model.safetensors")));
    assert.deepStrictEqual(readTrainingLog(dir), { train: r.history.train, val: r.history.val, metrics: [] });
    model.dispose();
  });

  it("keeps no tensor across steps or runs", async () => {
    const model = new Toy();
    const counts: number[] = [];
    const stage = toyStage(model, 2);
    await expectNoLeak(async () => {
      await train(stage, { steps: 6, accumulate: 2, runDir: null, onStep: () => counts.push(tf.memory().numTensors) });
    }, "train()");
    // Within a run: the same number of live tensors after every step.
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts per step: ${counts}`);
    model.dispose();
  });

  it("stops at a NaN loss, naming the step, without writing NaN into the weights", async () => {
    const model = new Toy();
    let before: Float32Array | null = null;
    const stage = toyStage(model, 3, { nanAtCall: 4 });
    const tensors = tf.memory().numTensors;
    await assert.rejects(
      train(stage, { steps: 10, runDir: null, onStep: (r) => r.step === 3 && (before = model.w.dataSync() as Float32Array) }),
      (e: unknown) => e instanceof NonFiniteError && e.step === 4 && /step 4: the loss is NaN/.test(e.message),
    );
    assert.deepStrictEqual(Array.from(model.w.dataSync()), Array.from(before!));
    assert.strictEqual(tf.memory().numTensors, tensors, "the failed run leaked tensors");
    model.dispose();
  });

  it("resumes exactly: 2N steps straight = N steps, stop, resume, N steps", async () => {
    const N = 6;
    const opts = { steps: 2 * N, accumulate: 2, evalEvery: 3, lr: 0.05 };
    const stageOpts = { dropout: 0.2 };

    const a = new Toy();
    const straight = await train(toyStage(a, 5, stageOpts), { ...opts, runDir: path.join(dir, "a") });

    // Stopped after N steps (as Ctrl-C would), then a fresh process: new model, new sampler, same run folder.
    const b1 = new Toy();
    const stop = new AbortController();
    const first = await train(toyStage(b1, 5, stageOpts), {
      ...opts,
      runDir: path.join(dir, "b"),
      signal: stop.signal,
      onStep: (r) => r.step === N && stop.abort(),
    });
    assert.strictEqual(first.step, N);
    assert.ok(first.stopped);
    b1.dispose();
    const b2 = new Toy(77); // different initial weights: the checkpoint must overwrite them
    const second = await train(toyStage(b2, 5, stageOpts), { ...opts, runDir: path.join(dir, "b"), resume: true });

    assert.strictEqual(second.step, 2 * N);
    assert.deepStrictEqual(second.history.train.map((r) => r.step), straight.history.train.map((r) => r.step));
    close(second.history.train.map((r) => r.loss), straight.history.train.map((r) => r.loss), 1e-6, "losses");
    close(Array.from(b2.w.dataSync()), Array.from(a.w.dataSync()), 1e-6, "final weights");
    assert.deepStrictEqual(second.history.val.map((r) => r.step), [0, 3, 6, 9, 12]);
    a.dispose();
    b2.dispose();
  });

  it("keeps a stage's own curves in log.jsonl beside the loss, cut back to the checkpoint on resume", async () => {
    const withCurves = (stage: Stage<ToyBatch>): Stage<ToyBatch> => ({
      ...stage,
      metrics: { afterStep: (step) => (step % 2 === 0 ? { even: step } : null), afterEval: async (step) => ({ evalAt: step }) },
    });
    const a = new Toy();
    const first = await train(withCurves(toyStage(a, 5)), { steps: 6, runDir: dir }); // evaluations at 0, 5 and the end
    const steps = (r: { readonly metrics: readonly { step: number }[] }) => r.metrics.map((m) => m.step);
    assert.deepStrictEqual(steps(first.history), [0, 2, 4, 5, 6, 6]);
    assert.deepStrictEqual(first.history.metrics[1], { kind: "metrics", step: 2, values: { even: 2 } });
    // What a run killed after its checkpoint leaves: records past it, the last one cut short.
    fs.appendFileSync(path.join(dir, "log.jsonl"), JSON.stringify({ kind: "metrics", step: 7, values: { stale: true } }) + '\n{"kind":"metr');
    a.dispose();
    const b = new Toy(77);
    const second = await train(withCurves(toyStage(b, 5)), { steps: 10, runDir: dir, resume: true, acceptChanges: true });
    assert.deepStrictEqual(steps(second.history), [0, 2, 4, 5, 6, 6, 8, 10, 10]);
    assert.ok(!JSON.stringify(second.history.metrics).includes("stale"), "records after the checkpoint are dropped");
    assert.deepStrictEqual(readTrainingLog(dir), second.history);
    // Read back as the stage's records, each with its step.
    assert.deepStrictEqual(stageCurves(dir).slice(0, 2), [{ evalAt: 0, step: 0 }, { even: 2, step: 2 }]);
    assert.deepStrictEqual(stageCurves(null, second.history).length, 9);
    b.dispose();
  });

  it("stageCurves reads a run of before the curves moved into log.jsonl from its metrics.jsonl", () => {
    fs.writeFileSync(path.join(dir, "metrics.jsonl"), '{"step":0,"r":1}\n\n{"step":5,"r":2}\n{"step":5,"r":3}\n{"step":9,"r"');
    assert.deepStrictEqual(stageCurves(dir), [{ step: 0, r: 1 }, { step: 5, r: 3 }], "last record per step; a torn last line skipped");
    fs.writeFileSync(path.join(dir, "log.jsonl"), JSON.stringify({ kind: "metrics", step: 1, values: { r: 7 } }) + "\n");
    assert.deepStrictEqual(stageCurves(dir), [{ r: 7, step: 1 }], "the log's curves win when it has them");
    fs.writeFileSync(path.join(dir, "log.jsonl"), JSON.stringify({ kind: "metrics", step: 1, values: 3 }) + "\n");
    assert.throws(() => stageCurves(dir), /line 1 of .*log\.jsonl: expected .*an object 'values'/);
  });

  it("refuses to resume a run of another stage or another model configuration", async () => {
    const model = new Toy();
    await train(toyStage(model, 1), { steps: 2, runDir: dir });
    const other = { ...toyStage(model, 1), name: "other" };
    await assert.rejects(train(other, { steps: 4, runDir: dir, resume: true }), /belongs to stage 'toy', not 'other'/);
    const bigger = { ...toyStage(model, 1), model: { weights: () => model.weights(), configJson: () => ({ vocab_size: 9, model_type: "toy-bigram" }) } };
    await assert.rejects(train(bigger, { steps: 4, runDir: dir, resume: true }), /vocab_size: checkpoint 8, expected 9/);
    model.dispose();
  });
});

describe("train/progress: thin", () => {
  it("averages a long curve down to at most `max` points, ending at the last step, and leaves a short one alone", () => {
    const n = 1001;
    const curve = { x: Array.from({ length: n }, (_, i) => i + 1), y: Array.from({ length: n }, (_, i) => (i % 2 ? 1 : 3)) };
    const t = thin(curve, 400);
    assert.ok(t.x.length <= 400 && t.x.length >= 399, `${t.x.length} points`);
    assert.strictEqual(t.x[t.x.length - 1], n, "the last point is the last step");
    assert.ok(t.x.every((x, i) => i === 0 || x > t.x[i - 1]), "steps increase");
    assert.ok(t.y.every((y) => y >= 1 && y <= 3), "averages stay within the data");
    const mean = t.y.reduce((a, b) => a + b, 0) / t.y.length;
    assert.ok(Math.abs(mean - 2) < 0.05, `mean ${mean}`);
    assert.deepStrictEqual(thin({ x: [1, 2], y: [5, 6] }, 400), { x: [1, 2], y: [5, 6] });
  });
});
