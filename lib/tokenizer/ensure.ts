/**
 * The course's tokenizer: byte-level BPE trained once on chapter 1's training split and kept under datasets/,
 * so that every later chapter (the model, pretraining, fine-tuning) loads the same one in a moment.
 *
 *   const tok = await ensureTokenizer();   // datasets/tokenizer-bpe-6400/tokenizer.json (trained if missing)
 *   tok.encode("<s>床前明月光</s>", { allowedSpecial: "all" })
 *
 * Full size: vocabulary 6,400 (minimind's size) on the whole training split. Quick mode (TIAOYU_QUICK=1): a
 * 1,024-token vocabulary on the quick corpus, trained in about a second. The cache is keyed by the corpus's
 * configuration hash and the training settings: a rebuilt corpus or other settings train a new tokenizer.
 */
import * as fs from "fs";
import * as path from "path";
import { datasetsDir, isQuick } from "../course";
import { writeFileAtomicSync } from "../io/atomic";
import { ensureCorpus, type CorpusOptions } from "../data/pipeline";
import { readSamples } from "../data/sample";
import { ByteBPETokenizer } from "./bpe";
import { readTokenizerJSON, TOKENIZER_FILE } from "./hfjson";
import { DEFAULT_SPECIAL_TOKENS } from "./specials";
import type { TrainProgress } from "./types";

/** Vocabulary sizes of the course's tokenizer. */
export const COURSE_VOCAB_SIZE = 6400;
export const QUICK_VOCAB_SIZE = 1024;
/** Bumped when training changes in a way that changes the merges, so old caches are not reused. */
const TRAINER_VERSION = 1;

export interface EnsureTokenizerOptions {
  /** Default: 6,400, or 1,024 in quick mode. */
  readonly vocabSize?: number;
  /** Small corpus and vocabulary (default: TIAOYU_QUICK). */
  readonly quick?: boolean;
  /** Retrain even if an up-to-date tokenizer exists. */
  readonly force?: boolean;
  /** Options for chapter 1's corpus (its `quick` follows this one's unless given). */
  readonly corpus?: CorpusOptions;
  /** Where to keep it (default datasets/tokenizer-bpe-<vocab>[-quick]). */
  readonly dir?: string;
  readonly onProgress?: (p: TrainProgress) => void;
}

/** meta.json next to tokenizer.json: what it was trained on, to know when it is stale. */
export interface CourseTokenizerMeta {
  readonly trainerVersion: number;
  readonly vocabSize: number;
  readonly specialTokens: readonly string[];
  readonly corpus: string;
  readonly corpusConfigHash: string;
  readonly samples: number;
  readonly trainedAt: string;
  readonly seconds: number;
}

/** Where the course's tokenizer is kept for these options. */
export function courseTokenizerDir(options: Pick<EnsureTokenizerOptions, "vocabSize" | "quick" | "dir"> = {}): string {
  const quick = options.quick ?? isQuick();
  const vocab = options.vocabSize ?? (quick ? QUICK_VOCAB_SIZE : COURSE_VOCAB_SIZE);
  return options.dir ?? datasetsDir(`tokenizer-bpe-${vocab}${quick ? "-quick" : ""}`);
}

function readMeta(file: string): CourseTokenizerMeta | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as CourseTokenizerMeta;
  } catch {
    return null;
  }
}

/**
 * The course's byte-level BPE: loaded from datasets/ when it is up to date, else trained on chapter 1's
 * training split (building the corpus first if needed) and saved there.
 */
export async function ensureTokenizer(options: EnsureTokenizerOptions = {}): Promise<ByteBPETokenizer> {
  const quick = options.quick ?? isQuick();
  const vocabSize = options.vocabSize ?? (quick ? QUICK_VOCAB_SIZE : COURSE_VOCAB_SIZE);
  const dir = courseTokenizerDir({ ...options, quick, vocabSize });
  const corpus = await ensureCorpus({ quick, ...options.corpus });
  const metaFile = path.join(dir, "meta.json");
  const meta = readMeta(metaFile);
  const fresh =
    meta !== null &&
    meta.trainerVersion === TRAINER_VERSION &&
    meta.vocabSize === vocabSize &&
    meta.corpusConfigHash === corpus.report.configHash &&
    JSON.stringify(meta.specialTokens) === JSON.stringify(DEFAULT_SPECIAL_TOKENS) &&
    fs.existsSync(path.join(dir, TOKENIZER_FILE));
  if (fresh && !options.force) {
    const { json, file } = readTokenizerJSON(dir);
    return ByteBPETokenizer.fromJSON(json, file);
  }
  const t0 = Date.now();
  const tok = await ByteBPETokenizer.train(readSamples(corpus.files.train), { vocabSize, onProgress: options.onProgress });
  tok.save(dir);
  const written: CourseTokenizerMeta = {
    trainerVersion: TRAINER_VERSION,
    vocabSize,
    specialTokens: DEFAULT_SPECIAL_TOKENS,
    corpus: corpus.files.train,
    corpusConfigHash: corpus.report.configHash,
    samples: tok.stats?.samples ?? 0,
    trainedAt: new Date().toISOString(),
    seconds: (Date.now() - t0) / 1000,
  };
  // meta.json last: its presence says tokenizer.json is complete.
  writeFileAtomicSync(metaFile, JSON.stringify(written, null, 1) + "\n");
  return tok;
}
