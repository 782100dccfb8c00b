/**
 * Chapter 9's comparison: teacher and students on the same held-out questions — parameters, hard-label loss,
 * accuracy per question type with its interval, the spread over seeds, and the cheap answers' base rates.
 */
import * as tf from "@tensorflow/tfjs";
import { type GenerativeModel, generateIds } from "../generate";
import type { GPT } from "../model/gpt";
import { type ChatBatch, type ChatTokenizer, collateChat, encodeChat, padId } from "../train/chat";
import { distillSettings, softTargetsAfter } from "../train/distill";
import { type DistillData } from "../train/students";
import { evaluate } from "../train/loop";
import { evaluateQa, qaRowRate, type QaEvaluation } from "./qa";
import { QA_TEMPLATE_LABELS, type QaItem, type QaTemplate } from "../data/qa";
import { quotedLines } from "../train/distillPrompts";
import { formatRate, type Rate, wilson } from "./stats";

/**
 * The hard-label loss of a model on chat batches (mean cross-entropy over the answer tokens): the validation loss
 * of the comparison table, the same measure for teacher and students whatever they were trained with.
 */
export async function chatLoss(model: GPT, batches: Iterable<ChatBatch>): Promise<number> {
  return evaluate(
    {
      loss: (batch: ChatBatch) => {
        const shape: [number, number] = [batch.batchSize, batch.blockSize];
        return model.loss(tf.tensor2d(batch.ids, shape, "int32"), tf.tensor2d(batch.targets, shape, "int32"), { mask: tf.tensor2d(batch.mask, shape) });
      },
    },
    batches,
  );
}

/**
 * Generation speed in new tokens per second: greedy, with the KV cache, `tokens` new tokens after `prompt` (stop
 * tokens ignored, so every model writes the same number). After a warm-up, the best of `runs` runs: on a shared
 * machine the fastest run is the one least disturbed by other work.
 */
export async function generationSpeed(model: GenerativeModel, prompt: readonly number[], tokens = 32, runs = 3): Promise<number> {
  const run = async () => {
    const start = performance.now();
    let n = 0;
    for await (const _ of generateIds(model, prompt, { temperature: 0, maxNewTokens: tokens })) n++;
    return n / ((performance.now() - start) / 1000);
  };
  await run();
  let best = 0;
  for (let i = 0; i < runs; i++) best = Math.max(best, await run());
  return best;
}

/** One model's result in the comparison: its size, its loss on the dataset's answers, its held-out answers. */
export interface DistillResult {
  /** The table's name of the model ("教师", "黑盒蒸馏", …). */
  readonly model: string;
  /** The student's seed (null for the teacher). */
  readonly seed: number | null;
  readonly parameters: number;
  /** Hard-label loss on held-out questions' reference answers (nats per answer token). */
  readonly loss: number;
  readonly evaluation: QaEvaluation;
}

/**
 * Scores one model: the hard-label loss on `validationEncoded` (the dataset's answers to held-out questions) and
 * the accuracy on `evalSet`, with replies as long as the teacher's answers may be.
 */
export async function evaluateDistilled(
  name: string,
  model: GPT,
  tokenizer: ChatTokenizer,
  data: Pick<DistillData, "validationEncoded" | "evalSet">,
  options: { seed?: number | null; maxNewTokens?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<DistillResult> {
  if (data.evalSet.length === 0) throw new Error(`evaluateDistilled(${name}): no held-out questions to ask`);
  const T = model.config.blockSize;
  const pad = padId(tokenizer);
  const batches: ChatBatch[] = [];
  for (let i = 0; i < data.validationEncoded.length; i += 32) batches.push(collateChat(data.validationEncoded.slice(i, i + 32), T, pad));
  const evaluation = await evaluateQa(model, tokenizer, data.evalSet, { maxNewTokens: options.maxNewTokens ?? distillSettings().maxNewTokens, onProgress: options.onProgress });
  const loss = batches.length ? await chatLoss(model, batches) : NaN;
  return { model: name, seed: options.seed ?? null, parameters: model.numParameters(), loss, evaluation };
}

/** A template's row of an evaluation as a Rate (k of n). */
export function templateRate(evaluation: QaEvaluation, template: QaTemplate): Rate {
  const row = evaluation.rows.find((r) => r.template === template);
  return wilson(row?.correct ?? 0, row?.questions ?? 0);
}

/** Mean and spread of numbers (sample standard deviation; 0 for one number). */
export function meanSpread(xs: readonly number[]): { mean: number; sd: number; min: number; max: number } {
  if (xs.length === 0) throw new Error("meanSpread: no numbers");
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
}

/**
 * The cheap answer to a 体裁 question that reads the couplet: count its characters (五言 or 七言) and give that
 * meter's most common form among `train`'s answers. A student that learned only to count scores this; to do
 * better it must know the poem (绝句 or 律诗 is a matter of how many lines the poem has, not of the couplet).
 * @example meterFormBaseline(train, heldout)   // { answer: "五言律诗 / 七言绝句", k, n, rate, … }
 */
export function meterFormBaseline(train: readonly Pick<QaItem, "template" | "expected" | "prompt">[], items: readonly Pick<QaItem, "template" | "expected" | "prompt">[]): Rate & { readonly answer: string } {
  const meter = (prompt: string) => {
    const first = quotedLines(prompt)[0];
    return first === undefined ? "?" : `${[...first].length}`;
  };
  const counts = new Map<string, Map<string, number>>();
  for (const q of train) {
    if (q.template !== "form") continue;
    const m = counts.get(meter(q.prompt)) ?? new Map<string, number>();
    m.set(q.expected, (m.get(q.expected) ?? 0) + 1);
    counts.set(meter(q.prompt), m);
  }
  const best = new Map([...counts].map(([k, m]) => [k, [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0]]));
  const forms = items.filter((q) => q.template === "form");
  const k = forms.filter((q) => best.get(meter(q.prompt)) === q.expected).length;
  return { answer: [...best.values()].join(" / "), ...wilson(k, forms.length) };
}

/**
 * Table rows, one per model and seed: parameters (and their share of the teacher's), loss, and each evaluated
 * type's accuracy with its Wilson 95% interval.
 */
export function distillResultRows(results: readonly DistillResult[], teacherParameters: number): Record<string, string | number>[] {
  return results.map((r) => ({
    模型: r.model,
    种子: r.seed ?? "—",
    参数量: r.parameters,
    占教师: `${((100 * r.parameters) / teacherParameters).toFixed(0)}%`,
    验证损失: Number(r.loss.toFixed(3)),
    ...Object.fromEntries(r.evaluation.rows.filter((row) => row.template !== "all").map((row) => [`${row.题型} (n=${row.questions})`, formatRate(qaRowRate(row))])),
  }));
}

/**
 * One row per kind of model: over its seeds, each type's mean accuracy ± the seeds' standard deviation [lowest–
 * highest seed], the mean loss, and the share of the teacher's accuracy it keeps (mean accuracy / the teacher's).
 */
export function distillSummaryRows(results: readonly DistillResult[], teacher: DistillResult): Record<string, string | number>[] {
  const names = [...new Set(results.map((r) => r.model))];
  const templates = teacher.evaluation.rows.filter((r) => r.template !== "all").map((r) => r.template as QaTemplate);
  const pct = (x: number) => (100 * x).toFixed(1);
  return names.map((name) => {
    const rs = results.filter((r) => r.model === name);
    const loss = meanSpread(rs.map((r) => r.loss));
    const cells: Record<string, string> = {};
    for (const t of templates) {
      const acc = meanSpread(rs.map((r) => templateRate(r.evaluation, t).rate));
      const label = QA_TEMPLATE_LABELS[t];
      cells[label] = rs.length > 1 ? `${pct(acc.mean)}% ± ${pct(acc.sd)} [${pct(acc.min)}–${pct(acc.max)}]` : `${pct(acc.mean)}%`;
      // A share of nothing means nothing: "—" where the teacher answers none right.
      const of = templateRate(teacher.evaluation, t).rate;
      cells[`${label} 占教师`] = of > 0 ? `${((100 * acc.mean) / of).toFixed(0)}%` : "—";
    }
    return { 模型: name, 种子数: rs.length, 验证损失: rs.length > 1 ? `${loss.mean.toFixed(3)} ± ${loss.sd.toFixed(3)}` : loss.mean.toFixed(3), ...cells };
  });
}

/** How a model's 五言/七言 answer depends on the couplet it is asked about (meterBelief). */
export interface MeterBelief {
  /** Mean belief in 七言, p(七言) / (p(五言) + p(七言)) at the answer's deciding token, over the 七言 couplets. */
  readonly onSeven: number;
  /** The same over the 五言 couplets. */
  readonly onFive: number;
  readonly sevens: number;
  readonly fives: number;
}

/**
 * Whether a model tells 五言 from 七言 by the couplet, or answers from the base rate: at the token where the answers
 * 这是「五言」诗。 and 这是「七言」诗。 part, its belief in 七言 (p七 / (p五 + p七)), averaged over the 七言 and over
 * the 五言 questions. A model that counts gives the 七言 couplets a much higher belief than the 五言 ones; a model
 * that always answers 五言 gives both the same, however the greedy answers come out. (This reads below the
 * argmax: a student may have learned part of the skill without it changing one greedy answer.)
 * @example await meterBelief(teacher, tok, heldoutMeter)  // { onSeven: 0.97, onFive: 0.02, … }
 */
export async function meterBelief(model: GenerativeModel, tokenizer: ChatTokenizer, items: readonly Pick<QaItem, "prompt" | "template" | "expected">[]): Promise<MeterBelief> {
  const seven: number[] = [];
  const five: number[] = [];
  for (const q of items) {
    if (q.template !== "meter") continue;
    if (q.expected !== "五言" && q.expected !== "七言") throw new Error(`meterBelief: question '${q.prompt}' expects '${q.expected}', not 五言 or 七言`);
    const ids5 = encodeChat(tokenizer, { prompt: q.prompt, answer: "这是「五言」诗。" }).ids;
    const ids7 = encodeChat(tokenizer, { prompt: q.prompt, answer: "这是「七言」诗。" }).ids;
    let i = 0;
    while (i < ids5.length && ids5[i] === ids7[i]) i++;
    if (i >= ids5.length || i >= ids7.length) throw new Error(`meterBelief: the two answers to '${q.prompt}' encode the same`);
    const [p] = await softTargetsAfter(model, ids5.slice(0, i), [1]);
    const belief = p[ids7[i]] / Math.max(p[ids5[i]] + p[ids7[i]], 1e-30);
    (q.expected === "七言" ? seven : five).push(belief);
  }
  if (seven.length === 0 || five.length === 0) throw new Error(`meterBelief: needs 五言 and 七言 questions (got ${five.length} and ${seven.length})`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { onSeven: mean(seven), onFive: mean(five), sevens: seven.length, fives: five.length };
}
