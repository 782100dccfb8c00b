/**
 * 数据清洗: the cleaning rules, each a small named function with the reason it exists.
 *
 * The book asks for data that is 准确、完整 (accurate and complete). The sources are a scholarly edition
 * typed in by volunteers, so besides the poems they contain what an editor needs and a language model must
 * not learn: notes on variant readings （一作「…」）, placeholders for lost characters (□), editors' bracketed
 * restorations ([爽]), descriptions of characters Unicode lacks ({艹/尔}), and some mojibake. A model trained
 * on them would learn to write notes and squares.
 *
 * There are two kinds of rule, applied in the order of {@link CLEANING_STEPS}:
 *   - a **fix** repairs what can be repaired without guessing (normalise punctuation, strip a note);
 *   - a **drop** removes a poem that cannot be repaired (a character is lost: we must not invent it).
 * A dropped poem is counted under the first drop rule it fails, so the pipeline can report "dropped per reason".
 */

/** Why a poem was dropped. */
export type DropReason = "missing" | "editorial" | "unencodable" | "foreign" | "empty" | "tooShort" | "tooLong";

export interface CleanOptions {
  /** Fewer Han characters than this and the poem is a fragment (残句): 10 is one five-character couplet. */
  readonly minChars: number;
  /**
   * More characters (punctuation included) than this and the poem is dropped: the few very long items are
   * mostly long ballads and prose prefaces, and one of them weighs as much as twenty quatrains.
   */
  readonly maxChars: number;
}

export const DEFAULT_CLEAN_OPTIONS: CleanOptions = Object.freeze({ minChars: 10, maxChars: 400 });

// ---------------------------------------------------------------------------------------------------------
// Fixes: line → line

/**
 * Removes all whitespace, including the full-width space U+3000 and zero-width characters.
 * Why: classical Chinese is written without spaces; stray ones come from typing and OCR, and would become tokens.
 * @example normalizeWhitespace(" 床前 明月光，\u3000疑是地上霜。") // "床前明月光，疑是地上霜。"
 */
export function normalizeWhitespace(line: string): string {
  return line.replace(/[\s\u200b-\u200d\u2060\ufeff]+/gu, "");
}

/** Half-width and variant punctuation → the full-width form used in simplified Chinese text. */
const PUNCTUATION: Readonly<Record<string, string>> = Object.freeze({
  ",": "，", "﹐": "，", "､": "、", "﹑": "、",
  ".": "。", "．": "。", "｡": "。", "﹒": "。",
  "?": "？", "﹖": "？", "!": "！", "﹗": "！",
  ";": "；", "﹔": "；", ":": "：", "﹕": "：", "︰": "：",
  "(": "（", ")": "）", "﹙": "（", "﹚": "）",
  "「": "“", "」": "”", "『": "‘", "』": "’", "\"": "“", "〈": "《", "〉": "》",
});
const PUNCTUATION_RE = new RegExp(`[${Object.keys(PUNCTUATION).map((c) => "\\" + c).join("")}]`, "g");

/**
 * Maps half-width and variant punctuation to one full-width form: `,` and `﹐` → `，`, `.` → `。`, `「」` → `“”`.
 * Why: the same pause written three ways is three different tokens for the same thing.
 * @example normalizePunctuation("床前明月光,疑是地上霜.") // "床前明月光，疑是地上霜。"
 */
export function normalizePunctuation(line: string): string {
  return line.replace(PUNCTUATION_RE, (c) => PUNCTUATION[c]);
}

/**
 * Removes editors' notes in full-width parentheses, innermost first: variant readings （一作「东风细雨」）,
 * sources （见《太平御览》）, remarks. Unbalanced parentheses are left for the `foreign` rule to catch.
 * Why: a note is not part of the poem; kept, it would teach the model to write "（一作…）" in its poems.
 * Run after {@link normalizePunctuation}, so that `(` has become `（`. A note may span lines (the sources
 * split lines at every 。, even inside a note): pass the lines joined with "\n".
 * @example stripNotes("阑风长雨（一作“东风细雨”）秋纷纷，") // "阑风长雨秋纷纷，"
 */
export function stripNotes(text: string): string {
  let prev: string;
  do {
    prev = text;
    text = text.replace(/（[^（）]*）/g, "");
  } while (text !== prev);
  return text;
}

const MARK = "，。、；：？！";
/** How strongly a mark ends what precedes it: a run of marks keeps its strongest one. */
const MARK_RANK: Readonly<Record<string, number>> = { "，": 0, "、": 0, "；": 1, "：": 1, "。": 2, "？": 3, "！": 3 };

/**
 * Collapses a run of punctuation marks into its strongest one (？！ over 。 over ；： over ，、), and removes
 * marks that open a line.
 * Why: removing a note can leave two marks in a row (秋纷纷，（一作…）。 → 秋纷纷，。), and the sources double
 * some (悲夫！。, 兵奴。。); "，。" would teach the model a pause that means nothing.
 * @example tidyPunctuation("悲夫！。\n，江水流，。") // "悲夫！\n江水流。"
 */
export function tidyPunctuation(text: string): string {
  return text
    .replace(new RegExp(`^[${MARK}]+`, "gm"), "")
    .replace(new RegExp(`[${MARK}]{2,}`, "g"), (run) => [...run].reduce((best, c) => (MARK_RANK[c] > MARK_RANK[best] ? c : best)));
}

// ---------------------------------------------------------------------------------------------------------
// Drop tests: text → does the poem have to go?

const MISSING_RE = /[□■●○◻◼◯⬜⬛囗…]|（[^（）]{0,3}[缺阙]）/u;
const EDITORIAL_RE = /[[\]［］〖〗【】]/u;
const UNENCODABLE_RE = /[{}⿰-⿻\ue000-\uf8ff\ufffd]|[\u{f0000}-\u{10ffff}]/u;

/**
 * Placeholders for lost characters: □ ■ ● ○ (and 囗, which typists use for □), an ellipsis …, or a note
 * saying text is missing: （缺） （下缺） （阙）.
 * Why: the poem is incomplete. Guessing the lost characters would put our words in the poet's mouth, and
 * deleting the placeholder would silently join two halves of a line.
 * @example hasMissingCharacters("冰□已镂津。") // true
 */
export function hasMissingCharacters(text: string): boolean {
  return MISSING_RE.test(text);
}

/**
 * Editors' brackets: [爽] marks a character supplied by an editor, [一] or 〖1〗 a footnote, 【】 a heading.
 * Why: the bracketed character is a guess and a footnote mark is not text; in both cases the line is not
 * the poem as written, and the brackets themselves would become tokens.
 * @example hasEditorialMarks("[爽]节在重九，") // true
 */
export function hasEditorialMarks(text: string): boolean {
  return EDITORIAL_RE.test(text);
}

/**
 * Characters that Unicode cannot show: descriptions such as {艹/尔} or ⿰木养 (how to draw a missing
 * character), private-use code points (which display as empty boxes), and U+FFFD, the mark of broken encoding.
 * Why: the character the poet wrote is not in the text, only a recipe or a blank.
 * @example hasUnencodable("疲{艹/尔}竟何人") // true
 */
export function hasUnencodable(text: string): boolean {
  return UNENCODABLE_RE.test(text);
}

/** The punctuation a cleaned poem may contain; every other character must be a Han character. */
export const ALLOWED_PUNCTUATION = "，。、；：？！“”‘’《》";
const FOREIGN_RE = new RegExp(`[^\\p{Script=Han}${ALLOWED_PUNCTUATION}]`, "u");

/**
 * Anything that is neither a Han character nor {@link ALLOWED_PUNCTUATION}: digits, Latin letters, kana,
 * box-drawing characters, a stray parenthesis.
 * Why: in these sources they are mojibake (け, Н in the Song lyrics) or leftovers of commentary, never poetry.
 * @example hasForeignCharacters("春眠不觉晓け") // true
 */
export function hasForeignCharacters(text: string): boolean {
  return FOREIGN_RE.test(text);
}

/** Number of Han characters (punctuation not counted). */
export function countHan(text: string): number {
  return text.match(/\p{Script=Han}/gu)?.length ?? 0;
}

// ---------------------------------------------------------------------------------------------------------
// The steps, in order

export interface FixStep {
  readonly kind: "fix";
  readonly name: string;
  readonly reason: string;
  readonly fix: (lines: readonly string[]) => string[];
}

export interface DropStep {
  readonly kind: "drop";
  readonly name: DropReason;
  readonly reason: string;
  readonly drops: (lines: readonly string[], options: CleanOptions) => boolean;
  /** What the rule looks for, when it looks for characters: lets an example show where the problem is. */
  readonly pattern?: RegExp;
}

export type CleanStep = FixStep | DropStep;

const eachLine = (f: (line: string) => string) => (lines: readonly string[]) => lines.map(f);
const wholePoem = (f: (text: string) => string) => (lines: readonly string[]) => f(lines.join("\n")).split("\n");
const joined = (test: (text: string) => boolean) => (lines: readonly string[]) => test(lines.join(""));

/**
 * The cleaning steps in the order they run. The order matters: punctuation is normalised before notes are
 * stripped (so `(…)` is caught too); missing-character notes such as （缺） are looked for before notes are
 * stripped (or stripping would hide the gap); lengths are measured last, on the cleaned text.
 */
export const CLEANING_STEPS: readonly CleanStep[] = Object.freeze([
  { kind: "fix", name: "normalizeWhitespace", reason: "古诗不用空格：去掉所有空白字符", fix: eachLine(normalizeWhitespace) },
  { kind: "fix", name: "normalizePunctuation", reason: "同一个标点只用一种写法（全角）", fix: eachLine(normalizePunctuation) },
  { kind: "drop", name: "missing", reason: "有缺字（□、（缺）等）：诗不完整，不能替诗人补字", drops: joined(hasMissingCharacters), pattern: MISSING_RE },
  { kind: "drop", name: "editorial", reason: "有校勘符号（[ ]、〖 〗）：括号里的字是编者补的，或是注释编号", drops: joined(hasEditorialMarks), pattern: EDITORIAL_RE },
  { kind: "fix", name: "stripNotes", reason: "去掉括号里的校注（一作……），注释不是诗", fix: wholePoem(stripNotes) },
  { kind: "fix", name: "tidyPunctuation", reason: "连续的标点只留一个，行首不留标点", fix: wholePoem(tidyPunctuation) },
  { kind: "drop", name: "unencodable", reason: "有无法编码的字（{艹/尔}、⿰、私用区字符）", drops: joined(hasUnencodable), pattern: UNENCODABLE_RE },
  { kind: "drop", name: "foreign", reason: "有非汉字、非标点的字符（数字、字母、乱码）", drops: joined(hasForeignCharacters), pattern: FOREIGN_RE },
  { kind: "fix", name: "dropEmptyLines", reason: "去掉清洗后变空的行", fix: (lines) => lines.filter((l) => l !== "") },
  { kind: "drop", name: "empty", reason: "没有正文", drops: (lines) => countHan(lines.join("")) === 0 },
  { kind: "drop", name: "tooShort", reason: "太短：残句，不成一首诗", drops: (lines, o) => countHan(lines.join("")) < o.minChars },
  { kind: "drop", name: "tooLong", reason: "太长：少数超长作品，多为长篇或序文", drops: (lines, o) => lines.join("").length > o.maxChars },
] satisfies CleanStep[]);

/** Every drop reason, in the order the steps test them (for tables of counts). */
export const DROP_REASONS: readonly DropReason[] = Object.freeze(
  CLEANING_STEPS.filter((s): s is DropStep => s.kind === "drop").map((s) => s.name),
);

export type CleanResult =
  | { readonly ok: true; readonly paragraphs: string[] }
  | { readonly ok: false; readonly reason: DropReason; readonly paragraphs: string[] };

/**
 * Runs every step on a poem's lines. Returns the cleaned lines, or the reason (and the lines as they were
 * when the poem was dropped).
 * @example cleanLines(["床前明月光,疑是地上霜.", "举头望明月，低头思故乡。"])
 *          // { ok: true, paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"] }
 */
export function cleanLines(paragraphs: readonly string[], options: Partial<CleanOptions> = {}): CleanResult {
  const o = { ...DEFAULT_CLEAN_OPTIONS, ...options };
  let lines = [...paragraphs];
  for (const step of CLEANING_STEPS) {
    if (step.kind === "fix") lines = step.fix(lines);
    else if (step.drops(lines, o)) return { ok: false, reason: step.name, paragraphs: lines };
  }
  return { ok: true, paragraphs: lines };
}

/**
 * Cleans a title or an author's name: notes stripped, punctuation normalised, no drops (a title with a note
 * still names its poem). Spaces are kept, one at a time, because in titles they separate a series from its
 * number: 帝京篇十首 一.
 * @example cleanTitle("题梵书（伯三九八六） ") // "题梵书"
 */
export function cleanTitle(title: string): string {
  return stripNotes(normalizePunctuation(title)).replace(/[\s\u200b-\u200d\u2060\ufeff]+/gu, " ").trim();
}

/** A before/after pair; a type (not an interface) so that it is a `Row` for `table()`. */
export type CleaningExample = {
  readonly step: string;
  readonly before: string;
  readonly after: string;
};

/**
 * Real examples of what each step does: for every step, the first `perStep` poems whose lines it changes
 * (a fix) or that it drops. For the notebook's before/after tables.
 */
export function cleaningExamples(poems: Iterable<{ readonly paragraphs: readonly string[] }>, perStep = 1, options: Partial<CleanOptions> = {}): CleaningExample[] {
  const o = { ...DEFAULT_CLEAN_OPTIONS, ...options };
  const found = new Map<string, CleaningExample[]>(CLEANING_STEPS.map((s) => [s.name, []]));
  for (const poem of poems) {
    let lines = [...poem.paragraphs];
    for (const step of CLEANING_STEPS) {
      const list = found.get(step.name)!;
      if (step.kind === "fix") {
        const next = step.fix(lines);
        if (list.length < perStep && next.join("\n") !== lines.join("\n")) {
          // Both sides cut around the first difference, so that the change is in view.
          const [a, b] = [lines.join(" / "), next.join(" / ")];
          let at = 0;
          while (at < a.length && a[at] === b[at]) at++;
          list.push({ step: step.name, before: excerpt(a, at), after: excerpt(b, at) });
        }
        lines = next;
      } else if (step.drops(lines, o)) {
        if (list.length < perStep) {
          // A poem that became empty is shown as it was read; others around what the rule found.
          const shown = lines.join("") === "" ? poem.paragraphs : lines;
          list.push({ step: step.name, before: excerpt(shown.join(" / "), joinedIndex(shown, step.pattern)), after: `（丢弃：${step.name}）` });
        }
        break;
      }
    }
    if ([...found.values()].every((l) => l.length >= perStep)) break;
  }
  return CLEANING_STEPS.flatMap((s) => found.get(s.name)!);
}

/** Where `pattern` first matches the lines, as an index into `lines.join(" / ")` (0 if nowhere). */
function joinedIndex(lines: readonly string[], pattern: RegExp | undefined): number {
  if (!pattern) return 0;
  let offset = 0;
  for (const line of lines) {
    const i = line.search(pattern);
    if (i >= 0) return offset + i;
    offset += line.length + 3;
  }
  return 0;
}

/** At most 60 characters of `text`, starting a little before position `at`, with …… where it was cut. */
function excerpt(text: string, at: number, width = 60): string {
  if (text === "") return "（空）";
  const start = at < width - 20 ? 0 : at - 20;
  const end = start + width;
  return (start > 0 ? "……" : "") + text.slice(start, end) + (end < text.length ? "……" : "");
}
