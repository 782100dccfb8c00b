/**
 * 自己的答案 (chapter 6): next-line questions about corpus poems, answered with what the base model itself writes.
 *
 * Why SFT needs them. Trained on the anthology's questions alone, the SFT model asked 「X」的下一句是什么？ answered
 * with some other poem's couplet: from about 4,000 training couplets it learned that an answer is a citation, not
 * that the citation starts with the line it was asked about. The corpus has tens of thousands more couplets to
 * practise that copy on, but answered with their true second line they teach the wrong lesson: the base read each
 * corpus poem once and mostly does not know how it goes on, so those answers are news to it, and the model learns
 * "copy the line, then make up the rest" (chapter 6 measures it). Answered instead with the base's own greedy
 * continuation of the line, the same questions teach only the form and no new fact:
 *
 *   the base reads     <s>{first}，            and writes   {second'}。
 *   SFT is taught      「{first}」的下一句是什么？  →  「{first}，{second'}」
 *
 * right or wrong, {second'} is what the model already "knows", so the answer says what it knows. This is the
 * same idea as distillation with the model as its own teacher (chapter 9): the data carries the format, the
 * knowledge stays the model's.
 *
 * The couplets come from the corpus's training poems and share no line with the anthology, so no held-out anthology
 * question is answered here. The answers depend on the base's weights: the cache (datasets/self-answers/) is keyed by
 * a hash of them.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { datasetsDir } from "../course";
import { poemLines } from "../data/form";
import { writeJsonl } from "../data/jsonl";
import { type CorpusInfo, readPoems } from "../data/pipeline";
import { anthology, canMixAnthology } from "./mixture";
import { type QaItem, qaSplitOf, readQa } from "../data/qa";
import { complete } from "../generate";
import type { GPT } from "../model/gpt";
import { Rng } from "../rng";
import type { Tokenizer } from "../tokenizer/types";

/** A couplet of a corpus poem: the line asked about and the poem's true next line (kept to compare, never trained on). */
export interface Couplet {
  readonly first: string;
  readonly second: string;
  readonly poemId: string;
}

/** Lines a question may quote: 4 to 9 characters, as in chapter 6's other next-line questions. */
function quotable(line: string): boolean {
  const n = [...line].length;
  return n >= 4 && n <= 9;
}

/**
 * The couplets (lines 1–2, 3–4, …) of the corpus's training poems whose two lines are quotable and appear in no poem
 * of `exclude` (the anthology's lines: its held-out questions must stay unseen).
 */
export async function corpusCouplets(corpus: Pick<CorpusInfo, "poemsFile">, exclude: ReadonlySet<string>): Promise<Couplet[]> {
  const out: Couplet[] = [];
  for await (const p of readPoems(corpus.poemsFile)) {
    if (qaSplitOf(p) !== "train") continue;
    const lines = poemLines(p.paragraphs);
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const [first, second] = [lines[i], lines[i + 1]];
      if (quotable(first) && quotable(second) && !exclude.has(first) && !exclude.has(second)) out.push({ first, second, poemId: p.id });
    }
  }
  return out;
}

/**
 * The base's continuation of `<s>{first}，` read as a next line: the text up to the first 。, if it is a quotable
 * line, with the source when the base goes on to cite one (——poet《title》). Null when the base writes something else.
 * @example parseContinuation("落日满秋山。——王维《归嵩山作》</s>")  // { line: "落日满秋山", source: "——王维《归嵩山作》" }
 */
export function parseContinuation(text: string): { line: string; source: string } | null {
  const m = /^([^，。？！「」《》<]{4,9})。(?:——([^《<。]{1,8})《([^》<]{1,20})》)?/u.exec(text);
  if (!m || !quotable(m[1])) return null;
  return { line: m[1], source: m[2] && m[3] ? `——${m[2]}《${m[3]}》` : "" };
}

/**
 * The question about `c` answered with the base's greedy continuation (see the file comment), or null when the base
 * does not continue with a line.
 */
export async function selfAnswer(model: GPT, tokenizer: Pick<Tokenizer, "encode" | "decode" | "tokenToId">, c: Couplet): Promise<QaItem | null> {
  const reply = await complete(model, tokenizer, `<s>${c.first}，`, { temperature: 0, maxNewTokens: 24 });
  const read = parseContinuation(reply.text);
  if (!read) return null;
  return { prompt: `「${c.first}」的下一句是什么？`, answer: `「${c.first}，${read.line}」${read.source}`, expected: read.line, template: "nextLine", poemId: c.poemId, split: "train" };
}

/** A short hash of a model's weights (names, shapes and values): what the cached answers depend on. */
export function weightsHash(model: GPT): string {
  const h = crypto.createHash("sha256");
  for (const [name, v] of [...model.parameters()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const values = v.dataSync() as Float32Array;
    h.update(`${name}${JSON.stringify(v.shape)}`).update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return h.digest("hex").slice(0, 16);
}

/**
 * Self-answered next-line questions on `count` corpus couplets drawn with `seed` (couplets the base does not continue
 * with a line are left out, so there are somewhat fewer), none sharing a line with `exclude` (default: the anthology's
 * lines, when the corpus has the anthology). Cached in datasets/self-answers/ by the base's weights, the corpus, the
 * count and the seed: generating them takes a few minutes at full size (one greedy line each).
 * @example const extra = await ensureSelfAnswers(base, tok, corpus, { count: 12_000, seed: 6 });
 */
export async function ensureSelfAnswers(
  model: GPT,
  tokenizer: Pick<Tokenizer, "encode" | "decode" | "tokenToId">,
  corpus: CorpusInfo,
  options: { readonly count: number; readonly seed: number; readonly exclude?: ReadonlySet<string>; readonly dir?: string; readonly log?: (line: string) => void },
): Promise<QaItem[]> {
  const { count, seed, log = console.log } = options;
  if (!Number.isInteger(count) || count < 0) throw new Error(`ensureSelfAnswers: count must be a whole number ≥ 0, got ${count}`);
  if (count === 0) return [];
  const key = `${weightsHash(model)}-${corpus.report.configHash.slice(0, 8)}-${count}-${seed}`;
  const file = path.join(options.dir ?? datasetsDir("self-answers"), `${key}.jsonl`);
  if (fs.existsSync(file)) return readQa(file);
  const exclude = options.exclude ?? (canMixAnthology(corpus) ? new Set((await anthology(corpus)).poems.flatMap((p) => poemLines(p.paragraphs))) : new Set<string>());
  const couplets = new Rng(seed).shuffle(await corpusCouplets(corpus, exclude)).slice(0, count);
  const t0 = Date.now();
  const items: QaItem[] = [];
  for (const c of couplets) {
    const item = await selfAnswer(model, tokenizer, c);
    if (item) items.push(item);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await writeJsonl(file, items);
  log(`self-answers: the base continued ${items.length.toLocaleString("en-US")} of ${couplets.length.toLocaleString("en-US")} corpus first lines with a line (${((Date.now() - t0) / 1000).toFixed(0)} s), cached in ${path.relative(process.cwd(), file)}`);
  return items;
}
