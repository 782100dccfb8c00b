/**
 * The chat format (对话格式): how a question and its answer are laid out for the model, in ONE place, used alike for
 * training (SFT, RLHF, distillation, reasoning), evaluation and generation. A model only answers well in the
 * exact format it was fine-tuned on, so nothing else in the course writes these markers by hand.
 *
 *   <|user|>《静夜思》的作者是谁？<|end|><|assistant|>作者是「李白」。<|end|>
 *   └──────────── prompt: given, never learned ──────────┘└── answer: learned ──┘
 *
 * The markers are special tokens that chapter 2's tokenizer reserved (one id each), so they can never be spelled out
 * by text: the question and answer are encoded with special-token text read as ordinary characters, and the
 * markers' ids are put in between, so a user who types "<|end|>" cannot end a turn.
 *
 * Loss mask (the SFT loss counts only the answer): for a training sequence the model predicts every next token,
 * but we want it to learn to *answer*, not to *ask*. Mask 1 marks the tokens it is trained to produce: the
 * answer's tokens and the closing <|end|> (so it learns to stop); the question and the <|assistant|> marker,
 * which the user side always supplies, get 0.
 *
 *   ids       <|user|>  《  静夜  思  》 …  <|end|>  <|assistant|>  作者  是  「  李白  」  。  <|end|>
 *   lossMask     0      0   0    0   0  …    0          0           1    1   1   1    1   1     1
 */
import { type GenerateOptions, type GenerativeModel, generateIds } from "../generate";
import type { Tokenizer } from "../tokenizer/types";

/** The special tokens of the chat format (reserved by chapter 2's tokenizer, see lib/tokenizer/specials.ts). */
export const CHAT_TOKENS = Object.freeze({
  system: "<|system|>",
  user: "<|user|>",
  assistant: "<|assistant|>",
  end: "<|end|>",
} as const);

export type ChatRole = "system" | "user" | "assistant";

/** One turn of a conversation. */
export interface ChatTurn {
  readonly role: ChatRole;
  readonly content: string;
}

/** A single-turn training example: the user's question and the assistant's answer (plain text, no markers). */
export interface ChatExample {
  readonly prompt: string;
  readonly answer: string;
}

/** What the chat functions need from a tokenizer (the course's BPE has it). */
export type ChatTokenizer = Pick<Tokenizer, "encode" | "decode" | "tokenToId" | "vocabSize">;

/**
 * The conversation as text, markers written out: for display, and for tokenizers that read special-token text.
 * With `generationPrompt`, an opening <|assistant|> is appended: the point where the model is asked to answer.
 * @example formatChat([{ role: "user", content: "问题" }, { role: "assistant", content: "答案" }])
 *          // "<|user|>问题<|end|><|assistant|>答案<|end|>"
 *          formatChat([{ role: "user", content: "问题" }], { generationPrompt: true })
 *          // "<|user|>问题<|end|><|assistant|>"
 */
export function formatChat(turns: readonly ChatTurn[], options: { generationPrompt?: boolean } = {}): string {
  let text = "";
  for (const t of turns) text += CHAT_TOKENS[t.role] + t.content + CHAT_TOKENS.end;
  return options.generationPrompt ? text + CHAT_TOKENS.assistant : text;
}

/** The ids of the four chat markers in `tokenizer`; throws, naming the missing one, if it lacks any. */
export function chatTokenIds(tokenizer: Pick<Tokenizer, "tokenToId">): Readonly<Record<ChatRole | "end", number>> {
  const out: Partial<Record<ChatRole | "end", number>> = {};
  for (const [role, text] of Object.entries(CHAT_TOKENS) as [ChatRole | "end", string][]) {
    const id = tokenizer.tokenToId(text);
    if (id === undefined) {
      throw new Error(`the tokenizer has no special token ${text}: the chat format needs chapter 2's reserved specials (DEFAULT_SPECIAL_TOKENS)`);
    }
    out[role] = id;
  }
  return Object.freeze(out as Record<ChatRole | "end", number>);
}

/** The id that pads batches: the tokenizer's <pad> (chapter 2 reserves it). */
export function padId(tokenizer: Pick<ChatTokenizer, "tokenToId">): number {
  const id = tokenizer.tokenToId("<pad>");
  if (id === undefined) throw new Error("the tokenizer has no <pad> token: batches need chapter 2's reserved specials");
  return id;
}

/** Encodes user or model text with every special-token text read as ordinary characters (no marker injection). */
function encodeText(tokenizer: ChatTokenizer, text: string): number[] {
  return tokenizer.encode(text, { allowedSpecial: "none" });
}

/** Token ids and loss mask of one training sequence; `lossMask[i]` says whether `ids[i]` is a token to learn. */
export interface EncodedChat {
  readonly ids: number[];
  readonly lossMask: number[];
}

/**
 * Encodes turns as ids with a loss mask that is 1 on the assistant's tokens and their closing <|end|>, 0 elsewhere.
 * Several turns are fine (every assistant turn is learned).
 */
export function encodeChatTurns(tokenizer: ChatTokenizer, turns: readonly ChatTurn[]): EncodedChat {
  const special = chatTokenIds(tokenizer);
  const ids: number[] = [];
  const lossMask: number[] = [];
  for (const t of turns) {
    const learn = t.role === "assistant" ? 1 : 0;
    ids.push(special[t.role]);
    lossMask.push(0); // the opening marker is given, not predicted (generation starts after it)
    for (const id of encodeText(tokenizer, t.content)) {
      ids.push(id);
      lossMask.push(learn);
    }
    ids.push(special.end);
    lossMask.push(learn); // an assistant learns to stop
  }
  return { ids, lossMask };
}

/**
 * One question–answer example as ids and loss mask (see the file comment).
 * @example encodeChat(tok, { prompt: "问题", answer: "答案" })
 *          // ids  [<|user|>, 问题…, <|end|>, <|assistant|>, 答案…, <|end|>]
 *          // mask [   0,      0…,     0,         0,          1…,      1   ]
 */
export function encodeChat(tokenizer: ChatTokenizer, example: ChatExample): EncodedChat {
  return encodeChatTurns(tokenizer, [
    { role: "user", content: example.prompt },
    { role: "assistant", content: example.answer },
  ]);
}

/**
 * The ids a model is given to answer `question`: the user turn and the opening <|assistant|>. Generation then
 * runs until the model writes <|end|> (use `chatStopIds`). Exactly the prefix of `encodeChat`'s ids.
 */
export function chatPrompt(tokenizer: ChatTokenizer, question: string, options: { system?: string } = {}): number[] {
  const special = chatTokenIds(tokenizer);
  const turns: ChatTurn[] = options.system === undefined ? [] : [{ role: "system", content: options.system }];
  turns.push({ role: "user", content: question });
  return [...encodeChatTurns(tokenizer, turns).ids, special.assistant];
}

/** The ids that end a reply: <|end|>, and </s> (what a model that was only pretrained writes at the end). */
export function chatStopIds(tokenizer: Pick<Tokenizer, "tokenToId">): number[] {
  const eos = tokenizer.tokenToId("</s>");
  return eos === undefined ? [chatTokenIds(tokenizer).end] : [chatTokenIds(tokenizer).end, eos];
}

/**
 * The answer inside a reply: the text of its first 「…」, where the course's answers put it ("作者是「李白」。" →
 * "李白"). A reply without 「」 gives null: a model that does not answer in the taught format scores zero,
 * however close its words (exact match is strict on purpose; it is what "learned to answer" means here).
 * @example extractAnswer("下一句是「疑是地上霜」。") // "疑是地上霜"
 *          extractAnswer("床前明月光，疑是地上霜")    // null
 */
export function extractAnswer(reply: string): string | null {
  const m = /「([^「」]*)」/u.exec(reply);
  return m ? m[1].trim() : null;
}

/** A padded batch of chat sequences for next-token training, row-major [batchSize, blockSize]. */
export interface ChatBatch {
  /** Model inputs: each sequence without its last token, then padId. */
  readonly ids: Int32Array;
  /** The next token at every position (ids shifted by one), padId on padding. */
  readonly targets: Int32Array;
  /** 1 where the target is a token to learn (the loss mask shifted like the targets), 0 on prompt and padding. */
  readonly mask: Float32Array;
  readonly batchSize: number;
  /** Columns of the batch: the longest sequence's length − 1 (≤ the model's blockSize). */
  readonly blockSize: number;
}

/**
 * Pads variable-length sequences into one batch. A sequence of n tokens gives n − 1 (input, target) pairs; the
 * batch is as wide as its longest one, so short batches cost less. Padding goes on the right: with causal
 * attention no real position ever looks at it, and its mask is 0, so it changes nothing.
 *
 *   ids     [a b c d e]      →  inputs  [a b c d]   targets [b c d e]   mask = lossMask[1…] = [0 0 1 1]
 *   lossMask[0 0 0 1 1]
 *
 * Throws when a sequence is longer than blockSize + 1 (filter the data first, e.g. with `fitsContext`).
 */
export function collateChat(examples: readonly EncodedChat[], blockSize: number, padId: number): ChatBatch {
  if (examples.length === 0) throw new Error("collateChat: no examples");
  let T = 0;
  examples.forEach((e, i) => {
    if (e.ids.length !== e.lossMask.length) throw new Error(`collateChat: example ${i} has ${e.ids.length} ids but ${e.lossMask.length} mask values`);
    if (e.ids.length < 2) throw new Error(`collateChat: example ${i} has ${e.ids.length} token(s); a training sequence needs at least 2`);
    if (e.ids.length - 1 > blockSize) {
      throw new Error(`collateChat: example ${i} has ${e.ids.length} tokens, longer than blockSize ${blockSize} + 1 (filter long examples first)`);
    }
    T = Math.max(T, e.ids.length - 1);
  });
  const B = examples.length;
  const ids = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  examples.forEach((e, b) => {
    for (let t = 0; t < e.ids.length - 1; t++) {
      ids[b * T + t] = e.ids[t];
      targets[b * T + t] = e.ids[t + 1];
      mask[b * T + t] = e.lossMask[t + 1];
    }
  });
  return { ids, targets, mask, batchSize: B, blockSize: T };
}

/** Whether an encoded example fits a model's context: at most blockSize + 1 tokens (inputs and the last target). */
export function fitsContext(example: EncodedChat, blockSize: number): boolean {
  return example.ids.length - 1 <= blockSize;
}

/** A model's reply to one question. */
export interface ChatReply {
  /** The reply's text (without the closing <|end|>). */
  readonly reply: string;
  /** `extractAnswer(reply)`: the part in 「」, or null. */
  readonly answer: string | null;
  readonly ids: readonly number[];
  /** "stop": the model closed its turn; "length": it ran into maxNewTokens. */
  readonly reason: "stop" | "length";
}

/**
 * Asks `model` one question in the chat format and reads its reply, greedily by default (temperature 0), so an
 * evaluation gives the same answers every time.
 * @example const r = await chatReply(model, tok, "「床前看月光」的下一句是什么？");  r.reply // "下一句是「疑是地上霜」。"
 */
export async function chatReply(
  model: GenerativeModel,
  tokenizer: ChatTokenizer,
  question: string,
  options: GenerateOptions & { system?: string } = {},
): Promise<ChatReply> {
  const { system, ...gen } = options;
  const maxNewTokens = gen.maxNewTokens ?? 32;
  const ids: number[] = [];
  const prompt = chatPrompt(tokenizer, question, { system });
  for await (const t of generateIds(model, prompt, { temperature: 0, stopIds: chatStopIds(tokenizer), ...gen, maxNewTokens })) ids.push(t.id);
  const reply = tokenizer.decode(ids);
  return { reply, answer: extractAnswer(reply), ids, reason: ids.length >= maxNewTokens ? "length" : "stop" };
}
