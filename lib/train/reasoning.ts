/**
 * 推理模型训练 (chapter 10): teaching the model to write its reasoning before its answer.
 *
 * A reasoning model answers in two parts: first its working out between <think> and </think>, then the answer.
 * The common way to train one, as the book says, is black-box distillation on reasoning data: SFT on samples
 * whose answers carry the reasoning. Our "reasoning teacher" is a program (lib/data/reasoning.ts) that writes
 * correct traces for questions about the poems, so the stage is chapter 6's SFT on those samples, starting from
 * the SFT model.
 *
 * This file: reading a response back into its parts (and rejecting malformed ones), the verifiable reward
 * (well-formed and correct), the reasoning stage, and the evaluation against the same model fine-tuned on the
 * answers alone.
 */
import { checkReasoningAnswer, type ReasoningItem, THINK_CLOSE, THINK_OPEN } from "../data/reasoning";
import { type ChatTokenizer, chatPrompt, chatTokenIds, type EncodedChat } from "./chat";

/** A response read back: its reasoning and its answer, or why it is malformed. */
export type ParsedReasoning =
  | { readonly ok: true; readonly thinking: string; readonly answer: string }
  | { readonly ok: false; readonly error: string };

function count(text: string, tag: string): number {
  return text.split(tag).length - 1;
}

/**
 * Splits a response into its reasoning and its answer. Well-formed means: it begins with <think> (after
 * whitespace), has exactly one <think> and one </think> in that order, the reasoning between them is not empty,
 * and a non-empty answer follows </think>.
 *
 * @example parseReasoning("<think>共4句，每句5字。</think>五言绝句") // { ok: true, thinking: "共4句，每句5字。", answer: "五言绝句" }
 *          parseReasoning("五言绝句")                               // { ok: false, error: "does not begin with <think>" }
 */
export function parseReasoning(response: string): ParsedReasoning {
  const text = response.trim();
  if (!text.startsWith(THINK_OPEN)) return { ok: false, error: `does not begin with ${THINK_OPEN}` };
  const opens = count(text, THINK_OPEN);
  const closes = count(text, THINK_CLOSE);
  if (opens !== 1) return { ok: false, error: `${opens} ${THINK_OPEN} tags (one expected)` };
  if (closes === 0) return { ok: false, error: `${THINK_OPEN} is never closed by ${THINK_CLOSE}` };
  if (closes !== 1) return { ok: false, error: `${closes} ${THINK_CLOSE} tags (one expected)` };
  const end = text.indexOf(THINK_CLOSE);
  const thinking = text.slice(THINK_OPEN.length, end).trim();
  const answer = text.slice(end + THINK_CLOSE.length).trim();
  if (thinking === "") return { ok: false, error: "the reasoning between the tags is empty" };
  if (answer === "") return { ok: false, error: `no answer after ${THINK_CLOSE}` };
  return { ok: true, thinking, answer };
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
 * One reasoning sample in chapter 6's chat format, with <think> and </think> as the special tokens chapter 2
 * reserved for them (one id each, so the tags cost two tokens, not a dozen, and cannot be confused with text).
 * Only the response is learned: the mask is 0 on the prompt, 1 on the response and its closing <|end|>.
 *
 *   <|user|> 问题… <|end|> <|assistant|> <think> 推理… </think> 答案… <|end|>
 *       0      0      0         0           1       1       1       1      1
 *
 * Everywhere else the chat format reads special-token text as characters (a user cannot forge a marker); here only
 * the two tags are recognized, and only in the response the program wrote.
 */
export function encodeReasoningChat(tokenizer: ChatTokenizer, example: { readonly prompt: string; readonly response: string }): EncodedChat {
  for (const tag of [THINK_OPEN, THINK_CLOSE]) {
    if (tokenizer.tokenToId(tag) === undefined) throw new Error(`the tokenizer has no special token ${tag}: reasoning needs chapter 2's reserved specials`);
  }
  const prompt = chatPrompt(tokenizer, example.prompt);
  const body = tokenizer.encode(example.response, { allowedSpecial: [THINK_OPEN, THINK_CLOSE] });
  return {
    ids: [...prompt, ...body, chatTokenIds(tokenizer).end],
    lossMask: [...prompt.map(() => 0), ...body.map(() => 1), 1],
  };
}
