/**
 * Character-level BPE: BPE over characters instead of bytes, with an end-of-word marker, as in Sennrich et al.
 * 2016 and Hugging Face's CharBPETokenizer (the one the book names).
 *
 * The alphabet is characters, so a Chinese character is one symbol from the start (byte-level BPE first has to
 * merge its three bytes). The last character of every word carries the marker "</w>", so "月" inside a word
 * and "月</w>" ending a word are different symbols, and merged tokens remember whether they end a word:
 *
 *   "明月光" → 明 月 光</w> → merges (明, 月) → 明月 光</w>
 *
 * That tells the decoder where words end; languages with rich word endings (the book's example is Turkish) get
 * tokens for whole suffixes such as "ler</w>".
 *
 * Characters outside the alphabet (too rare to keep) fall back to byte tokens <0xE6>, <0x98>, … (as Llama and
 * Hugging Face do), so every text is encoded and decoded back exactly. Ids: 0 … 255 are these byte tokens, then
 * the alphabet, then the merges, then the special tokens.
 */
import { BaseTokenizer, commonOptions } from "./base";
import { displayBytes, utf8, utf8Decode } from "./bytes";
import { JsonReader, tokenizerJSON, type JsonObject, vocabObject } from "./hfjson";
import { MergeLoop } from "./merges";
import { preSplitFromJSON, preSplitJSON } from "./presplit";
import { MergeRanks } from "./ranks";
import type { Corpus, PreSplitName, TrainOptions } from "./types";
import { countWords, layoutWords } from "./words";

export const END_OF_WORD = "</w>";

/** The name of the byte token for byte b: "<0xE6>" (Hugging Face's byte_fallback spelling). */
export function byteTokenName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/** Characters always in the alphabet, in both forms: with them, "</w>" in decoded byte runs is always a marker. */
const MARKER_CHARS = ["<", "/", "w", ">"];

export interface CharBPETrainOptions extends TrainOptions {
  /** Pairs seen fewer times than this are never merged (default 2). */
  readonly minFrequency?: number;
  /** At most this share of the model's ids go to single characters (default 0.8); the rest to merges. */
  readonly alphabetShare?: number;
}

export class CharBPETokenizer extends BaseTokenizer {
  readonly kind = "charbpe" as const;
  /** tokens[id]: the token's string in tokenizer.json ("明月</w>", "<0xE6>"). */
  private readonly strings: string[];
  private readonly ids: Map<string, number>;
  /** The text each id stands for, as bytes (the marker removed). */
  private readonly bytesOf: Uint8Array[];
  readonly merges: ReadonlyArray<readonly [number, number]>;
  private readonly ranks: MergeRanks;
  private buf = new Int32Array(256);

  /**
   * A tokenizer from its alphabet (token strings, in id order after the 256 byte tokens) and its merges
   * `[a, b]` in the order learned (each makes the token spelled strings[a] + strings[b]).
   */
  constructor(alphabet: readonly string[], merges: ReadonlyArray<readonly [number, number]>, options: { specialTokens?: readonly string[]; preSplit?: PreSplitName } = {}) {
    const strings: string[] = [];
    for (let b = 0; b < 256; b++) strings.push(byteTokenName(b));
    for (const a of alphabet) {
      const ch = a.endsWith(END_OF_WORD) ? a.slice(0, -END_OF_WORD.length) : a;
      if ([...ch].length !== 1) throw new Error(`alphabet entry ${JSON.stringify(a)} must be one character, optionally followed by ${END_OF_WORD}`);
      strings.push(a);
    }
    const ids = new Map<string, number>();
    strings.forEach((s, id) => {
      if (ids.has(s)) throw new Error(`token ${JSON.stringify(s)} appears twice`);
      ids.set(s, id);
    });
    const mergeIds: number[] = [];
    merges.forEach(([a, b], r) => {
      if (!(a >= 256 && a < strings.length && b >= 256 && b < strings.length)) throw new Error(`merge #${r} (${a}, ${b}): ids must be existing non-byte tokens`);
      if (strings[a].endsWith(END_OF_WORD)) throw new Error(`merge #${r}: ${JSON.stringify(strings[a])} ends a word, nothing can follow it`);
      const s = strings[a] + strings[b];
      let id = ids.get(s);
      if (id === undefined) {
        id = strings.length;
        strings.push(s);
        ids.set(s, id);
      }
      mergeIds.push(id);
    });
    super(strings.length, options.specialTokens ?? [], options.preSplit ?? "gpt2");
    this.strings = strings;
    this.ids = ids;
    this.merges = Object.freeze(merges.map(([a, b]) => Object.freeze([a, b] as const)));
    this.ranks = new MergeRanks(this.merges, mergeIds);
    this.bytesOf = strings.map((s, id) => (id < 256 ? Uint8Array.of(id) : utf8(s.endsWith(END_OF_WORD) ? s.slice(0, -END_OF_WORD.length) : s)));
    for (const [t] of this.specials.ids) {
      if (this.ids.has(t)) throw new Error(`special token "${t}" is also an ordinary token: tokenizer.json could not tell them apart`);
    }
  }

  static async train(corpus: Corpus, options: CharBPETrainOptions): Promise<CharBPETokenizer> {
    const { specials, modelSize, preSplit } = commonOptions(options, 256 + 2 * MARKER_CHARS.length, "CharBPETokenizer.train");
    const started = Date.now();
    const words = await countWords(corpus, { specials, preSplit, onProgress: options.onProgress, started });

    // The alphabet: characters in the middle of a word ("c") and ending one ("c</w>"), most frequent first.
    const freq = new Map<string, number>();
    for (const [w, c] of words.counts) {
      const chars = [...w];
      chars.forEach((ch, i) => {
        const k = i === chars.length - 1 ? ch + END_OF_WORD : ch;
        freq.set(k, (freq.get(k) ?? 0) + c);
      });
    }
    const forced = MARKER_CHARS.flatMap((c) => [c, c + END_OF_WORD]);
    const budget = Math.floor((modelSize - 256) * (options.alphabetShare ?? 0.8)) - forced.length;
    const ranked = [...freq].filter(([k]) => !forced.includes(k)).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    const alphabet = [...forced, ...ranked.slice(0, Math.max(0, budget)).map(([k]) => k)];

    const strings: string[] = [];
    for (let b = 0; b < 256; b++) strings.push(byteTokenName(b));
    strings.push(...alphabet);
    const byString = new Map(strings.map((s, id) => [s, id]));
    const enc = new TextEncoder();
    const laid = layoutWords(words.counts, (w, out) => {
      const chars = [...w];
      let n = 0;
      chars.forEach((ch, i) => {
        const s = i === chars.length - 1 ? ch + END_OF_WORD : ch;
        const id = byString.get(s);
        if (id !== undefined) out[n++] = id;
        else for (const b of enc.encode(s)) out[n++] = b; // byte fallback, as the encoder will do
      });
      return n;
    });
    const reserved = new Set<string>(specials);
    for (let b = 0; b < 256; b++) reserved.add(byteTokenName(b));
    const loop = new MergeLoop(laid, { numSymbols: strings.length, score: "count", minFrequency: options.minFrequency });
    const merges: [number, number][] = [];
    while (strings.length < modelSize) {
      const step = loop.step((a, b) => {
        if (a < 256 || b < 256) return -1; // byte tokens stand in for rare characters: they never merge
        const s = strings[a] + strings[b];
        const existing = byString.get(s);
        if (existing !== undefined) return existing;
        if (reserved.has(s)) return -1;
        byString.set(s, strings.length);
        strings.push(s);
        return strings.length - 1;
      });
      if (step === null) break;
      merges.push([step.a, step.b]);
      if (merges.length % 200 === 0) {
        options.onProgress?.({ phase: "training", done: strings.length, total: modelSize, seconds: (Date.now() - started) / 1000, note: strings[step.id] });
      }
    }
    options.onProgress?.({ phase: "done", done: strings.length, total: modelSize, seconds: (Date.now() - started) / 1000 });
    return new CharBPETokenizer(alphabet, merges, { specialTokens: specials, preSplit });
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

  override displayToken(id: number): string {
    if (id < 256) return displayBytes([id]);
    if (id < this.modelSize) {
      const s = this.strings[id];
      const end = s.endsWith(END_OF_WORD);
      return displayBytes(this.bytesOf[id]) + (end ? END_OF_WORD : "");
    }
    return super.displayToken(id);
  }

  protected encodeChunk(text: string, start: number, end: number, out: number[]): void {
    // Mirrors Hugging Face's BPE with end_of_word_suffix and byte_fallback: each character (the last one with
    // "</w>") is looked up; one that is missing becomes the byte tokens of its UTF-8 spelling, "</w>" included.
    if (this.buf.length < (end - start) * 8 + 8) this.buf = new Int32Array((end - start) * 8 + 8);
    const buf = this.buf;
    let n = 0;
    for (let i = start; i < end; ) {
      const cp = text.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      let s = text.slice(i, i + len);
      i += len;
      if (i >= end) s += END_OF_WORD;
      const id = this.ids.get(s);
      if (id !== undefined) buf[n++] = id;
      else for (const b of utf8(s)) buf[n++] = b;
    }
    this.ranks.apply(buf, n, out);
  }

  override decode(ids: ArrayLike<number>): string {
    // Byte tokens of a word's last, unknown character include the bytes of "</w>": decode each run of byte
    // tokens and drop the markers (the marker's own characters are always in the alphabet, so a "</w>" that
    // appears in a run of byte tokens is always a marker).
    let out = "";
    let run: number[] = [];
    const flush = () => {
      if (run.length) out += utf8Decode(Uint8Array.from(run)).split(END_OF_WORD).join("");
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (Number.isInteger(id) && id >= 0 && id < 256) {
        run.push(id);
        continue;
      }
      flush();
      out += utf8Decode(this.tokenBytes(id));
    }
    flush();
    return out;
  }

  toJSON(): object {
    const vocab = vocabObject(this.strings);
    return tokenizerJSON({
      addedTokens: this.specials.toAddedTokens(),
      preTokenizer: preSplitJSON(this.preSplit),
      decoder: {
        type: "Sequence",
        decoders: [
          { type: "ByteFallback" },
          { type: "Fuse" },
          { type: "Replace", pattern: { String: END_OF_WORD }, content: "" },
        ],
      },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: END_OF_WORD,
        fuse_unk: false,
        byte_fallback: true,
        ignore_merges: false,
        vocab,
        merges: this.merges.map(([a, b]) => [this.strings[a], this.strings[b]]),
      },
    });
  }

  static fromJSON(json: JsonObject, file = "tokenizer.json"): CharBPETokenizer {
    const r: JsonReader = new JsonReader(file);
    const model = r.model(json, "BPE");
    const suffix = r.field(model, "end_of_word_suffix", "model");
    if (suffix !== END_OF_WORD) r.fail("model.end_of_word_suffix", `expected "${END_OF_WORD}", found ${JSON.stringify(suffix)}`);
    if (model.byte_fallback !== true) r.fail("model.byte_fallback", "expected true");
    const vocab = r.object(r.field(model, "vocab", "model"), "model.vocab");
    const byId: string[] = [];
    for (const [s, v] of Object.entries(vocab)) {
      const id = r.id(v, `model.vocab["${s}"]`);
      if (byId[id] !== undefined) r.fail(`model.vocab["${s}"]`, `id ${id} is also used by "${byId[id]}"`);
      byId[id] = s;
    }
    for (let id = 0; id < byId.length; id++) if (byId[id] === undefined) r.fail("model.vocab", `id ${id} is missing (ids must be 0 … ${byId.length - 1} without gaps)`);
    for (let b = 0; b < 256; b++) if (byId[b] !== byteTokenName(b)) r.fail("model.vocab", `id ${b} must be the byte token "${byteTokenName(b)}"`);
    const ids = new Map(byId.map((s, id) => [s, id]));
    const mergesJson = r.array(r.field(model, "merges", "model"), "model.merges");
    const merges = mergesJson.map((m, i): [number, number] => {
      const where = `model.merges[${i}]`;
      const pair = Array.isArray(m) ? m.map((x) => r.string(x, where)) : r.string(m, where).split(" ");
      if (pair.length !== 2) r.fail(where, `expected a pair of tokens, found ${JSON.stringify(m)}`);
      const a = ids.get(pair[0]), b = ids.get(pair[1]);
      if (a === undefined) r.fail(where, `token ${JSON.stringify(pair[0])} is not in model.vocab`);
      if (b === undefined) r.fail(where, `token ${JSON.stringify(pair[1])} is not in model.vocab`);
      if (ids.get(pair[0] + pair[1]) === undefined) r.fail(where, `the merged token ${JSON.stringify(pair[0] + pair[1])} is not in model.vocab`);
      return [a, b];
    });
    // The alphabet: ids after the bytes that no merge makes.
    const made = new Set(merges.map(([a, b]) => ids.get(byId[a] + byId[b])!));
    const alphabet = byId.slice(256).filter((_, k) => !made.has(256 + k));
    const specials = r.specials(json, byId.length);
    try {
      const tok = new CharBPETokenizer(alphabet, merges, { specialTokens: specials, preSplit: preSplitFromJSON(json.pre_tokenizer, file) });
      tok.strings.forEach((s, id) => {
        if (byId[id] !== s) r.fail("model.vocab", `id ${id} is ${JSON.stringify(byId[id])}, but the alphabet and merges give ${JSON.stringify(s)} (the alphabet must come first, then merged tokens in merge order)`);
      });
      return tok;
    } catch (e) {
      if (e instanceof Error && e.name === "TokenizerFileError") throw e;
      return r.fail("model", (e as Error).message);
    }
  }
}
