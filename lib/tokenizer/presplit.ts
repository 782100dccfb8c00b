/**
 * Pre-tokenization: cutting text into chunks before the tokenizer model runs. Tokens never cross a chunk
 * boundary, which keeps merges meaningful ("ing" + " the" is never learned as one token) and lets an encoder
 * cache the tokens of each chunk it has seen (the same chunks recur again and again).
 *
 * "gpt2" is the pattern GPT-2 introduced: English contractions, a run of letters or of digits (each with one
 * optional leading space), a run of other symbols, and whitespace. Chinese characters are letters (\p{L}), so
 * a poem is cut at its punctuation:
 *
 *   "床前明月光，疑是地上霜。"  →  ["床前明月光", "，", "疑是地上霜", "。"]
 *
 * We spell "whitespace" out as a character class instead of `\s`, because `\s` means slightly different things
 * in JavaScript and in the Rust regex engine Hugging Face `tokenizers` uses (U+0085 and U+FEFF differ). With the
 * class spelled out, our tokenizer.json's Split pattern cuts text exactly as our encoder does, in both libraries.
 */
import type { PreSplitName } from "./types";

/** Unicode White_Space, spelled out. */
const WS = "\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/** The GPT-2 pre-tokenization pattern with an explicit whitespace class (source text, for tokenizer.json too). */
export const GPT2_PATTERN =
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`;

export const PRE_SPLITS: readonly PreSplitName[] = Object.freeze(["gpt2", "none"]);

export function checkPreSplit(name: string): PreSplitName {
  if (!(PRE_SPLITS as readonly string[]).includes(name)) throw new Error(`unknown preSplit "${name}": use one of ${PRE_SPLITS.join(", ")}`);
  return name as PreSplitName;
}

/** A fresh global RegExp for a pre-split (each caller gets its own, as `lastIndex` is state). */
export function preSplitRegExp(name: PreSplitName): RegExp | null {
  return name === "gpt2" ? new RegExp(GPT2_PATTERN, "gu") : null;
}

/**
 * Calls `fn` on every chunk of `text`, in order. The chunks concatenate to `text` exactly: the GPT-2 pattern
 * matches every character (letters, digits, whitespace and "everything else" are all covered).
 */
export function forEachChunk(text: string, re: RegExp | null, fn: (chunk: string) => void): void {
  forEachChunkRange(text, re, (start, end) => fn(text.slice(start, end)));
}

/**
 * Like forEachChunk, but gives each chunk as `text[start … end)` without copying it out: an encoder that reads
 * the characters itself saves a string allocation per chunk.
 */
export function forEachChunkRange(text: string, re: RegExp | null, fn: (start: number, end: number) => void): void {
  if (text === "") return;
  if (re === null) {
    fn(0, text.length);
    return;
  }
  // test() + lastIndex instead of exec(): exec allocates a match array per chunk, a third of the split's cost.
  re.lastIndex = 0;
  let last = 0;
  while (re.test(text)) {
    const end = re.lastIndex;
    fn(last, end);
    last = end;
  }
  // The pattern matches every character (letters, digits, whitespace, "everything else"), so the matches
  // tile the text; a gap would mean text silently dropped.
  if (last !== text.length) throw new Error(`pre-split stopped at index ${last} of ${text.length}: the pattern does not cover ${JSON.stringify(text.slice(last, last + 10))}`);
}

/** The chunks of `text` as an array (for display and tests). */
export function splitChunks(text: string, name: PreSplitName = "gpt2"): string[] {
  const out: string[] = [];
  forEachChunk(text, preSplitRegExp(name), (c) => out.push(c));
  return out;
}

/** tokenizer.json's pre-tokenizer that cuts text like `name` does, or null for "none". */
export function preSplitJSON(name: PreSplitName): object | null {
  if (name === "none") return null;
  return { type: "Split", pattern: { Regex: GPT2_PATTERN }, behavior: "Isolated", invert: false };
}

/** Reads the pre-split back from a tokenizer.json pre-tokenizer (the first element of a Sequence, if any). */
export function preSplitFromJSON(pre: unknown, where: string): PreSplitName {
  if (pre === null || pre === undefined) return "none";
  const p = pre as { type?: string; pattern?: { Regex?: string }; pretokenizers?: unknown[] };
  if (p.type === "Sequence" && Array.isArray(p.pretokenizers)) {
    const split = p.pretokenizers.find((x) => (x as { type?: string }).type === "Split");
    return preSplitFromJSON(split ?? null, where);
  }
  if (p.type === "Split") {
    if (p.pattern?.Regex === GPT2_PATTERN) return "gpt2";
    throw new Error(`${where}: unsupported Split pattern ${JSON.stringify(p.pattern)} (this library writes only its "gpt2" pattern)`);
  }
  if (p.type === "ByteLevel") return "none";
  throw new Error(`${where}: unsupported pre_tokenizer type ${JSON.stringify(p.type)}`);
}
