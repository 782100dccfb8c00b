/**
 * Chapter 7's SFT model: chapter 6's recipe on data "collected from many writers", a documented share of whose
 * answers are flawed (lib/data/flaws.ts). The model imitates them at a rate chapter 7 measures on held-out prompts;
 * RLHF is then asked to remove that behaviour while keeping what the model knows.
 *
 * Everything but the rewritten answers is chapter 6's: the same base model, questions, replay, steps and learning
 * rate (runSft with the same preset), so a difference from runs/sft is the flawed data's.
 */
import { FLAW_KINDS, type FlawKind, injectFlaws } from "../data/flaws";
import type { QaItem } from "../data/qa";
import type { Tokenizer } from "../tokenizer/types";
import type { JsonRecord } from "./checkpoint";
import type { StageModel } from "./handoff";
import { ensureSft, runSft, type SftRun, type SftRunOptions } from "./sft";

/**
 * Share of the SFT training answers that are flawed: about one in three, as if a third of the writers did not follow
 * the guidelines. Enough that the model imitates them often (a rate measurable on a few hundred prompts), few
 * enough that most of what it learns is the good answer.
 */
export const FLAW_SHARE = 0.35;
/** Seeds which answers are rewritten, their kind and their writer. */
export const FLAW_SEED = 7;

/**
 * The rewrite of runSft that makes the data flawed: `share` of the training answers, the kinds in equal numbers,
 * and what was done (per-kind counts) for meta.json.
 */
export function flawRewrite(options: { share?: number; seed?: number; kinds?: readonly FlawKind[] } = {}): (train: readonly QaItem[]) => { items: QaItem[]; info: JsonRecord } {
  const share = options.share ?? FLAW_SHARE;
  const seed = options.seed ?? FLAW_SEED;
  const kinds = options.kinds ?? FLAW_KINDS;
  return (train) => {
    const items = injectFlaws(train, { share, seed, kinds });
    const counts = Object.fromEntries(kinds.map((k) => [k, items.filter((x) => x.flaw === k).length]));
    return { items, info: { share, seed, kinds: [...kinds], flawed: items.filter((x) => x.flaw !== null).length, of: items.length, counts } };
  };
}

/**
 * Chapter 6's SFT (same preset, same data, same steps) with `share` of its training answers flawed; writes
 * runs/sft-flawed.
 * @example const { model } = await runFlawedSft({ tokenizer: tok, resume: true });
 */
export async function runFlawedSft(options: SftRunOptions & { share?: number; seed?: number }): Promise<SftRun> {
  const { share, seed, ...rest } = options;
  return runSft({ ...rest, stage: "sft-flawed", rewrite: flawRewrite({ share, seed }) });
}

/**
 * The flawed SFT model of runs/sft-flawed, trained now when there is none (ensureSft's rules: in quick mode 150
 * steps, at full size the preset's 1,500; a shipped checkpoints/sft-flawed is used when runs/ has none).
 * @example const { model } = await ensureFlawedSft(tok);
 */
export async function ensureFlawedSft(tokenizer: Tokenizer, options: Omit<Parameters<typeof ensureSft>[1], "variant"> = {}): Promise<StageModel> {
  return ensureSft(tokenizer, { ...options, variant: { stage: "sft-flawed", rewrite: flawRewrite(), describe: `${Math.round(100 * FLAW_SHARE)}% of the answers flawed` } });
}
