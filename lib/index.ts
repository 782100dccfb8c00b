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
export * from "./display";
