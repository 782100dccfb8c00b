// Chapter 2 (分词器模型): the four tokenizer models the book names, byte-level BPE first (the course's tokenizer).
export * from "./types";
export * from "./specials";
export * from "./presplit";
export * from "./bytes";
export * from "./hfjson";
export * from "./bpe";
export * from "./wordpiece";
export * from "./unigram";
export * from "./charbpe";
export * from "./load";
export * from "./ensure";
export * from "./inspect";
