/**
 * Pretraining's batches: the token stream (lib/train/tokens.ts) cut into blocks, drawn in batches.
 *
 *   stream       <s> 床前 明月 光 ， … </s> <s> 春 眠 不觉 晓 ， … </s> <s> …
 *        │ blocks of blockSize + 1 tokens, each starting where the previous one's targets end
 *        ▼
 *   batch        x = block[0 … T-1]   y = block[1 … T]     (y is x shifted by one: the next token at every position)
 */
import { EpochSampler } from "./sampler";
import type { TokenArray } from "./tokens";

/** One batch of next-token prediction: x and y are [batchSize, blockSize] row-major, y is x shifted by one. */
export interface TokenBatch {
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly batchSize: number;
  readonly blockSize: number;
}

/** Copies block `start … start+T` of the stream into row `row` of a batch. */
function fillRow(tokens: TokenArray, start: number, T: number, row: number, x: Int32Array, y: Int32Array): void {
  for (let t = 0; t < T; t++) {
    x[row * T + t] = tokens[start + t];
    y[row * T + t] = tokens[start + t + 1];
  }
}

/**
 * Draws training batches from a token stream, epoch by epoch: every block once per epoch, in a shuffled order.
 * Each epoch also shifts the block boundaries by a random offset below blockSize, so the model does not see a
 * poem cut at the same place every time. The seeded order and the resumable state are {@link EpochSampler}'s.
 */
export class BlockSampler extends EpochSampler<TokenBatch> {
  constructor(
    tokens: TokenArray,
    readonly blockSize: number,
    readonly batchSize: number,
    seed: number,
  ) {
    super(
      "BlockSampler",
      seed,
      batchSize,
      (epoch, rng) => {
        const offset = epoch === 0 ? 0 : rng.int(blockSize);
        return { count: Math.floor((tokens.length - 1 - offset) / blockSize), item: (k) => offset + k * blockSize };
      },
      (starts) => {
        const x = new Int32Array(batchSize * blockSize);
        const y = new Int32Array(batchSize * blockSize);
        starts.forEach((start, row) => fillRow(tokens, start, blockSize, row, x, y));
        return { x, y, batchSize, blockSize };
      },
    );
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`BlockSampler: blockSize ${blockSize} must be a positive integer`);
    // The smallest epoch (offset blockSize-1) must still hold one whole block of blockSize + 1 tokens.
    if (tokens.length < 2 * blockSize) {
      throw new Error(`BlockSampler: a stream of ${tokens.length} tokens is too short for blocks of ${blockSize} (needs ${2 * blockSize})`);
    }
    this.begin();
  }
}

/**
 * Fixed evaluation batches: the first `maxBatches` batches of consecutive blocks from the start of the stream, the
 * same at every evaluation so the validation curve compares like with like. A split too small for one full batch
 * (quick mode) gives one smaller batch.
 */
export function evalBatches(tokens: TokenArray, blockSize: number, batchSize: number, maxBatches: number): TokenBatch[] {
  const blocks = Math.floor((tokens.length - 1) / blockSize);
  if (blocks < 1) throw new Error(`evalBatches: ${tokens.length} tokens are fewer than one block of ${blockSize} + 1`);
  const rows = Math.min(batchSize, blocks);
  const n = Math.min(maxBatches, Math.floor(blocks / rows));
  return Array.from({ length: n }, (_, b) => {
    const x = new Int32Array(rows * blockSize);
    const y = new Int32Array(rows * blockSize);
    for (let row = 0; row < rows; row++) fillRow(tokens, (b * rows + row) * blockSize, blockSize, row, x, y);
    return { x, y, batchSize: rows, blockSize };
  });
}
