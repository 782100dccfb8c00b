/**
 * 词语接龙: what pretraining is for. A model that has read enough poems, given 床前明月, continues with 光 — the
 * book's "合乎常识的词语接龙". This file measures it on well-known first lines: the model's greedy continuation, and
 * the probability it gives to the expected next character.
 *
 * Characters are not tokens, so "the probability of the next character" needs care. The course's byte-level BPE cuts
 * 红豆生南国 as 红|豆|生|南国: in training the model saw "南国" as ONE token, and hardly ever the token 南 followed by
 * the token 国. Asking for the token after 红|豆|生|南 would measure the tokenizer's cut, not what the model knows.
 * And a small vocabulary splits rarer characters into byte pieces (午 = E5 8D | 88), so that no single token is the
 * next character at all. So we ask about text instead of tokens (the idea is known as "token healing"):
 *
 *   1. back the prompt off to before its last character:   <s>|红|豆|生   and the text s = "南" still to come
 *   2. P(next character is 国 | 红豆生南) = P(text goes on with "南国" | <s>红豆生) / P(text goes on with "南" | <s>红豆生)
 *   3. P(text goes on with t | context) = Σ over tokens v of
 *        P(v | context)                                      if v's bytes start with all of t   ("南国", "南国之")
 *        P(v | context) · P(text goes on with t minus v | context + v)   if v is a shorter piece of t ("南", byte E5)
 *
 * Step 3 looks at every way of spelling t in tokens. There are few — t is a character or two, a handful of bytes,
 * and only tokens that fit the bytes count — and a way is followed only while its probability stays above
 * `minBranch` (1e-10), so a prompt costs at most dozens of model calls. With one token per character (a
 * character-level tokenizer) the result is simply the model's probability of that character's token (tested).
 *
 * The continuation is greedy in the same spirit: its first tokens are the most likely ones that spell s (here the
 * token 南国 can win over 南), then plain greedy decoding until the end of the sentence or </s>.
 */
import { generateIds, type GenerativeModel, nextTokenProbabilities } from "../generate";
import { utf8, utf8Decode } from "../tokenizer/bytes";
import type { Tokenizer } from "../tokenizer/types";

/**
 * Ten first lines everybody knows; each one's last character is what the model should continue with. Eight are in
 * 唐诗三百首, which pretraining reads many times (lib/train/mixture.ts); 锄禾日当午 and 两个黄鹂鸣翠柳 are only in
 * 全唐诗, once. (全唐诗 itself has Li Bai's 静夜思 in its Song-era wording, 床前看月光.)
 */
export const FAMOUS_FIRST_LINES: readonly string[] = Object.freeze([
  "床前明月光",
  "春眠不觉晓",
  "白日依山尽",
  "锄禾日当午",
  "离离原上草",
  "红豆生南国",
  "慈母手中线",
  "国破山河在",
  "两个黄鹂鸣翠柳",
  "朝辞白帝彩云间",
]);

/** What this file needs from a tokenizer. `tokenBytes` (every lib tokenizer has it) is needed for byte-level ones. */
export type SolitaireTokenizer = Pick<Tokenizer, "vocabSize" | "encode" | "decode" | "tokenToId"> & {
  /** Special token ids, which never spell text. */
  readonly specialTokens?: ReadonlyMap<string, number>;
  /** The bytes a token stands for; without it, the UTF-8 of decode([id]) (right when every token is whole characters). */
  tokenBytes?(id: number): Uint8Array;
};

export interface SolitaireOptions {
  /** Text before each prompt (default "<s>": first lines follow the start-of-sample marker, as in training). */
  readonly prefix?: string;
  /** At most this many new tokens in a continuation (default 24); it also ends at 。！？ or </s>. */
  readonly maxNewTokens?: number;
  /** Ways of spelling the text less likely than this are skipped (default 1e-10; see the file comment). */
  readonly minBranch?: number;
  /** Use the model's key/value cache while generating (default true). */
  readonly useCache?: boolean;
}

/** One row of the 词语接龙 table. */
export interface SolitaireRow {
  /** The line without its last character: 床前明月. */
  readonly prompt: string;
  /** The line's last character: 光. */
  readonly expected: string;
  /** The model's greedy continuation of the prompt, to the end of its sentence: 光，疑是地上霜。 */
  readonly continuation: string;
  /** The model's probability that the next character is `expected` (over all tokenizations, see the file comment). */
  readonly probability: number;
  /** Whether the continuation starts with `expected`. */
  readonly correct: boolean;
}

/** Sentence ends: a continuation stops after the first one. */
const SENTENCE_END = /[。！？]/;

type Vocabulary = readonly (Uint8Array | null)[];
const vocabularies = new WeakMap<object, Vocabulary>();

/** The bytes of every token id, null for special tokens (kept per tokenizer: a 6,400-entry table). */
function vocabulary(tok: SolitaireTokenizer): Vocabulary {
  let v = vocabularies.get(tok);
  if (!v) {
    const specials = new Set(tok.specialTokens?.values() ?? []);
    v = Array.from({ length: tok.vocabSize }, (_, id) => (specials.has(id) ? null : tok.tokenBytes ? tok.tokenBytes(id) : utf8(tok.decode([id]))));
    vocabularies.set(tok, v);
  }
  return v;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Probabilities of the next token after `ids`, remembered for the calls about one prompt. */
type Memo = Map<string, Float64Array>;
async function probabilities(model: GenerativeModel, ids: readonly number[], memo: Memo): Promise<Float64Array> {
  const key = ids.join(",");
  let p = memo.get(key);
  if (!p) memo.set(key, (p = await nextTokenProbabilities(model, ids)));
  return p;
}

/**
 * Splits `text` (which ends with the character `last` to be backed off) into the tokens before that character and
 * the text the backed-off tokens spelled. Tokens are dropped from the end until what remains ends before `last` and
 * on a character boundary: for 床|前|明月 and last 月 that drops 明月, leaving s = "明月".
 */
function backOff(tok: SolitaireTokenizer, text: string, lastLength: number): { context: number[]; rest: Uint8Array } {
  const full = utf8(text);
  const ids = tok.encode(text, { allowedSpecial: "all" });
  const lengths = ids.map((id) => (tok.tokenBytes ? tok.tokenBytes(id) : utf8(tok.decode([id]))).length);
  const total = lengths.reduce((a, b) => a + b, 0);
  if (total !== full.length) throw new Error(`solitaire: the tokens of "${text}" spell ${total} bytes, not ${full.length}: the tokenizer does not round-trip this text`);
  const keepAtMost = full.length - lastLength;
  const specials = new Set(vocabulary(tok).flatMap((b, id) => (b === null ? [id] : [])));
  let kept = ids.length;
  let keptLength = full.length;
  const midCharacter = (k: number) => k < full.length && (full[k] & 0xc0) === 0x80; // a UTF-8 continuation byte
  while (kept > 0 && !specials.has(ids[kept - 1]) && (keptLength > keepAtMost || midCharacter(keptLength))) {
    kept--;
    keptLength -= lengths[kept];
  }
  if (kept === 0) throw new Error(`solitaire: nothing is left of "${text}" to condition on after backing off its last character: give a prefix such as "<s>"`);
  if (keptLength > keepAtMost) throw new Error(`solitaire: "${text}" ends in a special token; the prompt must end with ordinary text`);
  return { context: ids.slice(0, kept), rest: full.subarray(keptLength) };
}

/** P(the text after `context` starts with `target`), summed over the ways of spelling `target` in tokens. */
async function continuesWith(
  model: GenerativeModel,
  vocab: Vocabulary,
  context: readonly number[],
  target: Uint8Array,
  pathProbability: number,
  minBranch: number,
  memo: Memo,
): Promise<number> {
  const probs = await probabilities(model, context, memo);
  let total = 0;
  for (let id = 0; id < vocab.length; id++) {
    const b = vocab[id];
    const p = probs[id];
    if (b === null || b.length === 0 || !(p > 0)) continue;
    if (b.length >= target.length) {
      if (startsWith(b, target)) total += p; // the token spells all of the target (and maybe more)
    } else if (startsWith(target, b) && pathProbability * p >= minBranch) {
      // The token spells the first part of the target: the rest must follow it.
      total += p * (await continuesWith(model, vocab, [...context, id], target.subarray(b.length), pathProbability * p, minBranch, memo));
    }
  }
  return total;
}

/**
 * The model's probability that the character after `text` is `next`, whatever tokens spell them (see the file
 * comment). `text` usually starts with "<s>".
 * @example await nextCharacterProbability(model, tok, "<s>床前明月", "光")   // ≈ 0.9 for a well-trained model
 */
export async function nextCharacterProbability(
  model: GenerativeModel,
  tok: SolitaireTokenizer,
  text: string,
  next: string,
  options: Pick<SolitaireOptions, "minBranch"> = {},
): Promise<number> {
  return characterProbability(model, tok, text, next, options.minBranch ?? 1e-10, new Map());
}

async function characterProbability(model: GenerativeModel, tok: SolitaireTokenizer, text: string, next: string, minBranch: number, memo: Memo): Promise<number> {
  if ([...next].length !== 1) throw new Error(`nextCharacterProbability: "${next}" must be exactly one character`);
  const chars = [...text];
  if (chars.length === 0) throw new Error("nextCharacterProbability: the text is empty");
  const { context, rest } = backOff(tok, text, utf8(chars[chars.length - 1]).length);
  const vocab = vocabulary(tok);
  const withNext = new Uint8Array(rest.length + utf8(next).length);
  withNext.set(rest);
  withNext.set(utf8(next), rest.length);
  const denominator = await continuesWith(model, vocab, context, rest, 1, minBranch, memo);
  if (!(denominator > 0)) return 0; // the model never writes the prompt's own last characters here
  return (await continuesWith(model, vocab, context, withNext, 1, minBranch, memo)) / denominator;
}

/** Greedy continuation of `text`, starting with the most likely tokens that spell its backed-off last character(s). */
async function healedGreedy(model: GenerativeModel, tok: SolitaireTokenizer, text: string, lastLength: number, options: SolitaireOptions, memo: Memo): Promise<string> {
  const { context, rest } = backOff(tok, text, lastLength);
  const vocab = vocabulary(tok);
  const ids = [...context];
  let left = rest;
  while (left.length > 0) {
    const probs = await probabilities(model, ids, memo);
    let best = -1;
    for (let id = 0; id < vocab.length; id++) {
      const b = vocab[id];
      if (b === null || b.length === 0) continue;
      const fits = b.length >= left.length ? startsWith(b, left) : startsWith(left, b);
      if (fits && (best < 0 || probs[id] > probs[best])) best = id;
    }
    // Cannot happen: the prompt's own tokens spell `left`.
    if (best < 0) throw new Error(`solitaire: no token spells the end of "${text}"`);
    ids.push(best);
    const n = vocab[best]!.length;
    left = n >= left.length ? new Uint8Array(0) : left.subarray(n);
  }
  const eos = tok.tokenToId("</s>");
  const spelled = utf8Decode(rest).length; // the backed-off text, which the new text starts with
  const newText = () => tok.decode(ids.slice(context.length)).slice(spelled);
  if (!SENTENCE_END.test(newText())) {
    const stream = generateIds(model, ids, { temperature: 0, maxNewTokens: options.maxNewTokens ?? 24, stopIds: eos === undefined ? [] : [eos], useCache: options.useCache });
    for await (const t of stream) {
      ids.push(t.id);
      if (SENTENCE_END.test(newText())) break;
    }
  }
  const out = newText();
  const end = out.search(SENTENCE_END);
  return (end >= 0 ? out.slice(0, end + 1) : out).replace(/\uFFFD+$/, ""); // a cut may leave half a character
}

/**
 * The 词语接龙 table: for each line, the model continues the line without its last character, and says how likely
 * that character is next.
 * @example table(await solitaireTable(model, tok))   // prompt 床前明月, expected 光, continuation 光，疑是地上霜。, …
 */
export async function solitaireTable(
  model: GenerativeModel,
  tok: SolitaireTokenizer,
  lines: readonly string[] = FAMOUS_FIRST_LINES,
  options: SolitaireOptions = {},
): Promise<SolitaireRow[]> {
  const prefix = options.prefix ?? "<s>";
  const minBranch = options.minBranch ?? 1e-10;
  const rows: SolitaireRow[] = [];
  for (const [i, line] of lines.entries()) {
    const chars = [...line];
    if (chars.length < 2) throw new Error(`solitaireTable: line ${i} "${line}" needs at least two characters (a prompt and the expected next one)`);
    const prompt = chars.slice(0, -1).join("");
    const expected = chars[chars.length - 1];
    const memo: Memo = new Map(); // the probability and the continuation share their first model calls
    const probability = await characterProbability(model, tok, prefix + prompt, expected, minBranch, memo);
    const continuation = await healedGreedy(model, tok, prefix + prompt, utf8(chars[chars.length - 2]).length, options, memo);
    rows.push({ prompt, expected, continuation, probability, correct: continuation.startsWith(expected) });
  }
  return rows;
}
