/**
 * 推理模型训练 (chapter 10): teaching the model to write its reasoning before its answer.
 *
 * A reasoning model answers in two parts: first its working out between <think> and </think>, then the answer.
 * The common way to train one, as the book says, is black-box distillation on reasoning data: SFT on samples
 * whose answers carry the reasoning. Our "reasoning teacher" is a program (lib/data/reasoning.ts) that writes
 * correct traces for questions about the poems, so the stage is chapter 6's SFT on those samples, starting from
 * the SFT model.
 *
 * This file: the samples in the chat format and the reasoning stage (its base model, its two variants). The
 * verifiable reward is in reasoningReward.ts, the optional GRPO step in reasoningGrpo.ts, the evaluation in
 * lib/eval/reasoning.ts.
 */
import { isQuick, projectPath } from "../course";
import { fnv1a32 } from "../data/hash";
import { type ReasoningData, type ReasoningItem, type ReasoningTask, REASONING_TASKS, THINK_CLOSE, THINK_OPEN } from "../data/reasoning";
import { presetConfig } from "../model/config";
import { GPT } from "../model/gpt";
import { Rng } from "../rng";
import type { Tokenizer } from "../tokenizer/types";
import { type ChatTokenizer, chatTokenIds, type EncodedChat, fitsContext } from "./chat";
import { latestCheckpoint, readCheckpointMeta } from "./checkpoint";
import { copyModel, ensureStage, loadStage, type StageModel, type StageRunOptions, type StageStart } from "./handoff";
import { train } from "./loop";
import { pretrainSettings, pretrainStage } from "./pretrain";
import { coursePreset, type CoursePreset, hasStage, type StageName, stageDir } from "./registry";
import { ensureSft, runSft, sftSettings, sftStage } from "./sft";
import { corpusTokenStreams } from "./tokens";

/**
 * Text as ids, one character at a time: each character is encoded on its own, so it is one token (or the bytes of
 * one, for a character the vocabulary lacks) and never part of a multi-character token. <think> and </think> are
 * their special tokens.
 *
 * Why: the course's BPE merges frequent pairs (明月 is one token), and 20% of the last characters of lines 2 and 4
 * sit inside such a token. A trace step "write the last character" then asks the model to split a token it has only
 * ever seen whole, and the first full-size runs miscopied exactly there. Encoded by character, every step of a
 * trace copies tokens the model can see in the prompt. It costs little: the BPE gives only a little over one
 * character per token on poems. The tokenizer is unchanged; only how reasoning samples are cut into its tokens.
 * @example encodeByChar(tok, "明月") // [id of 明, id of 月], where tok.encode("明月") is one id
 */
export function encodeByChar(tokenizer: Pick<ChatTokenizer, "encode" | "tokenToId">, text: string): number[] {
  let cache = charIds.get(tokenizer);
  if (!cache) charIds.set(tokenizer, (cache = new Map()));
  const out: number[] = [];
  for (const part of text.split(/(<think>|<\/think>)/u)) {
    if (part === THINK_OPEN || part === THINK_CLOSE) {
      const id = tokenizer.tokenToId(part);
      if (id === undefined) throw new Error(`the tokenizer has no special token ${part}: reasoning needs chapter 2's reserved specials`);
      out.push(id);
      continue;
    }
    for (const ch of part) {
      let ids = cache.get(ch);
      if (!ids) cache.set(ch, (ids = tokenizer.encode(ch)));
      out.push(...ids);
    }
  }
  return out;
}
const charIds = new WeakMap<object, Map<string, number[]>>();

/**
 * How often the last character of a line is not a token of its own when the poem is cut by the tokenizer as usual
 * (tokenizer.encode): `inside` a token holding other characters too, or split into `bytes` (a character the
 * vocabulary lacks). The measurement behind encodeByChar. `lines` picks the lines (0-based) of each poem; the
 * default, 1 and 3, are the rhyme question's lines 2 and 4.
 * @example feetInsideTokens(tok, ["床前明月光，疑是地上霜。举头望明月，低头思故乡。"]) // { inside: 0, bytes: 0, of: 2 } if 霜 and 乡 are tokens
 */
export function feetInsideTokens(tokenizer: Pick<ChatTokenizer, "encode" | "decode">, poems: readonly string[], lines: readonly number[] = [1, 3]): { inside: number; bytes: number; of: number } {
  let inside = 0;
  let bytes = 0;
  let of = 0;
  const complete = (ids: readonly number[]) => [...tokenizer.decode(ids as number[])].filter((c) => c !== "\uFFFD").length;
  for (const text of poems) {
    if (text.includes("\uFFFD")) throw new Error(`feetInsideTokens: ${JSON.stringify(text.slice(0, 20))}… holds U+FFFD, which decoding cannot tell from a byte`);
    const ids = tokenizer.encode(text);
    // The characters each token completes: [start, end) in characters of the text (empty for a byte that ends none).
    const spans: [number, number][] = [];
    let at = 0;
    for (let k = 0; k < ids.length; k++) {
      const through = complete(ids.slice(0, k + 1));
      spans.push([at, through]);
      at = through;
    }
    const chars = [...text];
    const breaks = /[，。？！；]/u;
    const ends = chars.flatMap((c, k) => (breaks.test(c) && k > 0 && !breaks.test(chars[k - 1]) ? [k - 1] : []));
    for (const l of lines) {
      if (l >= ends.length) continue;
      of++;
      const k = spans.findIndex(([a, b]) => a <= ends[l] && ends[l] < b);
      const [a, b] = spans[k];
      if (b - a > 1) inside++;
      else if (tokenizer.decode([ids[k]]) !== chars[ends[l]]) bytes++;
    }
  }
  return { inside, bytes, of };
}

/**
 * The ids a reasoning model is given to answer `question`: chapter 6's chat prompt (<|user|> question <|end|>
 * <|assistant|>), with the question encoded character by character (encodeByChar) as in training.
 */
export function reasoningPrompt(tokenizer: ChatTokenizer, question: string): number[] {
  const special = chatTokenIds(tokenizer);
  return [special.user, ...encodeByChar(tokenizer, question), special.end, special.assistant];
}

/**
 * One reasoning sample in chapter 6's chat format, with <think> and </think> as the special tokens chapter 2
 * reserved for them (one id each, so the tags cost two tokens, not a dozen, and cannot be confused with text), and
 * the text encoded character by character (encodeByChar). Only the response is learned: the mask is 0 on the
 * prompt, 1 on the response and its closing <|end|>.
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
  if (example.prompt.includes(THINK_OPEN) || example.prompt.includes(THINK_CLOSE)) throw new Error(`encodeReasoningChat: the prompt contains a <think> tag: ${JSON.stringify(example.prompt.slice(0, 60))}`);
  const prompt = reasoningPrompt(tokenizer, example.prompt);
  const body = encodeByChar(tokenizer, example.response);
  return {
    ids: [...prompt, ...body, chatTokenIds(tokenizer).end],
    lossMask: [...prompt.map(() => 0), ...body.map(() => 1), 1],
  };
}

// ---------------------------------------------------------------- training

/** The sizes of the chapter's experiment. */
export interface ReasoningSettings {
  /** Training questions (the same ones for both models: with traces and with answers alone). */
  readonly questions: number;
  /** Fine-tuning steps of each model. */
  readonly steps: number;
  /** Questions per task and split asked in the evaluation (at least 300 at full size: a row's claim needs them). */
  readonly evalQuestions: number;
  /** New tokens a reply may have: room for the reasoning and the answer. */
  readonly maxNewTokens: number;
  /** Questions per batch (default: chapter 6's for the model's size). */
  readonly batchSize?: number;
  /** Peak learning rate (default: chapter 6's for the model's size). */
  readonly lr?: number;
}

/**
 * `course`: 2,000 steps of 32 (64,000 question presentations) from the training questions whose traced sample fits
 * the context (43,866 with the five default tasks: each seen about 1.5 times). It was 1,600 steps of the 32,172
 * questions of four tasks (1.6 times each) until the final question added 11,694; the steps grew with the data so
 * that each task is trained about as often as before. The first runs stopped at 360 steps: the traced model's validation loss fell from 1.74 at step 300 to
 * 0.74 at step 400 (the steps in which it learned to copy from the prompt), so 360 was too few; from chapter 6's
 * current SFT model the same fall comes between steps 800 and 900. More steps do not fix a step the model learns only
 * in some runs: with the character trace that read off "the character after the number j", runs of 1,600 and 2,400
 * steps and one with a warm restart answered 16.7–26.0%, two runs trained on from a checkpoint 85.3% and 97.3%
 * (notebook 10, 10.5); the trace that stops at j instead is what made the difference (lib/data/reasoning.ts).
 * `tiny`: quick mode.
 */
export const REASONING_PRESETS: Readonly<Record<"tiny" | "course", ReasoningSettings>> = Object.freeze({
  // The quick model must learn two new tokens (<think>, </think>) in 60 steps: a higher rate than chapter 6's.
  tiny: { questions: 400, steps: 60, evalQuestions: 4, maxNewTokens: 120, batchSize: 8, lr: 1e-2 },
  course: { questions: 50000, steps: 2000, evalQuestions: 300, maxNewTokens: 80, lr: 1e-3 },
});

export function reasoningSettings(preset: CoursePreset = coursePreset()): ReasoningSettings {
  return REASONING_PRESETS[preset];
}

/** The two models the chapter compares: fine-tuned on the traces, or on the same questions' answers alone. */
export type ReasoningVariant = "traces" | "answers";

/** Run folders: runs/reasoning (traces) and runs/reasoning-answers. */
export const REASONING_STAGES: Readonly<Record<ReasoningVariant, StageName>> = Object.freeze({ traces: "reasoning", answers: "reasoning-answers" });

/** What a variant learns to write for an item: `<think>…</think>answer`, or only the answer. */
export function reasoningTarget(item: ReasoningItem, variant: ReasoningVariant): { prompt: string; response: string } {
  return { prompt: item.prompt, response: variant === "traces" ? item.response : item.answer };
}

/**
 * The items whose traced sample fits a context of `blockSize` (so both variants train on the same questions: the
 * traced one is the longer), at most `max` of them, in order: encoding stops once enough are found.
 */
export function fittingReasoningItems(tokenizer: ChatTokenizer, items: readonly ReasoningItem[], blockSize: number, max = Infinity): ReasoningItem[] {
  const out: ReasoningItem[] = [];
  for (const it of items) {
    if (out.length >= max) break;
    if (fitsContext(encodeReasoningChat(tokenizer, it), blockSize)) out.push(it);
  }
  return out;
}

/** The context the quick-mode base model needs: the quick tokenizer spends about 1.2 tokens per character. */
export const QUICK_REASONING_CONTEXT = 192;

/**
 * The model chapter 10 starts from: chapter 6's SFT model (runs/sft). In quick mode the SFT model is the `tiny`
 * preset with a 32-token context, too short for any reasoning sample, so a tiny model with a
 * {@link QUICK_REASONING_CONTEXT}-token context is pretrained and fine-tuned briefly on the spot (stage
 * reasoning-base, through ensureStage like every stage): numbers from it mean nothing, but every step of the chapter runs.
 */
export async function ensureReasoningBase(tokenizer: Tokenizer, options: { start?: StageStart; log?: (line: string) => void } = {}): Promise<StageModel> {
  const { start, log = console.log } = options;
  if (!isQuick()) return ensureSft(tokenizer, { start, log });
  if (hasStage("sft")) {
    const sft = loadStage("sft", { tokenizer });
    if (sft.model.config.blockSize >= QUICK_REASONING_CONTEXT) return sft;
    sft.model.dispose();
  }
  return ensureStage("reasoning-base", {
    tokenizer,
    start,
    log,
    describe: `the SFT model's context is too short for reasoning samples: a tiny model with a ${QUICK_REASONING_CONTEXT}-token context`,
    train: async (resume) => {
      const data = await corpusTokenStreams(tokenizer);
      const model = new GPT(presetConfig("tiny", { vocabSize: tokenizer.vocabSize, blockSize: QUICK_REASONING_CONTEXT }), { seed: 1337 });
      try {
        // Its pretraining keeps no checkpoint (a few seconds); the SFT run is the stage's, and resumes like any.
        await train(pretrainStage(model, data, pretrainSettings("tiny")), { steps: 40, runDir: null, progress: "none" });
        await runSft({ tokenizer, preset: "tiny", model, steps: 60, runDir: stageDir("reasoning-base"), resume, progress: "none", log });
      } finally {
        model.dispose();
      }
    },
  });
}

/** The tasks of the training questions, in REASONING_TASKS order: what a reasoning stage records in its meta.json. */
export function reasoningDataTasks(data: ReasoningData): ReasoningTask[] {
  return REASONING_TASKS.filter((t) => data.train.some((it) => it.task === t));
}

/** What a reasoning stage was trained on, recorded in its meta.json: the tasks, and a hash of every training sample. */
export interface ReasoningTrainedOn {
  readonly tasks: ReasoningTask[];
  /** fnv1a32 of the training questions' prompts and targets (traces or answers alone), in order, as hex. */
  readonly data: string;
}

/**
 * The tasks and the fingerprint of the training samples of `variant`: a changed trace (chapter 10 changed the final
 * question's) changes the traced variant's fingerprint but not the answers-alone one's.
 */
export function reasoningTrainedOn(data: ReasoningData, variant: ReasoningVariant): ReasoningTrainedOn {
  let h = 0;
  for (const it of data.train) {
    const t = reasoningTarget(it, variant);
    h = fnv1a32(`${h}|${it.task}|${t.prompt}|${t.response}`);
  }
  return { tasks: reasoningDataTasks(data), data: h.toString(16) };
}

/**
 * What {@link ensureStage} should do with a reasoning stage's checkpoint, given what the caller asked (`start`):
 * a checkpoint trained on other tasks or other samples than the data now has is trained again (it would be scored
 * on questions it never saw, or show the results of traces the chapter no longer writes: the rhyme questions were
 * added after the first runs, the final question's trace changed), and one that stopped before `steps` (Ctrl-C, a
 * crashed kernel) is continued rather than scored half-trained. Says why in the log when it overrides "load".
 */
export function reasoningStart(name: StageName, trainedOn: ReasoningTrainedOn, steps: number, start: StageStart, log: (line: string) => void): StageStart {
  const dir = latestCheckpoint(stageDir(name));
  if (!dir || start === "retrain") return start;
  const meta = readCheckpointMeta(dir);
  const had = meta.extra?.tasks;
  const where = projectPath(dir);
  const { tasks } = trainedOn;
  if (!(Array.isArray(had) && had.join(",") === tasks.join(","))) {
    log(`${name}: the checkpoint in ${where} was trained on tasks ${Array.isArray(had) ? had.join(", ") : "(not recorded)"}, the data now has ${tasks.join(", ")}: training again`);
    return "retrain";
  }
  if (meta.extra?.data !== trainedOn.data) {
    log(`${name}: the checkpoint in ${where} was trained on other samples (data ${String(meta.extra?.data ?? "(not recorded)")}, now ${trainedOn.data}: a trace changed): training again`);
    return "retrain";
  }
  if (start === "load" && meta.step < steps) {
    log(`${name}: the checkpoint in ${where} stopped at step ${meta.step} of ${steps}: training on`);
    return "resume";
  }
  return start;
}

export interface ReasoningRunOptions extends StageRunOptions {
  readonly tokenizer: Tokenizer;
  /** The reasoning data (ensureReasoningData()). */
  readonly data: ReasoningData;
  /** The model it starts from (ensureReasoningBase()); a copy is fine-tuned, this one is left as it is. */
  readonly base: StageModel;
  /** Overrides of the chapter's sizes (reasoningSettings()), e.g. from a notebook cell: { steps: 400, lr: 3e-3 }. */
  readonly settings?: Partial<ReasoningSettings>;
  /** What to do with a checkpoint that exists (ensureStage; default "load"). */
  readonly start?: StageStart;
  readonly log?: (line: string) => void;
}

/**
 * Fine-tunes a copy of the base model with chapter 6's SFT stage, on the traced samples ("traces": black-box
 * distillation of the program that wrote them) or on the same questions' answers alone ("answers"): stage
 * runs/reasoning or runs/reasoning-answers, through ensureStage (load, resume or train once, the same in quick and
 * full mode), with {@link reasoningStart}'s check that the checkpoint trained on the data's tasks and samples.
 * The caller disposes the model.
 * @example const traced = await ensureReasoningModel("traces", { tokenizer: tok, data, base });
 */
export async function ensureReasoningModel(variant: ReasoningVariant, options: ReasoningRunOptions): Promise<StageModel> {
  const { tokenizer, data, base, settings: overrides, start = "load", log = console.log, ...trainOptions } = options;
  const settings = { ...reasoningSettings(), ...overrides };
  const name = REASONING_STAGES[variant];
  const trainedOn = reasoningTrainedOn(data, variant);
  return ensureStage(name, {
    tokenizer,
    start: reasoningStart(name, trainedOn, settings.steps, start, log),
    log,
    describe: `${settings.steps} steps from ${projectPath(base.dir)}`,
    train: async (resume) => {
      const T = base.model.config.blockSize;
      const questions = fittingReasoningItems(tokenizer, new Rng(10).shuffle([...data.train]), T, settings.questions);
      const validation = fittingReasoningItems(tokenizer, data.heldout, T, 128);
      const encode = (items: readonly ReasoningItem[]) => items.map((it) => encodeReasoningChat(tokenizer, reasoningTarget(it, variant)));
      const model = copyModel(base.model, {}, base.dir);
      try {
        log(`${name}: ${questions.length.toLocaleString("en-US")} questions ${variant === "traces" ? "with reasoning traces" : "with answers alone"}, ${settings.steps} steps`);
        const s = sftSettings(coursePreset());
        const stage = sftStage(model, { train: encode(questions), validation: encode(validation) }, { ...s, batchSize: settings.batchSize ?? s.batchSize }, {
          name,
          from: "sft",
          tokenizer,
          info: { variant, ...trainedOn },
        });
        const lr = settings.lr === undefined ? {} : { lr: settings.lr, minLr: settings.lr / 10 };
        // reasoningStart checked the data before choosing to resume; more steps than the checkpoint had is its "training on".
        await train(stage, { steps: settings.steps, ...lr, ...trainOptions, resume, acceptChanges: resume });
      } finally {
        model.dispose();
      }
    },
  });
}
