/**
 * Pretraining data as the model sees it: one long stream of token ids.
 *
 *   train.jsonl  {"text": "<s>床前明月光，…</s>"}  {"text": "<s>春眠不觉晓，…</s>"} …
 *        │ tokenizer of chapter 2 (the <s> and </s> markers become their special ids)
 *        ▼
 *   stream       <s> 床前 明月 光 ， … </s> <s> 春 眠 不觉 晓 ， … </s> <s> …      (every sample, end to end)
 *
 * (lib/train/blocks.ts cuts it into blocks and batches.)
 *
 * Samples are packed end to end, not padded: no position is wasted on padding, and the markers teach the model
 * where a poem ends and the next begins. The stream is cached on disk as raw little-endian integers (Uint16 when the
 * vocabulary fits in 65,536 ids, Uint32 otherwise) with a JSON description, so a second run starts at once; the
 * cache is rebuilt when the tokenizer or the source file changes.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { type CorpusInfo, ensureCorpus } from "../data/pipeline";
import { BOS, EOS, readSamples } from "../data/sample";
import { openAtomic, writeFileAtomic } from "../io/atomic";
import type { Tokenizer } from "../tokenizer/types";
import type { TokenizerIdentity } from "./checkpoint";

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

/**
 * The corpus's training and validation splits as token streams (chapter 1's corpus, built if needed; each stream
 * cached beside its split file, see ensureTokenStream): what every stage that pretrains reads.
 * @example const { train, validation } = await corpusTokenStreams(tok);
 */
export async function corpusTokenStreams(
  tokenizer: StreamTokenizer,
  options: { corpus?: Pick<CorpusInfo, "files">; log?: (line: string) => void } = {},
): Promise<{ train: TokenStream; validation: TokenStream }> {
  const corpus = options.corpus ?? (await ensureCorpus());
  const stream = async (split: "train" | "validation") => {
    const file = corpus.files[split];
    const s = await ensureTokenStream(file, () => readSamples(file), tokenizer);
    options.log?.(`${split}: ${s.samples.toLocaleString("en-US")} samples, ${s.tokens.length.toLocaleString("en-US")} tokens${s.cached ? " (cached)" : ""}`);
    return s;
  };
  return { train: await stream("train"), validation: await stream("validation") };
}
