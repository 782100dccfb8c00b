/**
 * Positional encoding (位置编码). Attention compares every token with every other token and sums what it finds;
 * by itself it cannot tell "明月光" from "光月明". Three ways to tell it where each token stands:
 *
 * - learned (GPT-2): a second embedding table `wpe` [blockSize, nEmbd], one trained row per position, added to the
 *   token vector. Simple and strong, but knows nothing about positions beyond blockSize.
 * - sinusoidal (Vaswani et al. 2017, "Attention Is All You Need"): a fixed table of sines and cosines of
 *   geometrically spaced frequencies, added the same way. Nothing to train; neighbouring positions get similar rows.
 * - rotary, RoPE (Su et al. 2021, "RoFormer: Enhanced Transformer with Rotary Position Embedding"): nothing is
 *   added to the tokens; instead each head's queries and keys are rotated by an angle proportional to their position,
 *   so the score q·k depends only on the distance between the two tokens. LLaMA and most recent models use it.
 */
import * as tf from "@tensorflow/tfjs";
import { ParamStore } from "./params";

/** Positions that are added to the token embeddings: learned or sinusoidal. */
export interface AdditivePositions {
  /** Rows offset..offset+T−1 of the position table: [T, nEmbd]. `offset` is the number of tokens already cached. */
  forward(T: number, offset: number): tf.Tensor2D;
  dispose(): void;
}

/** GPT-2's learned position table `transformer.wpe.weight` [blockSize, nEmbd]. */
export class LearnedPositions implements AdditivePositions {
  readonly weight: tf.Variable;

  constructor(store: ParamStore, name: string, blockSize: number, nEmbd: number) {
    this.weight = store.create(name, [blockSize, nEmbd], { kind: "normal", std: 0.02 });
  }

  forward(T: number, offset: number): tf.Tensor2D {
    return tf.slice(this.weight, [offset, 0], [T, -1]) as tf.Tensor2D; // [T, D]
  }

  dispose(): void {
    // The weight belongs to the model's ParamStore, which disposes it.
  }
}

/**
 * The sinusoidal table as numbers: row `pos`, columns 2i and 2i+1 hold
 *   sin(pos / 10000^(2i/D)) and cos(pos / 10000^(2i/D)).
 * Column pair 0 turns once every 2π ≈ 6.3 positions; the last pair takes about 10000·2π positions per turn, so
 * together the columns spell out a position like the hands of a clock.
 * @example sinusoidalValues(2, 4) → [[0, 1, 0, 1], [0.841, 0.540, 0.0100, 0.99995]]
 */
export function sinusoidalValues(positions: number, nEmbd: number): Float32Array {
  const out = new Float32Array(positions * nEmbd);
  for (let pos = 0; pos < positions; pos++) {
    for (let i = 0; i < nEmbd / 2; i++) {
      const angle = pos / Math.pow(10000, (2 * i) / nEmbd);
      out[pos * nEmbd + 2 * i] = Math.sin(angle);
      out[pos * nEmbd + 2 * i + 1] = Math.cos(angle);
    }
  }
  return out;
}

/** The sinusoidal table as a tensor [positions, nEmbd] (the caller owns it). */
export function sinusoidalTable(positions: number, nEmbd: number): tf.Tensor2D {
  if (nEmbd % 2 !== 0) throw new Error(`sinusoidal positions need an even width, got nEmbd = ${nEmbd}`);
  return tf.tensor2d(sinusoidalValues(positions, nEmbd), [positions, nEmbd]);
}

/** The fixed sinusoidal table, computed once and added like GPT-2's learned one. */
export class SinusoidalPositions implements AdditivePositions {
  readonly table: tf.Tensor2D; // [blockSize, D], not trained, not saved in checkpoints

  constructor(blockSize: number, nEmbd: number) {
    this.table = sinusoidalTable(blockSize, nEmbd);
  }

  forward(T: number, offset: number): tf.Tensor2D {
    return tf.slice(this.table, [offset, 0], [T, -1]) as tf.Tensor2D; // [T, D]
  }

  dispose(): void {
    this.table.dispose();
  }
}

/**
 * Rotary position embedding for one head size. Dimension j of the first half of a head is paired with dimension
 * j + hs/2 (the "rotate half" layout of GPT-NeoX and LLaMA in Hugging Face), and the pair is rotated by the angle
 * pos·θ_j with θ_j = base^(−2j/hs):
 *   [x1, x2] → [x1·cos − x2·sin, x1·sin + x2·cos]
 * Rotating q by angle a and k by angle b leaves q·k depending only on a − b: the score sees relative distance.
 */
export class RotaryEmbedding {
  readonly cos: tf.Tensor2D; // [blockSize, hs/2]
  readonly sin: tf.Tensor2D; // [blockSize, hs/2]

  constructor(blockSize: number, headSize: number, base = 10000) {
    if (headSize % 2 !== 0) throw new Error(`RoPE needs an even head size, got ${headSize}`);
    const half = headSize / 2;
    const cos = new Float32Array(blockSize * half);
    const sin = new Float32Array(blockSize * half);
    for (let pos = 0; pos < blockSize; pos++) {
      for (let j = 0; j < half; j++) {
        const angle = pos * Math.pow(base, (-2 * j) / headSize);
        cos[pos * half + j] = Math.cos(angle);
        sin[pos * half + j] = Math.sin(angle);
      }
    }
    this.cos = tf.tensor2d(cos, [blockSize, half]);
    this.sin = tf.tensor2d(sin, [blockSize, half]);
  }

  /** Rotates queries or keys x [B, nh, T, hs] that stand at positions offset..offset+T−1. */
  apply(x: tf.Tensor4D, offset: number): tf.Tensor4D {
    return tf.tidy(() => {
      const [, , T, hs] = x.shape;
      const half = hs / 2;
      const cos = tf.slice(this.cos, [offset, 0], [T, half]); // [T, hs/2], broadcasts over B and nh
      const sin = tf.slice(this.sin, [offset, 0], [T, half]); // [T, hs/2]
      const [x1, x2] = tf.split(x, 2, 3); // [B, nh, T, hs/2] each
      const r1 = tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)); // [B, nh, T, hs/2]
      const r2 = tf.add(tf.mul(x1, sin), tf.mul(x2, cos)); // [B, nh, T, hs/2]
      return tf.concat([r1, r2], 3) as tf.Tensor4D; // [B, nh, T, hs]
    });
  }

  dispose(): void {
    this.cos.dispose();
    this.sin.dispose();
  }
}
