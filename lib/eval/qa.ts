/**
 * Question–answer accuracy (chapters 6, 8 and 9): ask held-out questions in the chat format, pull the answer out of
 * 「」 and score it by exact match, per question template.
 */
import { citedPart, isCitation } from "../data/anthologyQa";
import { isCorrectAnswer, QA_TEMPLATE_LABELS, QA_TEMPLATES, type QaItem, type QaSplit, type QaTemplate } from "../data/qa";
import type { GPT } from "../model/gpt";
import { type ChatTokenizer, chatReply, encodeChat, fitsContext } from "../train/chat";
import { formatRate, type Rate, wilson } from "./stats";

/**
 * The questions an evaluation asks: of one split, the first `perTemplate` distinct questions of each template
 * whose full chat sequence fits the model's context (a question the model cannot see whole is not a fair test).
 * Deterministic: the same data gives the same questions.
 */
export function qaEvalSet(
  items: readonly QaItem[],
  options: { split?: QaSplit; perTemplate: number; tokenizer?: ChatTokenizer; blockSize?: number },
): QaItem[] {
  const split = options.split ?? "heldout";
  const out: QaItem[] = [];
  for (const t of QA_TEMPLATES) {
    const seen = new Set<string>();
    for (const it of items) {
      if (it.split !== split || it.template !== t || seen.has(it.prompt)) continue;
      if (options.tokenizer && options.blockSize && !fitsContext(encodeChat(options.tokenizer, it), options.blockSize)) continue;
      seen.add(it.prompt);
      out.push(it);
      if (seen.size >= options.perTemplate) break;
    }
  }
  return out;
}

/** One row of the accuracy table (a type, not an interface, so that display's table() takes it as a row). */
export type QaAccuracyRow = {
  readonly template: QaTemplate | "all";
  readonly 题型: string;
  readonly questions: number;
  readonly correct: number;
  readonly accuracy: number;
  /** The Wilson 95% interval of the accuracy (flat numbers, so that a row is a table row). */
  readonly low: number;
  readonly high: number;
};

/** One question asked, and what came back. */
export interface QaReply {
  readonly template: QaTemplate;
  readonly prompt: string;
  readonly expected: string;
  readonly reply: string;
  readonly answer: string | null;
  readonly correct: boolean;
}

export interface QaEvaluation {
  /** Per template, then "all". */
  readonly rows: readonly QaAccuracyRow[];
  readonly accuracy: number;
  /**
   * Replies that answer in the taught format (an answer in 「」), right or wrong: the book's 除夕夜 effect. A model
   * that only continues text writes more question or more poem instead.
   */
  readonly answered: Rate;
  readonly replies: readonly QaReply[];
}

/**
 * Tokens a reply may take before it is cut: 24 for a one-sentence answer (作者是「李白」。), 48 for a citation
 * (「couplet」——poet《title》), which is about twice as long: cut at 24, a 七言 couplet's citation loses its poet
 * and title, and the question about them would be scored wrong without being read.
 */
export function replyBudget(item: Pick<QaItem, "answer">): number {
  return isCitation(item.answer) ? 48 : 24;
}

/**
 * Asks every question greedily in the chat format, extracts the answer in 「」 and scores it (exact match; see
 * isCorrectAnswer). The pretrained model gets the same prompts: before SFT it has never seen the format, which is
 * the point of the comparison.
 */
export async function evaluateQa(
  model: GPT,
  tokenizer: ChatTokenizer,
  items: readonly QaItem[],
  options: { maxNewTokens?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<QaEvaluation> {
  const replies: QaReply[] = [];
  for (const [i, it] of items.entries()) {
    const r = await chatReply(model, tokenizer, it.prompt, { maxNewTokens: options.maxNewTokens ?? replyBudget(it) });
    const answer = isCitation(it.answer) ? citedPart(it.template, r.reply) : r.answer;
    replies.push({ template: it.template, prompt: it.prompt, expected: it.expected, reply: r.reply, answer, correct: isCorrectAnswer(it, answer) });
    options.onProgress?.(i + 1, items.length);
  }
  const row = (template: QaTemplate | "all", rs: QaReply[]): QaAccuracyRow => {
    const correct = rs.filter((r) => r.correct).length;
    return { template, 题型: template === "all" ? "全部" : QA_TEMPLATE_LABELS[template], questions: rs.length, correct, accuracy: rs.length ? correct / rs.length : 0, low: wilson(correct, rs.length).low, high: wilson(correct, rs.length).high };
  };
  const rows = [...QA_TEMPLATES.map((t) => row(t, replies.filter((r) => r.template === t))).filter((r) => r.questions > 0), row("all", replies)];
  const answered = replies.filter((r) => r.answer !== null || /「[^「」]*」/u.test(r.reply)).length;
  return { rows, accuracy: rows[rows.length - 1].accuracy, answered: wilson(answered, replies.length), replies };
}

/**
 * The cheap answer's base rate per template: the most common expected answer among `train`'s questions of that
 * template, scored on `items` as a model's answer would be (isCorrectAnswer). A model has learned something about a
 * template only where it beats this rate beyond the intervals; "all" scores every question with its template's answer.
 * @example qaMajorityRates(train, heldout).author   // { answer: "杜甫", k: 49, n: 320, rate: 0.153, … }
 */
export function qaMajorityRates(
  train: readonly Pick<QaItem, "template" | "expected">[],
  items: readonly Pick<QaItem, "template" | "expected">[],
): Partial<Record<QaTemplate | "all", Rate & { readonly answer: string | null }>> {
  const answer = new Map<QaTemplate, string>();
  for (const t of QA_TEMPLATES) {
    const counts = new Map<string, number>();
    for (const it of train) if (it.template === t) counts.set(it.expected, (counts.get(it.expected) ?? 0) + 1);
    const best = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    if (best) answer.set(t, best[0]);
  }
  const out: Partial<Record<QaTemplate | "all", Rate & { readonly answer: string | null }>> = {};
  const right = (it: Pick<QaItem, "template" | "expected">) => isCorrectAnswer(it, answer.get(it.template) ?? null);
  for (const t of QA_TEMPLATES) {
    const mine = items.filter((it) => it.template === t);
    if (mine.length) out[t] = { answer: answer.get(t) ?? null, ...wilson(mine.filter(right).length, mine.length) };
  }
  out.all = { answer: null, ...wilson(items.filter(right).length, items.length) };
  return out;
}

/** A row's accuracy as a Rate (k, n, Wilson interval), for formatRate and clearlyDifferent. */
export function qaRowRate(row: Pick<QaAccuracyRow, "correct" | "questions">): Rate {
  return wilson(row.correct, row.questions);
}

/**
 * Accuracy side by side, one column per model, each cell with its 95% interval ("40.0% [35.1–45.2]"): the
 * before/after table of chapter 6 and the LoRA table of chapter 8. With `baseline`, a column of the cheap answer's
 * rate per template (the majority answer), which a model must beat beyond the intervals to have learned anything.
 * @example table(qaComparisonRows({ 预训练: before, SFT: after }, { baseline: { label: "多数答案", rates } }))
 */
export function qaComparisonRows(
  evaluations: Readonly<Record<string, QaEvaluation>>,
  options: { baseline?: { readonly label: string; readonly rates: Partial<Record<QaTemplate | "all", Rate>> } } = {},
): Record<string, string | number>[] {
  const names = Object.keys(evaluations);
  if (names.length === 0) return [];
  const base = options.baseline;
  return evaluations[names[0]].rows.map((r, i) => ({
    题型: r.题型,
    n: r.questions,
    ...(base ? { [base.label]: base.rates[r.template] ? formatRate(base.rates[r.template]!) : "—" } : {}),
    ...Object.fromEntries(names.map((n) => [n, formatRate(qaRowRate(evaluations[n].rows[i]))])),
  }));
}
