// Chapter 2 (分词器模型): the four tokenizer models the book names, byte-level BPE first (the course's tokenizer).
export * from "./types";
export { DEFAULT_SPECIAL_TOKENS, SpecialTokens, type Segment } from "./specials";
export { GPT2_PATTERN, splitChunks, forEachChunk } from "./presplit";
export { BYTE_TO_CHAR, bytesToTokenString, tokenStringToBytes, displayBytes, utf8 } from "./bytes";
export { TOKENIZER_FILE, TokenizerFileError, parseTokenizerJSON, readTokenizerJSON, writeTokenizerJSON, detectKind } from "./hfjson";
export * from "./bpe";
export * from "./wordpiece";
export { UnigramTokenizer, digamma, BYTE_PIECE_SCORE, type UnigramPiece, type UnigramTrainOptions } from "./unigram";
export * from "./charbpe";
export * from "./load";
export * from "./ensure";
export * from "./inspect";
