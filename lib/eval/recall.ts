/**
 * What a base model remembers of the anthology, asked the way it read it (chapter 5): given the first line of a
 * couplet after <s>, does it write the second; given a whole couplet and ——, does it name the poet and the title?
 * No question, no chat format: this is the knowledge itself, before SFT (chapter 6) teaches the model to answer
 * questions about it. Scored on poems whose questions chapter 6 holds out, so the two chapters measure one set.
 */
import { poemLines } from "../data/form";
import { type AnthologyQaPoem, hasCitableSource } from "../data/anthologyQa";
import { complete, type GenerativeModel } from "../generate";
import type { Tokenizer } from "../tokenizer/types";
import { type Rate, wilson } from "./stats";

/** One couplet to recall: its two lines and, when known, its source. */
export interface RecallItem {
  readonly first: string;
  readonly second: string;
  readonly author: string | null;
  readonly title: string | null;
}

/** The couplets of some poems (first and second line of each pair of lines), at most `max`. */
export function recallItems(poems: readonly AnthologyQaPoem[], max = Infinity): RecallItem[] {
  const out: RecallItem[] = [];
  for (const p of poems) {
    const lines = poemLines(p.paragraphs);
    const known = hasCitableSource(p);
    for (let i = 0; i + 1 < lines.length && out.length < max; i += 2) {
      out.push({ first: lines[i], second: lines[i + 1], author: known ? p.author : null, title: known ? p.title : null });
    }
  }
  return out;
}

export interface RecallReport {
  /** The second line of a couplet, greedily written after `<s>first，`. */
  readonly nextLine: Rate;
  /** The poet, then the title, written after `<s>first，second。——` (couplets with a known source only). */
  readonly author: Rate;
  readonly title: Rate;
}

/**
 * Greedy recall of the couplets (see the file comment).
 * @example const r = await anthologyRecall(model, tok, recallItems(heldoutPoems, 400));  formatRate(r.nextLine)
 */
export async function anthologyRecall(
  model: GenerativeModel,
  tokenizer: Pick<Tokenizer, "encode" | "decode" | "tokenToId">,
  items: readonly RecallItem[],
  options: { useCache?: boolean; maxNewTokens?: number } = {},
): Promise<RecallReport> {
  // 16 tokens hold a line of 7 characters and its punctuation with the course's BPE (1.1 characters a token).
  const greedy = { temperature: 0, maxNewTokens: options.maxNewTokens ?? 16, useCache: options.useCache };
  let next = 0;
  let author = 0;
  let title = 0;
  let sourced = 0;
  for (const it of items) {
    const line = await complete(model, tokenizer, `<s>${it.first}，`, greedy);
    if (line.text.split(/[，。、；：？！<]/u)[0] === it.second) next++;
    if (it.author === null) continue;
    sourced++;
    const src = await complete(model, tokenizer, `<s>${it.first}，${it.second}。——`, greedy);
    const m = /^([^《<]*)《([^》<]*)》/u.exec(src.text);
    if (m?.[1] === it.author) author++;
    if (m?.[2] === it.title) title++;
  }
  return { nextLine: wilson(next, items.length), author: wilson(author, sourced), title: wilson(title, sourced) };
}
