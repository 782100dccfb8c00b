/**
 * What every tokenizer of chapter 2 offers, whatever its model (BPE, WordPiece, Unigram, character-level BPE).
 *
 * A tokenizer turns text into a list of integer ids (the numbers a model can compute with) and back:
 *
 *   const tok = await ByteBPETokenizer.train(poems, { vocabSize: 6400 });
 *   tok.encode("床前明月光")          // → e.g. [1321, 2790, 402]
 *   tok.decode([1321, 2790, 402])    // → "床前明月光"   (always the exact text back)
 *   tok.save("datasets/tokenizer")   // → datasets/tokenizer/tokenizer.json (Hugging Face format)
 *
 * Ids are laid out the same way for every model: first the model's own vocabulary (ids 0 … n-1, e.g. the 256
 * bytes and then the merges of byte-level BPE), then the special tokens (`<s>`, `</s>`, `<pad>`, …) after it,
 * in the order they were given. Specials after the model's vocabulary is also how Hugging Face `tokenizers`
 * numbers "added tokens", so a saved file keeps the same ids when another library loads it.
 */

/** The four tokenizer models the book names. */
export type TokenizerKind = "bpe" | "wordpiece" | "unigram" | "charbpe";

/** A corpus for training: any (async) iterable of sample texts, e.g. lines, poems, or `readSamples(file)`. */
export type Corpus = Iterable<string> | AsyncIterable<string>;

/**
 * What to do with special-token text such as "<s>" found inside the text given to `encode` (as minbpe does):
 *   "none_raise" (default) throw an error: special tokens must never be created by accident from user text;
 *   "all"        every special token's text becomes its special id;
 *   "none"       special-token text is ordinary text, encoded like any other characters;
 *   string[]     only these special tokens are recognized; the others are ordinary text.
 */
export type AllowedSpecial = "all" | "none" | "none_raise" | readonly string[];

export interface EncodeOptions {
  readonly allowedSpecial?: AllowedSpecial;
}

/** Progress of a training run, reported every so often through `TrainOptions.onProgress`. */
export interface TrainProgress {
  /** What the trainer is doing: "counting" the corpus, "training" (merges or EM rounds), "done". */
  readonly phase: "counting" | "training" | "done";
  /** Units of work done and planned in this phase (merges for BPE/WordPiece, pruning rounds for Unigram). */
  readonly done: number;
  readonly total: number;
  /** Seconds since training started. */
  readonly seconds: number;
  /** A short human-readable note, e.g. the last token learned. */
  readonly note?: string;
}

/** Options every trainer understands. Each model adds its own (see its file). */
export interface TrainOptions {
  /** The size of the whole vocabulary, special tokens included (e.g. 6400, minimind's size). */
  readonly vocabSize: number;
  /** Special tokens, given ids after the model's vocabulary in this order. Default: DEFAULT_SPECIAL_TOKENS. */
  readonly specialTokens?: readonly string[];
  /**
   * How text is cut into chunks before the model sees it ("pre-tokenization"); tokens never cross a chunk
   * boundary. "gpt2" (default): words, numbers, punctuation runs and spaces, as GPT-2 does; "none": no cut.
   */
  readonly preSplit?: PreSplitName;
  /** Called every so often during training, e.g. to update a progress bar. */
  readonly onProgress?: (p: TrainProgress) => void;
}

export type PreSplitName = "gpt2" | "none";

/** One entry of a vocabulary, for display: the id, its string in tokenizer.json, and what text it stands for. */
export interface TokenInfo {
  readonly id: number;
  /** The token as stored in tokenizer.json (byte-level BPE stores bytes as printable stand-in characters). */
  readonly token: string;
  /** Human-readable text the token stands for; a partial UTF-8 character shows as hex bytes, e.g. "\xE6\x98". */
  readonly text: string;
  readonly special: boolean;
}

/** The common interface of the four tokenizers. */
export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids, special tokens included: every id is in [0, vocabSize). */
  readonly vocabSize: number;
  /** Special token text → id, in id order. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** Text → ids. Throws if the text contains special-token text, unless `allowedSpecial` says what to do. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids → text. `decode(encode(x))` is exactly `x` for every string x. */
  decode(ids: ArrayLike<number>): string;
  /** The id of a token string as tokenizer.json stores it (or a special token's text), if any. */
  tokenToId(token: string): number | undefined;
  /** The tokenizer.json string of an id. */
  idToToken(id: number): string | undefined;
  /** A readable form of one token (see TokenInfo.text). */
  displayToken(id: number): string;
  /** The whole vocabulary in id order, readable. */
  vocab(): TokenInfo[];
  /** The Hugging Face tokenizer.json object. */
  toJSON(): object;
  /** Writes `dir/tokenizer.json` (atomically) and returns its path. */
  save(dir: string): string;
}
