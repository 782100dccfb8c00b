/**
 * Does a pretrained model write poems that *look* like poems? The form of its free generations, measured the same
 * way on the corpus's own poems, so each rate has the reference a learner can read it against:
 *
 *   lines of 5 or 7 characters   share of lines (句, between punctuation marks) that are 五言 or 七言
 *   couplets in place            share of poems made only of couplets "X，Y。" whose two halves have one length
 *   even lines rhyme             share of poems whose lines 2 and 4 end in the same rhyme group (modern Mandarin,
 *                                lib/data/rhyme.ts; poems where either last character has no single reading are
 *                                left out, so n is smaller than the number of poems)
 *
 * A model that learned only characters scores near 0 on all three; one that learned the form of 近体诗 comes close
 * to the corpus. Rhyme is the hardest: it needs the model to remember, four lines on, which sound it ended line 2
 * with.
 */
import { poemLines } from "../data/form";
import { charRhyme } from "../data/rhyme";
import { type Rate, wilson } from "./stats";

export interface PoemFormReport {
  /** Poems measured. */
  readonly poems: number;
  /** Lines of 5 or 7 characters, out of all lines. */
  readonly regularLines: Rate;
  /** Poems made only of couplets "X，Y。" with equal halves, out of all poems. */
  readonly couplets: Rate;
  /** Poems whose lines 2 and 4 rhyme, out of those where both last characters have one reading. */
  readonly evenLinesRhyme: Rate;
}

/** Strips the <s>/</s> markers and whitespace a generation may carry. */
function body(text: string): string {
  return text.replace(/<\/?s>/g, "").replace(/\s+/g, "");
}

/**
 * Whether a text is made only of couplets "X，Y。" of one line length.
 * @example inCouplets("床前明月光，疑是地上霜。举头望明月，低头思故乡。") // true
 *          inCouplets("床前明月光，疑是地上霜，举头望明月。")            // false
 */
export function inCouplets(text: string): boolean {
  const t = body(text);
  const m = /^([^，。]+)，/u.exec(t);
  if (!m) return false;
  const n = [...m[1]].length;
  const couplet = new RegExp(`^(?:[^，。？！；：]{${n}}，[^，。？！；：]{${n}}。)+$`, "u");
  return couplet.test(t);
}

/**
 * Whether lines 2 and 4 end in the same rhyme group; null when the poem has fewer than 4 lines or either last
 * character has no single modern reading.
 * @example evenLinesRhyme("床前明月光，疑是地上霜。举头望明月，低头思故乡。") // true (霜 and 乡: 唐)
 */
export function evenLinesRhyme(text: string): boolean | null {
  const lines = poemLines([body(text)]);
  if (lines.length < 4) return null;
  const [a, b] = [lines[1], lines[3]].map((l) => charRhyme([...l].at(-1)!));
  if (!a || !b) return null;
  return a.group === b.group;
}

/**
 * The form report of a list of poems (generations or the corpus's own).
 * @example poemFormReport(generated).couplets  // compare with poemFormReport(validationPoems).couplets
 */
export function poemFormReport(texts: readonly string[]): PoemFormReport {
  let lines = 0, regular = 0, couplets = 0, rhymeKnown = 0, rhymes = 0;
  for (const text of texts) {
    for (const l of poemLines([body(text)])) {
      lines++;
      const n = [...l].length;
      if (n === 5 || n === 7) regular++;
    }
    if (inCouplets(text)) couplets++;
    const r = evenLinesRhyme(text);
    if (r !== null) {
      rhymeKnown++;
      if (r) rhymes++;
    }
  }
  return {
    poems: texts.length,
    regularLines: wilson(regular, lines),
    couplets: wilson(couplets, texts.length),
    evenLinesRhyme: wilson(rhymes, rhymeKnown),
  };
}
