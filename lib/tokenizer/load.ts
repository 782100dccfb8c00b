/**
 * The four tokenizers behind one entry point: train any of them by name, load any saved tokenizer.json.
 *
 *   const tok = await trainTokenizer("unigram", poems, { vocabSize: 6400 });
 *   tok.save("datasets/my-tokenizer");
 *   const same = loadTokenizer("datasets/my-tokenizer");   // knows it is a Unigram model from the file
 */
import { ByteBPETokenizer, type BPETrainOptions } from "./bpe";
import { CharBPETokenizer, type CharBPETrainOptions } from "./charbpe";
import { checkTokenizerJSON, detectKind, parseTokenizerJSON, readTokenizerJSON, type JsonObject } from "./hfjson";
import type { Corpus, TokenizerKind } from "./types";
import { UnigramTokenizer, type UnigramTrainOptions } from "./unigram";
import { WordPieceTokenizer, type WordPieceTrainOptions } from "./wordpiece";

/** Any of the four tokenizers. */
export type AnyTokenizer = ByteBPETokenizer | WordPieceTokenizer | UnigramTokenizer | CharBPETokenizer;

/** Options of each trainer, by kind. */
export interface TrainOptionsByKind {
  bpe: BPETrainOptions;
  wordpiece: WordPieceTrainOptions;
  unigram: UnigramTrainOptions;
  charbpe: CharBPETrainOptions;
}

/** What the book calls them. */
export const TOKENIZER_NAMES: Readonly<Record<TokenizerKind, string>> = Object.freeze({
  bpe: "BPE (byte-level)",
  wordpiece: "WordPiece",
  unigram: "Unigram",
  charbpe: "CharBPETokenizer",
});

export const TOKENIZER_KINDS: readonly TokenizerKind[] = Object.freeze(["bpe", "wordpiece", "unigram", "charbpe"]);

/** Trains a tokenizer of the given kind on a corpus. */
export async function trainTokenizer<K extends TokenizerKind>(kind: K, corpus: Corpus, options: TrainOptionsByKind[K]): Promise<AnyTokenizer> {
  switch (kind) {
    case "bpe":
      return ByteBPETokenizer.train(corpus, options);
    case "wordpiece":
      return WordPieceTokenizer.train(corpus, options);
    case "unigram":
      return UnigramTokenizer.train(corpus, options);
    case "charbpe":
      return CharBPETokenizer.train(corpus, options);
    default:
      throw new Error(`unknown tokenizer kind "${kind}": use one of ${TOKENIZER_KINDS.join(", ")}`);
  }
}

/** Rebuilds a tokenizer from a parsed tokenizer.json, whatever its kind. */
export function tokenizerFromJSON(json: JsonObject, file = "tokenizer.json"): AnyTokenizer {
  checkTokenizerJSON(json, file);
  switch (detectKind(json, file)) {
    case "bpe":
      return ByteBPETokenizer.fromJSON(json, file);
    case "wordpiece":
      return WordPieceTokenizer.fromJSON(json, file);
    case "unigram":
      return UnigramTokenizer.fromJSON(json, file);
    case "charbpe":
      return CharBPETokenizer.fromJSON(json, file);
  }
}

/** Loads `dir/tokenizer.json` (or the given file), whatever its kind; errors name the file and the field. */
export function loadTokenizer(dirOrFile: string): AnyTokenizer {
  const { json, file } = readTokenizerJSON(dirOrFile);
  return tokenizerFromJSON(json, file);
}

/** Parses tokenizer.json text (e.g. from a download) into a tokenizer. */
export function tokenizerFromString(text: string, file = "tokenizer.json"): AnyTokenizer {
  return tokenizerFromJSON(parseTokenizerJSON(text, file), file);
}

