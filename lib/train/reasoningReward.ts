import { checkReasoningAnswer, type ReasoningItem, THINK_CLOSE, THINK_OPEN } from "../data/reasoning";
import { type ChatTokenizer, chatStopIds } from "./chat";
import { reasoningPrompt } from "./reasoning";
import { type RolloutScorer } from "./rollouts";

/**
 * A response read back: its reasoning and its answer, or why it is malformed. Every field exists on both sides
 * (null where it does not apply), so that notebook code compiled without strict checks can read `error` too.
 */
export type ParsedReasoning =
  | { readonly ok: true; readonly thinking: string; readonly answer: string; readonly error: null }
  | { readonly ok: false; readonly thinking: null; readonly answer: null; readonly error: string };
const malformed = (error: string): ParsedReasoning => ({ ok: false, thinking: null, answer: null, error });
function count(text: string, tag: string): number {
  return text.split(tag).length - 1;
}

/**
 * Splits a response into its reasoning and its answer. Well-formed means: it begins with <think> (after
 * whitespace), has exactly one <think> and one </think> in that order, the reasoning between them is not empty,
 * and a non-empty answer follows </think>.
 *
 * @example parseReasoning("<think>共4句，每句5字。</think>五言绝句") // { ok: true, thinking: "共4句，每句5字。", answer: "五言绝句", error: null }
 *          parseReasoning("五言绝句")                               // { ok: false, …, error: "does not begin with <think>" }
 */
export function parseReasoning(response: string): ParsedReasoning {
  const text = response.trim();
  if (!text.startsWith(THINK_OPEN)) return malformed(`does not begin with ${THINK_OPEN}`);
  const opens = count(text, THINK_OPEN);
  const closes = count(text, THINK_CLOSE);
  if (opens !== 1) return malformed(`${opens} ${THINK_OPEN} tags (one expected)`);
  if (closes === 0) return malformed(`${THINK_OPEN} is never closed by ${THINK_CLOSE}`);
  if (closes !== 1) return malformed(`${closes} ${THINK_CLOSE} tags (one expected)`);
  const end = text.indexOf(THINK_CLOSE);
  const thinking = text.slice(THINK_OPEN.length, end).trim();
  const answer = text.slice(end + THINK_CLOSE.length).trim();
  if (thinking === "") return malformed("the reasoning between the tags is empty");
  if (answer === "") return malformed(`no answer after ${THINK_CLOSE}`);
  return { ok: true, thinking, answer, error: null };
}

/**
 * The answer part of any response, leniently: the text after the last </think>, or the whole text when there is
 * none. For measuring accuracy separately from format (a model fine-tuned on answers alone writes no tags).
 */
export function answerPart(response: string): string {
  const end = response.lastIndexOf(THINK_CLOSE);
  return (end < 0 ? response : response.slice(end + THINK_CLOSE.length)).trim();
}

/** How much each part of the reward weighs. */
export interface ReasoningRewardWeights {
  /** For a well-formed response (a reasoning block, then an answer). */
  readonly format: number;
  /** For a correct answer in a well-formed response. */
  readonly correct: number;
}

/** A small reward for the format, the large one for being right (as DeepSeek-R1's rule-based rewards). */
export const REASONING_REWARD_WEIGHTS: ReasoningRewardWeights = Object.freeze({ format: 0.2, correct: 1 });
export interface ReasoningReward {
  readonly reward: number;
  /** 1 when the response is well-formed. */
  readonly format: 0 | 1;
  /** 1 when it is well-formed and its answer is right. */
  readonly correct: 0 | 1;
}

/**
 * The verifiable reward of a response to an item: `format` if it is well-formed, plus `correct` if its answer is
 * right. An answer without a reasoning block earns nothing, even when right: the reward is for reasoning, and
 * otherwise a policy trained on it could drop the <think> block and lose nothing.
 * @example reasoningReward("<think>…</think>五言绝句", item) // { reward: 1.2, format: 1, correct: 1 } for a 五言绝句
 */
export function reasoningReward(
  response: string,
  item: Pick<ReasoningItem, "task" | "expected">,
  weights: ReasoningRewardWeights = REASONING_REWARD_WEIGHTS,
): ReasoningReward {
  const parsed = parseReasoning(response);
  if (!parsed.ok) return { reward: 0, format: 0, correct: 0 };
  const correct = checkReasoningAnswer(item, parsed.answer).correct ? 1 : 0;
  return { reward: weights.format + weights.correct * correct, format: 1, correct };
}

/**
 * The verifiable reward as chapter 7's rollout scorer: each sampled answer is decoded and scored by
 * {@link reasoningReward} against the question it answers (found by its prompt's tokens). No reward model: the
 * program that wrote the data checks the answers, so there is nothing for the policy to fool.
 */
export function reasoningScorer(tokenizer: ChatTokenizer, items: readonly ReasoningItem[], weights: ReasoningRewardWeights = REASONING_REWARD_WEIGHTS): { scorer: RolloutScorer; prompts: number[][] } {
  const byPrompt = new Map<string, ReasoningItem>();
  const prompts: number[][] = [];
  for (const it of items) {
    const p = reasoningPrompt(tokenizer, it.prompt); // as the model was trained: character by character
    const key = p.join(",");
    if (byPrompt.has(key)) continue;
    byPrompt.set(key, it);
    prompts.push(p);
  }
  const stops = new Set(chatStopIds(tokenizer));
  const scorer: RolloutScorer = (seqs) => {
    const out = new Float32Array(seqs.rows);
    for (let r = 0; r < seqs.rows; r++) {
      const row = seqs.ids.subarray(r * seqs.length, (r + 1) * seqs.length);
      const mask = seqs.mask.subarray(r * seqs.length, (r + 1) * seqs.length);
      const start = mask.indexOf(1);
      if (start < 0) continue; // an empty answer earns nothing
      const item = byPrompt.get(Array.from(row.subarray(0, start)).join(","));
      if (!item) throw new Error(`reasoningScorer: rollout row ${r} answers a prompt that is not among the items`);
      const answer = Array.from(row.subarray(start)).filter((id, t) => mask[start + t] === 1 && !stops.has(id));
      out[r] = reasoningReward(tokenizer.decode(answer), item, weights).reward;
    }
    return out;
  };
  return { scorer, prompts };
}
