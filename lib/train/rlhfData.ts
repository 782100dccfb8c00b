/**
 * What chapter 7 trains and measures on: the flawed SFT model's own training questions (preference pairs and GRPO's
 * prompts come from them) and chapter 6's held-out questions of the same kinds (the table of flaw rates and facts).
 *
 * The questions are chapter 6's (sftExamples with the same preset), so the held-out ones are exactly chapter 6's
 * held-out splits, never changed: 唐诗三百首's held-out poems and the corpus's held-out poems.
 */
import { ensureCorpus, type CorpusInfo } from "../data/pipeline";
import { buildPreferences, type PreferenceItem } from "../data/preferences";
import { ensureQa, type QaDataset, type QaItem, type QaTemplate } from "../data/qa";
import { qaEvalSet } from "../eval/qa";
import type { ChatTokenizer } from "./chat";
import { sftExamples } from "./chatData";
import { anthologyQuestions } from "./mixture";
import { coursePreset } from "./registry";
import { sftSettings } from "./sft";

/** Chapter 7's questions: the distinct ones the SFT model trained on, and chapter 6's held-out ones of the same kinds. */
export interface RlhfQuestions {
  /** Distinct training questions (the anthology's × 4 of SFT once each). */
  readonly train: readonly QaItem[];
  /** Held-out questions about the corpus (of SFT's corpus templates) and about the anthology's held-out poems. */
  readonly heldout: { readonly corpus: readonly QaItem[]; readonly anthology: readonly QaItem[] };
}

function distinct(items: readonly QaItem[]): QaItem[] {
  const seen = new Set<string>();
  return items.filter((q) => {
    const key = `${q.poemId}|${q.prompt}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/**
 * The questions of the SFT run of this preset (course: the corpus's 五言/七言 and 写一句诗 questions and the
 * anthology's; tiny: the corpus's), as chapter 6 chooses them.
 * @example const q = await rlhfQuestions();  q.heldout.corpus.filter((x) => x.template === "meter").length
 */
export async function rlhfQuestions(options: { preset?: "tiny" | "course"; qa?: QaDataset | readonly QaItem[]; corpus?: CorpusInfo } = {}): Promise<RlhfQuestions> {
  const settings = sftSettings(options.preset ?? coursePreset());
  const given = options.qa ?? (await ensureQa({ corpus: options.corpus }));
  const items = "items" in given ? (given as QaDataset).items : (given as readonly QaItem[]);
  const anthology = settings.anthologyRepeat === 0 ? [] : await anthologyQuestions(options.corpus ?? (await ensureCorpus()));
  const { train } = sftExamples(items, anthology, settings);
  const templates: readonly QaTemplate[] | null = settings.corpusTemplates;
  return {
    train: distinct(train),
    heldout: {
      corpus: items.filter((q) => q.split === "heldout" && (templates === null || templates.includes(q.template))),
      anthology: anthology.filter((q) => q.split === "heldout"),
    },
  };
}

/**
 * Preference pairs for chapter 7 (lib/data/preferences.ts's kinds: a wrong fact, or a flawed answer of each kind):
 * `pairsPerPrompt` per training question, one per held-out question (to score the reward model).
 */
export function rlhfPreferences(questions: RlhfQuestions, options: { pairsPerPrompt?: number } = {}): { items: { train: PreferenceItem[]; heldout: PreferenceItem[]; unseen: PreferenceItem[] } } {
  const heldout = [...questions.heldout.corpus, ...questions.heldout.anthology];
  return {
    items: {
      train: buildPreferences(questions.train, { pairsPerPrompt: options.pairsPerPrompt ?? 2 }),
      heldout: buildPreferences(heldout),
      unseen: [],
    },
  };
}

/**
 * The held-out prompts chapter 7's table is measured on: the first `perGroup` of the corpus's 五言/七言 questions
 * and of the anthology's 体裁 questions that fit the model's context (the two kinds of question the SFT model
 * answers factually, so "the facts stay" can be measured). Fixed: the same data gives the same prompts. When none
 * of those fit the context (the quick-mode model reads 32 tokens, too few for a quoted couplet), the first
 * `perGroup` held-out corpus questions of each template that fits.
 */
export function rlhfEvalSet(questions: RlhfQuestions, options: { perGroup: number; tokenizer: ChatTokenizer; blockSize: number }): QaItem[] {
  const meter = qaEvalSet(questions.heldout.corpus.filter((q) => q.template === "meter"), { split: "heldout", perTemplate: options.perGroup, tokenizer: options.tokenizer, blockSize: options.blockSize });
  const form = qaEvalSet(questions.heldout.anthology.filter((q) => q.template === "form"), { split: "heldout", perTemplate: options.perGroup, tokenizer: options.tokenizer, blockSize: options.blockSize });
  if (meter.length + form.length > 0) return [...meter, ...form];
  return qaEvalSet(questions.heldout.corpus, { split: "heldout", perTemplate: options.perGroup, tokenizer: options.tokenizer, blockSize: options.blockSize });
}
