/**
 * TIAOYU — a large language model built from scratch, chapter by chapter.
 *
 * Import everything from here: `import { initBackend, readJsonl } from "tiaoyu"`.
 * Each concept of the book lives in one file; this index only re-exports.
 */
import * as tf from "@tensorflow/tfjs";

export { tf };
export * from "./backend";
export * from "./course";
export * from "./rng";           // the seeded random generator that training and sampling share
export * from "./display";
export * from "./io";          // safetensors, atomic file writes
export * from "./data";        // chapter 1: corpus, cleaning, JSONL samples
export * from "./tokenizer";   // chapter 2: BPE, WordPiece, Unigram, character BPE
export * from "./model";       // chapters 3–4: embeddings, positions, the decoder
export * from "./train";         // chapters 5–10: the training loop and its stages
export * from "./generate";      // chapter 5: greedy, temperature, top-k and top-p generation with the KV cache
export { decodable, nativeDecodeAvailable, useNativeDecode } from "./kernels/decode"; // the one-call generation step (speed only)
export * from "./eval";          // chapters 5–10: 词语接龙, next-token accuracy, question accuracy, replies, distillation and reasoning, each with n and a 95% interval
