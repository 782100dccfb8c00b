/**
 * 样本格式: one training sample is one JSON object on one line, its text wrapped in special tokens.
 *
 *   {"text": "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>"}
 *
 * `<s>` marks where a text begins and `</s>` where it ends. They are symbols we define ourselves (the tokenizer
 * of chapter 2 gives each one id of its own): with them the model learns where a poem starts and, just as
 * important, when to stop writing. One poem is one sample.
 */
import { expectObject, JsonlReader, readJsonl, stringField } from "./jsonl";

/** Begin-of-sequence marker. */
export const BOS = "<s>";
/** End-of-sequence marker. */
export const EOS = "</s>";

/**
 * Wraps a poem's lines into a sample's text.
 * @example toSample(["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"])
 *          // "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>"
 */
export function toSample(paragraphs: readonly string[]): string {
  return BOS + paragraphs.join("") + EOS;
}

/**
 * The sample's JSONL line, byte for byte as the book prints it: `{"text": "…"}` with a space after the colon
 * and Chinese characters as they are (not \u escapes).
 * @example sampleLine("<s>春眠不觉晓</s>") // '{"text": "<s>春眠不觉晓</s>"}'
 */
export function sampleLine(text: string): string {
  return `{"text": ${JSON.stringify(text)}}`;
}

/**
 * The text inside the markers of one sample.
 * @example sampleBody("<s>春眠不觉晓</s>") // "春眠不觉晓"
 */
export function sampleBody(sample: string): string {
  if (!sample.startsWith(BOS) || !sample.endsWith(EOS)) throw new Error(`not a sample (no ${BOS}…${EOS}): ${JSON.stringify(sample.slice(0, 40))}`);
  return sample.slice(BOS.length, sample.length - EOS.length);
}

/**
 * Reads the samples' texts (`<s>…</s>`) of a JSONL file such as datasets/poems/train.jsonl, as a stream.
 * A line without a string field `text` is an error that names the file and line.
 * @example for await (const text of readSamples(corpus.files.train)) count += text.length;
 */
export function readSamples(file: string, options: { skipInvalid?: boolean } = {}): JsonlReader<string> {
  return readJsonl(file, { ...options, validate: (v) => stringField(expectObject(v), "text") });
}
