/**
 * Chapter 7's table: how often a model's replies to held-out questions are flawed (lib/data/flaws.ts's kinds, read
 * by `flawOf`), whether their facts are right (chapter 6's scorers), what the reward model thinks of them, how far
 * the model has moved from the SFT model it started from (KL), and how long the replies are.
 */
import * as tf from "@tensorflow/tfjs";
import { citedPart, isCitation } from "../data/anthologyQa";
import { FLAW_KINDS, FLAW_KIND_LABELS, type FlawKind, flawOf } from "../data/flaws";
import { isCorrectAnswer, QA_TEMPLATE_LABELS, QA_TEMPLATES, type QaItem, type QaTemplate } from "../data/qa";
import type { GPT } from "../model/gpt";
import { chatPrompt, chatReply, chatTokenIds, type ChatTokenizer, padId } from "../train/chat";
import { packRows } from "../train/preferencePairs";
import type { RewardModel } from "../train/rewardModel";
import { replyBudget } from "./qa";
import { formatRate, type Rate, wilson } from "./stats";

/** One held-out question and a model's reply, read every way the table reads it. */
export interface FlawReply {
  readonly template: QaTemplate;
  readonly prompt: string;
  readonly expected: string;
  readonly reply: string;
  /** The kind of flaw (flawOf), null for a clean answer. */
  readonly flaw: FlawKind | null;
  /** Whether the answer's fact is right (chapter 6's isCorrectAnswer on the 「」 or the cited part). */
  readonly correct: boolean;
  /** Reward model's score of the reply, or NaN without one. */
  readonly reward: number;
  /** Mean per-token KL(π ‖ π_ref) of the next-token distributions along the reply; NaN without a reference. */
  readonly kl: number;
  /** Reply length in tokens (the closing <|end|> not counted). */
  readonly tokens: number;
  /** The sequence scored: the prompt's tokens, the reply's, and <|end|> when it stopped (cut to the context). */
  readonly ids: readonly number[];
  /** Where the reply starts in `ids`. */
  readonly replyStart: number;
}

/** One model's row of the table. */
export interface FlawEvaluation {
  readonly replies: readonly FlawReply[];
  /** Per kind, and "any" (all kinds together), over every reply. */
  readonly flawRates: Readonly<Record<FlawKind | "any", Rate>>;
  /** Factual accuracy per template asked. */
  readonly accuracy: Readonly<Partial<Record<QaTemplate, Rate>>>;
  readonly meanReward: number;
  readonly meanKl: number;
  readonly meanTokens: number;
}

/**
 * The mean, over the reply's positions, of KL(π(·|context) ‖ π_ref(·|context)) between the two models' whole
 * next-token distributions: exact at each position (not a sampled estimate), along the reply the policy wrote.
 */
function replyKl(policy: Pick<GPT, "forward">, reference: Pick<GPT, "forward">, ids: readonly number[], from: number): number {
  return tf.tidy(() => {
    const n = ids.length - 1 - from; // positions from .. ids.length − 2 predict the reply's tokens
    if (n <= 0) return 0;
    const logp = tf.logSoftmax(tf.slice(policy.forward([ids.slice(0, -1)], { training: false }) as tf.Tensor3D, [0, from, 0], [1, n, -1])); // [1, n, V]
    const logq = tf.logSoftmax(tf.slice(reference.forward([ids.slice(0, -1)], { training: false }) as tf.Tensor3D, [0, from, 0], [1, n, -1])); // [1, n, V]
    return tf.mean(tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq)), 2)).dataSync()[0];
  });
}

/**
 * Asks `model` every question (with chapter 6's reply budget) and reads each reply: its flaw, its fact, and (with
 * `rm` and `reference`, see {@link scoreFlawReplies}) its reward and KL.
 *
 * Replies are sampled at `temperature` (default 1: as a chat model is used, and as GRPO samples), question i with
 * seed `seed + i`, so an evaluation is the same every time. Greedy decoding (temperature 0) would hide what the
 * chapter measures: a model that writes a flawed answer a third of the time still has the clean one as its single
 * likeliest reply, and greedy decoding only ever shows that one.
 * @example const sft = await evaluateFlaws(model, tok, items, { rm, reference });  sft.flawRates.any  // { k, n, rate, low, high }
 */
export async function evaluateFlaws(
  model: GPT,
  tokenizer: ChatTokenizer,
  items: readonly QaItem[],
  options: { rm?: RewardModel; reference?: Pick<GPT, "forward">; temperature?: number; seed?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<FlawEvaluation> {
  const temperature = options.temperature ?? 1;
  const seed = options.seed ?? 0;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`evaluateFlaws: temperature = ${temperature} must be a finite number ≥ 0`);
  if (!Number.isInteger(seed)) throw new Error(`evaluateFlaws: seed = ${seed} must be an integer`);
  if (items.length === 0) throw new Error("evaluateFlaws: no questions to ask");
  const end = chatTokenIds(tokenizer).end;
  const replies: FlawReply[] = [];
  for (const [i, it] of items.entries()) {
    const r = await chatReply(model, tokenizer, it.prompt, { maxNewTokens: replyBudget(it), temperature, seed: seed + i });
    const answer = isCitation(it.answer) ? citedPart(it.template, r.reply) : r.answer;
    const prompt = chatPrompt(tokenizer, it.prompt);
    const ids = [...prompt, ...r.ids, ...(r.reason === "stop" ? [end] : [])].slice(0, model.config.blockSize);
    replies.push({ template: it.template, prompt: it.prompt, expected: it.expected, reply: r.reply, flaw: flawOf(r.reply), correct: isCorrectAnswer(it, answer), reward: Number.NaN, kl: Number.NaN, tokens: r.ids.length, ids, replyStart: prompt.length });
    options.onProgress?.(i + 1, items.length);
  }
  return options.rm || options.reference ? scoreFlawReplies(replies, { policy: model, rm: options.rm, reference: options.reference, padId: padId(tokenizer) }) : summarizeFlaws(replies);
}

/**
 * The same replies with their reward (`rm`'s score of the whole sequence) and their KL to `reference` (the model
 * RLHF started from) filled in, without asking again: chapter 7 reads the SFT model's replies first for their
 * flaws, and scores them once the reward model exists.
 */
export async function scoreFlawReplies(
  replies: readonly FlawReply[] | FlawEvaluation,
  options: { policy: Pick<GPT, "forward">; rm?: RewardModel; reference?: Pick<GPT, "forward">; padId: number },
): Promise<FlawEvaluation> {
  const list = "replies" in replies ? replies.replies : replies;
  const out: FlawReply[] = [];
  for (const r of list) {
    let reward = r.reward;
    if (options.rm) {
      const t = options.rm.rewards(packRows([{ ids: r.ids, mask: r.ids.map(() => 1) }], options.padId));
      reward = (await t.data())[0];
      t.dispose();
    }
    const kl = options.reference ? replyKl(options.policy, options.reference, r.ids, r.replyStart - 1) : r.kl;
    out.push({ ...r, reward, kl });
  }
  return summarizeFlaws(out);
}

/** The rates and means of a list of read replies (host arithmetic). */
export function summarizeFlaws(replies: readonly FlawReply[]): FlawEvaluation {
  const n = replies.length;
  if (n === 0) throw new Error("summarizeFlaws: no replies");
  const flawRates = Object.fromEntries([
    ...FLAW_KINDS.map((k) => [k, wilson(replies.filter((r) => r.flaw === k).length, n)]),
    ["any", wilson(replies.filter((r) => r.flaw !== null).length, n)],
  ]) as Record<FlawKind | "any", Rate>;
  const accuracy: Partial<Record<QaTemplate, Rate>> = {};
  for (const t of QA_TEMPLATES) {
    const mine = replies.filter((r) => r.template === t);
    if (mine.length) accuracy[t] = wilson(mine.filter((r) => r.correct).length, mine.length);
  }
  const mean = (f: (r: FlawReply) => number) => replies.reduce((s, r) => s + f(r), 0) / n;
  return { replies, flawRates, accuracy, meanReward: mean((r) => r.reward), meanKl: mean((r) => r.kl), meanTokens: mean((r) => r.tokens) };
}

/**
 * Chapter 7's table, one column per model: the flaw rate per kind and in all, factual accuracy per template (each a
 * rate with its 95% interval), then mean reward, KL and length. `baseline` adds the cheap answer's column: for the
 * flaws the share written into the SFT data (what a model that imitates its data produces), for the facts the
 * majority answer's rate (qaMajorityRates).
 * @example table(flawTableRows({ SFT: sft, DPO: dpo, GRPO: grpo }, { dataShare, majority }))
 */
export function flawTableRows(
  evaluations: Readonly<Record<string, FlawEvaluation>>,
  baseline: { readonly dataShare?: Partial<Record<FlawKind | "any", number>>; readonly majority?: Partial<Record<QaTemplate | "all", Rate>> } = {},
): Record<string, string | number>[] {
  const names = Object.keys(evaluations);
  if (names.length === 0) throw new Error("flawTableRows: no models");
  const first = evaluations[names[0]];
  const n = first.replies.length;
  const pct = (x: number | undefined) => (x === undefined ? "—" : `${(100 * x).toFixed(1)}%`);
  const rows: Record<string, string | number>[] = [];
  for (const k of [...FLAW_KINDS, "any"] as const) {
    rows.push({ 指标: k === "any" ? "有缺陷(合计)" : `缺陷:${FLAW_KIND_LABELS[k]}`, n, 基准: `${pct(baseline.dataShare?.[k])} (SFT 数据)`, ...Object.fromEntries(names.map((m) => [m, formatRate(evaluations[m].flawRates[k])])) });
  }
  for (const t of QA_TEMPLATES) {
    const r = first.accuracy[t];
    if (!r) continue;
    const base = baseline.majority?.[t];
    rows.push({ 指标: `答对:${QA_TEMPLATE_LABELS[t]}`, n: r.n, 基准: base ? `${formatRate(base)} (多数答案)` : "—", ...Object.fromEntries(names.map((m) => [m, formatRate(evaluations[m].accuracy[t] ?? wilson(0, 0))])) });
  }
  const num = (label: string, f: (e: FlawEvaluation) => number, d: number) =>
    rows.push({ 指标: label, n, 基准: "—", ...Object.fromEntries(names.map((m) => [m, Number.isNaN(f(evaluations[m])) ? "—" : f(evaluations[m]).toFixed(d)])) });
  num("平均奖励", (e) => e.meanReward, 2);
  num("KL(π‖π_SFT),每 token", (e) => e.meanKl, 3);
  num("平均长度(token)", (e) => e.meanTokens, 1);
  return rows;
}
