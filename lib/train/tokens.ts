/**
 * Pretraining data as the model sees it: one long stream of token ids, cut into blocks, drawn in batches.
 *
 *   train.jsonl  {"text": "<s>床前明月光，…</s>"}  {"text": "<s>春眠不觉晓，…</s>"} …
 *        │ tokenizer of chapter 2 (the <s> and </s> markers become their special ids)
 *        ▼
 *   stream       <s> 床前 明月 光 ， … </s> <s> 春 眠 不觉 晓 ， … </s> <s> …      (every sample, end to end)
 *        │ blocks of blockSize + 1 tokens, each starting where the previous one's targets end
 *        ▼
 *   batch        x = block[0 … T-1]   y = block[1 … T]     (y is x shifted by one: the next token at every position)
 *
 * Samples are packed end to end, not padded: no position is wasted on padding, and the markers teach the model
 * where a poem ends and the next begins. The stream is cached on disk as raw little-endian integers (Uint16 when the
 * vocabulary fits in 65,536 ids, Uint32 otherwise) with a JSON description, so a second run starts at once; the
 * cache is rebuilt when the tokenizer or the source file changes.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { BOS, EOS } from "../data/sample";
import { openAtomic, writeFileAtomic } from "../io/atomic";
import type { Tokenizer } from "../tokenizer/types";
import type { TokenizerIdentity } from "./checkpoint";
import { EpochSampler } from "./sampler";

/** The part of a tokenizer this file needs. */
export type StreamTokenizer = Pick<Tokenizer, "vocabSize" | "encode" | "toJSON"> & { readonly kind?: string };

/**
 * The identity of a tokenizer, recorded in checkpoints and token caches: a hash of its full tokenizer.json, so any
 * change to the vocabulary, the merges or the special tokens gives another identity.
 */
export function tokenizerIdentity(tok: StreamTokenizer): TokenizerIdentity {
  const hash = crypto.createHash("sha256").update(JSON.stringify(tok.toJSON())).digest("hex").slice(0, 16);
  return { hash, vocabSize: tok.vocabSize, name: `${tok.kind ?? "tokenizer"}-${tok.vocabSize}` };
}

/** Token ids of a whole split, end to end. */
export type TokenArray = Uint16Array | Uint32Array;

/** The JSON written next to a cached stream. */
interface StreamMeta {
  readonly format: "tiaoyu-tokens";
  readonly version: 1;
  readonly dtype: "uint16" | "uint32";
  readonly tokens: number;
  readonly samples: number;
  readonly tokenizer: TokenizerIdentity;
  /** The JSONL it was built from; a different size or modification time means it is stale. */
  readonly source: { readonly file: string; readonly bytes: number; readonly mtimeMs: number };
  readonly sha256: string;
}

export interface TokenStream {
  readonly tokens: TokenArray;
  /** How many samples (poems) the stream holds. */
  readonly samples: number;
  readonly tokenizer: TokenizerIdentity;
  /** The cache file (.bin) and whether it was found ready (true) or built now (false). */
  readonly file: string;
  readonly cached: boolean;
}

/** Where the stream of `source` for this tokenizer is cached: datasets/poems/tokens/train-<hash>.bin */
export function tokenCachePath(source: string, tokenizer: TokenizerIdentity): string {
  return path.join(path.dirname(source), "tokens", `${path.basename(source, ".jsonl")}-${tokenizer.hash}.bin`);
}

function readCached(bin: string, want: Omit<StreamMeta, "tokens" | "samples" | "sha256" | "dtype">): { meta: StreamMeta; tokens: TokenArray } | null {
  const metaFile = bin.replace(/\.bin$/, ".json");
  if (!fs.existsSync(bin) || !fs.existsSync(metaFile)) return null;
  let meta: StreamMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as StreamMeta;
  } catch {
    return null; // unreadable: rebuild
  }
  const same =
    meta.format === "tiaoyu-tokens" &&
    meta.version === 1 &&
    meta.tokenizer?.hash === want.tokenizer.hash &&
    meta.source?.bytes === want.source.bytes &&
    meta.source?.mtimeMs === want.source.mtimeMs;
  if (!same) return null;
  const buf = fs.readFileSync(bin);
  const width = meta.dtype === "uint16" ? 2 : 4;
  if (buf.length !== meta.tokens * width) return null;
  if (crypto.createHash("sha256").update(buf).digest("hex") !== meta.sha256) return null;
  // Copy into an aligned buffer of its own (a Buffer may sit at any offset of a shared pool).
  const aligned = new Uint8Array(buf.length);
  aligned.set(buf);
  return { meta, tokens: meta.dtype === "uint16" ? new Uint16Array(aligned.buffer) : new Uint32Array(aligned.buffer) };
}

/**
 * The token stream of a JSONL file of samples (`{"text": "<s>…</s>"}` per line), from the cache when it is fresh,
 * otherwise encoded now and cached.
 *
 * @param samples the texts, e.g. `readSamples(file)`; read only when the cache must be rebuilt.
 * @example const train = await ensureTokenStream(corpus.files.train, readSamples(corpus.files.train), tok);
 */
export async function ensureTokenStream(
  source: string,
  samples: () => AsyncIterable<string> | Iterable<string>,
  tokenizer: StreamTokenizer,
  options: { force?: boolean; onProgress?: (samples: number, tokens: number) => void } = {},
): Promise<TokenStream> {
  if (!fs.existsSync(source)) throw new Error(`token stream: source ${source} does not exist (build the corpus first: ensureCorpus())`);
  const identity = tokenizerIdentity(tokenizer);
  const stat = fs.statSync(source);
  const want = {
    format: "tiaoyu-tokens" as const,
    version: 1 as const,
    tokenizer: identity,
    source: { file: path.basename(source), bytes: stat.size, mtimeMs: stat.mtimeMs },
  };
  const bin = tokenCachePath(source, identity);
  if (!options.force) {
    const hit = readCached(bin, want);
    if (hit) return { tokens: hit.tokens, samples: hit.meta.samples, tokenizer: identity, file: bin, cached: true };
  }

  // Encode every sample; <s> and </s> become their special ids. Only these two: any other special token's text
  // inside a poem would be ordinary characters. A tokenizer without them would silently spell "<s>" out in bytes.
  const markers = [BOS, EOS];
  const probe = tokenizer.encode(BOS + EOS, { allowedSpecial: markers });
  if (probe.length !== 2) throw new Error(`token stream: the tokenizer has no special tokens ${BOS} and ${EOS} (they encode to ${probe.length} ids)`);
  const wide = tokenizer.vocabSize > 65536;
  let out: TokenArray = wide ? new Uint32Array(1 << 16) : new Uint16Array(1 << 16);
  let n = 0;
  let count = 0;
  for await (const text of samples()) {
    const ids = tokenizer.encode(text, { allowedSpecial: markers });
    if (n + ids.length > out.length) {
      const bigger: TokenArray = wide ? new Uint32Array(Math.max(out.length * 2, n + ids.length)) : new Uint16Array(Math.max(out.length * 2, n + ids.length));
      bigger.set(out.subarray(0, n));
      out = bigger;
    }
    for (const id of ids) out[n++] = id;
    count++;
    if (options.onProgress && count % 1000 === 0) options.onProgress(count, n);
  }
  if (n === 0) throw new Error(`token stream: ${source} has no samples`);
  const tokens = out.slice(0, n) as TokenArray;
  const bytes = new Uint8Array(tokens.buffer, 0, tokens.byteLength);
  const meta: StreamMeta = {
    ...want,
    dtype: wide ? "uint32" : "uint16",
    tokens: n,
    samples: count,
    sha256: crypto.createHash("sha256").update(bytes).digest("hex"),
  };
  // The .bin first, then the .json that vouches for it: a kill in between leaves a .bin without a matching
  // description, which the next run rebuilds.
  const w = await openAtomic(bin);
  try {
    await w.write(bytes);
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
  await writeFileAtomic(bin.replace(/\.bin$/, ".json"), JSON.stringify(meta, null, 2) + "\n");
  return { tokens, samples: count, tokenizer: identity, file: bin, cached: false };
}

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
