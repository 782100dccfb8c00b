/**
 * What a pretrained model has learned, in the three measures chapter 5 reports beside validation loss:
 *
 *   next-token accuracy   top-1 / top-5 on held-out poems vs unigram and bigram guessers (nextToken.ts)
 *   form of generations   free poems sampled from <s>: line lengths, couplets, rhyme vs the corpus (poemForm.ts)
 *
 * (词语接龙 on famous first lines, the third, has its own table: lib/eval/wordChain.ts.)
 */
import { sampleBody } from "../data/sample";
import { complete, type GenerativeModel } from "../generate";
import type { Tokenizer } from "../tokenizer/types";
import { type NgramBaseline, nextTokenAccuracy, type NextTokenModel, type NextTokenReport } from "./nextToken";
import { type PoemFormReport, poemFormReport } from "./poemForm";

export interface PretrainedReport {
  readonly nextToken: NextTokenReport;
  /** The form of the model's own poems, and of as many held-out poems of the corpus for reference. */
  readonly form: { readonly generated: PoemFormReport; readonly corpus: PoemFormReport };
  /** A few of the generated poems, to show. */
  readonly samples: readonly string[];
}

export interface PretrainedReportOptions {
  /** Poems to generate (default 200; each up to `maxNewTokens` tokens). */
  readonly poems?: number;
  readonly maxNewTokens?: number;
  /** Sampling of the generations (default temperature 0.8, top-k 40: how the chapter samples poems). */
  readonly temperature?: number;
  readonly topK?: number;
  /** Positions of the next-token measure (default 20,000). */
  readonly positions?: number;
}

/**
 * Chapter 5's report of a model: next-token accuracy on the held-out stream and the form of its generations.
 * @param heldoutSamples held-out samples `<s>…</s>` (the validation split), for the corpus's own form rates.
 * @example const r = await pretrainedReport(model, tok, val.tokens, new NgramBaseline(train.tokens), valSamples);
 */
export async function pretrainedReport(
  model: GenerativeModel & NextTokenModel,
  tokenizer: Pick<Tokenizer, "encode" | "decode" | "tokenToId">,
  heldoutTokens: ArrayLike<number>,
  ngrams: NgramBaseline,
  heldoutSamples: readonly string[],
  options: PretrainedReportOptions = {},
): Promise<PretrainedReport> {
  const poems = options.poems ?? 200;
  const nextToken = nextTokenAccuracy(model, heldoutTokens, ngrams, { maxPositions: options.positions });
  const generated: string[] = [];
  for (let seed = 0; seed < poems; seed++) {
    const c = await complete(model, tokenizer, "<s>", {
      temperature: options.temperature ?? 0.8,
      topK: options.topK ?? 40,
      maxNewTokens: options.maxNewTokens ?? 80,
      seed,
    });
    generated.push(c.text);
  }
  const corpus = heldoutSamples.map(sampleBody);
  return {
    nextToken,
    form: { generated: poemFormReport(generated), corpus: poemFormReport(corpus) },
    samples: generated.slice(0, 5),
  };
}
