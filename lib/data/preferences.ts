/**
 * 偏好数据 (chapter 7): pairs of a better and a worse answer to the same question, what RLHF learns from.
 *
 * The book's customer-service example: we want answers that are polite and direct. For one question we mark a
 * good answer and a bad one; the reward model learns to score the good one higher, and DPO makes it likelier.
 * People would label these pairs; here the project writes them from chapter 6's questions (lib/data/qa.ts), so
 * the chosen answer is always chapter 6's answer — correct, polite, one direct sentence — and the rejected one is
 * bad in one labelled way:
 *
 *   kind       rejected answer to 《静夜思》的作者是谁？        what is wrong
 *   wrong      作者是「杜甫」。                                 a wrong fact, politely said (another poem's answer)
 *   evasive    抱歉，这个我回答不了。                           no answer at all
 *   rude       这都不知道？作者是「李白」。                     right, but rude
 *   rambling   嗯，让我想想。作者是「李白」。仅供参考。         right, but not direct
 *   format     作者是李白。                                     right, but not in 「」 (no citation)
 *
 * The last four are the flawed answers of lib/data/flaws.ts, each in several writers' phrasings (the same ones
 * chapter 7's flawed SFT data carries), so the reward model learns to recognise what the SFT model imitates.
 * Only `wrong` changes the fact: a reward model must read the answer to catch it, while the other four can be
 * told from the wording alone (the per-kind accuracy of the reward model shows which is harder).
 *
 * Splits follow chapter 6's, by poem: pairs about the poems SFT trained on are "train"; "heldout" and "unseen"
 * pairs are about poems whose questions no training stage saw, so accuracy on them measures generalization.
 * Stored as JSONL, one file per split, one pair per line:
 *
 *   {"prompt": "《静夜思》的作者是谁？", "chosen": "作者是「李白」。", "rejected": "作者是「杜甫」。", "kind": "wrong"}
 */
import * as fs from "fs";
import * as path from "path";
import { datasetsDir } from "../course";
import { type FlawKind, flawedAnswer, FLAW_WRITERS } from "./flaws";
import { fnv1a32, mix32 } from "./hash";
import { expectObject, readJsonl, stringField, writeJsonl } from "./jsonl";
import { ensureQa, type QaDataset, type QaItem, type QaSplit, QA_SPLITS, type QaTemplate } from "./qa";

/** How a rejected answer is bad. */
export type RejectionKind = "wrong" | FlawKind;
export const REJECTION_KINDS: readonly RejectionKind[] = Object.freeze(["wrong", "evasive", "rude", "rambling", "format"] as RejectionKind[]);

/** Chinese names of the kinds, for tables. */
export const REJECTION_KIND_LABELS: Readonly<Record<RejectionKind, string>> = Object.freeze({
  wrong: "事实错误",
  evasive: "答非所问",
  rude: "不礼貌",
  rambling: "啰嗦",
  format: "格式不对",
});

/** One preference pair: one line of a preferences JSONL. */
export interface PreferencePair {
  readonly prompt: string;
  /** The better answer (chapter 6's: correct, polite, direct). */
  readonly chosen: string;
  /** The worse answer, bad in the way `kind` says. */
  readonly rejected: string;
  readonly kind: RejectionKind;
}

/** A pair with where it came from (kept in memory; the JSONL has only the four fields above). */
export interface PreferenceItem extends PreferencePair {
  readonly template: QaTemplate;
  readonly poemId: string;
  readonly split: QaSplit;
  /** The checked part of the chosen answer (chapter 6's `expected`). */
  readonly expected: string;
}

/** Bump when the phrasings or the choice of kinds change, so cached files are rebuilt. */
export const PREFERENCES_VERSION = 2;

/** A stable choice among n for a question and a purpose. */
function pick(item: Pick<QaItem, "prompt" | "poemId">, purpose: string, n: number): number {
  return mix32(fnv1a32(`${purpose}|${item.poemId}|${item.prompt}`)) % n;
}

/**
 * A politely worded answer with a wrong fact: the answer of another question of the same template (in the same
 * split), whose checked part differs; for meter questions the other meter. Null when the pool has no such answer.
 */
function wrongAnswer(item: QaItem, pool: readonly QaItem[]): string | null {
  if (item.template === "meter") {
    const other = item.expected === "五言" ? "七言" : "五言";
    return item.answer.replace(`「${item.expected}」`, `「${other}」`);
  }
  if (pool.length === 0) return null;
  const start = pick(item, "wrong", pool.length);
  for (let k = 0; k < Math.min(pool.length, 64); k++) {
    const other = pool[(start + k) % pool.length];
    // topic: any line with the keyword is right, so the wrong line must not contain it.
    const bad = item.template === "topic" ? !other.answer.includes(item.expected) : other.expected !== item.expected;
    if (bad && other.answer !== item.answer) return other.answer;
  }
  return null;
}

/** The rejected answer of `kind` for a question (null when `wrong` finds no wrong fact). */
export function rejectedAnswer(item: QaItem, kind: RejectionKind, pool: readonly QaItem[] = []): string | null {
  switch (kind) {
    case "wrong":
      return wrongAnswer(item, pool);
    default:
      // The flawed kinds, by a writer drawn per question (the phrasings are flaws.ts's).
      return flawedAnswer(item, kind, pick(item, kind, FLAW_WRITERS[kind]));
  }
}

export interface BuildPreferencesOptions {
  /** Pairs per question, each with a different kind (default 1; at most the number of kinds). */
  readonly pairsPerPrompt?: number;
  /** The kinds to use (default all five). */
  readonly kinds?: readonly RejectionKind[];
}

/**
 * Preference pairs for chapter 6's questions: per question `pairsPerPrompt` pairs, the kinds taken in turn from a
 * question-specific starting point, so every kind gets about the same share of every template and split.
 * @example buildPreferences([{ prompt: "《静夜思》的作者是谁？", answer: "作者是「李白」。", … }, …])
 *          // [{ prompt: "《静夜思》的作者是谁？", chosen: "作者是「李白」。", rejected: "这都不知道？作者是「李白」。", kind: "rude", … }, …]
 */
export function buildPreferences(items: readonly QaItem[], options: BuildPreferencesOptions = {}): PreferenceItem[] {
  const kinds = options.kinds ?? REJECTION_KINDS;
  const perPrompt = options.pairsPerPrompt ?? 1;
  if (kinds.length === 0) throw new Error("buildPreferences: no kinds of rejected answers");
  for (const k of kinds) if (!REJECTION_KINDS.includes(k)) throw new Error(`buildPreferences: unknown kind '${k}' (known: ${REJECTION_KINDS.join(", ")})`);
  if (!Number.isInteger(perPrompt) || perPrompt < 1 || perPrompt > kinds.length) {
    throw new Error(`buildPreferences: pairsPerPrompt = ${perPrompt} must be an integer in 1..${kinds.length}`);
  }
  // Wrong facts come from questions of the same template in the same split: held-out pairs stay held out.
  const pools = new Map<string, QaItem[]>();
  for (const it of items) {
    const key = `${it.split}|${it.template}`;
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = []));
    pool.push(it);
  }
  const out: PreferenceItem[] = [];
  for (const it of items) {
    const start = pick(it, "kind", kinds.length);
    let made = 0;
    for (let k = 0; k < kinds.length && made < perPrompt; k++) {
      const kind = kinds[(start + k) % kinds.length];
      const rejected = rejectedAnswer(it, kind, pools.get(`${it.split}|${it.template}`) ?? []);
      if (rejected === null || rejected === it.answer) continue; // no wrong fact to be found: the next kind
      out.push({ prompt: it.prompt, chosen: it.answer, rejected, kind, template: it.template, poemId: it.poemId, split: it.split, expected: it.expected });
      made++;
    }
  }
  return out;
}

/** Validates one line of a preferences JSONL (the errors name the field; readJsonl adds file and line). */
export function toPreferencePair(value: unknown): PreferencePair {
  const o = expectObject(value);
  const prompt = stringField(o, "prompt");
  const chosen = stringField(o, "chosen");
  const rejected = stringField(o, "rejected");
  const kind = stringField(o, "kind");
  if (!(REJECTION_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown kind '${kind}' (known: ${REJECTION_KINDS.join(", ")})`);
  for (const [name, v] of [["prompt", prompt], ["chosen", chosen], ["rejected", rejected]] as const) {
    if (v.trim() === "") throw new Error(`field '${name}' is empty`);
  }
  if (chosen === rejected) throw new Error("chosen and rejected are the same answer: the pair prefers nothing");
  return { prompt, chosen, rejected, kind: kind as RejectionKind };
}

/** Reads a preferences JSONL; a malformed line stops the read with its line number ("line 3 of train.jsonl: missing field 'chosen'"). */
export async function readPreferences(file: string): Promise<PreferencePair[]> {
  const out: PreferencePair[] = [];
  for await (const p of readJsonl(file, { validate: toPreferencePair })) out.push(p);
  return out;
}

/** Writes pairs as a preferences JSONL (atomically), with exactly the four fields of {@link PreferencePair}. */
export async function writePreferences(file: string, pairs: Iterable<PreferencePair>): Promise<number> {
  const rows = [...pairs].map((p) => ({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, kind: p.kind }));
  rows.forEach((r) => toPreferencePair(r)); // never write a line the reader would refuse
  return writeJsonl(file, rows);
}

export interface PreferenceDataset {
  /** datasets/preferences[-quick]. */
  readonly dir: string;
  /** One JSONL per split. */
  readonly files: Readonly<Record<QaSplit, string>>;
  /** The pairs with their template, poem and split (in memory only). */
  readonly items: Readonly<Record<QaSplit, readonly PreferenceItem[]>>;
  /** Pairs per split and kind. */
  readonly counts: Readonly<Record<QaSplit, Readonly<Record<RejectionKind, number>>>>;
  /** True when the files were found up to date (they are rebuilt in a few seconds otherwise). */
  readonly cached: boolean;
}

/**
 * The preference pairs of the course: built from `ensureQa()` (chapter 6) and written to datasets/preferences
 * (preferences-quick in quick mode), one JSONL per split. Rebuilt when the questions or the phrasings change.
 * @example const prefs = await ensurePreferences();  prefs.items.train[0]  // { prompt, chosen, rejected, kind, … }
 */
export async function ensurePreferences(options: { qa?: QaDataset; dir?: string; force?: boolean } & BuildPreferencesOptions = {}): Promise<PreferenceDataset> {
  const qa = options.qa ?? (await ensureQa());
  const quick = path.basename(path.dirname(qa.file)).endsWith("-quick");
  const dir = options.dir ?? datasetsDir(quick ? "preferences-quick" : "preferences");
  const files = Object.fromEntries(QA_SPLITS.map((s) => [s, path.join(dir, `${s}.jsonl`)])) as Record<QaSplit, string>;
  const qaStat = fs.statSync(qa.file);
  const key = {
    version: PREFERENCES_VERSION,
    qa: { file: path.basename(qa.file), bytes: qaStat.size, items: qa.items.length },
    pairsPerPrompt: options.pairsPerPrompt ?? 1,
    kinds: options.kinds ?? REJECTION_KINDS,
  };
  // The in-memory items carry template and poem; they are rebuilt from the questions either way (string work only).
  const all = buildPreferences(qa.items, options);
  const items = Object.fromEntries(QA_SPLITS.map((s) => [s, all.filter((p) => p.split === s)])) as Record<QaSplit, PreferenceItem[]>;
  const counts = Object.fromEntries(
    QA_SPLITS.map((s) => [s, Object.fromEntries(REJECTION_KINDS.map((k) => [k, items[s].filter((p) => p.kind === k).length]))]),
  ) as Record<QaSplit, Record<RejectionKind, number>>;
  const metaFile = path.join(dir, "meta.json");
  let cached = false;
  if (!options.force && fs.existsSync(metaFile) && QA_SPLITS.every((s) => fs.existsSync(files[s]))) {
    try {
      cached = JSON.stringify(JSON.parse(fs.readFileSync(metaFile, "utf8")).key) === JSON.stringify(key);
    } catch {
      cached = false; // unreadable meta: rebuild
    }
  }
  if (!cached) {
    fs.mkdirSync(dir, { recursive: true });
    for (const s of QA_SPLITS) await writePreferences(files[s], items[s]);
    // meta.json last: its presence says the splits are complete.
    fs.writeFileSync(metaFile, JSON.stringify({ key, counts }, null, 1) + "\n");
  }
  return { dir, files, items, counts, cached };
}

/** The counts as table rows: one per kind, a column per split. */
export function preferenceCountRows(dataset: Pick<PreferenceDataset, "counts">): Record<string, string | number>[] {
  return REJECTION_KINDS.map((k) => ({ kind: k, 类型: REJECTION_KIND_LABELS[k], ...Object.fromEntries(QA_SPLITS.map((s) => [s, dataset.counts[s][k]])) }));
}
