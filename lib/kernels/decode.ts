/**
 * One generation step (one new token per sequence, through the key/value cache) as one native call.
 *
 * Generating with a small model is bound by overhead, not arithmetic: a token of the course model (4 layers, nEmbd
 * 128) is ~1.6 M multiply-adds, but through lib/model/gpt.ts it is ~105 tfjs kernels (per layer two norms, four
 * products, four bias adds, the head split, two cache writes, attention, two residual adds, the reshapes between),
 * each costing tens of microseconds of dispatch and bookkeeping on wasm. lib/native/decode.c runs the whole pass in
 * one call on the wasm heap: the weights and the cache buffers are read where they lie, the new keys and values
 * are written into the cache in place, and only the logits come out as a tensor.
 *
 * Same numbers: decode.c does the same float operations in the same order through the same C functions as the
 * kernel-by-kernel route on wasm with the addon, so the logits are identical bit for bit (test/lib/decode.test.ts).
 * Where it does not apply — another backend, no addon, TIAOYU_NATIVE=0, RMSNorm, SwiGLU, RoPE, a LoRA adapter
 * attached and not merged, more than one new token, training — the model runs its ordinary forward.
 */
import * as tf from "@tensorflow/tfjs";
import type { Block } from "../model/block";
import { type GPTConfig, mlpHidden } from "../model/config";
import type { TokenEmbedding } from "../model/embedding";
import type { KVCache } from "../model/kvcache";
import { LayerNorm, type Norm } from "../model/norm";
import type { AdditivePositions } from "../model/position";
import { heapOffset, isWasm, type WasmBackendLike } from "./memory";
import { type NativeKernels, nativeKernels } from "./native";

/** What the step reads of a GPT (lib/model/gpt.ts, which calls this file, so it is not imported from there). */
export interface DecodableModel {
  readonly config: GPTConfig;
  readonly wte: TokenEmbedding;
  readonly positions: AdditivePositions | null;
  readonly blocks: readonly Block[];
  readonly lnF: Norm;
  readonly lmHead: tf.Variable | null;
}

let enabled = true;

/**
 * Turns the native step off (false: every token takes the kernel-by-kernel forward) or back on, for tests and
 * benchmarks that compare the two routes. Returns the previous setting.
 */
export function useNativeDecode(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** The addon's decode() when the backend is wasm and the addon (a build that has it) is loaded; else null. */
function addon(): { decode: NonNullable<NativeKernels["decode"]>; backend: WasmBackendLike } | null {
  if (!enabled || tf.getBackend() !== "wasm") return null;
  const native = nativeKernels();
  const backend = tf.backend();
  if (!native || typeof native.decode !== "function" || !isWasm(backend)) return null;
  return { decode: native.decode.bind(native), backend };
}

/**
 * Whether an adapter changes nothing: none attached, or a LoRA merged into the weights (lib/train/lora.ts keeps it
 * attached, with `merged` true and no correction, so that it can be unmerged).
 */
function inert(adapter: object | null): boolean {
  return adapter === null || (adapter as { merged?: unknown }).merged === true;
}

/** Whether `model` is a shape decode.c computes: LayerNorm, GELU, learned/sinusoidal/no additive positions, no live adapter. */
export function decodable(model: DecodableModel): boolean {
  const c = model.config;
  if (c.norm !== "layernorm" || c.mlp !== "gelu" || c.positional === "rope" || !inert(model.wte.adapter)) return false;
  return model.blocks.every(
    (b) => b.ln1 instanceof LayerNorm && b.ln2 instanceof LayerNorm && [b.attn.cAttn, b.attn.cProj, b.mlp.cFc, b.mlp.cProj].every((l) => inert(l.adapter)),
  ) && model.lnF instanceof LayerNorm && model.blocks.every((b) => (b.ln1 as LayerNorm).eps === (model.lnF as LayerNorm).eps && (b.ln2 as LayerNorm).eps === (model.lnF as LayerNorm).eps);
}

/** Whether {@link decodeStep} runs natively here for `model` (wasm, addon loaded, a decodable model). */
export function nativeDecodeAvailable(model: DecodableModel): boolean {
  return addon() !== null && decodable(model);
}

/**
 * Logits [B, 1, V] of one new token per sequence, `ids` [B] (already checked to be token ids), given the `cache`
 * holding the positions before it; writes the token's keys and values into the cache and advances it by one. Null
 * (and nothing done) where the native step does not apply: the caller then runs the ordinary forward.
 */
export function decodeStep(model: DecodableModel, ids: ArrayLike<number>, cache: KVCache): tf.Tensor3D | null {
  const a = addon();
  if (!a || !decodable(model)) return null;
  const { backend, decode } = a;
  const c = model.config;
  const B = ids.length;
  const [D, nh, V, L] = [c.nEmbd, c.nHead, c.vocabSize, c.nLayer];
  const H = mlpHidden(c);
  const pos = cache.length;
  // Allocate everything first (the cache's buffers, the logits): a heap growth detaches views taken before it.
  const buffers = cache.reserveAll(B, nh, D / nh, 1);
  const logits = backend.makeOutput([B, 1, V], "float32");
  const at = (t: tf.Tensor | null): number => (t ? heapOffset(backend, t) : -1);
  const norm = (n: Norm) => n as LayerNorm;
  const positions = model.positions as unknown as { weight?: tf.Tensor; table?: tf.Tensor } | null;
  const wpe = positions ? (positions.weight ?? positions.table ?? null) : null;
  if (positions && !wpe) throw new Error("decodeStep: the model's additive positions have neither a weight nor a table");
  const layout = new Float64Array(15 + 14 * L + B);
  layout.set([B, pos, L, nh, D, H, V, c.blockSize, norm(model.lnF).eps]);
  layout.set([at(model.wte.weight), at(wpe), at(norm(model.lnF).weight), at(norm(model.lnF).bias), at(model.lmHead ?? model.wte.weight), heapOffset(backend, logits)], 9);
  model.blocks.forEach((b, l) => {
    const [ln1, ln2] = [norm(b.ln1), norm(b.ln2)];
    const { cAttn, cProj } = b.attn;
    const { cFc, cProj: mlpProj } = b.mlp;
    layout.set(
      [
        at(ln1.weight), at(ln1.bias), at(cAttn.weight), at(cAttn.bias), at(cProj.weight), at(cProj.bias),
        at(ln2.weight), at(ln2.bias), at(cFc.weight), at(cFc.bias), at(mlpProj.weight), at(mlpProj.bias),
        at(buffers[l].k), at(buffers[l].v),
      ],
      15 + 14 * l,
    );
  });
  for (let b = 0; b < B; b++) layout[15 + 14 * L + b] = ids[b];
  try {
    decode(backend.wasm.HEAPU8.buffer, layout);
  } catch (e) {
    backend.disposeData(logits.dataId);
    throw e; // the cache did not advance; the next step writes the same rows again
  }
  cache.advance(1);
  return tf.engine().makeTensorFromTensorInfo(logits, backend) as tf.Tensor3D;
}
