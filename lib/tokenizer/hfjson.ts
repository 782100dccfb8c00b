/**
 * Hugging Face's tokenizer.json: one JSON file that holds a whole tokenizer (normalizer, pre-tokenizer, model,
 * decoder, special tokens). Saving in this format makes the course's tokenizers usable outside the course:
 * `Tokenizer.from_file("tokenizer.json")` in Python, `tokenizers` or `@huggingface/tokenizers` in JavaScript.
 *
 * This file reads it back with errors that say what is wrong and where: a truncated download, a file from a
 * different kind of tokenizer, a merge that names a token missing from the vocabulary.
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomicSync } from "../io/atomic";

/** The file name Hugging Face uses. */
export const TOKENIZER_FILE = "tokenizer.json";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A tokenizer.json that cannot be used, with where the problem is: "tokenizer.json: model.vocab: missing". */
export class TokenizerFileError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "TokenizerFileError";
  }
}

/** Parses tokenizer.json text, saying clearly when it is not JSON (often: the file was cut off). */
export function parseTokenizerJSON(text: string, file = TOKENIZER_FILE): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const truncated = text.trim() === "" || !/[}\]]\s*$/.test(text);
    throw new TokenizerFileError(
      file,
      truncated
        ? `not a complete JSON document (${text.length} characters, ends with ${JSON.stringify(text.slice(-20))}): the file looks truncated`
        : `not valid JSON: ${(e as Error).message}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TokenizerFileError(file, `expected a JSON object at the top, found ${Array.isArray(value) ? "an array" : typeof value}`);
  }
  return value as JsonObject;
}

/** Reads `dir/tokenizer.json` (or the file itself when given one). */
export function readTokenizerJSON(dirOrFile: string): { json: JsonObject; file: string } {
  const file = fs.existsSync(dirOrFile) && fs.statSync(dirOrFile).isDirectory() ? path.join(dirOrFile, TOKENIZER_FILE) : dirOrFile;
  if (!fs.existsSync(file)) throw new Error(`no tokenizer at ${file}: train one first, or check the path`);
  if (fs.statSync(file).isDirectory()) throw new Error(`${file} is a folder; the tokenizer file (tokenizer.json) was expected there`);
  return { json: parseTokenizerJSON(fs.readFileSync(file, "utf8"), file), file };
}

/** Writes `dir/tokenizer.json` atomically (never half a file, even if the process dies) and returns its path. */
export function writeTokenizerJSON(dir: string, json: object): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, TOKENIZER_FILE);
  writeFileAtomicSync(file, JSON.stringify(json, null, 1) + "\n");
  return file;
}

/** Typed access to a parsed tokenizer.json, each failure naming the field: "model.vocab: expected an object". */
export class JsonReader {
  constructor(readonly file: string) {}

  fail(where: string, problem: string): never {
    throw new TokenizerFileError(this.file, `${where}: ${problem}`);
  }

  field(obj: JsonObject, key: string, where: string): Json {
    if (!(key in obj)) this.fail(`${where}.${key}`.replace(/^\./, ""), "missing");
    return obj[key];
  }

  object(v: Json | undefined, where: string): JsonObject {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(where, `expected an object, found ${describe(v)}`);
    return v;
  }

  array(v: Json | undefined, where: string): Json[] {
    if (!Array.isArray(v)) this.fail(where, `expected an array, found ${describe(v)}`);
    return v;
  }

  string(v: Json | undefined, where: string): string {
    if (typeof v !== "string") this.fail(where, `expected a string, found ${describe(v)}`);
    return v;
  }

  number(v: Json | undefined, where: string): number {
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(where, `expected a number, found ${describe(v)}`);
    return v;
  }

  id(v: Json | undefined, where: string): number {
    const n = this.number(v, where);
    if (!Number.isInteger(n) || n < 0) this.fail(where, `expected a non-negative integer id, found ${n}`);
    return n;
  }

  /** The model object, checking its "type" is the one expected. */
  model(json: JsonObject, type: string): JsonObject {
    const model = this.object(this.field(json, "model", ""), "model");
    const t = model.type;
    if (t !== type) this.fail("model.type", `expected "${type}", found ${describe(t)}`);
    return model;
  }

  /**
   * The special tokens (added_tokens), which this library numbers right after the model's vocabulary:
   * returns their texts in id order, checking the ids are `modelSize`, `modelSize + 1`, …
   */
  specials(json: JsonObject, modelSize: number): string[] {
    const list = this.array(json.added_tokens ?? [], "added_tokens");
    const out: string[] = [];
    const entries = list.map((t, i) => {
      const o = this.object(t, `added_tokens[${i}]`);
      return { id: this.id(o.id, `added_tokens[${i}].id`), content: this.string(o.content, `added_tokens[${i}].content`) };
    });
    entries.sort((a, b) => a.id - b.id);
    entries.forEach((e, i) => {
      if (e.id !== modelSize + i) {
        this.fail("added_tokens", `token "${e.content}" has id ${e.id}, but special tokens must follow the model's ${modelSize} ids in order (expected ${modelSize + i})`);
      }
      out.push(e.content);
    });
    return out;
  }
}

function describe(v: Json | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

/** The largest vocabulary a tokenizer.json may have: 1M ids (GPT-4's has 100K); more is a damaged file. */
export const MAX_VOCAB_SIZE = 1_000_000;

/**
 * Checks what every kind shares before a tokenizer is built from the file: no normalizer (this library applies
 * none, so one in the file would be silently skipped and the ids would differ from Hugging Face's), and a
 * vocabulary whose ids run 0…n−1 without a gap or a repeat (a gap leaves an id that decodes to nothing).
 */
export function checkTokenizerJSON(json: JsonObject, file = TOKENIZER_FILE): void {
  const r = new JsonReader(file);
  const normalizer = json.normalizer;
  if (normalizer !== undefined && normalizer !== null) {
    const type = typeof normalizer === "object" && !Array.isArray(normalizer) ? normalizer.type : normalizer;
    r.fail("normalizer", `type ${describe(type)} is not supported: this library applies no normalizer (expected null)`);
  }
  const model = r.object(r.field(json, "model", ""), "model");
  const vocab = model.vocab;
  if (vocab === undefined) return; // the model-specific reader names the missing field
  const size = Array.isArray(vocab) ? vocab.length : typeof vocab === "object" && vocab !== null ? Object.keys(vocab).length : 0;
  if (size > MAX_VOCAB_SIZE) r.fail("model.vocab", `${size.toLocaleString("en-US")} entries; allowed: 1 to ${MAX_VOCAB_SIZE.toLocaleString("en-US")}`);
  if (Array.isArray(vocab) || typeof vocab !== "object" || vocab === null) return; // Unigram: ids are positions, no gap possible
  const seen = new Array<string | undefined>(size);
  for (const [token, v] of Object.entries(vocab)) {
    const id = r.id(v, `model.vocab[${JSON.stringify(token)}]`);
    if (id >= size) {
      const missing = [...seen.keys()].find((i) => seen[i] === undefined && !Object.values(vocab).includes(i));
      r.fail(`model.vocab[${JSON.stringify(token)}]`, `id ${id}, but the ${size} ids must be 0 to ${size - 1} without gaps${missing === undefined ? "" : ` (no token has id ${missing})`}`);
    }
    if (seen[id] !== undefined) r.fail(`model.vocab[${JSON.stringify(token)}]`, `id ${id} is also used by ${JSON.stringify(seen[id])}`);
    seen[id] = token;
  }
}

/** The kind of tokenizer a tokenizer.json holds, as this library writes them. */
export function detectKind(json: JsonObject, file = TOKENIZER_FILE): "bpe" | "wordpiece" | "unigram" | "charbpe" {
  const r: JsonReader = new JsonReader(file);
  const model = r.object(r.field(json, "model", ""), "model");
  switch (model.type) {
    case "BPE":
      return typeof model.end_of_word_suffix === "string" && model.end_of_word_suffix !== "" ? "charbpe" : "bpe";
    case "WordPiece":
      return "wordpiece";
    case "Unigram":
      return "unigram";
    default:
      return r.fail("model.type", `expected "BPE", "WordPiece" or "Unigram", found ${describe(model.type)}`);
  }
}

/**
 * The parts of a tokenizer.json that differ between models; `tokenizerJSON` adds the fields every file has
 * (version, no truncation/padding/normalizer/post-processor) so the four models write one layout.
 */
export interface TokenizerJSONParts {
  readonly addedTokens: object[];
  readonly preTokenizer: object | null;
  readonly decoder: object;
  readonly model: object;
}

export function tokenizerJSON(parts: TokenizerJSONParts): object {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: parts.addedTokens,
    normalizer: null,
    pre_tokenizer: parts.preTokenizer,
    post_processor: null,
    decoder: parts.decoder,
    model: parts.model,
  };
}

/** token string → id, as the `vocab` object of a BPE or WordPiece model: ["a", "b"] → {a: 0, b: 1}. */
export function vocabObject(strings: readonly string[]): Record<string, number> {
  const vocab: Record<string, number> = {};
  strings.forEach((s, id) => (vocab[s] = id));
  return vocab;
}

/** The byte-level pre-tokenizer, after the optional regex pre-split (byte-level BPE and WordPiece). */
export function byteLevelPreTokenizer(split: object | null): object {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false };
  return split ? { type: "Sequence", pretokenizers: [split, byteLevel] } : byteLevel;
}
