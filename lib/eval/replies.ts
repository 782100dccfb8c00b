/**
 * Chapter 7's side-by-side comparison: the SFT model and its aligned versions answer the same questions, each reply
 * scored by exact match and by the reward model, with win rates against the first model.
 */
import { isCorrectAnswer, type QaItem, type QaTemplate } from "../data/qa";
import type { GenerativeModel } from "../generate";
import { chatPrompt, chatReply, chatTokenIds, type ChatTokenizer, padId } from "../train/chat";
import type { RewardModel } from "../train/rewardModel";
import { packRows } from "../train/preferencePairs";

/** One model's reply to one question, scored both ways. */
export interface ScoredReply {
  readonly reply: string;
  /** The answer in 「」, or null. */
  readonly answer: string | null;
  /** Exact-match correctness (chapter 6's isCorrectAnswer). */
  readonly correct: boolean;
  /** The reward model's score of the reply. */
  readonly reward: number;
}

/** How the models compare on a set of questions. */
export interface ReplyComparison {
  /** Per question: its text, what is expected, and each model's scored reply (keys: the names given). */
  readonly questions: readonly { readonly prompt: string; readonly template: QaTemplate; readonly expected: string; readonly replies: Readonly<Record<string, ScoredReply>> }[];
  /** Per model: exact-match accuracy and mean reward; for every model but the first, its win rate over the first. */
  readonly summary: readonly { readonly model: string; readonly accuracy: number; readonly meanReward: number; readonly winRateByReward: number | null; readonly winRateByExactMatch: number | null }[];
}

/**
 * Win rate of `a` over `b`, paired by question: wins count 1, ties ½ (two equal models score 50%).
 * @example winRate([3, 1, 2], [1, 1, 5]) → (1 + ½ + 0) / 3 = 0.5
 */
export function winRate(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`winRate: ${a.length} and ${b.length} scores`);
  let w = 0;
  for (let i = 0; i < a.length; i++) w += a[i] > b[i] ? 1 : a[i] === b[i] ? 0.5 : 0;
  return w / a.length;
}

/**
 * Asks every model every question (greedily, in the chat format), scores each reply by exact match and by the
 * reward model, and compares every model with the first (the SFT model): the chapter's side-by-side table.
 * @example compareReplies({ SFT: sft, DPO: dpo, GRPO: grpo }, rm, tok, questions)
 */
export async function compareReplies(
  models: Readonly<Record<string, GenerativeModel>>,
  rm: RewardModel,
  tokenizer: ChatTokenizer,
  items: readonly QaItem[],
  options: { maxNewTokens?: number } = {},
): Promise<ReplyComparison> {
  const names = Object.keys(models);
  if (names.length === 0) throw new Error("compareReplies: no models");
  const end = chatTokenIds(tokenizer).end;
  const pad = padId(tokenizer);
  const questions: { prompt: string; template: QaTemplate; expected: string; replies: Record<string, ScoredReply> }[] = [];
  for (const it of items) {
    const replies: Record<string, ScoredReply> = {};
    const prompt = chatPrompt(tokenizer, it.prompt);
    for (const name of names) {
      const r = await chatReply(models[name], tokenizer, it.prompt, { maxNewTokens: options.maxNewTokens ?? 24 });
      // The reward model reads the reply as the model wrote it (its own tokens), closed with <|end|> if it stopped.
      const ids = [...prompt, ...r.ids, ...(r.reason === "stop" ? [end] : [])].slice(-rm.backbone.config.blockSize);
      const seqs = packRows([{ ids, mask: ids.map(() => 1) }], pad);
      const t = rm.rewards(seqs);
      const reward = (await t.data())[0];
      t.dispose();
      replies[name] = { reply: r.reply, answer: r.answer, correct: isCorrectAnswer(it, r.answer), reward };
    }
    questions.push({ prompt: it.prompt, template: it.template, expected: it.expected, replies });
  }
  const col = (name: string, f: (r: ScoredReply) => number) => questions.map((q) => f(q.replies[name]));
  const summary = names.map((name, i) => ({
    model: name,
    accuracy: col(name, (r) => (r.correct ? 1 : 0)).reduce((a, b) => a + b, 0) / Math.max(questions.length, 1),
    meanReward: col(name, (r) => r.reward).reduce((a, b) => a + b, 0) / Math.max(questions.length, 1),
    winRateByReward: i === 0 || questions.length === 0 ? null : winRate(col(name, (r) => r.reward), col(names[0], (r) => r.reward)),
    winRateByExactMatch: i === 0 || questions.length === 0 ? null : winRate(col(name, (r) => (r.correct ? 1 : 0)), col(names[0], (r) => (r.correct ? 1 : 0))),
  }));
  return { questions, summary };
}
