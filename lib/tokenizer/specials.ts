/**
 * Special tokens: ids that stand for a role, not for text.
 *
 * `<s>` and `</s>` mark where a sample starts and ends (the book's `{"text": "<s>床前明月光，…</s>"}`), `<pad>`
 * fills a batch up to equal length, and the rest are reserved now so that their ids never change later:
 * chat turns for supervised fine-tuning (chapter 6) and `<think>`/`</think>` around a reasoning model's thoughts
 * (chapter 10). A tokenizer trained today can then be used by every later chapter without retraining.
 *
 * Special-token text inside ordinary text is dangerous: a user who types "</s>" must not end a sample. So
 * `encode` refuses such text unless the caller says how to treat it (`allowedSpecial`, as in minbpe/tiktoken).
 */
import type { AllowedSpecial } from "./types";

/** The course's special tokens, in id order (they follow the model's own vocabulary). */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = Object.freeze([
  "<s>", // start of a sample
  "</s>", // end of a sample
  "<pad>", // padding in a batch
  "<|system|>", // chat turns (chapter 6, SFT)
  "<|user|>",
  "<|assistant|>",
  "<|end|>", // end of one chat turn
  "<think>", // reasoning (chapter 10)
  "</think>",
]);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A piece of text to encode: either ordinary text or one special token's id. */
export type Segment = { readonly text: string; readonly id?: undefined } | { readonly text: string; readonly id: number };

/** The special tokens of one tokenizer: their ids, and how to find them in text. */
export class SpecialTokens {
  /** content → id, in id order */
  readonly ids: ReadonlyMap<string, number>;
  private readonly byId = new Map<number, string>();
  private readonly all: RegExp | null;

  /** `tokens[i]` gets id `firstId + i`. */
  constructor(tokens: readonly string[], firstId: number) {
    const ids = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (t === "") throw new Error("special token #" + i + " is the empty string");
      if (ids.has(t)) throw new Error(`special token "${t}" is listed twice`);
      ids.set(t, firstId + i);
      this.byId.set(firstId + i, t);
    });
    this.ids = ids;
    this.all = SpecialTokens.pattern(tokens);
  }

  get size(): number {
    return this.ids.size;
  }

  /** The special tokens' texts in id order. */
  get tokens(): string[] {
    return [...this.ids.keys()];
  }

  /** Longest-first alternation, so "<|end|>" wins over a shorter special that is its prefix (leftmost-longest). */
  private static pattern(tokens: readonly string[]): RegExp | null {
    if (tokens.length === 0) return null;
    const sorted = [...tokens].sort((a, b) => b.length - a.length);
    return new RegExp(sorted.map(escapeRegExp).join("|"), "g");
  }

  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  textOf(id: number): string | undefined {
    return this.byId.get(id);
  }

  /**
   * Cuts `text` into ordinary text and special tokens, following `allowed`:
   *   split("<s>月</s>", "all") → [{text: "<s>", id: 6391}, {text: "月"}, {text: "</s>", id: 6392}]
   */
  split(text: string, allowed: AllowedSpecial = "none_raise"): Segment[] {
    if (this.all === null || allowed === "none") return text === "" ? [] : [{ text }];
    if (allowed === "none_raise") {
      this.all.lastIndex = 0;
      const m = this.all.exec(text);
      if (m) {
        throw new Error(
          `the text contains the special token "${m[0]}" at index ${m.index}: pass { allowedSpecial: "all" } to ` +
            `encode it as the special token, or { allowedSpecial: "none" } to encode it as ordinary text`,
        );
      }
      return text === "" ? [] : [{ text }];
    }
    let re = this.all;
    if (allowed !== "all") {
      for (const t of allowed) if (!this.ids.has(t)) throw new Error(`allowedSpecial lists "${t}", which is not a special token of this tokenizer`);
      const p = SpecialTokens.pattern(allowed);
      if (p === null) return text === "" ? [] : [{ text }];
      re = p;
    }
    const out: Segment[] = [];
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m.index > last) out.push({ text: text.slice(last, m.index) });
      out.push({ text: m[0], id: this.ids.get(m[0])! });
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push({ text: text.slice(last) });
    return out;
  }

  /** Removes every special token's text (training must not learn merges from "<s>" and "</s>"). */
  strip(text: string): string[] {
    return this.split(text, "all")
      .filter((s) => s.id === undefined)
      .map((s) => s.text);
  }

  /** Entries for tokenizer.json's "added_tokens". */
  toAddedTokens(): object[] {
    return [...this.ids].map(([content, id]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }));
  }
}
