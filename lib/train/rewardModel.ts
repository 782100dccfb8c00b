/**
 * The reward model itself (奖励模型, chapter 7): the SFT model's backbone with its output layer swapped for one scalar
 * head, read on the last token. How it is trained (Bradley–Terry on preference pairs) is reward.ts.
 *
 *   prompt + answer ─► TIAOYU backbone (from the SFT checkpoint) ─► hidden state of the last token [D] ─► score·h ─► r
 *
 * `score.weight` [1, D] is named as Hugging Face's GPT2ForSequenceClassification names it. The last token has
 * attended to the whole prompt and answer, so its hidden state can summarize both.
 */
import * as tf from "@tensorflow/tfjs";
import { GPT } from "../model/gpt";
import { configFromHF, configToHF } from "../model/gpt2format";
import { assignWeights, type JsonRecord, loadTrainingCheckpoint, type TokenizerIdentity } from "./checkpoint";
import type { TrainableModel } from "./loop";
import type { MaskedSequences } from "./logprobs";
import type { NamedVariables } from "./optimizer";
import { stageDir } from "./registry";

let nextHeadId = 0;

/** A TIAOYU backbone with a scalar head on the last token. Owns both; dispose() frees them. */
export class RewardModel {
  /** The scalar head [1, D]: reward = score · h_last. */
  readonly score: tf.Variable;

  /** Wraps `backbone` (which it then owns), with a fresh head drawn from N(0, 0.02²) like GPT-2's other weights. */
  constructor(
    readonly backbone: GPT,
    options: { seed?: number } = {},
  ) {
    const D = backbone.config.nEmbd;
    this.score = tf.tidy(() => tf.variable(tf.randomNormal([1, D], 0, 0.02, "float32", options.seed ?? 7), true, `reward${nextHeadId++}/score.weight`));
  }

  /**
   * The reward of every row of `seqs` [B]: the head applied to the hidden state at position `last[b]`
   * (the row's last real token; padding after it is never read).
   */
  rewards(seqs: MaskedSequences & { readonly last: Int32Array }, options: { training?: boolean } = {}): tf.Tensor1D {
    const { rows: B, length: T } = seqs;
    return tf.tidy(() => {
      const ids = tf.tensor2d(seqs.ids, [B, T], "int32"); // [B, T]
      const h = this.backbone.hidden(ids, { training: options.training ?? false }); // [B, T, D]
      const D = h.shape[2];
      const at = tf.tensor1d(Int32Array.from(seqs.last, (t, b) => b * T + t), "int32"); // [B]: flat positions
      const hLast = tf.gather(h.reshape([B * T, D]), at); // [B, D]
      return tf.matMul(hLast, this.score, false, true).reshape([B]) as tf.Tensor1D; // [B]
    });
  }

  /** Every weight by checkpoint name: the backbone's GPT-2 names plus `score.weight`. */
  weights(): NamedVariables {
    return new Map([...this.backbone.parameters(), ["score.weight", this.score]]);
  }

  /** config.json: GPT-2's fields, marked as a sequence classifier with one label (as transformers expects). */
  configJson(): JsonRecord {
    return { ...configToHF(this.backbone.config), architectures: ["GPT2ForSequenceClassification"], num_labels: 1 } as JsonRecord;
  }

  /** What the training loop and checkpoints need. */
  trainable(): TrainableModel {
    return { configJson: () => this.configJson(), weights: () => this.weights() };
  }

  dispose(): void {
    this.backbone.dispose();
    this.score.dispose();
  }
}

/**
 * A reward model from a checkpoint folder (a run folder such as runs/reward, or one step-N folder), checked against
 * the tokenizer when one is given. The caller disposes it.
 */
export function loadRewardModel(dir: string = stageDir("reward"), options: { tokenizer?: TokenizerIdentity } = {}): RewardModel {
  const ckpt = loadTrainingCheckpoint(dir, { tokenizer: options.tokenizer });
  try {
    if (ckpt.config.num_labels !== 1 || !ckpt.weights.has("score.weight")) {
      throw new Error(`${ckpt.dir} is not a reward model (config.json has no num_labels 1, or there is no score.weight)`);
    }
    const rm = new RewardModel(new GPT(configFromHF(ckpt.config as Record<string, unknown>, `${ckpt.dir}/config.json`)));
    try {
      assignWeights(rm.weights(), ckpt.weights, ckpt.dir);
    } catch (e) {
      rm.dispose();
      throw e;
    }
    return rm;
  } finally {
    ckpt.dispose();
  }
}
