/**
 * Fused operations for a GPT's training step, each one kernel forward and one backward:
 *
 *   geluTanh(x)                          GPT-2's GELU (tanh approximation)
 *   layerNorm(x, gamma, beta, eps)       LayerNorm over the last axis
 *   softmaxCrossEntropy(logits, targets) −log softmax(logits)[target] per row
 *   dropout(x, rate, seed)               inverted dropout with a counter-based mask (no stored mask)
 *   adamwUpdate(w, g, m, v, step)        one AdamW step of one parameter: w, m, v in one pass
 *   splitQkv(qkv, nHead)                 a fused q, k, v projection into three [B, nh, T, hs] (block copies)
 *
 * Why: written with tfjs ops, GELU is 8 elementwise kernels forward and about 15 in its automatic gradient,
 * LayerNorm about 8 and 20, and cross-entropy a dozen passes over the largest tensor of a small model (the
 * [B·T, vocab] logits). Each kernel costs a pass over memory plus tfjs's bookkeeping. Fused, each is one or two
 * passes. On wasm with the native addon the kernels are vectorised C on all cores (lib/native/fused.c); on cpu
 * and on wasm without the addon, plain JavaScript loops. On any other backend (tfjs-node, WebGL) the same maths
 * runs as ordinary tfjs ops, so these functions work everywhere.
 *
 * The gradients are written out (see each kernel) and registered with tfjs, so tf.grad / optimizer.minimize see
 * these as single operations.
 */
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { allocate, heapOffset, isWasm, type NumericArray, sizeOf, values, type WasmBackendLike } from "./memory";
import { nativeKernels } from "./native";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** Kernel ids of lib/native/tiaoyu_native.c's `fused`. */
const NATIVE = { geluForward: 0, geluBackward: 1, layerNormForward: 2, layerNormBackward: 3, xentForward: 4, xentBackward: 5, dropout: 6, adamw: 7 };

/** The native addon when `backend` is wasm and the addon is loaded; else null (use the JavaScript loops). */
function nativeOn(backend: KernelBackend): WasmBackendLike | null {
  return isWasm(backend) && nativeKernels() ? backend : null;
}

/** Byte offset of each tensor in the wasm heap, or −1 for a missing one. */
function offsets(backend: WasmBackendLike, ...ts: (TensorInfo | undefined)[]): number[] {
  return ts.map((t) => (t ? heapOffset(backend, t) : -1));
}

function callNative(backend: WasmBackendLike, kernel: number, args: number[]): number | undefined {
  const native = nativeKernels() as unknown as { fused(heap: ArrayBufferLike, kernel: number, ...args: number[]): number | undefined };
  return native.fused(backend.wasm.HEAPU8.buffer, kernel, ...args);
}

function float32Only(name: string, ...ts: (TensorInfo | undefined)[]): void {
  for (const t of ts) if (t && t.dtype !== "float32") throw new Error(`${name}: expected float32 tensors, got ${t.dtype}`);
}

// ---- GELU ---------------------------------------------------------------------------------------------------

const geluKernel: KernelFunc = ({ inputs, backend: b }) => {
  const backend = b as KernelBackend;
  const x = inputs.x as TensorInfo;
  float32Only("geluTanh", x);
  const n = sizeOf(x.shape);
  const y = allocate(backend, [...x.shape], "float32");
  const w = nativeOn(backend);
  if (w) {
    if (n > 0) callNative(w, NATIVE.geluForward, [...offsets(w, x, y), n]);
    return y;
  }
  const [xs, ys] = [values(backend, x), values(backend, y)];
  for (let i = 0; i < n; i++) {
    const v = xs[i];
    ys[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v)));
  }
  return y;
};

/** dx = dy · gelu'(x), gelu'(x) = ½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t = tanh(√(2/π)(x + 0.044715x³)). */
const geluGradKernel: KernelFunc = ({ inputs, backend: b }) => {
  const backend = b as KernelBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  float32Only("geluTanh gradient", x, dy);
  const n = sizeOf(x.shape);
  const dx = allocate(backend, [...x.shape], "float32");
  const w = nativeOn(backend);
  if (w) {
    if (n > 0) callNative(w, NATIVE.geluBackward, [...offsets(w, x, dy, dx), n]);
    return dx;
  }
  const [xs, dys, dxs] = [values(backend, x), values(backend, dy), values(backend, dx)];
  for (let i = 0; i < n; i++) {
    const v = xs[i];
    const t = Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
    const du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * v * v);
    dxs[i] = dys[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
  }
  return dx;
};

// ---- LayerNorm ----------------------------------------------------------------------------------------------

/** Outputs y (x's shape), and per row the mean and rstd = 1/sqrt(var + eps), saved for the gradient. */
const layerNormKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as KernelBackend;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta?: TensorInfo };
  const eps = (attrs as NamedAttrMap).eps as number;
  float32Only("layerNorm", x, gamma, beta);
  const d = x.shape[x.shape.length - 1];
  const rows = sizeOf(x.shape) / d;
  const y = allocate(backend, [...x.shape], "float32");
  const mean = allocate(backend, [rows], "float32");
  const rstd = allocate(backend, [rows], "float32");
  const w = nativeOn(backend);
  if (w) {
    if (rows > 0) callNative(w, NATIVE.layerNormForward, [...offsets(w, x, gamma, beta, y, mean, rstd), rows, d, eps]);
    return [y, mean, rstd];
  }
  const [xs, g, ys, ms, rs] = [values(backend, x), values(backend, gamma), values(backend, y), values(backend, mean), values(backend, rstd)];
  const bs = beta ? values(backend, beta) : null;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += xs[o + j];
    const m = s / d;
    let q = 0;
    for (let j = 0; j < d; j++) q += (xs[o + j] - m) ** 2;
    const rstdR = 1 / Math.sqrt(q / d + eps);
    for (let j = 0; j < d; j++) ys[o + j] = (xs[o + j] - m) * rstdR * g[j] + (bs ? bs[j] : 0);
    ms[r] = m;
    rs[r] = rstdR;
  }
  return [y, mean, rstd];
};

/**
 * With x̂ = (x − mean)·rstd and g = dy·γ per row: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)); dγ = Σ_rows dy·x̂;
 * dβ = Σ_rows dy.
 */
const layerNormGradKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as KernelBackend;
  const { x, gamma, mean, rstd, dy } = inputs as Record<string, TensorInfo>;
  const hasBeta = (attrs as NamedAttrMap).hasBeta as boolean;
  float32Only("layerNorm gradient", x, gamma, mean, rstd, dy);
  const d = x.shape[x.shape.length - 1];
  const rows = sizeOf(x.shape) / d;
  const dx = allocate(backend, [...x.shape], "float32");
  const dgamma = allocate(backend, [d], "float32");
  const dbeta = hasBeta ? allocate(backend, [d], "float32") : undefined;
  const outs = dbeta ? [dx, dgamma, dbeta] : [dx, dgamma];
  const w = nativeOn(backend);
  if (w) {
    callNative(w, NATIVE.layerNormBackward, [...offsets(w, x, gamma, mean, rstd, dy, dx, dgamma, dbeta), rows, d]);
    return outs;
  }
  const [xs, g, ms, rs, dys, dxs, dg] = [x, gamma, mean, rstd, dy, dx, dgamma].map((t) => values(backend, t));
  const db = dbeta ? values(backend, dbeta) : null;
  dg.fill(0);
  db?.fill(0);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const [m, rstdR] = [ms[r], rs[r]];
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < d; j++) {
      const gj = dys[o + j] * g[j];
      const xhat = (xs[o + j] - m) * rstdR;
      sg += gj;
      sgx += gj * xhat;
      dg[j] += dys[o + j] * xhat;
      if (db) db[j] += dys[o + j];
    }
    sg /= d;
    sgx /= d;
    for (let j = 0; j < d; j++) dxs[o + j] = rstdR * (dys[o + j] * g[j] - sg - (xs[o + j] - m) * rstdR * sgx);
  }
  return outs;
};

// ---- softmax cross-entropy ----------------------------------------------------------------------------------

function badTarget(row: number, target: number, v: number): Error {
  return new Error(`softmaxCrossEntropy: target ${target} of row ${row} is not a class id in 0..${v - 1}`);
}

/** Per row: lse = log Σ exp(logits), nll = lse − logits[target]. Outputs [nll, lse]. */
const xentKernel: KernelFunc = ({ inputs, backend: b }) => {
  const backend = b as KernelBackend;
  const { logits, targets } = inputs as { logits: TensorInfo; targets: TensorInfo };
  float32Only("softmaxCrossEntropy", logits);
  const [rows, v] = logits.shape;
  const nll = allocate(backend, [rows], "float32");
  const lse = allocate(backend, [rows], "float32");
  const w = nativeOn(backend);
  if (w) {
    const bad = callNative(w, NATIVE.xentForward, [...offsets(w, logits, targets, nll, lse), rows, v]) as number;
    if (bad >= 0) {
      const t = values(backend, targets)[bad];
      backend.disposeData(nll.dataId);
      backend.disposeData(lse.dataId);
      throw badTarget(bad, t, v);
    }
    return [nll, lse];
  }
  const [ls, ts, ns, es] = [logits, targets, nll, lse].map((t) => values(backend, t));
  for (let r = 0; r < rows; r++) {
    const o = r * v;
    const t = ts[r];
    if (!(t >= 0 && t < v)) throw badTarget(r, t, v);
    let m = -Infinity;
    for (let j = 0; j < v; j++) if (ls[o + j] > m) m = ls[o + j];
    let s = 0;
    for (let j = 0; j < v; j++) s += Math.exp(ls[o + j] - m);
    es[r] = m + Math.log(s);
    ns[r] = es[r] - ls[o + t];
  }
  return [nll, lse];
};

/** dlogits = (softmax(logits) − onehot(target)) · dnll[row], with softmax = exp(logits − lse). */
const xentGradKernel: KernelFunc = ({ inputs, backend: b }) => {
  const backend = b as KernelBackend;
  const { logits, targets, lse, dnll } = inputs as Record<string, TensorInfo>;
  float32Only("softmaxCrossEntropy gradient", logits, lse, dnll);
  const [rows, v] = logits.shape;
  const dl = allocate(backend, [rows, v], "float32");
  const w = nativeOn(backend);
  if (w) {
    callNative(w, NATIVE.xentBackward, [...offsets(w, logits, targets, lse, dnll, dl), rows, v]);
    return dl;
  }
  const [ls, ts, es, gs, ds] = [logits, targets, lse, dnll, dl].map((t) => values(backend, t));
  for (let r = 0; r < rows; r++) {
    const o = r * v;
    for (let j = 0; j < v; j++) ds[o + j] = Math.exp(ls[o + j] - es[r]) * gs[r];
    ds[o + ts[r]] -= gs[r];
  }
  return dl;
};

// ---- dropout ------------------------------------------------------------------------------------------------

/** Chris Wellons' "lowbias32" integer hash, as in lib/native/fused.c (so every backend draws the same mask). */
function lowbias32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * y[i] = keep(i) ? x[i] / (1 − rate) : 0, keep(i) ⇔ hash(seed, i) ≥ rate·2³². The coin of element i depends only
 * on (seed, i): no random stream to advance, no mask to keep for the backward pass.
 */
const dropoutKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as KernelBackend;
  const x = inputs.x as TensorInfo;
  const { rate, seed } = attrs as { rate: number; seed: number };
  float32Only("dropout", x);
  const n = sizeOf(x.shape);
  const y = allocate(backend, [...x.shape], "float32");
  const w = nativeOn(backend);
  if (w) {
    if (n > 0) callNative(w, NATIVE.dropout, [...offsets(w, x, y), n, rate, seed]);
    return y;
  }
  const [xs, ys] = [values(backend, x), values(backend, y)];
  const key = lowbias32((seed ^ 0x5bd1e995) >>> 0);
  const t = rate * 4294967296;
  const threshold = t >= 4294967295 ? 4294967295 : Math.floor(t);
  const scale = Math.fround(1 / Math.fround(1 - rate));
  for (let i = 0; i < n; i++) {
    const h = lowbias32((Math.imul(i, 0x9e3779b1) ^ key) >>> 0);
    ys[i] = h >= threshold ? xs[i] * scale : 0;
  }
  return y;
};

// ---- AdamW --------------------------------------------------------------------------------------------------

/** The numbers of one AdamW step (see {@link adamwUpdate}). */
export interface AdamWStep {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** 1 − lr·λ for a decaying parameter, 1 otherwise. */
  readonly decayFactor: number;
  /** 1 − β1^t. */
  readonly bc1: number;
  /** √(1 − β2^t). */
  readonly bc2Sqrt: number;
  /** Multiplies the gradient first (clipping factor / accumulation steps). */
  readonly gradScale: number;
}

const adamwKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as KernelBackend;
  const { w, g, m, v } = inputs as Record<string, TensorInfo>;
  const p = attrs as unknown as AdamWStep;
  float32Only("adamwUpdate", w, g, m, v);
  const n = sizeOf(w.shape);
  const outs = [w, m, v].map((t) => allocate(backend, [...t.shape], "float32"));
  const nat = nativeOn(backend);
  if (nat) {
    if (n > 0) {
      callNative(nat, NATIVE.adamw, [...offsets(nat, w, g, m, v, ...outs), n, p.lr, p.beta1, p.beta2, p.eps, p.decayFactor, p.bc1, p.bc2Sqrt, p.gradScale]);
    }
    return outs;
  }
  const [ws, gs, ms, vs, w2, m2, v2] = [w, g, m, v, ...outs].map((t) => values(backend, t));
  const step = p.lr / p.bc1;
  for (let i = 0; i < n; i++) {
    const gi = gs[i] * p.gradScale;
    const mi = p.beta1 * ms[i] + (1 - p.beta1) * gi;
    const vi = p.beta2 * vs[i] + (1 - p.beta2) * gi * gi;
    w2[i] = ws[i] * p.decayFactor - (mi / (Math.sqrt(vi) / p.bc2Sqrt + p.eps)) * step;
    m2[i] = mi;
    v2[i] = vi;
  }
  return outs;
};

// ---- q, k, v heads ------------------------------------------------------------------------------------------

/**
 * x [B, T, 3·nh·hs] (q, k and v side by side, each nh heads of hs) → q, k, v [B, nh, T, hs]: one pass of block
 * copies. As tfjs ops this is a SplitV along the last axis (an element-by-element loop on wasm) and three
 * transposes, and the gradient a Concat and three more transposes.
 */
const splitHeadsKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as KernelBackend;
  const x = inputs.x as TensorInfo;
  const nh = (attrs as NamedAttrMap).nHead as number;
  float32Only("splitQkv", x);
  const [B, T, D3] = x.shape;
  const hs = D3 / 3 / nh;
  const outs = [0, 1, 2].map(() => allocate(backend, [B, nh, T, hs], "float32"));
  copyHeads(values(backend, x), outs.map((o) => values(backend, o)), B, T, nh, hs, true);
  return outs;
};

/** The inverse (and gradient) of splitHeadsKernel: q, k, v [B, nh, T, hs] → x [B, T, 3·nh·hs]. */
const joinHeadsKernel: KernelFunc = ({ inputs, backend: b }) => {
  const backend = b as KernelBackend;
  const { q, k, v } = inputs as Record<string, TensorInfo>;
  float32Only("splitQkv gradient", q, k, v);
  const [B, nh, T, hs] = q.shape;
  const x = allocate(backend, [B, T, 3 * nh * hs], "float32");
  copyHeads(values(backend, x), [q, k, v].map((t) => values(backend, t)), B, T, nh, hs, false);
  return x;
};

function copyHeads(x: NumericArray, parts: NumericArray[], B: number, T: number, nh: number, hs: number, split: boolean): void {
  const D = nh * hs;
  for (let bi = 0; bi < B; bi++) {
    for (let t = 0; t < T; t++) {
      for (let w = 0; w < 3; w++) {
        const part = parts[w];
        for (let h = 0; h < nh; h++) {
          const xo = ((bi * T + t) * 3 + w) * D + h * hs; // x[b, t, w·D + h·hs …]
          const po = ((bi * nh + h) * T + t) * hs; // part[b, h, t, …]
          if (split) for (let d = 0; d < hs; d++) part[po + d] = x[xo + d];
          else for (let d = 0; d < hs; d++) x[xo + d] = part[po + d];
        }
      }
    }
  }
}

// ---- registration -------------------------------------------------------------------------------------------

const KERNELS: Record<string, KernelFunc> = {
  TiaoyuGeluTanh: geluKernel,
  TiaoyuGeluTanhGrad: geluGradKernel,
  TiaoyuLayerNorm: layerNormKernel,
  TiaoyuLayerNormGrad: layerNormGradKernel,
  TiaoyuSoftmaxXent: xentKernel,
  TiaoyuSoftmaxXentGrad: xentGradKernel,
  TiaoyuDropout: dropoutKernel,
  TiaoyuAdamW: adamwKernel,
  TiaoyuSplitHeads: splitHeadsKernel,
  TiaoyuJoinHeads: joinHeadsKernel,
};

let gradientsRegistered = false;

/** The fused kernels for one backend (wasm or cpu); also registers their gradients with tfjs, once. */
export function fusedConfigs(backendName: string): KernelConfig[] {
  if (!gradientsRegistered) {
    gradientsRegistered = true;
    registerGradients();
  }
  return Object.entries(KERNELS).map(([kernelName, kernelFunc]) => ({ kernelName, backendName, kernelFunc }));
}

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: NamedAttrMap = {}): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs) as tf.Tensor | tf.Tensor[];
}

function registerGradients(): void {
  // Dropout is linear in x with a fixed mask: its gradient is the same dropout (same seed) of dy.
  tf.registerGradient({
    kernelName: "TiaoyuDropout",
    gradFunc: (dy, _saved, attrs) => ({ x: () => run("TiaoyuDropout", { x: dy as tf.Tensor }, attrs as NamedAttrMap) as tf.Tensor }),
  });
  tf.registerGradient({
    kernelName: "TiaoyuSplitHeads",
    gradFunc: (dys) => {
      const [q, k, v] = dys as tf.Tensor[]; // tfjs passes zeros for an output the loss does not use
      return { x: () => run("TiaoyuJoinHeads", { q, k, v }) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: "TiaoyuGeluTanh",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => run("TiaoyuGeluTanhGrad", { x: saved[0], dy: dy as tf.Tensor }) as tf.Tensor }),
  });
  tf.registerGradient({
    kernelName: "TiaoyuLayerNorm",
    inputsToSave: ["x", "gamma"],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, mean, rstd] = saved;
      const dy = (dys as tf.Tensor[])[0];
      const hasBeta = (attrs as { hasBeta: boolean }).hasBeta;
      // One kernel gives all three gradients, but tfjs asks for them one input at a time, each call in its own
      // tidy. So they are computed here, in the scope of the whole backward pass: tfjs takes the ones it needs,
      // and the end of the backward pass disposes the others (e.g. dx when x is not trained).
      const [dx, dgamma, dbeta] = run("TiaoyuLayerNormGrad", { x, gamma, mean, rstd, dy }, { hasBeta }) as tf.Tensor[];
      const out: Record<string, () => tf.Tensor> = { x: () => dx, gamma: () => dgamma };
      if (hasBeta) out.beta = () => dbeta;
      return out;
    },
  });
  tf.registerGradient({
    kernelName: "TiaoyuSoftmaxXent",
    inputsToSave: ["logits", "targets"],
    outputsToSave: [false, true],
    gradFunc: (dys, saved) => {
      const [logits, targets, lse] = saved;
      const dnll = (dys as tf.Tensor[])[0];
      return {
        logits: () => run("TiaoyuSoftmaxXentGrad", { logits, targets, lse, dnll }) as tf.Tensor,
        targets: () => tf.zeros(targets.shape), // ids have no gradient; tfjs wants a float32 tensor anyway
      };
    },
  });
}

/** Whether the current backend has our fused kernels (wasm, cpu); elsewhere the ops below use plain tfjs ops. */
function fusedHere(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * GELU, tanh approximation (GPT-2's `gelu_new`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 * gelu(−1) ≈ −0.1588, gelu(0) = 0, gelu(1) ≈ 0.8412.
 */
export function geluTanh<T extends tf.Tensor>(x: T): T {
  if (fusedHere("TiaoyuGeluTanh")) return run("TiaoyuGeluTanh", { x }) as T;
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), GELU_C)), SQRT_2_OVER_PI);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T;
  });
}

/**
 * LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · gamma + beta (beta may be null), with the biased
 * variance as PyTorch. [1, 2, 3, 6] with gamma 1 → [−1.069, −0.535, 0, 1.604].
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D | null, eps: number): T {
  const d = x.shape[x.rank - 1];
  if (gamma.shape[0] !== d || (beta && beta.shape[0] !== d)) {
    throw new Error(`layerNorm: gamma [${gamma.shape}] and beta [${beta?.shape ?? ""}] must have the last size of x [${x.shape}]`);
  }
  if (fusedHere("TiaoyuLayerNorm")) {
    const inputs: Record<string, tf.Tensor> = beta ? { x, gamma, beta } : { x, gamma };
    const [y, mean, rstd] = run("TiaoyuLayerNorm", inputs, { eps, hasBeta: beta !== null }) as tf.Tensor[];
    // mean and rstd stay alive only as long as the gradient tape holds them.
    mean.dispose();
    rstd.dispose();
    return y as T;
  }
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), -1, true);
    const scaled = tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma);
    return (beta ? tf.add(scaled, beta) : scaled) as T;
  });
}

/**
 * Cross-entropy of each row of logits [N, V] against its target class [N] (int32): −log softmax(row)[target],
 * [N]. Its gradient is softmax − onehot(target), written out. An untrained model that spreads its bets evenly
 * scores ln V per row.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const [N, V] = logits.shape;
  if (targets.rank !== 1 || targets.shape[0] !== N || targets.dtype !== "int32") {
    throw new Error(`softmaxCrossEntropy: targets must be int32 [${N}], got ${targets.dtype} [${targets.shape}]`);
  }
  if (fusedHere("TiaoyuSoftmaxXent")) {
    const [nll, lse] = run("TiaoyuSoftmaxXent", { logits, targets }) as tf.Tensor[];
    lse.dispose();
    return nll as tf.Tensor1D;
  }
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits, -1); // [N, V]
    return tf.neg(tf.sum(tf.mul(logProbs, tf.oneHot(targets, V)), -1)) as tf.Tensor1D; // [N]
  });
}

/**
 * Splits a fused q, k, v projection [B, T, 3·nHead·hs] into q, k and v [B, nHead, T, hs]: the same numbers as
 * tf.split into three and splitting each into heads, in one kernel (and one for the gradient) where ours run.
 */
export function splitQkv(qkv: tf.Tensor3D, nHead: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const [B, T, D3] = qkv.shape;
  if (D3 % (3 * nHead) !== 0) throw new Error(`splitQkv: the last size ${D3} of [${qkv.shape}] is not 3 × ${nHead} heads × a head size`);
  if (qkv.dtype === "float32" && fusedHere("TiaoyuSplitHeads")) return run("TiaoyuSplitHeads", { x: qkv }, { nHead }) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const hs = D3 / 3 / nHead;
  return tf.tidy(() => tf.split(qkv, 3, 2).map((p) => p.reshape([B, T, nHead, hs]).transpose([0, 2, 1, 3])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]);
}

/**
 * Inverted dropout (training only): each element is zeroed with probability `rate`, the others divided by
 * (1 − rate). The mask is a function of `seed` and the element's index, so the same seed gives the same mask on
 * wasm and cpu (other backends use tf.dropout, whose mask differs). Without a seed, a random one is drawn.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed?: number): T {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate ${rate} must be in [0, 1)`);
  if (rate === 0) return x;
  const s = seed === undefined ? Math.floor(Math.random() * 4294967296) : seed >>> 0;
  if (x.dtype === "float32" && fusedHere("TiaoyuDropout")) return run("TiaoyuDropout", { x }, { rate, seed: s }) as T;
  return tf.dropout(x, rate, undefined, s) as T;
}

/**
 * One AdamW step of one parameter w with gradient g and moments m, v (PyTorch's `torch.optim.AdamW` order):
 *   g ← gradScale·g;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   w ← w·decayFactor − (lr / bc1) · m / (√v / bc2Sqrt + ε)
 * Returns [w, m, v] new; the caller assigns them. One pass over memory instead of about a dozen ops.
 */
export function adamwUpdate(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: AdamWStep): [tf.Tensor, tf.Tensor, tf.Tensor] {
  for (const [name, t] of [["g", g], ["m", m], ["v", v]] as const) {
    if (!tf.util.arraysEqual(t.shape, w.shape)) throw new Error(`adamwUpdate: ${name} has shape [${t.shape}], the parameter [${w.shape}]`);
  }
  if (fusedHere("TiaoyuAdamW")) return run("TiaoyuAdamW", { w, g, m, v }, { ...step }) as [tf.Tensor, tf.Tensor, tf.Tensor];
  return tf.tidy(() => {
    const gs = step.gradScale === 1 ? g : tf.mul(g, step.gradScale);
    const m2 = tf.add(tf.mul(m, step.beta1), tf.mul(gs, 1 - step.beta1));
    const v2 = tf.add(tf.mul(v, step.beta2), tf.mul(tf.square(gs), 1 - step.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v2), step.bc2Sqrt), step.eps);
    const w2 = tf.sub(step.decayFactor === 1 ? w : tf.mul(w, step.decayFactor), tf.mul(tf.div(m2, denom), step.lr / step.bc1));
    return [w2, m2, v2] as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}
