/**
 * Chapter 10's evaluation: is the answer right, and does the reply reason in a well-formed <think> block first.
 */
import { type QaSplit, QA_SPLITS } from "../data/qa";
import { checkReasoningAnswer, DEFAULT_REASONING_TASKS, REASONING_TASK_LABELS, REASONING_TASKS, type ReasoningData, type ReasoningItem, type ReasoningTask } from "../data/reasoning";
import { generateIds } from "../generate";
import type { GPT } from "../model/gpt";
import { type ChatTokenizer, chatStopIds } from "../train/chat";
import { fittingReasoningItems, reasoningPrompt, reasoningSettings } from "../train/reasoning";
import { answerPart, parseReasoning } from "../train/reasoningReward";
import { formatRate, majorityBaseline, type Rate, wilson } from "./stats";

/**
 * The steps of a trace: its pieces between ，；。 ("第2句疑是地上霜", "霜uang唐", "同韵", …). A reply's step k is
 * right when it is the expected trace's step k, character for character: that is where a miscopy shows.
 */
export function traceSteps(thinking: string): string[] {
  return thinking.split(/[，；。]/u).map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * Tasks whose trace starts with a walk of as many steps as lines before the one asked about: their steps are
 * compared from the end, so that "the last step" (第4字是上, 上ang, 在第2句第4字) is the same step in every question.
 */
const FROM_END: ReadonlySet<ReasoningTask> = new Set<ReasoningTask>(["charAt", "charFinal", "find"]);

/**
 * Which steps of the expected trace the reply's trace has, at the same place: counted from the start, or for a walk
 * (FROM_END) from the end, so that a reply that walked one line too far still gets its last steps compared with the last.
 * @example stepMatches("charAt", ["床前明月光", "1疑2是", "第2字是是"], ["1疑2是", "第2字是是"]) // [false, true, true]
 */
export function stepMatches(task: ReasoningTask, expected: readonly string[], got: readonly string[]): boolean[] {
  const shift = FROM_END.has(task) ? got.length - expected.length : 0;
  return expected.map((s, k) => got[k + shift] === s);
}

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
  /** Per step of the expected trace (traceSteps): did the reply's reasoning have it, at the same place. */
  readonly steps: readonly boolean[];
}

/** Accuracy and format compliance of one task's questions. */
export interface ReasoningRow {
  readonly task: ReasoningTask;
  /** The splits its questions came from: "heldout", or "heldout+unseen". */
  readonly split: string;
  readonly questions: number;
  readonly accuracy: number;
  /** Share of replies with a well-formed <think> block before the answer. */
  readonly formatted: number;
  /** The accuracy with its 95% Wilson interval. */
  readonly rate: Rate;
  /** The format compliance with its interval. */
  readonly formatRate: Rate;
  /** Always giving the most common expected answer of the group: what a model knowing nothing scores. */
  readonly baseRate: Rate & { readonly answer: string | null };
}

export interface ReasoningEvaluation {
  readonly rows: readonly ReasoningRow[];
  readonly replies: readonly ReasoningReply[];
}

/**
 * The questions an evaluation asks: per task (default DEFAULT_REASONING_TASKS), the first `perGroup` whose traced
 * sample fits the context, taken from `splits` in order (default heldout, then unseen: poems no training question
 * mentioned; only the count question, asked about fewer poems, needs the unseen ones to reach 300).
 * Deterministic: the same items for every model compared.
 */
export function reasoningEvalSet(
  data: ReasoningData,
  options: { perGroup: number; tokenizer: ChatTokenizer; blockSize: number; splits?: readonly QaSplit[]; tasks?: readonly ReasoningTask[] },
): ReasoningItem[] {
  if (!(Number.isInteger(options.perGroup) && options.perGroup > 0)) throw new Error(`reasoningEvalSet: perGroup must be a positive integer, got ${options.perGroup}`);
  const out: ReasoningItem[] = [];
  const splits = options.splits ?? (["heldout", "unseen"] as const);
  for (const task of options.tasks ?? DEFAULT_REASONING_TASKS) {
    // Splits in order: the held-out poems first, then the unseen ones when a task has too few (the count question).
    const pool = splits.flatMap((s) => data[s].filter((it) => it.task === task));
    out.push(...fittingReasoningItems(options.tokenizer, pool, options.blockSize, options.perGroup));
  }
  return out;
}

/**
 * Asks each question greedily in the chat format (encoded character by character, as the model was trained:
 * reasoningPrompt) and scores the reply twice: is its answer right (the text after
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
  const stopIds = chatStopIds(tokenizer);
  const maxNewTokens = options.maxNewTokens ?? reasoningSettings().maxNewTokens;
  for (const [i, it] of items.entries()) {
    const ids: number[] = [];
    for await (const t of generateIds(model, reasoningPrompt(tokenizer, it.prompt), { temperature: 0, stopIds, maxNewTokens })) ids.push(t.id);
    const reply = tokenizer.decode(ids);
    const parsed = parseReasoning(reply);
    const got = parsed.ok ? traceSteps(parsed.thinking) : [];
    replies.push({
      task: it.task,
      split: it.split,
      prompt: it.prompt,
      reply,
      wellFormed: parsed.ok,
      correct: checkReasoningAnswer(it, answerPart(reply)).correct,
      steps: stepMatches(it.task, traceSteps(it.thinking), got),
    });
    options.onProgress?.(i + 1, items.length);
  }
  const rows: ReasoningRow[] = [];
  for (const task of REASONING_TASKS) {
    const idx = replies.flatMap((r, k) => (r.task === task ? [k] : []));
    if (idx.length === 0) continue;
    const count = (f: (r: ReasoningReply) => boolean) => idx.filter((k) => f(replies[k])).length;
    const rate = wilson(count((r) => r.correct), idx.length);
    const formatRate = wilson(count((r) => r.wellFormed), idx.length);
    const baseRate = majorityBaseline(idx.map((k) => expectedKey(items[k])));
    const split = QA_SPLITS.filter((s) => idx.some((k) => replies[k].split === s)).join("+");
    rows.push({ task, split, questions: idx.length, accuracy: rate.rate, formatted: formatRate.rate, rate, formatRate, baseRate });
  }
  return { rows, replies };
}

/** What makes two expected answers the same answer (only the character of the char question, the final of the final question, the place of the find question). */
function expectedKey(item: Pick<ReasoningItem, "task" | "expected">): string {
  const e = item.expected;
  if (item.task === "charAt") return e.char;
  if (item.task === "charFinal") return e.final;
  if (item.task === "find") return `第${e.line}句第${e.position}字`;
  return Object.keys(e).sort().map((k) => `${k}=${e[k]}`).join(";");
}

/**
 * How often each step of the trace came out right, per task: step k of the expected trace (traceSteps) against
 * step k of the reply's reasoning (stepMatches). Shows where a trace goes wrong (a miscopied line, a wrong final), and
 * so what to fix. A walk's steps are counted from the end ("倒数1" is the last step, the one that names the answer).
 * `example` is the step as the first question's trace has it.
 * @example table(reasoningStepRows(evTraced, evalSet))
 */
export function reasoningStepRows(evaluation: ReasoningEvaluation, items: readonly ReasoningItem[]): { 题型: string; step: number | string; example: string; questions: number; 正确率: string }[] {
  if (items.length !== evaluation.replies.length) throw new Error(`reasoningStepRows: ${items.length} items but ${evaluation.replies.length} replies (pass the items that were evaluated)`);
  const out: { 题型: string; step: number | string; example: string; questions: number; 正确率: string }[] = [];
  for (const task of REASONING_TASKS) {
    const idx = items.flatMap((it, k) => (it.task === task ? [k] : []));
    if (idx.length === 0) continue;
    const steps = Math.max(...idx.map((k) => evaluation.replies[k].steps.length));
    const fromEnd = FROM_END.has(task);
    for (let s = 0; s < steps; s++) {
      // s-th step from the start, or (a walk) the (s+1)-th from the end, listed from the earliest.
      const at = (n: number) => (fromEnd ? n - steps + s : s);
      const having = idx.filter((k) => { const i = at(evaluation.replies[k].steps.length); return i >= 0 && i < evaluation.replies[k].steps.length; });
      const right = having.filter((k) => evaluation.replies[k].steps[at(evaluation.replies[k].steps.length)]).length;
      const first = traceSteps(items[having[0]].thinking);
      out.push({ 题型: REASONING_TASK_LABELS[task], step: fromEnd ? `倒数${steps - s}` : s + 1, example: first[at(first.length)], questions: having.length, 正确率: formatRate(wilson(right, having.length)) });
    }
  }
  return out;
}

/**
 * The chapter's table: per task and split, n, the majority-class base rate, and each model's accuracy and format
 * compliance with 95% Wilson intervals. Refuses evaluations made on different questions.
 * @example table(reasoningComparisonRows({ 带推理: withTraces, 只有答案: answersOnly }))
 */
export function reasoningComparisonRows(evaluations: Readonly<Record<string, ReasoningEvaluation>>): Record<string, string | number>[] {
  const names = Object.keys(evaluations);
  if (names.length === 0) return [];
  const first = evaluations[names[0]].rows;
  for (const n of names) {
    const rows = evaluations[n].rows;
    if (rows.length !== first.length || rows.some((r, i) => r.task !== first[i].task || r.split !== first[i].split || r.questions !== first[i].questions)) {
      throw new Error(`reasoningComparisonRows: '${n}' was evaluated on other questions than '${names[0]}' (evaluate every model on the same reasoningEvalSet)`);
    }
  }
  return first.map((r, i) => ({
    题型: REASONING_TASK_LABELS[r.task],
    split: r.split,
    n: r.questions,
    基线: `${formatRate(r.baseRate)}`,
    ...Object.fromEntries(names.map((n) => [`${n} 准确率`, formatRate(evaluations[n].rows[i].rate)])),
    ...Object.fromEntries(names.map((n) => [`${n} 格式`, formatRate(evaluations[n].rows[i].formatRate)])),
  }));
}
