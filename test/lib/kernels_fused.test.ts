/**
 * Fused operations (lib/kernels/fused.ts): geluTanh, layerNorm, softmaxCrossEntropy. Each is checked, values and
 * gradients, against the same maths written as plain tfjs ops (what runs on backends without our kernels), on
 * every backend and route we register: wasm with the native addon, wasm with JavaScript loops, cpu.
 */
import * as assert from "assert";
import * as tf from "@tensorflow/tfjs";
import { adamwUpdate, dropout, geluTanh, layerNorm, softmaxCrossEntropy, useKernelGroup } from "tiaoyu/dist/lib/kernels";
import { pauseNative } from "tiaoyu/dist/lib/kernels/native";
import { splitQkv } from "tiaoyu/dist/lib/kernels/fused";
import { GPT, gptConfig } from "tiaoyu";
import { dropout as modelDropout, SeedStream } from "tiaoyu/dist/lib/model/dropout";
import { AdamW } from "tiaoyu/dist/lib/train/optimizer";
import { onBackend } from "../backend";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomArray(n: number, rand: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n); // a plain loop: Float32Array.from with a function is ~20× slower
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Runs `f` with our fused kernels (true) or with the plain-ops fallback (false); returns copies of the outputs. */
function both(f: () => tf.Tensor[]): { fused: Float32Array[]; plain: Float32Array[] } {
  const read = () => {
    // Copied out inside the tidy but not returned from it: tidy would walk every number of a typed array.
    let out: Float32Array[] = [];
    tf.tidy(() => {
      out = f().map((t) => (t.dataSync() as Float32Array).slice());
    });
    return out;
  };
  const fused = read();
  useKernelGroup("fused", false);
  try {
    return { fused, plain: read() };
  } finally {
    useKernelGroup("fused", true);
  }
}

/** A loss that weights every output element differently, so that every gradient element is tested. */
function weighted(y: tf.Tensor): tf.Scalar {
  const w = new Float32Array(y.size);
  for (let i = 0; i < w.length; i++) w[i] = Math.cos(i * 0.37);
  const wt = tf.tensor(w, y.shape);
  return tf.sum(tf.mul(y, wt));
}

const ROUTES = [
  { backend: "wasm", native: true },
  { backend: "wasm", native: false },
  { backend: "cpu", native: false },
] as const;

for (const route of ROUTES) {
  describe(`fused ops on ${route.backend}${route.backend === "wasm" ? (route.native ? " (native)" : " (JavaScript loops)") : ""}`, function () {
    this.timeout(60_000);
    onBackend(route.backend, { native: route.native, setUp: () => pauseNative(!route.native), tearDown: () => pauseNative(false) });

    it("runs as our kernels here", () => {
      for (const k of ["TiaoyuGeluTanh", "TiaoyuLayerNorm", "TiaoyuSoftmaxXent"]) assert.ok(tf.getKernel(k, route.backend), k);
    });

    it("geluTanh: hand-checked values", () => {
      const y = tf.tidy(() => geluTanh(tf.tensor1d([-1, 0, 1])));
      assertClose(y.dataSync(), [-0.15880801, 0, 0.84119199], 1e-6, "gelu");
      y.dispose();
    });

    it("geluTanh: values and gradient equal the plain-ops version", () => {
      const rand = rng(1);
      // The last shape is large enough to be split over threads.
      for (const shape of [[1], [7], [3, 5], [3, 64, 512]]) {
        const x = randomArray(shape.reduce((a, b) => a * b, 1), rand, 4);
        const { fused, plain } = both(() => {
          const xt = tf.tensor(x, shape);
          return [geluTanh(xt), tf.grad((t: tf.Tensor) => weighted(geluTanh(t)))(xt)];
        });
        assertClose(fused[0], plain[0], 2e-6, `gelu [${shape}]`);
        assertClose(fused[1], plain[1], 2e-5, `gelu gradient [${shape}]`);
      }
    });

    it("layerNorm: hand-checked values", () => {
      const y = tf.tidy(() => layerNorm(tf.tensor2d([[1, 2, 3, 6]]), tf.ones([4]) as tf.Tensor1D, null, 1e-5));
      assertClose(y.dataSync(), [-1.0690, -0.5345, 0, 1.6036], 1e-4, "layerNorm");
      y.dispose();
    });

    for (const withBeta of [true, false]) {
      it(`layerNorm${withBeta ? "" : " without beta"}: values and gradients of x, gamma${withBeta ? ", beta" : ""}`, () => {
        const rand = rng(withBeta ? 2 : 3);
        for (const shape of [[1, 1], [3, 5], [7, 33], [12, 64, 128]]) {
          const d = shape[shape.length - 1];
          const x = randomArray(shape.reduce((a, b) => a * b, 1), rand, 3);
          const g = randomArray(d, rand);
          const b = randomArray(d, rand);
          const { fused, plain } = both(() => {
            const [xt, gt, bt] = [tf.tensor(x, shape), tf.tensor1d(g), tf.tensor1d(b)];
            const f = (xi: tf.Tensor, gi: tf.Tensor, bi?: tf.Tensor) => weighted(layerNorm(xi, gi as tf.Tensor1D, (bi ?? null) as tf.Tensor1D | null, 1e-5));
            const grads = withBeta ? tf.grads(f)([xt, gt, bt]) : tf.grads((xi: tf.Tensor, gi: tf.Tensor) => f(xi, gi))([xt, gt]);
            return [layerNorm(xt, gt, withBeta ? bt : null, 1e-5), ...grads];
          });
          const names = ["y", "dx", "dgamma", "dbeta"];
          fused.forEach((a, i) => assertClose(a, plain[i], d === 1 ? 1e-3 : 3e-5, `layerNorm ${names[i]} [${shape}]`));
        }
      });
    }

    it("softmaxCrossEntropy: uniform logits score ln V", () => {
      const nll = tf.tidy(() => softmaxCrossEntropy(tf.zeros([2, 10]) as tf.Tensor2D, tf.tensor1d([3, 9], "int32")));
      assertClose(nll.dataSync(), [Math.log(10), Math.log(10)], 1e-6, "nll");
      nll.dispose();
    });

    it("softmaxCrossEntropy: values and gradient equal the plain-ops version", () => {
      const rand = rng(4);
      // The baby GPT's logits only where they are fast; the plain-ops reference on cpu would take minutes.
        const sizes = route.native ? [[1, 2], [5, 7], [37, 1000], [768, 5757]] : [[1, 2], [5, 7], [37, 1000], [40, 5757]];
        for (const [n, v] of sizes) {
        const logits = randomArray(n * v, rand, 8);
        const targets = Int32Array.from({ length: n }, () => Math.floor(rand() * v));
        const { fused, plain } = both(() => {
          const [l, t] = [tf.tensor2d(logits, [n, v]), tf.tensor1d(targets, "int32")];
          return [softmaxCrossEntropy(l, t), tf.grad((x: tf.Tensor) => weighted(softmaxCrossEntropy(x as tf.Tensor2D, t)))(l)];
        });
        assertClose(fused[0], plain[0], 1e-5, `nll [${n}, ${v}]`);
        assertClose(fused[1], plain[1], 1e-5, `dlogits [${n}, ${v}]`);
      }
    });

    it("softmaxCrossEntropy: names a target outside the vocabulary", () => {
      assert.throws(
        () => tf.tidy(() => softmaxCrossEntropy(tf.zeros([2, 4]) as tf.Tensor2D, tf.tensor1d([1, 4], "int32"))),
        /target 4 of row 1 is not a class id in 0\.\.3/,
      );
    });

    it("dropout: drops about `rate` of the values, scales the rest, and is the same for the same seed", () => {
      const n = 200_001;
      const x = tf.fill([n], 2);
      const y1 = dropout(x, 0.25, 1234);
      const y2 = dropout(x, 0.25, 1234);
      const y3 = dropout(x, 0.25, 1235);
      const [a, b, c] = [y1.dataSync(), y2.dataSync(), y3.dataSync()];
      let dropped = 0;
      let differ = 0;
      for (let i = 0; i < n; i++) {
        assert.ok(a[i] === 0 || Math.abs(a[i] - 2 / 0.75) < 1e-6, `element ${i} is ${a[i]}`);
        if (a[i] === 0) dropped++;
        if (a[i] !== b[i]) assert.fail(`same seed, element ${i} differs`);
        if (a[i] !== c[i]) differ++;
      }
      // Binomial(n, 0.25): standard deviation ≈ 194, so ±1,500 fails only on a real bias.
      assert.ok(Math.abs(dropped - 0.25 * n) < 1500, `dropped ${dropped} of ${n}`);
      assert.ok(differ > 0.3 * n, `another seed changed only ${differ} values`);
      tf.dispose([x, y1, y2, y3]);
      const same = tf.tensor1d([1, 2]);
      assert.strictEqual(dropout(same, 0, 1), same); // rate 0: the input itself
      assert.throws(() => dropout(same, 1, 1), /rate 1 must be in \[0, 1\)/);
      same.dispose();
    });

    it("dropout: the gradient passes through the kept elements only, scaled like them", () => {
      const x = tf.randomNormal([37, 101], 0, 1, "float32", 3);
      const w = tf.randomNormal([37, 101], 0, 1, "float32", 4);
      const y = dropout(x, 0.4, 99);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(dropout(t, 0.4, 99), w)))(x);
      const [ys, xs, ws, gs] = [y, x, w, g].map((t) => t.dataSync());
      for (let i = 0; i < ys.length; i++) {
        const kept = ys[i] !== 0 || xs[i] === 0;
        assert.ok(Math.abs(gs[i] - (kept ? ws[i] / 0.6 : 0)) < 1e-5, `gradient element ${i}`);
      }
      tf.dispose([x, w, y, g]);
    });

    it("dropout: the same mask with the native kernel and the JavaScript loop", () => {
      const x = tf.randomNormal([1000], 0, 1, "float32", 5);
      const a = dropout(x, 0.3, 77).dataSync().slice();
      const was = pauseNative(true);
      try {
        assert.deepStrictEqual(Array.from(dropout(x, 0.3, 77).dataSync()), Array.from(a));
      } finally {
        pauseNative(was);
      }
      x.dispose();
    });

    it("adamwUpdate: equals the plain-ops step over several steps, with and without decay and scaling", () => {
      const rand = rng(6);
      for (const [decayFactor, gradScale] of [[1, 1], [1 - 1e-3 * 0.1, 0.5]]) {
        const n = 70_003;
        const w0 = randomArray(n, rand);
        const grads = [randomArray(n, rand), randomArray(n, rand, 3), randomArray(n, rand, 0.01)];
        const { fused, plain } = both(() => {
          let [w, m, v]: tf.Tensor[] = [tf.tensor1d(w0), tf.zeros([n]), tf.zeros([n])];
          grads.forEach((g, i) => {
            const t = i + 1;
            [w, m, v] = adamwUpdate(w, tf.tensor1d(g), m, v, {
              lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, decayFactor, bc1: 1 - 0.9 ** t, bc2Sqrt: Math.sqrt(1 - 0.95 ** t), gradScale,
            });
          });
          return [w, m, v];
        });
        fused.forEach((a, i) => assertClose(a, plain[i], 2e-5, `adamw ${["w", "m", "v"][i]} (decay ${decayFactor})`));
      }
      assert.throws(() => adamwUpdate(tf.zeros([2]), tf.zeros([3]), tf.zeros([2]), tf.zeros([2]), {
        lr: 1, beta1: 0.9, beta2: 0.9, eps: 1e-8, decayFactor: 1, bc1: 1, bc2Sqrt: 1, gradScale: 1,
      }), /g has shape \[3\], the parameter \[2\]/);
    });

    it("the training path uses them: AdamW.apply runs TiaoyuAdamW and equals its plain-ops update", async () => {
      const rand = rng(8);
      const shapes = [[33, 17], [17], [5, 3, 4]];
      const w0 = shapes.map((s) => randomArray(s.reduce((a, b) => a * b, 1), rand));
      const gs = [1, 2, 3].map(() => shapes.map((s) => randomArray(s.reduce((a, b) => a * b, 1), rand, 2)));
      const steps = () => {
        const vars = shapes.map((s, i) => tf.variable(tf.tensor(w0[i], s)));
        const opt = new AdamW(new Map(vars.map((v, i) => [`p${i}`, v] as [string, tf.Variable])), { weightDecay: 0.1 });
        gs.forEach((g, k) => tf.tidy(() => opt.apply(Object.fromEntries(g.map((x, i) => [`p${i}`, tf.tensor(x, shapes[i])])), 1e-2 * (k + 1), 0.7)));
        const out = vars.map((v) => v.clone());
        opt.dispose();
        tf.dispose(vars);
        return out;
      };
      const info = await tf.profile(() => tf.dispose(steps()));
      assert.ok(info.kernels.some((k) => k.name === "TiaoyuAdamW"), info.kernels.map((k) => k.name).join(", "));
      const { fused, plain } = both(steps);
      fused.forEach((a, i) => assertClose(a, plain[i], 2e-6, `AdamW.apply, parameter ${i}`));
    });

    it("the model's dropout (lib/model/dropout.ts) is this kernel, with the seed stream's next seed", () => {
      const x = tf.randomNormal([9, 31], 0, 1, "float32", 6);
      const seeds = new SeedStream(42);
      const viaModel = modelDropout(x, 0.3, true, seeds).dataSync().slice();
      const direct = dropout(x, 0.3, new SeedStream(42).next()).dataSync();
      assert.deepStrictEqual(Array.from(viaModel), Array.from(direct));
      assert.strictEqual(modelDropout(x, 0.3, false, seeds), x, "the identity at inference");
      x.dispose();
    });

    it("splitQkv: values and gradient equal tf.split + heads, on random shapes; the model's attention uses it", async () => {
      const rand = rng(9);
      for (const [B, T, nh, hs] of [[1, 1, 1, 1], [2, 5, 3, 4], [3, 1, 2, 8], [4, 17, 4, 8]]) {
        const x0 = randomArray(B * T * 3 * nh * hs, rand);
        const w0 = [0, 1, 2].map(() => randomArray(B * nh * T * hs, rand));
        const { fused, plain } = both(() => {
          const x = tf.tensor3d(x0, [B, T, 3 * nh * hs]);
          const f = (t: tf.Tensor) => tf.addN(splitQkv(t as tf.Tensor3D, nh).map((p, i) => tf.sum(tf.mul(p, tf.tensor(w0[i], [B, nh, T, hs])))));
          // Only k and v in the loss: the gradient of an unused output (q) must count as zeros.
          const g = (t: tf.Tensor) => tf.addN(splitQkv(t as tf.Tensor3D, nh).slice(1).map((p) => tf.sum(tf.square(p))));
          return [...splitQkv(x, nh), tf.grad(f)(x), tf.grad(g)(x)];
        });
        fused.forEach((a, i) => assertClose(a, plain[i], 0, `splitQkv [${B}, ${T}, ${nh}, ${hs}] output ${i}`));
      }
      assert.throws(() => splitQkv(tf.zeros([1, 2, 10]) as tf.Tensor3D, 2), /last size 10 of \[1,2,10\] is not 3 × 2 heads/);
      const model = new GPT(gptConfig({ vocabSize: 11, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }));
      const ids = tf.tensor2d([[1, 2, 3]], undefined, "int32");
      const info = await tf.profile(() => tf.dispose(tf.variableGrads(() => model.loss(ids, ids), model.trainableVariables()).grads));
      const names = info.kernels.map((k) => k.name);
      assert.ok(names.includes("TiaoyuSplitHeads") && names.includes("TiaoyuJoinHeads") && !names.includes("SplitV"), names.join(", "));
      ids.dispose();
      model.dispose();
    });

    it("leaves no tensors behind in a training-style step", () => {
      const x = tf.randomNormal([6, 16]);
      const g = tf.variable(tf.ones([16]));
      const b = tf.variable(tf.zeros([16]));
      const t = tf.tensor1d([0, 1, 2, 3, 4, 5], "int32");
      const step = () => {
        const { value, grads } = tf.variableGrads(() =>
          tf.mean(softmaxCrossEntropy(dropout(geluTanh(layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5)), 0.1, 5) as tf.Tensor2D, t)),
        );
        tf.dispose([value, ...Object.values(grads)]);
      };
      step();
      const before = tf.memory().numTensors;
      step();
      assert.strictEqual(tf.memory().numTensors, before);
      tf.dispose([x, g, b, t]);
    });
  });
}
