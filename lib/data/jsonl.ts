/**
 * JSON Lines: one JSON value per line, the format of every dataset in the course.
 *
 *   {"text": "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>"}
 *   {"text": "<s>春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。</s>"}
 *
 * Why JSONL and not one big JSON array: a reader can stream it line by line (a corpus never has to sit in
 * memory whole, let alone twice: once as text and once parsed), a writer can append sample after sample,
 * and a broken line spoils only itself, with a line number that says where to look.
 *
 * Reading is strict by default: the first malformed line stops the read with an error that names the file,
 * the line and what was wrong. With `skipInvalid` bad lines are skipped and counted instead, for data you
 * did not write yourself. Writing is atomic (see lib/io/atomic.ts): a crash never leaves half a dataset.
 */
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { AtomicFile, openAtomic } from "../io/atomic";

/** A malformed line: `line 17 of poems.jsonl: missing field 'text'`. */
export class JsonlError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line} of ${displayPath(file)}: ${problem}`);
    this.name = "JsonlError";
  }
}

/** A path short enough to read in a message: relative to the working folder when inside it. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}

/** A validator turns a parsed line into a typed record, or throws an Error saying what is wrong with it. */
export type Validator<T> = (value: unknown) => T;

export interface ReadJsonlOptions<T> {
  /** Checks and types each parsed value, e.g. `(v) => stringField(expectObject(v), "text")`. */
  readonly validate?: Validator<T>;
  /** Skip malformed lines (counting them in `reader.skipped`) instead of throwing at the first one. */
  readonly skipInvalid?: boolean;
  /** How many skipped-line messages to keep in `reader.errors` (default 20): enough to see the pattern. */
  readonly keepErrors?: number;
}

/**
 * A streaming JSONL reader: iterate it with `for await`. After (or during) the loop, `lines`, `records`,
 * `skipped` and `errors` tell what was read. Iterating it a second time reads the file again.
 */
export class JsonlReader<T> implements AsyncIterable<T> {
  /** Lines read so far (including skipped ones). */
  lines = 0;
  /** Records yielded so far. */
  records = 0;
  /** Malformed lines skipped so far (only with `skipInvalid`). */
  skipped = 0;
  /** The first few skipped lines' messages, `line 3 of x.jsonl: invalid JSON: …`. */
  readonly errors: string[] = [];

  constructor(
    readonly file: string,
    private readonly options: ReadJsonlOptions<T> = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    const { validate, skipInvalid = false, keepErrors = 20 } = this.options;
    this.lines = this.records = this.skipped = 0;
    this.errors.length = 0;
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.file, "r");
    } catch (e) {
      throw new Error(`cannot read ${displayPath(this.file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    // readline splits the byte stream into lines as it arrives (\n or \r\n), so memory holds one chunk, not the file.
    const rl = readline.createInterface({ input: handle.createReadStream({ encoding: "utf8" }), crlfDelay: Infinity });
    try {
      for await (const raw of rl) {
        const n = ++this.lines;
        const line = n === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw; // a BOM some editors add
        let value: T;
        try {
          value = parseLine(line, validate);
        } catch (e) {
          const err = new JsonlError(this.file, n, (e as Error).message);
          if (!skipInvalid) throw err;
          this.skipped++;
          if (this.errors.length < keepErrors) this.errors.push(err.message);
          continue;
        }
        this.records++;
        yield value;
      }
    } finally {
      rl.close();
      await handle.close().catch(() => undefined);
    }
  }
}

function parseLine<T>(line: string, validate: Validator<T> | undefined): T {
  if (line.trim() === "") throw new Error("empty line (JSON Lines has one JSON value on every line)");
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    const snippet = line.length > 60 ? line.slice(0, 60) + "…" : line;
    throw new Error(`invalid JSON: ${(e as Error).message} in ${JSON.stringify(snippet)}`);
  }
  return validate ? validate(value) : (value as T);
}

/**
 * Reads a JSONL file as a stream of records.
 * @example
 *   for await (const row of readJsonl("datasets/poems/train.jsonl")) console.log(row);
 *   const r = readJsonl(file, { skipInvalid: true });
 *   for await (const row of r) use(row);
 *   console.log(`${r.skipped} bad lines`, r.errors);
 */
export function readJsonl<T = unknown>(file: string, options: ReadJsonlOptions<T> = {}): JsonlReader<T> {
  return new JsonlReader(file, options);
}

/** Checks that a parsed line is a JSON object (not an array, string or null). */
export function expectObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`expected a JSON object, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** `obj[name]` as a string, or an error "missing field 'text'" / "field 'text' must be a string, got number". */
export function stringField(obj: Record<string, unknown>, name: string): string {
  const v = obj[name];
  if (v === undefined) throw new Error(`missing field '${name}'`);
  if (typeof v !== "string") throw new Error(`field '${name}' must be a string, got ${v === null ? "null" : typeof v}`);
  return v;
}

/** `obj[name]` as an array of strings, with the same kind of errors as {@link stringField}. */
export function stringArrayField(obj: Record<string, unknown>, name: string): string[] {
  const v = obj[name];
  if (v === undefined) throw new Error(`missing field '${name}'`);
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new Error(`field '${name}' must be an array of strings`);
  return v as string[];
}

/**
 * Writes records one per line, atomically. Open it, `write` records, then `commit` (or `abort`).
 * `writeLine` takes an already formatted line, for formats that fix the exact bytes (see sample.ts).
 */
export class JsonlWriter<T = unknown> {
  /** Records written so far. */
  count = 0;

  private constructor(
    private readonly out: AtomicFile,
    private readonly stringify: (item: T) => string,
  ) {}

  static async open<T>(file: string, stringify: (item: T) => string = (x) => JSON.stringify(x)): Promise<JsonlWriter<T>> {
    return new JsonlWriter<T>(await openAtomic(file), stringify);
  }

  /** The file that appears on commit. */
  get path(): string {
    return this.out.path;
  }

  async write(item: T): Promise<void> {
    await this.writeLine(this.stringify(item));
  }

  async writeLine(line: string): Promise<void> {
    // JSON.stringify escapes newlines inside strings, so a line break here would be a bug in a custom stringify.
    if (/[\r\n]/.test(line)) throw new Error(`record ${this.count + 1} for ${displayPath(this.path)} contains a line break`);
    await this.out.write(line + "\n");
    this.count++;
  }

  commit(): Promise<void> {
    return this.out.commit();
  }

  abort(): Promise<void> {
    return this.out.abort();
  }
}

/** Opens a streaming, atomic JSONL writer. */
export function openJsonl<T = unknown>(file: string, stringify?: (item: T) => string): Promise<JsonlWriter<T>> {
  return JsonlWriter.open<T>(file, stringify);
}

/**
 * Writes every record of `items` (an array, a generator or an async generator) to `file`, atomically:
 * if `items` throws halfway, the previous file is left as it was.
 * @returns how many records were written
 * @example await writeJsonl("out.jsonl", [{ text: "<s>床前明月光</s>" }])
 */
export async function writeJsonl<T>(file: string, items: Iterable<T> | AsyncIterable<T>, options: { stringify?: (item: T) => string } = {}): Promise<number> {
  const w = await openJsonl<T>(file, options.stringify);
  try {
    for await (const item of items) await w.write(item);
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
  return w.count;
}

/**
 * The first `n` records of a stream, reading no further (the file is closed at once).
 * Handy in a notebook, where a top-level `for await` is not available.
 * @example await head(readSamples(corpus.files.train), 3) // the first three samples
 */
export async function head<T>(items: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  if (n <= 0) return out;
  for await (const item of items) {
    out.push(item);
    if (out.length >= n) break;
  }
  return out;
}
