/**
 * The one seeded epoch sampler behind every stage's training batches: each epoch visits every item once, in an order
 * shuffled from (seed, epoch), and a batch is made from the items it drew. Pretraining's blocks, SFT's chat examples
 * and RLHF's preference pairs are all this sampler with a different `collate`.
 *
 * The saved state is tiny, { seed, epoch, index }: an epoch's order (and, for blocks, its offset) is recomputed from
 * the seed, so a resumed run draws exactly the batches the uninterrupted run would have drawn. Restoring checks the
 * seed and that the position lies inside the epoch, so a checkpoint of other data fails loudly instead of drawing
 * different batches.
 */
import type { JsonValue } from "./checkpoint";
import type { BatchSampler } from "./loop";
import { Rng } from "../rng";

/** What one epoch holds: how many items, and where each one starts (blocks shift by an offset each epoch). */
export interface EpochPlan {
  readonly count: number;
  /** Item k of the epoch → the value handed to collate; identity when absent. */
  readonly item?: (k: number) => number;
}

/** The saved position of an {@link EpochSampler}. */
interface EpochSamplerState {
  readonly seed: number;
  readonly epoch: number;
  /** Items of this epoch already handed out. */
  readonly index: number;
}

/** The golden-ratio step that spreads epoch numbers over seeds (epoch e of seed s uses Rng(s + e·0x9e3779b1)). */
const EPOCH_STEP = 0x9e3779b1;

export class EpochSampler<B> implements BatchSampler<B> {
  private epoch = 0;
  private index = 0;
  private order: number[] = [];
  private itemOf: (k: number) => number = (k) => k;

  /**
   * @param what the sampler's name in error messages ("BlockSampler")
   * @param plan the epoch's items, given its own seeded Rng (drawn from before the shuffle, e.g. a block offset)
   * @param collate the batch made of `perBatch` drawn items
   * @param perBatch items per batch
   */
  constructor(
    private readonly what: string,
    private readonly seed: number,
    readonly perBatch: number,
    private readonly plan: (epoch: number, rng: Rng) => EpochPlan,
    private readonly collate: (items: readonly number[]) => B,
  ) {
    if (!Number.isInteger(perBatch) || perBatch < 1) throw new Error(`${what}: batchSize ${perBatch} must be a positive integer`);
  }

  /** Sets up epoch 0; called by the subclass's constructor once its own fields exist. */
  protected begin(): void {
    this.startEpoch(0);
  }

  private startEpoch(epoch: number): void {
    const rng = new Rng(this.seed + epoch * EPOCH_STEP);
    const p = this.plan(epoch, rng);
    if (p.count < 1) throw new Error(`${this.what}: epoch ${epoch} has no items`);
    this.epoch = epoch;
    this.index = 0;
    this.itemOf = p.item ?? ((k) => k);
    this.order = rng.shuffle(Array.from({ length: p.count }, (_, i) => i));
  }

  next(): B {
    const picked: number[] = [];
    while (picked.length < this.perBatch) {
      if (this.index >= this.order.length) this.startEpoch(this.epoch + 1);
      picked.push(this.itemOf(this.order[this.index++]));
    }
    return this.collate(picked);
  }

  state(): JsonValue {
    const s: EpochSamplerState = { seed: this.seed, epoch: this.epoch, index: this.index };
    return { ...s };
  }

  restore(state: JsonValue): void {
    const s = state as unknown as EpochSamplerState;
    if (!s || typeof s !== "object" || s.seed !== this.seed || !Number.isInteger(s.epoch) || !Number.isInteger(s.index) || s.epoch < 0 || s.index < 0) {
      throw new Error(`${this.what}: cannot restore ${JSON.stringify(state)} into a sampler seeded with ${this.seed}`);
    }
    this.startEpoch(s.epoch);
    if (s.index > this.order.length) throw new Error(`${this.what}: position ${s.index} is past the epoch's ${this.order.length} items (other data?)`);
    this.index = s.index;
  }

  /** Epochs completed, with the fraction of the current one (for progress text). */
  get epochs(): number {
    return this.epoch + this.index / Math.max(1, this.order.length);
  }
}
