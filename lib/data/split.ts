/**
 * 数据划分: train / validation / test, decided by a hash of the poem itself.
 *
 * Why a hash and not a shuffle: a shuffled split depends on the order and the number of items, so adding a
 * collection or fixing a cleaning rule would move poems between splits, and a poem the model was tested on
 * yesterday could be trained on today. Hashing a stable key of the poem (title, author, first line) gives the
 * same split for the same poem on every run, on every machine, whatever else is in the corpus.
 *
 * The hash is 32-bit FNV-1a over the key's UTF-8 bytes (a few lines, checkable by hand), then mixed with
 * MurmurHash3's finaliser so that similar keys land far apart (see hash.ts). Divided by 2³² it is a number in
 * [0, 1); the split is the interval it falls into: [0, 0.9) train, [0.9, 0.95) validation, [0.95, 1) test.
 */
import { fnv1a32, mix32 } from "./hash";

export type SplitName = "train" | "validation" | "test";
export const SPLITS: readonly SplitName[] = Object.freeze(["train", "validation", "test"] as SplitName[]);

export interface SplitRatios {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

/** 90/5/5: enough validation and test poems (thousands) to measure on, most of the corpus to learn from. */
export const DEFAULT_SPLIT_RATIOS: SplitRatios = Object.freeze({ train: 0.9, validation: 0.05, test: 0.05 });

/**
 * The stable key a poem is split by. Title and author alone are not enough (全唐诗 has many poems titled
 * 句 or 无题 by the same poet); the first line tells them apart.
 * @example splitKey({ title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。"] }) // "静夜思|李白|床前明月光，疑是地上霜。"
 */
export function splitKey(poem: { readonly title: string; readonly author: string; readonly paragraphs: readonly string[] }): string {
  return `${poem.title}|${poem.author}|${poem.paragraphs[0] ?? ""}`;
}

/** The 32-bit number a key's split is decided by: `mix32(fnv1a32(key))`. */
export function splitHash(key: string): number {
  return mix32(fnv1a32(key));
}

function checkRatios(r: SplitRatios): void {
  const sum = r.train + r.validation + r.test;
  if ([r.train, r.validation, r.test].some((x) => !(x >= 0)) || Math.abs(sum - 1) > 1e-9) {
    throw new Error(`split ratios must be non-negative and sum to 1, got ${JSON.stringify(r)} (sum ${sum})`);
  }
}

/**
 * The split of a key: deterministic, and independent of every other item.
 * @example assignSplit("静夜思|李白|床前明月光，疑是地上霜。") // always the same one of "train" | "validation" | "test"
 */
export function assignSplit(key: string, ratios: SplitRatios = DEFAULT_SPLIT_RATIOS): SplitName {
  checkRatios(ratios);
  const u = splitHash(key) / 2 ** 32;
  if (u < ratios.train) return "train";
  if (u < ratios.train + ratios.validation) return "validation";
  return "test";
}
