/**
 * Preference pairs on the model's own answers (chapter 7's DPO): the SFT model answers training questions, sampled
 * as a chat model is used, and every answer flawOf finds a flaw in becomes the rejected side of a pair whose chosen
 * side is the question's good answer.
 *
 * Why: real preference data is collected this way — people compare the answers the model itself gives. The
 * offline pairs (lib/data/preferences.ts) show each flaw as a person writes it; at temperature 1 this model's flawed
 * answers are more often garbled ones no person writes ("这是「五言", a reply that stops inside a character), which
 * DPO on the offline pairs never sees (GRPO scores the model's own samples, so it does). Tried at full size
 * (notebook 07's comparison): DPO with these pairs and as many offline ones left 17.0% of answers flawed, on the
 * offline pairs alone 13.3%, intervals overlapping: no difference; at DPO's later learning rate (2e-5) 10.7% against 11.7%,
 * again no difference. So chapter 7's DPO leaves them off by default.
 */
import { type FlawKind, flawOf } from "../data/flaws";
import type { GenerativeModel } from "../generate";
import { chatPrompt, chatReply, chatTokenIds, type ChatTokenizer, encodeChat, padId } from "./chat";
import { type EncodedAnswer, EncodedPairs, type PreferenceLike } from "./preferencePairs";

/** A pair whose rejected answer the model wrote: the reply as text, and the flaw flawOf found in it. */
export interface SampledPair extends PreferenceLike {
  readonly kind: FlawKind;
}

export interface SampledPairs {
  /** The flawed replies as pairs, in the order of the questions asked. */
  readonly pairs: readonly SampledPair[];
  /** The same, encoded: the rejected side is the sampled tokens themselves (text decoded and encoded again would not always give them back). */
  readonly encoded: EncodedPairs;
  /** Questions asked (distinct prompts), of which `pairs.length` got a flawed reply. */
  readonly asked: number;
}

/**
 * Asks `model` the first `questions` distinct prompts of `pairs` once each, sampled at `temperature` (default 1)
 * with seed `seed + i` for question i, so the pairs are the same every time; keeps the replies `judge` (default
 * flawOf) finds flawed, each against the chosen answer of its prompt's first pair. Replies get at most
 * `maxNewTokens` tokens (default 32, fewer where the context of `blockSize` tokens has less room); one cut off by
 * that limit is judged as it stands.
 * @example const own = await sampledFlawPairs(sft, tok, prefs.items.train, { questions: 3000, blockSize: 128 });
 */
export async function sampledFlawPairs(
  model: GenerativeModel,
  tokenizer: ChatTokenizer,
  pairs: readonly PreferenceLike[],
  options: { questions: number; blockSize: number; maxNewTokens?: number; temperature?: number; seed?: number; judge?: (reply: string) => FlawKind | null },
): Promise<SampledPairs> {
  const { questions, blockSize, maxNewTokens = 32, temperature = 1, seed = 0, judge = flawOf } = options;
  if (!Number.isInteger(questions) || questions < 0) throw new Error(`sampledFlawPairs: questions = ${questions} must be an integer ≥ 0`);
  const chosenOf = new Map<string, string>();
  for (const p of pairs) {
    if (chosenOf.size >= questions) break;
    if (!chosenOf.has(p.prompt)) chosenOf.set(p.prompt, p.chosen);
  }
  const end = chatTokenIds(tokenizer).end;
  const out: SampledPair[] = [];
  const chosen: EncodedAnswer[] = [];
  const rejected: EncodedAnswer[] = [];
  let i = 0;
  for (const [prompt, good] of chosenOf) {
    const promptIds = chatPrompt(tokenizer, prompt);
    const goodEncoded = encodeChat(tokenizer, { prompt, answer: good });
    const room = Math.min(maxNewTokens, blockSize - promptIds.length - 1);
    const r = room > 0 && goodEncoded.ids.length <= blockSize ? await chatReply(model, tokenizer, prompt, { maxNewTokens: room, temperature, seed: seed + i }) : null;
    i++;
    const kind = r && r.ids.length > 0 ? judge(r.reply) : null;
    if (!r || !kind) continue;
    const answer = r.reason === "stop" ? [...r.ids, end] : r.ids;
    out.push({ prompt, chosen: good, rejected: r.reply, kind });
    chosen.push({ ids: goodEncoded.ids, mask: goodEncoded.lossMask });
    rejected.push({ ids: [...promptIds, ...answer], mask: [...promptIds.map(() => 0), ...answer.map(() => 1)] });
  }
  return { pairs: out, encoded: EncodedPairs.fromAnswers(chosen, rejected, padId(tokenizer)), asked: chosenOf.size };
}
