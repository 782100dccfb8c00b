/**
 * Chapter 9's comparison table: teacher and students on the same held-out questions — parameters, hard-label loss,
 * accuracy and generation speed.
 */
import * as tf from "@tensorflow/tfjs";
import { type GenerativeModel, generateIds } from "../generate";
import type { GPT } from "../model/gpt";
import { type ChatBatch, chatPrompt, type ChatTokenizer, collateChat, padId } from "../train/chat";
import { type DistillData, distillSettings } from "../train/distill";
import { evaluate } from "../train/loop";
import { evaluateQa, type QaEvaluation } from "./qa";

/**
 * The hard-label loss of a model on chat batches (mean cross-entropy over the answer tokens): the validation loss
 * of the comparison table, the same measure for teacher and students whatever they were trained with.
 */
export async function chatLoss(model: GPT, batches: Iterable<ChatBatch>): Promise<number> {
  return evaluate(
    {
      loss: (batch: ChatBatch) => {
        const shape: [number, number] = [batch.batchSize, batch.blockSize];
        return model.loss(tf.tensor2d(batch.ids, shape, "int32"), tf.tensor2d(batch.targets, shape, "int32"), { mask: tf.tensor2d(batch.mask, shape) });
      },
    },
    batches,
  );
}

/**
 * Generation speed in new tokens per second: greedy, with the KV cache, `tokens` new tokens after `prompt` (stop
 * tokens ignored, so every model writes the same number). After a warm-up, the best of `runs` runs: on a shared
 * machine the fastest run is the one least disturbed by other work.
 */
export async function generationSpeed(model: GenerativeModel, prompt: readonly number[], tokens = 32, runs = 3): Promise<number> {
  const run = async () => {
    const start = performance.now();
    let n = 0;
    for await (const _ of generateIds(model, prompt, { temperature: 0, maxNewTokens: tokens })) n++;
    return n / ((performance.now() - start) / 1000);
  };
  await run();
  let best = 0;
  for (let i = 0; i < runs; i++) best = Math.max(best, await run());
  return best;
}

/** One row of the comparison table (a type, not an interface, so that display's table() takes it as a row). */
export type DistillRow = {
  readonly 模型: string;
  readonly 参数量: number;
  /** Hard-label loss on held-out questions (nats per answer token). */
  readonly 验证损失: number;
  /** Held-out accuracy (exact match of the answer in 「」). */
  readonly 准确率: string;
  /** Greedy generation with the KV cache, new tokens per second. */
  readonly 生成速度: number;
};

/**
 * The comparison table: each model's parameters, validation loss, held-out accuracy and generation speed, on the
 * same questions. Also returns each model's replies, to show the student's answers beside the teacher's.
 */
export async function compareDistillation(
  models: Readonly<Record<string, GPT>>,
  tokenizer: ChatTokenizer,
  data: Pick<DistillData, "validation" | "evalSet">,
  options: { maxNewTokens?: number; speedPrompt?: string } = {},
): Promise<{ rows: DistillRow[]; evaluations: Record<string, QaEvaluation> }> {
  const rows: DistillRow[] = [];
  const evaluations: Record<string, QaEvaluation> = {};
  const pad = padId(tokenizer);
  const prompt = chatPrompt(tokenizer, options.speedPrompt ?? "《静夜思》的作者是谁？");
  for (const [name, model] of Object.entries(models)) {
    const T = model.config.blockSize;
    const batches: ChatBatch[] = [];
    for (let i = 0; i < data.validation.length; i += 32) batches.push(collateChat(data.validation.slice(i, i + 32), T, pad));
    const ev = await evaluateQa(model, tokenizer, data.evalSet, { maxNewTokens: options.maxNewTokens ?? distillSettings().maxNewTokens });
    evaluations[name] = ev;
    rows.push({
      模型: name,
      参数量: model.numParameters(),
      验证损失: Number((await chatLoss(model, batches)).toFixed(3)),
      准确率: `${(100 * ev.accuracy).toFixed(1)}%`,
      生成速度: Math.round(await generationSpeed(model, prompt, 32)),
    });
  }
  return { rows, evaluations };
}
