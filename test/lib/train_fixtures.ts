/**
 * Small things the training and generation tests share: a character-level tokenizer with <s> and </s>, and a
 * handful of poems as sample JSONL. Hermetic: no corpus build and no trained tokenizer needed.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { type AllowedSpecial, ensureTokenStream, initBackend, readSamples, type TokenStream } from "tiaoyu";

export const POEMS = [
  "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
  "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
  "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
  "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。",
  "红豆生南国，春来发几枝。愿君多采撷，此物最相思。",
  "松下问童子，言师采药去。只在此山中，云深不知处。",
];

/** One id per character of `alphabet`, then <s> and </s>. Implements what lib/train and lib/generate use. */
export class CharTokenizer {
  readonly kind = "char";
  private readonly chars: string[];
  private readonly index: Map<string, number>;
  readonly specials = ["<s>", "</s>"];

  constructor(alphabet: string) {
    this.chars = [...new Set(alphabet)].sort();
    this.index = new Map(this.chars.map((c, i) => [c, i]));
  }

  get vocabSize(): number {
    return this.chars.length + this.specials.length;
  }

  encode(text: string, options: { allowedSpecial?: AllowedSpecial } = {}): number[] {
    const allowed = options.allowedSpecial ?? "none_raise";
    const ids: number[] = [];
    for (let i = 0; i < text.length; ) {
      const sp = this.specials.findIndex((s) => text.startsWith(s, i));
      if (sp >= 0 && (allowed === "all" || (Array.isArray(allowed) && allowed.includes(this.specials[sp])))) {
        ids.push(this.chars.length + sp);
        i += this.specials[sp].length;
        continue;
      }
      if (sp >= 0 && allowed === "none_raise") throw new Error(`special token ${this.specials[sp]} in text`);
      const id = this.index.get(text[i]);
      if (id === undefined) throw new Error(`character ${text[i]} not in the alphabet`);
      ids.push(id);
      i++;
    }
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (id) => (id < this.chars.length ? this.chars[id] : this.specials[id - this.chars.length])).join("");
  }

  tokenToId(token: string): number | undefined {
    const sp = this.specials.indexOf(token);
    return sp >= 0 ? this.chars.length + sp : this.index.get(token);
  }

  toJSON(): object {
    return { chars: this.chars, specials: this.specials };
  }
}

export function poemTokenizer(): CharTokenizer {
  return new CharTokenizer(POEMS.join(""));
}

/** Writes `poems` as sample JSONL (`{"text": "<s>…</s>"}` per line) into `dir/name` and returns the path. */
export function writeSamples(dir: string, name: string, poems: readonly string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, poems.map((p) => JSON.stringify({ text: `<s>${p}</s>` }) + "\n").join(""));
  return file;
}

/** What {@link poemRunFixture} sets up; its fields are filled in by the `before` hook. */
export interface PoemRunFixture {
  /** A fresh temporary folder (removed after the tests). */
  dir: string;
  /** Token streams of the train and validation poems, by {@link poemTokenizer}. */
  data: { train: TokenStream; validation: TokenStream };
}

/**
 * Registers `before`/`after` hooks in the current `describe`: the backend, a temporary folder with the poems as
 * train.jsonl and validation.jsonl, their token streams, and TIAOYU_RUNS_DIR pointed at <folder>/runs (the stages'
 * checkpoints go there; the old value is restored after).
 */
export function poemRunFixture(prefix: string, trainPoems: readonly string[], validationPoems: readonly string[]): PoemRunFixture {
  const fx = {} as PoemRunFixture;
  const tok = poemTokenizer();
  const restoreEnv = saveEnv(["TIAOYU_RUNS_DIR"]);
  before(async () => {
    await initBackend({ quiet: true });
    fx.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    process.env.TIAOYU_RUNS_DIR = path.join(fx.dir, "runs");
    const stream = (file: string) => ensureTokenStream(file, () => readSamples(file), tok);
    fx.data = {
      train: await stream(writeSamples(fx.dir, "train.jsonl", trainPoems)),
      validation: await stream(writeSamples(fx.dir, "validation.jsonl", validationPoems)),
    };
  });
  after(() => {
    restoreEnv();
    fs.rmSync(fx.dir, { recursive: true, force: true });
  });
  return fx;
}

/** A temporary folder whose runs/ the stages write to, for one `describe` (see {@link tempRunsDir}). */
export interface TempRunsDir {
  /** The folder; TIAOYU_RUNS_DIR is <dir>/runs while the describe's tests run. */
  dir: string;
}

/**
 * Registers `before`/`after` hooks in the current `describe`: a temporary folder, TIAOYU_RUNS_DIR pointed at
 * <folder>/runs; afterwards TIAOYU_RUNS_DIR and TIAOYU_QUICK (which tests may set) are restored and the folder removed.
 */
export function tempRunsDir(prefix: string): TempRunsDir {
  const fx = {} as TempRunsDir;
  const restoreEnv = saveEnv(["TIAOYU_QUICK", "TIAOYU_RUNS_DIR"]);
  before(() => {
    fx.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    process.env.TIAOYU_RUNS_DIR = path.join(fx.dir, "runs");
  });
  after(() => {
    restoreEnv();
    fs.rmSync(fx.dir, { recursive: true, force: true });
  });
  return fx;
}

/** Saves the named environment variables now; the function returned puts each back (unset if it was unset). */
export function saveEnv(keys: readonly string[]): () => void {
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  return () => setEnv(saved);
}

/** Sets each variable in `vars`, unsetting the ones whose value is undefined. */
export function setEnv(vars: Readonly<Record<string, string | undefined>>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/**
 * Runs `fn` with TIAOYU_RUNS_DIR pointed at a new temporary folder and the variables in `env` set (undefined: unset),
 * then restores every one of them and removes the folder, whether `fn` succeeded or threw.
 */
export async function withTempRuns<T>(prefix: string, fn: (runs: string) => Promise<T>, env: (runs: string) => Record<string, string | undefined> = () => ({})): Promise<T> {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const vars = { TIAOYU_RUNS_DIR: runs, ...env(runs) };
  const restoreEnv = saveEnv(Object.keys(vars));
  setEnv(vars);
  try {
    return await fn(runs);
  } finally {
    restoreEnv();
    fs.rmSync(runs, { recursive: true, force: true });
  }
}
