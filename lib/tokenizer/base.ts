/**
 * What the four tokenizers share: special tokens after the model's own ids, pre-splitting, decoding by
 * concatenating the bytes each token stands for, saving, and a readable vocabulary.
 *
 * Each model only says how it encodes one chunk of ordinary text and which bytes each of its ids stands for.
 */
import { displayBytes, utf8, utf8Decode } from "./bytes";
import { writeTokenizerJSON } from "./hfjson";
import { checkPreSplit, forEachChunkRange, preSplitRegExp } from "./presplit";
import { DEFAULT_SPECIAL_TOKENS, SpecialTokens } from "./specials";
import type { EncodeOptions, PreSplitName, TokenInfo, Tokenizer, TokenizerKind, TrainOptions } from "./types";

export abstract class BaseTokenizer implements Tokenizer {
  abstract readonly kind: TokenizerKind;
  /** Special tokens, numbered after the model's ids. */
  readonly specials: SpecialTokens;
  readonly preSplit: PreSplitName;
  protected readonly splitter: RegExp | null;
  private specialBytes = new Map<number, Uint8Array>();

  constructor(
    /** Number of ids the model itself uses: 0 … modelSize-1. */
    readonly modelSize: number,
    specialTokens: readonly string[],
    preSplit: PreSplitName,
  ) {
    this.specials = new SpecialTokens(specialTokens, modelSize);
    this.preSplit = checkPreSplit(preSplit);
    this.splitter = preSplitRegExp(preSplit);
    for (const [t, id] of this.specials.ids) this.specialBytes.set(id, utf8(t));
  }

  get vocabSize(): number {
    return this.modelSize + this.specials.size;
  }

  get specialTokens(): ReadonlyMap<string, number> {
    return this.specials.ids;
  }

  /** The id of a special token, with an error naming the token if this tokenizer does not have it. */
  specialId(token: string): number {
    const id = this.specials.idOf(token);
    if (id === undefined) throw new Error(`this tokenizer has no special token "${token}" (it has ${this.specials.tokens.join(" ") || "none"})`);
    return id;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new Error(`encode expects a string, got ${typeof text}`);
    const out: number[] = [];
    for (const seg of this.specials.split(text, options.allowedSpecial ?? "none_raise")) {
      if (seg.id !== undefined) out.push(seg.id);
      else this.encodeOrdinary(seg.text, out);
    }
    return out;
  }

  /** Encodes text that holds no special tokens, appending ids to `out`. */
  encodeOrdinary(text: string, out: number[]): void {
    forEachChunkRange(text, this.splitter, (start, end) => this.encodeChunk(text, start, end, out));
  }

  /** Encodes one pre-split chunk, `text[start … end)`, appending ids to `out`. */
  protected abstract encodeChunk(text: string, start: number, end: number, out: number[]): void;

  /** The bytes model id `id` stands for (0 ≤ id < modelSize). */
  protected abstract modelBytes(id: number): Uint8Array;

  /** The bytes any id stands for (a special token stands for its own text). */
  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new Error(`token id ${id} is outside the vocabulary (ids 0 … ${this.vocabSize - 1})`);
    }
    return id < this.modelSize ? this.modelBytes(id) : this.specialBytes.get(id)!;
  }

  decode(ids: ArrayLike<number>): string {
    let total = 0;
    const parts: Uint8Array[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      parts[i] = this.tokenBytes(ids[i]);
      total += parts[i].length;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    return utf8Decode(bytes);
  }

  abstract tokenToId(token: string): number | undefined;
  abstract idToToken(id: number): string | undefined;

  /** Readable text of one id: the text it stands for, partial characters as hex (see displayBytes). */
  displayToken(id: number): string {
    if (id >= this.modelSize) return this.specials.textOf(id) ?? `<id ${id}?>`;
    return displayBytes(this.tokenBytes(id));
  }

  vocab(): TokenInfo[] {
    const out: TokenInfo[] = [];
    for (let id = 0; id < this.vocabSize; id++) {
      out.push({ id, token: this.idToToken(id) ?? "", text: this.displayToken(id), special: id >= this.modelSize });
    }
    return out;
  }

  abstract toJSON(): object;

  save(dir: string): string {
    return writeTokenizerJSON(dir, this.toJSON());
  }
}

/** Checks the options every trainer shares and returns the special tokens and the model's share of the vocabulary. */
export function commonOptions(options: TrainOptions, minModelSize: number, what: string): { specials: readonly string[]; modelSize: number; preSplit: PreSplitName } {
  if (typeof options !== "object" || options === null) throw new Error(`${what}: options must be an object like { vocabSize: 6400 }`);
  const specials = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  const v = options.vocabSize;
  if (!Number.isInteger(v) || v < minModelSize + specials.length) {
    throw new Error(`${what}: vocabSize ${v} is too small: it needs at least ${minModelSize} model tokens plus ${specials.length} special tokens = ${minModelSize + specials.length}`);
  }
  return { specials, modelSize: v - specials.length, preSplit: checkPreSplit(options.preSplit ?? "gpt2") };
}
