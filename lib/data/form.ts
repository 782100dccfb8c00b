/**
 * 体裁: what kind of poem it is, judged from the shape of its lines.
 *
 * A classical poem's shape is visible in its punctuation: 床前明月光，疑是地上霜。举头望明月，低头思故乡。 has
 * four lines (句) of five characters, so it is a 五言绝句. The labels:
 *   - 四言/五言/六言/七言: every line has 4, 5, 6 or 7 characters (言 = character); 杂言: lines of mixed length;
 *   - for five- and seven-character poems, by line count: 4 lines 绝句, 8 lines 律诗, 10 or more (even) 排律.
 *   - 词: the Song lyrics, whose line lengths follow their tune, not a fixed meter.
 * This is the shape only. A true 律诗 also follows tonal patterns (平仄), parallel couplets and one rhyme, which
 * we do not check; an eight-line poem in the old style (古体) is labelled 律诗 here too.
 */
import type { CollectionName } from "./poetry";

export type Meter = "四言" | "五言" | "六言" | "七言" | "杂言";
export type Form = "五言绝句" | "五言律诗" | "五言排律" | "七言绝句" | "七言律诗" | "七言排律" | Meter | "词";

export const FORMS: readonly Form[] = Object.freeze([
  "五言绝句", "五言律诗", "五言排律", "五言", "七言绝句", "七言律诗", "七言排律", "七言", "四言", "六言", "杂言", "词",
] as Form[]);

/**
 * The lines (句) of a poem: the pieces between punctuation marks.
 * @example poemLines(["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"]) // ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]
 */
export function poemLines(paragraphs: readonly string[]): string[] {
  return paragraphs.join("").split(/[，。、；：？！“”‘’《》]+/u).filter((s) => s !== "");
}

const METERS: Readonly<Record<number, Meter>> = { 4: "四言", 5: "五言", 6: "六言", 7: "七言" };

/**
 * The meter: the common line length, or 杂言 when lines differ.
 * @example meterOf(["床前明月光，疑是地上霜。"]) // "五言"
 */
export function meterOf(paragraphs: readonly string[]): Meter {
  const lens = new Set(poemLines(paragraphs).map((l) => [...l].length));
  if (lens.size !== 1) return "杂言";
  return METERS[[...lens][0]] ?? "杂言";
}

/**
 * The form of a poem from its collection and line shape.
 * @example classifyForm(["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"]) // "五言绝句"
 */
export function classifyForm(paragraphs: readonly string[], collection?: CollectionName): Form {
  if (collection === "songci") return "词";
  const meter = meterOf(paragraphs);
  if (meter !== "五言" && meter !== "七言") return meter;
  const n = poemLines(paragraphs).length;
  if (n === 4) return `${meter}绝句`;
  if (n === 8) return `${meter}律诗`;
  if (n >= 10 && n % 2 === 0) return `${meter}排律`;
  return meter;
}
