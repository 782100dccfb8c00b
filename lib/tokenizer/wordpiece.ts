/**
 * WordPiece (Schuster & Nakajima 2012; BERT, Devlin et al. 2019): like BPE it builds a vocabulary by merging
 * pairs, but it picks the pair by a likelihood score instead of its count, and it encodes by greedy longest
 * match instead of replaying merges.
 *
 *   score(a, b) = count(ab) / (count(a) · count(b))
 *
 * A pair scores high when its parts seldom appear apart: "明月" beats "，明" even if the latter is more frequent,
 * because "，" appears next to everything. Pieces inside a word carry the "##" prefix ("##月" = 月 not at the start
 * of a word), so "明" at the start and "##明" in the middle are different tokens.
 *
 * Encoding one word: take the longest vocabulary entry that starts the word, then the longest "##" entry that
 * continues it, and so on:   明月光 → 明月, ##光
 *
 * Our alphabet is the 256 bytes (a piece is a run of bytes, shown as text when it is whole characters), for the
 * same reason as byte-level BPE: every text can be encoded and decoded back exactly, with no [UNK]. In
 * tokenizer.json the pieces are stored byte-level (GPT-2's stand-in characters), after a ByteLevel pre-tokenizer,
 * so Hugging Face `tokenizers` reads the file as an ordinary WordPiece model and gives the same ids.
 */
import { BaseTokenizer, commonOptions } from "./base";
import { BYTE_TO_CHAR, bytesToTokenString, displayBytes, tokenStringToBytes, utf8, utf8Into } from "./bytes";
import { JsonReader, tokenizerJSON, type JsonObject, byteLevelPreTokenizer, vocabObject } from "./hfjson";
import { MergeLoop } from "./merges";
import { preSplitFromJSON, preSplitJSON } from "./presplit";
import { Trie } from "./trie";
import type { Corpus, PreSplitName, TrainOptions } from "./types";
import { countWords, layoutWords } from "./words";

export const CONTINUATION = "##";

export interface WordPieceTrainOptions extends TrainOptions {
  /** Pairs seen fewer times than this are never merged (default 2: rare pairs of rare pieces score absurdly high). */
  readonly minFrequency?: number;
  /** At most this share of the model's ids go to single characters (default 0.8); the rest to merged pieces. */
  readonly alphabetShare?: number;
}

/**
 * The characters that become pieces of their own, as "^c" (starting a word) and "#c" (continuing one): the most
 * frequent first, at most `budget`. Rarer characters are spelled with byte pieces. ASCII characters are left out:
 * they are single bytes, pieces already.
 */
export function chooseAlphabet(counts: Map<string, number>, budget: number): string[] {
  const freq = new Map<string, number>();
  for (const [w, c] of counts) {
    let first = true;
    for (const ch of w) {
      if (ch.charCodeAt(0) >= 0x80) {
        const k = (first ? "^" : "#") + ch;
        freq.set(k, (freq.get(k) ?? 0) + c);
      }
      first = false;
    }
  }
  return [...freq].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, Math.max(0, budget)).map(([k]) => k);
}

/** The longest entry of `trie` that starts at bytes[from]: writes [id, end] into `into` (id -1 if none). */
function longest(trie: Trie, bytes: Int32Array, from: number, to: number, into: Int32Array): void {
  let node = 0, id = -1, end = from;
  for (let i = from; i < to; i++) {
    node = trie.next(node, bytes[i]);
    if (node < 0) break;
    const t = trie.idAt(node);
    if (t >= 0) (id = t), (end = i + 1);
  }
  into[0] = id;
  into[1] = end;
}

export class WordPieceTokenizer extends BaseTokenizer {
  readonly kind = "wordpiece" as const;
  /** pieces[id]: the bytes of the piece and whether it continues a word ("##"). */
  private readonly pieces: ReadonlyArray<{ readonly bytes: Uint8Array; readonly cont: boolean }>;
  private readonly strings: string[];
  private readonly ids: Map<string, number>;
  private readonly starts = new Trie();
  private readonly conts = new Trie();
  private buf = new Int32Array(256);
  private readonly hit = new Int32Array(2);

  /**
   * A tokenizer from its pieces in id order; the first 512 must be the 256 bytes at the start of a word, then
   * the same 256 bytes continuing a word.
   */
  constructor(pieces: ReadonlyArray<{ bytes: Uint8Array; cont: boolean }>, options: { specialTokens?: readonly string[]; preSplit?: PreSplitName } = {}) {
    super(pieces.length, options.specialTokens ?? [], options.preSplit ?? "gpt2");
    for (let b = 0; b < 512; b++) {
      const p = pieces[b];
      if (!p || p.cont !== b >= 256 || p.bytes.length !== 1 || p.bytes[0] !== (b & 255)) {
        throw new Error(`WordPiece piece ${b} must be the byte ${b & 255}${b >= 256 ? " continuing a word" : ""}`);
      }
    }
    this.pieces = pieces;
    this.strings = pieces.map((p) => (p.cont ? CONTINUATION : "") + bytesToTokenString(p.bytes));
    this.ids = new Map();
    this.strings.forEach((s, id) => {
      if (this.ids.has(s)) throw new Error(`WordPiece piece ${JSON.stringify(s)} appears twice (ids ${this.ids.get(s)} and ${id})`);
      if (!pieces[id].cont && s.startsWith(CONTINUATION)) throw new Error(`WordPiece piece ${id} starts a word but is spelled ${JSON.stringify(s)}, which reads as a continuation`);
      this.ids.set(s, id);
    });
    pieces.forEach((p, id) => (p.cont ? this.conts : this.starts).insert(p.bytes, id));
    for (const [t] of this.specials.ids) {
      if (this.ids.has(t)) throw new Error(`special token "${t}" is also an ordinary piece: tokenizer.json could not tell them apart`);
    }
  }

  /**
   * Trains: pick an alphabet of characters (at the start of a word and continuing one, most frequent first),
   * then merge the pair with the best likelihood score until the vocabulary is full.
   */
  static async train(corpus: Corpus, options: WordPieceTrainOptions): Promise<WordPieceTokenizer> {
    const { specials, modelSize, preSplit } = commonOptions(options, 512, "WordPieceTokenizer.train");
    const started = Date.now();
    const words = await countWords(corpus, { specials, preSplit, onProgress: options.onProgress, started });
    const alphabet = chooseAlphabet(words.counts, Math.floor((modelSize - 512) * (options.alphabetShare ?? 0.8)));

    // Pieces 0 … 511 are the bytes (starting / continuing a word), then the alphabet's characters.
    const pieces: { bytes: Uint8Array; cont: boolean }[] = [];
    for (let b = 0; b < 512; b++) pieces.push({ bytes: Uint8Array.of(b & 255), cont: b >= 256 });
    const symbolOf = new Map<string, number>(); // (cont ? "#" : "^") + char → symbol
    for (const key of alphabet) {
      symbolOf.set(key, pieces.length);
      pieces.push({ bytes: utf8(key.slice(1)), cont: key[0] === "#" });
    }
    // A word's initial symbols: its characters, or the bytes of a character outside the alphabet. One-symbol
    // words stay in: they count towards how often their symbol occurs (the score's denominator).
    const laid = layoutWords(
      words.counts,
      (w, out) => {
        let n = 0, first = true;
        for (const ch of w) {
          const sym = symbolOf.get((first ? "^" : "#") + ch);
          if (sym !== undefined) out[n++] = sym;
          else if (ch.charCodeAt(0) < 0x80) out[n++] = ch.charCodeAt(0) + (first ? 0 : 256);
          else {
            const k = utf8Into(ch, out.subarray(n));
            for (let i = first ? 1 : 0; i < k; i++) out[n + i] += 256;
            n += k;
          }
          first = false;
        }
        return n;
      },
      1,
    );
    const key = (p: { bytes: Uint8Array; cont: boolean }) => (p.cont ? CONTINUATION : "") + bytesToTokenString(p.bytes);
    const byString = new Map(pieces.map((p, id) => [key(p), id]));
    const reserved = new Set(specials);
    const loop = new MergeLoop(laid, { numSymbols: pieces.length, score: "likelihood", minFrequency: options.minFrequency });
    while (pieces.length < modelSize) {
      const step = loop.step((a, b) => {
        // Bytes 0x80 and up stand in for characters outside the alphabet; merging them would make pieces that end
        // inside a character, so they stay single. (ASCII bytes are whole characters and merge freely.)
        if ((a < 512 && (a & 255) >= 0x80) || (b < 512 && (b & 255) >= 0x80)) return -1;
        const pa = pieces[a], pb = pieces[b];
        const joined = new Uint8Array(pa.bytes.length + pb.bytes.length);
        joined.set(pa.bytes);
        joined.set(pb.bytes, pa.bytes.length);
        const piece = { bytes: joined, cont: pa.cont };
        const s = key(piece);
        const existing = byString.get(s);
        if (existing !== undefined) return existing;
        // A word-start piece spelled "##…" would read as a continuation in tokenizer.json; a piece spelled like a
        // special token would be confused with it.
        if ((!piece.cont && s.startsWith(CONTINUATION)) || reserved.has(s)) return -1;
        byString.set(s, pieces.length);
        pieces.push(piece);
        return pieces.length - 1;
      });
      if (step === null) break;
      if (pieces.length % 200 === 0) {
        options.onProgress?.({ phase: "training", done: pieces.length, total: modelSize, seconds: (Date.now() - started) / 1000, note: displayBytes(pieces[step.id].bytes) });
      }
    }
    options.onProgress?.({ phase: "done", done: pieces.length, total: modelSize, seconds: (Date.now() - started) / 1000 });
    return new WordPieceTokenizer(pieces, { specialTokens: specials, preSplit });
  }

  protected modelBytes(id: number): Uint8Array {
    return this.pieces[id].bytes;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token) ?? this.specials.idOf(token);
  }

  idToToken(id: number): string | undefined {
    return id < this.modelSize ? this.strings[id] : this.specials.textOf(id);
  }

  override displayToken(id: number): string {
    if (id < this.modelSize && this.pieces[id].cont) return CONTINUATION + displayBytes(this.pieces[id].bytes);
    return super.displayToken(id);
  }

  protected encodeChunk(text: string, start: number, end: number, out: number[]): void {
    if (this.buf.length < (end - start) * 3) this.buf = new Int32Array((end - start) * 3);
    const n = utf8Into(text, this.buf, start, end);
    // Greedy longest match: every single byte is a piece, so each step advances by at least one byte.
    for (let i = 0; i < n; ) {
      longest(i === 0 ? this.starts : this.conts, this.buf, i, n, this.hit);
      out.push(this.hit[0]);
      i = this.hit[1];
    }
  }

  toJSON(): object {
    const vocab = vocabObject(this.strings);
    return tokenizerJSON({
      addedTokens: this.specials.toAddedTokens(),
      preTokenizer: byteLevelPreTokenizer(preSplitJSON(this.preSplit)),
      // Drop the "##" of continuation pieces, then turn the byte stand-ins back into text. No word-start piece is
      // spelled "##…" (training refuses them), so "^##" only ever removes the continuation mark.
      decoder: {
        type: "Sequence",
        decoders: [
          { type: "Replace", pattern: { Regex: "^##" }, content: "" },
          { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
        ],
      },
      model: {
        type: "WordPiece",
        // Never used: every byte is a piece, so no word is unknown (the limit below is never reached either).
        unk_token: "<unk>",
        continuing_subword_prefix: CONTINUATION,
        max_input_chars_per_word: 1_000_000_000,
        vocab,
      },
    });
  }

  static fromJSON(json: JsonObject, file = "tokenizer.json"): WordPieceTokenizer {
    const r: JsonReader = new JsonReader(file);
    const model = r.model(json, "WordPiece");
    const prefix = r.string(r.field(model, "continuing_subword_prefix", "model"), "model.continuing_subword_prefix");
    if (prefix !== CONTINUATION) r.fail("model.continuing_subword_prefix", `expected "${CONTINUATION}", found ${JSON.stringify(prefix)}`);
    const vocab = r.object(r.field(model, "vocab", "model"), "model.vocab");
    const pieces: { bytes: Uint8Array; cont: boolean }[] = [];
    for (const [s, v] of Object.entries(vocab)) {
      const id = r.id(v, `model.vocab["${s}"]`);
      if (pieces[id]) r.fail(`model.vocab["${s}"]`, `id ${id} is used twice`);
      const cont = s.startsWith(CONTINUATION) && s.length > CONTINUATION.length;
      const bytes = tokenStringToBytes(cont ? s.slice(CONTINUATION.length) : s);
      if (bytes === null || bytes.length === 0) r.fail(`model.vocab["${s}"]`, "not a byte-level piece (this library writes WordPiece over bytes)");
      pieces[id] = { bytes, cont };
    }
    for (let id = 0; id < pieces.length; id++) if (!pieces[id]) r.fail("model.vocab", `id ${id} is missing (ids must be 0 … ${pieces.length - 1} without gaps)`);
    for (let b = 0; b < 512; b++) {
      const want = (b >= 256 ? CONTINUATION : "") + BYTE_TO_CHAR[b & 255];
      const p = pieces[b];
      if (!p || p.cont !== b >= 256 || p.bytes.length !== 1 || p.bytes[0] !== (b & 255)) r.fail("model.vocab", `id ${b} must be "${want}"`);
    }
    const specials = r.specials(json, pieces.length);
    try {
      return new WordPieceTokenizer(pieces, { specialTokens: specials, preSplit: preSplitFromJSON(json.pre_tokenizer, file) });
    } catch (e) {
      if (e instanceof Error && e.name === "TokenizerFileError") throw e;
      return r.fail("model", (e as Error).message);
    }
  }
}
