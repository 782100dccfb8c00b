/**
 * Byte-level BPE (Byte-Pair Encoding): the course's tokenizer, used by every chapter after this one.
 *
 * Follows Sennrich et al. 2016 ("Neural Machine Translation of Rare Words with Subword Units") on bytes, as
 * GPT-2 does (Radford et al. 2019), and minbpe's layout of ids: 0 … 255 are the bytes, each merge adds one id.
 *
 * Training: start from the bytes of every chunk of the corpus and repeatedly merge the most frequent adjacent
 * pair into a new token (lib/tokenizer/merges.ts does this incrementally). The merges, in the order they were
 * learned, are the whole model. Encoding a chunk applies them in that same order: while some adjacent pair has
 * a merge, merge the pair whose merge was learned first (the leftmost one if it occurs twice).
 *
 * The classic example (minbpe): training on "aaabdaaabac" with three merges learns
 *   (a, a) → 256 "aa",  (a, b) → 257 "ab",  (256, 257) → 258 "aaab"
 * and then encode("aaabdaaabac") = [258, 100, 258, 97, 99]   (100 = "d", 97 = "a", 99 = "c").
 *
 * Because the alphabet is the 256 bytes, any text can be encoded (no unknown token) and decoding gives it back
 * exactly. Special tokens (`<s>`, `</s>`, `<pad>`, …) get the ids after the last merge.
 */
import { BaseTokenizer, commonOptions } from "./base";
import { bytesToTokenString, displayBytes, tokenStringToBytes, utf8Into } from "./bytes";
import { JsonReader, tokenizerJSON, type JsonObject, byteLevelPreTokenizer, vocabObject } from "./hfjson";
import { MergeLoop, type MergeStep } from "./merges";
import { MergeRanks } from "./ranks";
import { preSplitFromJSON, preSplitJSON } from "./presplit";
import type { Corpus, PreSplitName, TrainOptions } from "./types";
import { countWords, layoutWords } from "./words";

export interface BPETrainOptions extends TrainOptions {
  /** Pairs seen fewer times than this are never merged (default 2). */
  readonly minFrequency?: number;
}

/** What training measured, for reports and benchmarks. */
export interface BPETrainStats {
  readonly samples: number;
  readonly distinctWords: number;
  readonly symbols: number;
  readonly merges: number;
  readonly countSeconds: number;
  readonly mergeSeconds: number;
  /** Peak bytes held by the merge loop's arrays. */
  readonly loopBytes: number;
}


export class ByteBPETokenizer extends BaseTokenizer {
  readonly kind = "bpe" as const;
  /** merges[r] = [a, b]: the r-th merge learned (rank r) joins ids a and b. */
  readonly merges: ReadonlyArray<readonly [number, number]>;
  /** The merges as the encoder applies them; each produces a new id, or an earlier one with the same bytes. */
  private readonly ranks: MergeRanks;
  private readonly bytesOf: Uint8Array[];
  private readonly strings: string[];
  private readonly ids: Map<string, number>;
  private buf = new Int32Array(256);
  /** Statistics of the training run that made this tokenizer (absent when loaded from a file). */
  stats?: BPETrainStats;

  /**
   * A tokenizer from its merges. `merges[r] = [a, b, id]`: rank r joins a and b into `id`, which is 256 + r
   * unless two merges spell the same bytes (then the later one reuses the earlier id).
   */
  constructor(merges: ReadonlyArray<readonly [number, number, number?]>, options: { specialTokens?: readonly string[]; preSplit?: PreSplitName } = {}) {
    const bytesOf: Uint8Array[] = [];
    for (let b = 0; b < 256; b++) bytesOf.push(Uint8Array.of(b));
    const mergeIds = new Int32Array(merges.length);
    merges.forEach(([a, b, id], r) => {
      const want = id ?? bytesOf.length;
      for (const x of [a, b]) {
        if (!Number.isInteger(x) || x < 0 || x >= bytesOf.length) throw new Error(`merge #${r} (${a}, ${b}): id ${x} does not exist yet (ids so far: 0 … ${bytesOf.length - 1})`);
      }
      const joined = new Uint8Array(bytesOf[a].length + bytesOf[b].length);
      joined.set(bytesOf[a]);
      joined.set(bytesOf[b], bytesOf[a].length);
      if (want === bytesOf.length) bytesOf.push(joined);
      else if (!(want < bytesOf.length && sameBytes(bytesOf[want], joined))) {
        throw new Error(`merge #${r} (${a}, ${b}) → ${want}: expected id ${bytesOf.length}, or an earlier id with the same bytes`);
      }
      mergeIds[r] = want;
    });
    super(bytesOf.length, options.specialTokens ?? [], options.preSplit ?? "gpt2");
    this.merges = Object.freeze(merges.map(([a, b]) => Object.freeze([a, b] as const)));
    this.bytesOf = bytesOf;
    this.ranks = new MergeRanks(this.merges, mergeIds);
    this.strings = bytesOf.map((b) => bytesToTokenString(b));
    this.ids = new Map(this.strings.map((s, id) => [s, id]));
    for (const [t] of this.specials.ids) {
      if (this.ids.has(t)) throw new Error(`special token "${t}" is also an ordinary token (id ${this.ids.get(t)}): tokenizer.json could not tell them apart`);
    }
  }

  /**
   * Trains on a corpus. `vocabSize` counts everything: 256 bytes + merges + special tokens.
   * @example const tok = await ByteBPETokenizer.train(["aaabdaaabac"], { vocabSize: 259, specialTokens: [] })
   */
  static async train(corpus: Corpus, options: BPETrainOptions): Promise<ByteBPETokenizer> {
    const { specials, modelSize, preSplit } = commonOptions(options, 256, "ByteBPETokenizer.train");
    const started = Date.now();
    const words = await countWords(corpus, { specials, preSplit, onProgress: options.onProgress, started });
    const laid = layoutWords(words.counts, utf8Into);
    const counted = Date.now();

    const loop = new MergeLoop(laid, { numSymbols: 256, score: "count", minFrequency: options.minFrequency });
    const merges: [number, number, number][] = [];
    const bytesOf: Uint8Array[] = [];
    for (let b = 0; b < 256; b++) bytesOf.push(Uint8Array.of(b));
    const byString = new Map<string, number>(bytesOf.map((b, id) => [bytesToTokenString(b), id]));
    const reserved = new Set(specials);
    const wanted = modelSize - 256;
    let peak = loop.bytes;
    const report = (step: MergeStep | null) => {
      options.onProgress?.({
        phase: step ? "training" : "done",
        done: bytesOf.length - 256,
        total: wanted,
        seconds: (Date.now() - started) / 1000,
        note: step ? `#${step.id} = ${displayBytes(bytesOf[step.id])} (${step.count}×)` : undefined,
      });
    };
    while (bytesOf.length < modelSize) {
      const step = loop.step((a, b) => {
        const joined = new Uint8Array(bytesOf[a].length + bytesOf[b].length);
        joined.set(bytesOf[a]);
        joined.set(bytesOf[b], bytesOf[a].length);
        const s = bytesToTokenString(joined);
        const existing = byString.get(s);
        if (existing !== undefined) return existing;
        if (reserved.has(s)) return -1; // would spell a special token, e.g. "<s>": never learn it
        byString.set(s, bytesOf.length);
        bytesOf.push(joined);
        return bytesOf.length - 1;
      });
      if (step === null) break;
      merges.push([step.a, step.b, step.id]);
      if (merges.length % 200 === 0) {
        peak = Math.max(peak, loop.bytes);
        report(step);
      }
    }
    peak = Math.max(peak, loop.bytes);
    report(null);
    const tok = new ByteBPETokenizer(merges, { specialTokens: specials, preSplit });
    tok.stats = {
      samples: words.samples,
      distinctWords: words.counts.size,
      symbols: laid.symbols.length,
      merges: merges.length,
      countSeconds: (counted - started) / 1000,
      mergeSeconds: (Date.now() - counted) / 1000,
      loopBytes: peak,
    };
    return tok;
  }

  /** The id merge number `rank` produces. */
  mergeId(rank: number): number {
    return this.ranks.idOf(rank);
  }

  protected modelBytes(id: number): Uint8Array {
    return this.bytesOf[id];
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token) ?? this.specials.idOf(token);
  }

  idToToken(id: number): string | undefined {
    return id < this.modelSize ? this.strings[id] : this.specials.textOf(id);
  }

  protected encodeChunk(text: string, start: number, end: number, out: number[]): void {
    // No cache of chunk → ids (Hugging Face keeps one): hashing each chunk's string to look it up costs more
    // than merging its few bytes again, measured on the Tang poems.
    if (this.buf.length < (end - start) * 3) this.buf = new Int32Array((end - start) * 3);
    const n = utf8Into(text, this.buf, start, end);
    this.ranks.apply(this.buf, n, out);
  }

  toJSON(): object {
    const vocab = vocabObject(this.strings);
    return tokenizerJSON({
      addedTokens: this.specials.toAddedTokens(),
      preTokenizer: byteLevelPreTokenizer(preSplitJSON(this.preSplit)),
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: this.merges.map(([a, b]) => [this.strings[a], this.strings[b]]),
      },
    });
  }

  /** Rebuilds a tokenizer from tokenizer.json (as written by `toJSON`/`save`). */
  static fromJSON(json: JsonObject, file = "tokenizer.json"): ByteBPETokenizer {
    const r: JsonReader = new JsonReader(file);
    const model = r.model(json, "BPE");
    if (typeof model.end_of_word_suffix === "string" && model.end_of_word_suffix !== "") {
      r.fail("model.end_of_word_suffix", "this is a character-level BPE file: load it with CharBPETokenizer");
    }
    const vocab = r.object(r.field(model, "vocab", "model"), "model.vocab");
    const byId: string[] = [];
    for (const [s, v] of Object.entries(vocab)) {
      const id = r.id(v, `model.vocab["${s}"]`);
      if (byId[id] !== undefined) r.fail(`model.vocab["${s}"]`, `id ${id} is also used by "${byId[id]}"`);
      byId[id] = s;
    }
    for (let b = 0; b < 256; b++) {
      const want = bytesToTokenString([b]);
      if (byId[b] !== want) r.fail("model.vocab", `id ${b} must be the byte ${b} ("${want}"), found ${JSON.stringify(byId[b])}: not a byte-level BPE written by this library`);
    }
    const ids = new Map(byId.map((s, id) => [s, id]));
    const mergesJson = r.array(r.field(model, "merges", "model"), "model.merges");
    const merges = mergesJson.map((m, i): [number, number, number] => {
      const where = `model.merges[${i}]`;
      let left: string, right: string;
      if (Array.isArray(m)) {
        if (m.length !== 2) r.fail(where, `expected a pair of tokens, found ${m.length} items`);
        left = r.string(m[0], where);
        right = r.string(m[1], where);
      } else {
        const parts = r.string(m, where).split(" ");
        if (parts.length !== 2) r.fail(where, `expected "left right", found ${JSON.stringify(m)}`);
        [left, right] = parts;
      }
      const a = ids.get(left), b = ids.get(right), c = ids.get(left + right);
      if (a === undefined) r.fail(where, `token ${JSON.stringify(left)} is not in model.vocab`);
      if (b === undefined) r.fail(where, `token ${JSON.stringify(right)} is not in model.vocab`);
      if (c === undefined) r.fail(where, `the merged token ${JSON.stringify(left + right)} is not in model.vocab`);
      return [a, b, c];
    });
    for (let id = 0; id < byId.length; id++) {
      if (byId[id] === undefined) r.fail("model.vocab", `id ${id} is missing (ids must be 0 … ${byId.length - 1} without gaps)`);
      if (tokenStringToBytes(byId[id]) === null) r.fail(`model.vocab["${byId[id]}"]`, "not a byte-level token string");
    }
    const specials = r.specials(json, byId.length);
    const preSplit = preSplitFromJSON(json.pre_tokenizer, file);
    try {
      const tok = new ByteBPETokenizer(merges, { specialTokens: specials, preSplit });
      if (tok.modelSize !== byId.length) r.fail("model.vocab", `has ${byId.length} tokens, but the merges make ${tok.modelSize}`);
      return tok;
    } catch (e) {
      if (e instanceof Error && e.name === "TokenizerFileError") throw e;
      return r.fail("model", (e as Error).message);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
