import { type ChatBatch, type ChatExample, type ChatTokenizer, collateChat, type EncodedChat, encodeChat, fitsContext } from "./chat";
import type { QaItem, QaTemplate } from "../data/qa";
import { Rng } from "../rng";
import { BOS, EOS } from "../data/sample";
import type { Tokenizer } from "../tokenizer/types";
import { EpochSampler } from "./sampler";

// ---------------------------------------------------------------- batches

/**
 * Draws batches of chat sequences: every example once per epoch, in an order shuffled from the seed and the epoch
 * number (EpochSampler), each batch padded to its longest sequence (collateChat).
 */
export class ChatSampler extends EpochSampler<ChatBatch> {
  constructor(
    examples: readonly EncodedChat[],
    readonly batchSize: number,
    seed: number,
    readonly blockSize: number,
    readonly padId: number,
  ) {
    super("ChatSampler", seed, batchSize, () => ({ count: examples.length }), (items) => collateChat(items.map((i) => examples[i]), blockSize, padId));
    if (examples.length === 0) throw new Error("ChatSampler: no training examples (were they all longer than the context?)");
    examples.forEach((e, i) => {
      if (!fitsContext(e, blockSize)) throw new Error(`ChatSampler: example ${i} has ${e.ids.length} tokens, more than blockSize ${blockSize} + 1`);
    });
    this.begin();
  }
}

/** Encoded examples that fit a context of `blockSize`, and how many did not. */
export interface EncodedChatData<E extends ChatExample = ChatExample> {
  readonly encoded: EncodedChat[];
  /** The examples kept, in the same order as `encoded`. */
  readonly kept: E[];
  /** Examples dropped because their sequence is longer than blockSize + 1. */
  readonly dropped: number;
}

/** Encodes examples in the chat format and keeps those that fit the model's context. */
export function encodeChatData<E extends ChatExample>(tokenizer: ChatTokenizer, examples: readonly E[], blockSize: number): EncodedChatData<E> {
  const encoded: EncodedChat[] = [];
  const kept: E[] = [];
  for (const ex of examples) {
    const e = encodeChat(tokenizer, ex);
    if (!fitsContext(e, blockSize)) continue;
    encoded.push(e);
    kept.push(ex);
  }
  return { encoded, kept, dropped: examples.length - kept.length };
}

/**
 * Pretraining text read again during SFT (replay): each sample as the base model read it, `<s>…</s>`, learned at
 * every token but the first, in the same batches as the questions. Fine-tuning a small model on questions alone
 * moves every weight towards the chat format and erases what pretraining stored (chapter 6 measures it); mixing
 * in some of what it read keeps that in place, as InstructGPT mixed pretraining gradients into its RLHF updates.
 * Samples longer than the context are left out.
 * @example replayExamples(tok, ["<s>床前明月光，疑是地上霜。——李白《静夜思》</s>"], 128)[0].lossMask  // [0, 1, 1, …]
 */
export function replayExamples(tokenizer: Pick<Tokenizer, "encode">, samples: readonly string[], blockSize: number): EncodedChat[] {
  const out: EncodedChat[] = [];
  for (const s of samples) {
    const ids = tokenizer.encode(s, { allowedSpecial: [BOS, EOS] });
    if (ids.length < 2 || ids.length - 1 > blockSize) continue;
    out.push({ ids, lossMask: ids.map((_, i) => (i === 0 ? 0 : 1)) });
  }
  return out;
}

// ---------------------------------------------------------------- which questions

/**
 * SFT's examples (SftSettings says how many of each): the corpus's training questions of `corpusTemplates` (null:
 * all; at most `corpusQuestions`, or `maxTrain` of the mix, drawn with the data seed) and `anthologyRepeat` copies of
 * the anthology's; the validation loss is taken on held-out
 * anthology questions when the anthology is trained on, else on held-out corpus questions.
 */
export function sftExamples(
  corpusItems: readonly QaItem[],
  anthologyItems: readonly QaItem[],
  settings: { readonly anthologyRepeat: number; readonly corpusQuestions: number | null; readonly corpusTemplates?: readonly QaTemplate[] | null; readonly dataSeed: number },
  maxTrain?: number,
): { train: QaItem[]; validation: QaItem[]; corpusTrain: number; anthologyTrain: number } {
  const templates = settings.corpusTemplates ?? null;
  let corpus = corpusItems.filter((q) => q.split === "train" && (templates === null || templates.includes(q.template)));
  if (settings.corpusQuestions !== null && corpus.length > settings.corpusQuestions) corpus = new Rng(settings.dataSeed).shuffle([...corpus]).slice(0, settings.corpusQuestions);
  const anthology = anthologyItems.filter((q) => q.split === "train");
  let train = [...corpus, ...Array.from({ length: settings.anthologyRepeat }, () => anthology).flat()];
  if (maxTrain !== undefined) train = new Rng(settings.dataSeed).shuffle(train).slice(0, maxTrain);
  const heldAnthology = settings.anthologyRepeat > 0 ? anthologyItems.filter((q) => q.split === "heldout") : [];
  const validation = new Rng(settings.dataSeed + 1).shuffle([...(heldAnthology.length ? heldAnthology : corpusItems.filter((q) => q.split === "heldout"))]);
  return { train, validation, corpusTrain: corpus.length, anthologyTrain: anthology.length };
}
