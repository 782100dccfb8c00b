/**
 * The frozen reference model's log-probabilities of preference pairs, computed once and cached (TRL's
 * `precompute_ref_log_probs`): DPO compares the policy with the SFT model it started from, and since the reference
 * never changes, its forward pass need not run again at every step.
 */
import type { GPT } from "../model/gpt";
import type { BatchSampler } from "./loop";
import { sequenceLogProbs } from "./logprobs";
import type { PairBatch, PairSampler } from "./preferencePairs";

/**
 * The reference's log-probabilities of every pair, computed once: the reference is frozen, so they never change
 * (TRL's `precompute_ref_log_probs`). The policy's forward pass is then the only one inside the training step.
 */
export class ReferenceLogProbs {
  private readonly chosen: Float32Array;
  private readonly rejected: Float32Array;
  private readonly done: Uint8Array;

  constructor(
    readonly reference: Pick<GPT, "forward">,
    size: number,
  ) {
    this.chosen = new Float32Array(size);
    this.rejected = new Float32Array(size);
    this.done = new Uint8Array(size);
  }

  /** Makes sure the batch's pairs are computed (synchronously: a batch sampler's next() is synchronous). */
  fill(batch: PairBatch): void {
    if (batch.index.every((i) => this.done[i])) return;
    const lp = sequenceLogProbs(this.reference, batch); // [2B]
    const v = lp.dataSync();
    lp.dispose();
    batch.index.forEach((pair, k) => {
      this.chosen[pair] = v[k];
      this.rejected[pair] = v[batch.pairs + k];
      this.done[pair] = 1;
    });
  }

  /** The batch's reference log-probabilities, chosen rows then rejected rows [2B], as in the batch. */
  of(batch: PairBatch): Float32Array {
    this.fill(batch);
    const out = new Float32Array(2 * batch.pairs);
    batch.index.forEach((pair, k) => {
      out[k] = this.chosen[pair];
      out[batch.pairs + k] = this.rejected[pair];
    });
    return out;
  }
}

/** A pair sampler that fills the reference cache for each batch before the training step sees it. */
export class PairsWithReference implements BatchSampler<PairBatch> {
  constructor(
    private readonly inner: PairSampler,
    private readonly ref: ReferenceLogProbs,
  ) {}
  next(): PairBatch {
    const b = this.inner.next();
    this.ref.fill(b);
    return b;
  }
  state() {
    return this.inner.state();
  }
  restore(state: Parameters<PairSampler["restore"]>[0]): void {
    this.inner.restore(state);
  }
}
