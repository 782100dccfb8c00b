/**
 * The first step of every trainer: read the corpus once and count its distinct chunks ("words").
 *
 * A trainer never needs the corpus in order, only which chunks occur and how often: the 11 MB of Tang poems
 * hold about 1.5 million chunks but only about half a million distinct ones, and a distinct chunk is worked on
 * once however often it occurs. Special-token text ("<s>", "</s>") is cut out first, so that no merge is ever
 * spent on it.
 */
import { forEachChunk, preSplitRegExp } from "./presplit";
import { SpecialTokens } from "./specials";
import type { Corpus, PreSplitName, TrainProgress } from "./types";
import type { MergeWords } from "./merges";

export interface WordCounts {
  /** chunk → how often it occurs */
  readonly counts: Map<string, number>;
  /** Number of samples read, and their total length in UTF-16 units. */
  readonly samples: number;
  readonly chars: number;
}

export async function countWords(
  corpus: Corpus,
  options: { specials: readonly string[]; preSplit: PreSplitName; onProgress?: (p: TrainProgress) => void; started?: number },
): Promise<WordCounts> {
  const specials = new SpecialTokens(options.specials, 0);
  const re = preSplitRegExp(options.preSplit);
  const counts = new Map<string, number>();
  const add = (chunk: string) => counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
  const started = options.started ?? Date.now();
  let samples = 0, chars = 0;
  const isAsync = typeof (corpus as AsyncIterable<string>)[Symbol.asyncIterator] === "function";
  const take = (text: unknown) => {
    if (typeof text !== "string") throw new Error(`corpus sample #${samples} is a ${typeof text}, not a string`);
    for (const piece of specials.strip(text)) forEachChunk(piece, re, add);
    samples++;
    chars += text.length;
    if (options.onProgress && samples % 20000 === 0) {
      options.onProgress({ phase: "counting", done: samples, total: 0, seconds: (Date.now() - started) / 1000, note: `${samples} samples` });
    }
  };
  if (isAsync) for await (const text of corpus as AsyncIterable<string>) take(text);
  else for (const text of corpus as Iterable<string>) take(text);
  return { counts, samples, chars };
}

/**
 * Lays the distinct words out for the merge loop. `symbolize(word, out)` writes the word's initial symbols
 * into `out` (room for 4 per UTF-16 unit) and returns how many it wrote; words with fewer than `minLength`
 * symbols are left out (a one-symbol word has no pair to merge).
 */
export function layoutWords(
  counts: Map<string, number>,
  symbolize: (word: string, out: Int32Array) => number,
  minLength = 2,
): MergeWords {
  let total = 0;
  for (const w of counts.keys()) total += w.length * 4;
  const symbols = new Int32Array(total);
  const starts: number[] = [0];
  const wordCounts: number[] = [];
  let buf = new Int32Array(1024);
  let n = 0;
  for (const [w, c] of counts) {
    if (buf.length < w.length * 4) buf = new Int32Array(w.length * 8);
    const len = symbolize(w, buf);
    if (len < minLength) continue;
    symbols.set(buf.subarray(0, len), n);
    n += len;
    starts.push(n);
    wordCounts.push(c);
  }
  return { symbols: symbols.slice(0, n), starts: Int32Array.from(starts), counts: Int32Array.from(wordCounts) };
}
