/**
 * Chapter 9's prompt sets: which questions a student learns from, which the teacher answers, which score them.
 *
 * Black-box distillation as the book describes it is an SFT on the teacher's answers, and its point is that
 * prompts are cheap while good answers are not: a person writes a few hundred answers, the teacher answers as many
 * questions as we can think of. So the experiment has
 *
 *   labelled  a few hundred questions with the dataset's answers (the "human labels"), drawn from chapter 6's
 *             training questions: 五言/七言 about corpus poems, 体裁 about 唐诗三百首's training poems;
 *   prompts   the labelled questions and many more without answers: 五言/七言 about other corpus poems, 体裁 about
 *             every couplet of the anthology's training poems, and 体裁 about corpus couplets (the same question
 *             asked of poems nobody labelled); the teacher answers them all;
 *   evalSet   chapter 6's held-out questions of the same two types (corpus poems and anthology poems that no
 *             fine-tuning ever asked about), never changed here.
 *
 * Only these two question types: they are the ones where the course's SFT model (the teacher) is clearly better
 * than the cheap answer (chapter 6: 五言/七言 98.7% against 80.7%, 体裁 61.7% against 44.0%), so "the student keeps
 * 80% of the teacher's accuracy" measures something. Asked for a next line or a poet, the teacher itself is near 0.
 *
 * No training set may hold a held-out question, nor any question quoting a line of a held-out question: the anthology
 * poems are in the corpus too, so a corpus poem's first couplet can be a held-out anthology couplet, and a 体裁
 * question built from it would be the held-out question itself. `checkNoHeldOut` checks this by program; the
 * construction calls it on every set it returns.
 */
import { QA_TEMPLATES, type QaItem, type QaTemplate } from "../data/qa";
import { Rng } from "../rng";

/** How many questions of each kind the experiment uses (one preset per model size: DistillSettings). */
export interface DistillPromptSizes {
  /**
   * The corpus question type asked (course: "meter", 五言/七言). Quick mode's tiny models have a 32-token context that
   * no 五言/七言 question fits, so they ask "author" (《静夜思》的作者是谁？) instead: the same code, a shorter question.
   */
  readonly corpusTemplate: QaTemplate;
  /** Labelled questions of `corpusTemplate` about corpus poems (the dataset's answers). */
  readonly labelledCorpus: number;
  /** Labelled 体裁 questions about the anthology's training poems. */
  readonly labelledForm: number;
  /** Unlabelled questions of `corpusTemplate` about other corpus poems, for the teacher to answer. */
  readonly extraCorpus: number;
  /** Unlabelled 体裁 questions about corpus couplets, for the teacher to answer. */
  readonly extraForm: number;
  /** Held-out questions per evaluated type (chapter 6's split; at most what exists). */
  readonly evalQuestions: number;
  /** Held-out questions per type whose reference answers give the validation loss. */
  readonly validationQuestions: number;
}

/** The anthology's question type of the experiment (体裁). */
export const DISTILL_ANTHOLOGY_TEMPLATE: QaTemplate = "form";

/** The experiment's questions. Every list is deterministic: the same data and sizes give the same questions. */
export interface DistillPrompts {
  /** Questions with the dataset's answers: what the student without a teacher learns from. */
  readonly labelled: readonly QaItem[];
  /** Questions for the teacher to answer (the labelled ones first); their `answer` and `expected` are not used. */
  readonly prompts: readonly QaItem[];
  /** Held-out questions that score every model: 五言/七言 (corpus) first, then 体裁 (anthology). */
  readonly evalSet: readonly QaItem[];
  /** Held-out questions with reference answers for the validation loss (not the same as evalSet's, same split). */
  readonly validation: readonly QaItem[];
  /** Training questions of the two types (the pool the cheap answer's base rate is counted on). */
  readonly trainPool: readonly QaItem[];
}

/**
 * The lines a question quotes, split at the comma: 「床前明月光，疑是地上霜」是五言还是七言？ → [床前明月光, 疑是地上霜].
 * A question quoting none (《静夜思》的作者是谁？) gives [].
 */
export function quotedLines(prompt: string): string[] {
  const out: string[] = [];
  for (const m of prompt.matchAll(/「([^「」]*)」/gu)) for (const line of m[1].split(/[，,]/u)) if (line.trim()) out.push(line.trim());
  return out;
}

/**
 * Throws when a training set holds a held-out question, or a question quoting a line that a held-out question
 * quotes: the error names the set, the question and the line. Returns the number of questions checked.
 */
export function checkNoHeldOut(training: readonly Pick<QaItem, "prompt">[], heldout: readonly Pick<QaItem, "prompt">[], where: string): number {
  const prompts = new Set(heldout.map((q) => q.prompt));
  const lines = new Set(heldout.flatMap((q) => quotedLines(q.prompt)));
  training.forEach((q, i) => {
    if (prompts.has(q.prompt)) throw new Error(`${where}: question ${i} '${q.prompt}' is a held-out question`);
    const line = quotedLines(q.prompt).find((l) => lines.has(l));
    if (line !== undefined) throw new Error(`${where}: question ${i} '${q.prompt}' quotes '${line}', a line of a held-out question`);
  });
  return training.length;
}

/** A 体裁 question about a couplet, in one of the anthology's two phrasings (lib/data/anthologyQa.ts), by `i`. */
export function coupletFormQuestion(first: string, second: string, i: number): string {
  return i % 2 === 0 ? `「${first}，${second}」出自一首什么体裁的诗？` : `「${first}，${second}」所在的诗是什么体裁？`;
}

const SIZE_KEYS: readonly Exclude<keyof DistillPromptSizes, "corpusTemplate">[] = ["labelledCorpus", "labelledForm", "extraCorpus", "extraForm", "evalQuestions", "validationQuestions"];

function checkSizes(sizes: DistillPromptSizes): void {
  if (!QA_TEMPLATES.includes(sizes.corpusTemplate)) throw new Error(`distillPrompts: corpusTemplate '${sizes.corpusTemplate}' is not a question type (${QA_TEMPLATES.join(", ")})`);
  for (const k of SIZE_KEYS) {
    const v = sizes[k] as number;
    if (!Number.isInteger(v) || v < 0) throw new Error(`distillPrompts: ${k} = ${v} must be a whole number ≥ 0`);
  }
  if (sizes.labelledCorpus + sizes.labelledForm === 0) throw new Error("distillPrompts: labelledCorpus + labelledForm is 0: the student without a teacher would learn from nothing");
}

/**
 * Builds the experiment's sets from chapter 6's questions: `corpus` (lib/data/qa.ts, all templates and splits) and
 * `anthology` (lib/data/anthologyQa.ts; empty when the corpus has no anthology, as in quick mode). `fits` says
 * whether a question and its answer fit the model's context (questions that do not are skipped everywhere).
 * @example const sets = distillPrompts(qa.items, await anthologyQuestions(corpus), DISTILL_PRESETS.course, fits);
 */
export function distillPrompts(
  corpus: readonly QaItem[],
  anthology: readonly QaItem[],
  sizes: DistillPromptSizes,
  options: { seed?: number; fits?: (q: QaItem) => boolean } = {},
): DistillPrompts {
  checkSizes(sizes);
  const { seed = 9, fits = () => true } = options;
  const of = (items: readonly QaItem[], template: QaTemplate, split: string) => items.filter((q) => q.template === template && q.split === split && fits(q));
  const heldCorpus = of(corpus, sizes.corpusTemplate, "heldout");
  const heldForm = of(anthology, DISTILL_ANTHOLOGY_TEMPLATE, "heldout");
  // Every question no training may see: chapter 6's held-out and unseen questions of every type, not only the two
  // scored here (a line quoted by a held-out 下一句 question must not be learned from a 五言/七言 question either).
  const heldout = [...corpus, ...anthology].filter((q) => q.split !== "train");
  if (heldCorpus.length === 0) throw new Error(`distillPrompts: no held-out '${sizes.corpusTemplate}' question among the corpus questions fits the context: is this chapter 6's qa.jsonl?`);
  // Training questions whose quoted lines are not those of a held-out question (see the file comment).
  const heldLines = new Set(heldout.flatMap((q) => quotedLines(q.prompt)));
  const clean = (q: QaItem) => !quotedLines(q.prompt).some((l) => heldLines.has(l));
  const rng = new Rng(seed);
  const trainCorpus = rng.shuffle(of(corpus, sizes.corpusTemplate, "train").filter(clean));
  const trainForm = rng.shuffle(of(anthology, DISTILL_ANTHOLOGY_TEMPLATE, "train").filter(clean));
  if (trainCorpus.length < sizes.labelledCorpus + sizes.extraCorpus) {
    throw new Error(`distillPrompts: ${sizes.labelledCorpus} labelled + ${sizes.extraCorpus} extra '${sizes.corpusTemplate}' questions asked for, only ${trainCorpus.length} training questions exist`);
  }
  const labelled = [...trainCorpus.slice(0, sizes.labelledCorpus), ...trainForm.slice(0, sizes.labelledForm)];
  // Unlabelled: other corpus poems' 五言/七言, every anthology training couplet's 体裁, and 体裁 asked of corpus
  // couplets (from the poems whose 五言/七言 question is not among the labelled ones).
  const extraCorpus = trainCorpus.slice(sizes.labelledCorpus, sizes.labelledCorpus + sizes.extraCorpus);
  const formAsked = new Set(trainForm.map((q) => q.prompt));
  const extraForm: QaItem[] = [];
  for (const [i, q] of trainCorpus.slice(sizes.labelledCorpus).entries()) {
    if (extraForm.length >= sizes.extraForm) break;
    const [first, second] = quotedLines(q.prompt);
    if (first === undefined || second === undefined) continue;
    const prompt = coupletFormQuestion(first, second, i);
    if (formAsked.has(prompt)) continue;
    const item: QaItem = { prompt, answer: "", expected: "", template: "form", poemId: q.poemId, split: "train" };
    if (!fits(item)) continue;
    formAsked.add(prompt);
    extraForm.push(item);
  }
  const prompts = [...labelled, ...extraCorpus, ...trainForm.slice(sizes.labelledForm), ...extraForm];
  const evalCorpus = heldCorpus.slice(0, sizes.evalQuestions);
  const evalForm = heldForm.slice(0, sizes.evalQuestions);
  const evalSet = [...evalCorpus, ...evalForm];
  const validation = [...heldCorpus.slice(sizes.evalQuestions, sizes.evalQuestions + sizes.validationQuestions), ...heldForm.slice(sizes.evalQuestions, sizes.evalQuestions + sizes.validationQuestions)];
  // Held-out questions left over for the loss when there are too few beyond evalSet (small data): reuse evalSet's.
  const val = validation.length > 0 ? validation : evalSet.slice(0, sizes.validationQuestions);
  checkNoHeldOut(labelled, heldout, "distillPrompts (labelled)");
  checkNoHeldOut(prompts, heldout, "distillPrompts (teacher's prompts)");
  return { labelled, prompts, evalSet, validation: val, trainPool: [...trainCorpus, ...trainForm] };
}
