/**
 * Chapter 10's evaluation: is the answer right, and does the reply reason in a well-formed <think> block first.
 */
import { type QaSplit, QA_SPLITS } from "../data/qa";
import { checkReasoningAnswer, REASONING_TASK_LABELS, REASONING_TASKS, type ReasoningData, type ReasoningItem, type ReasoningTask } from "../data/reasoning";
import type { GPT } from "../model/gpt";
import { type ChatTokenizer, chatReply } from "../train/chat";
import { answerPart, fittingReasoningItems, parseReasoning, reasoningSettings } from "../train/reasoning";

/** One question asked, and what came back. */
export interface ReasoningReply {
  readonly task: ReasoningTask;
  readonly split: QaSplit;
  readonly prompt: string;
  readonly reply: string;
  /** The reply has a well-formed <think> block followed by an answer. */
  readonly wellFormed: boolean;
  /** The answer part (after </think>, or the whole reply) is right. */
  readonly correct: boolean;
}

/** Accuracy and format compliance of one group of questions (a task and a split). */
export interface ReasoningRow {
  readonly task: ReasoningTask;
  readonly split: QaSplit;
  readonly questions: number;
  readonly accuracy: number;
  /** Share of replies with a well-formed <think> block before the answer. */
  readonly formatted: number;
}

export interface ReasoningEvaluation {
  readonly rows: readonly ReasoningRow[];
  readonly replies: readonly ReasoningReply[];
}

/**
 * The questions an evaluation asks: per task, the first `perGroup` of each split in `splits` whose traced sample
 * fits the context. Deterministic.
 */
export function reasoningEvalSet(
  data: ReasoningData,
  options: { perGroup: number; tokenizer: ChatTokenizer; blockSize: number; splits?: readonly QaSplit[] },
): ReasoningItem[] {
  const out: ReasoningItem[] = [];
  for (const split of options.splits ?? (["heldout", "unseen"] as const)) {
    for (const task of REASONING_TASKS) {
      const group = data[split].filter((it) => it.task === task);
      out.push(...fittingReasoningItems(options.tokenizer, group, options.blockSize, options.perGroup));
    }
  }
  return out;
}

/**
 * Asks each question greedily in the chat format and scores the reply twice: is its answer right (the text after
 * </think>, or the whole reply when there is none), and is it well-formed (parseReasoning). A model fine-tuned on
 * answers alone is scored the same way; it simply never writes the block.
 */
export async function evaluateReasoning(
  model: GPT,
  tokenizer: ChatTokenizer,
  items: readonly ReasoningItem[],
  options: { maxNewTokens?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ReasoningEvaluation> {
  const replies: ReasoningReply[] = [];
  for (const [i, it] of items.entries()) {
    const r = await chatReply(model, tokenizer, it.prompt, { maxNewTokens: options.maxNewTokens ?? reasoningSettings().maxNewTokens });
    replies.push({
      task: it.task,
      split: it.split,
      prompt: it.prompt,
      reply: r.reply,
      wellFormed: parseReasoning(r.reply).ok,
      correct: checkReasoningAnswer(it, answerPart(r.reply)).correct,
    });
    options.onProgress?.(i + 1, items.length);
  }
  const rows: ReasoningRow[] = [];
  for (const split of QA_SPLITS) {
    for (const task of REASONING_TASKS) {
      const rs = replies.filter((r) => r.split === split && r.task === task);
      if (rs.length === 0) continue;
      const share = (f: (r: ReasoningReply) => boolean) => rs.filter(f).length / rs.length;
      rows.push({ task, split, questions: rs.length, accuracy: share((r) => r.correct), formatted: share((r) => r.wellFormed) });
    }
  }
  return { rows, replies };
}

/**
 * The chapter's table: per task and split, the accuracy of each model and the format compliance of each.
 * @example table(reasoningComparisonRows({ 带推理: withTraces, 只有答案: answersOnly }))
 */
export function reasoningComparisonRows(evaluations: Readonly<Record<string, ReasoningEvaluation>>): Record<string, string | number>[] {
  const names = Object.keys(evaluations);
  if (names.length === 0) return [];
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return evaluations[names[0]].rows.map((r, i) => ({
    题型: REASONING_TASK_LABELS[r.task],
    split: r.split,
    questions: r.questions,
    ...Object.fromEntries(names.map((n) => [`${n} 准确率`, pct(evaluations[n].rows[i].accuracy)])),
    ...Object.fromEntries(names.map((n) => [`${n} 格式`, pct(evaluations[n].rows[i].formatted)])),
  }));
}
