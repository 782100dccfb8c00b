/**
 * 押韵 by modern Mandarin: a character's final (韵母), from the pinyin library pinyin-pro, and its rhyme group (韵部)
 * in 中华新韵's fourteen groups, the rhyme table for writing poems in 普通话 (中华诗词学会).
 *
 *   霜 shuāng → 韵母 uang → 唐     乡 xiāng → 韵母 iang → 唐     (same group: they rhyme)
 *   时 shí    → 韵母 -i   → 支     期 qī    → 韵母 i    → 齐     (different groups: they do not)
 *
 * Two characters rhyme when their finals share the part after the medial i/u/ü (韵腹 and 韵尾): uang and iang do,
 * and 中华新韵 groups such finals, with a few merges (en/in/un/ün are one group, 文; eng/ing/ong/iong are 庚).
 *
 * This is today's pronunciation, not the poets'. Tang and Song poems rhyme by 平水韵, the rhyme groups of Middle
 * Chinese, and some of their rhymes no longer rhyme in Mandarin (杜牧《山行》's 斜 xié and 家 jiā were one rhyme).
 * A rhyme here is therefore defined by the modern finals, and the questions built on it say so.
 *
 * Only characters with exactly one reading in pinyin-pro get a rhyme: for a polyphonic character (长 cháng/zhǎng,
 * 还 huán/hái) the reading depends on the sense, and a guess would make a wrong answer look right.
 */
import { pinyin } from "pinyin-pro";

/** 中华新韵's fourteen groups, named by their first character, in the table's order (麻波皆开微豪尤，寒文唐庚齐支姑). */
export type RhymeGroup = "麻" | "波" | "皆" | "开" | "微" | "豪" | "尤" | "寒" | "文" | "唐" | "庚" | "齐" | "支" | "姑";

/**
 * The finals of each group, written as pinyin writes them after an initial (iu for iou, ui for uei, un for uen).
 * "-i" is the vowel of zhi chi shi ri zi ci si, spelled i but sounded apart from the i of ji qi xi.
 */
export const RHYME_GROUPS: Readonly<Record<RhymeGroup, readonly string[]>> = Object.freeze({
  麻: ["a", "ia", "ua"],
  波: ["o", "e", "uo"],
  皆: ["ie", "üe"],
  开: ["ai", "uai"],
  微: ["ei", "ui"],
  豪: ["ao", "iao"],
  尤: ["ou", "iu"],
  寒: ["an", "ian", "uan", "üan"],
  文: ["en", "in", "un", "ün"],
  唐: ["ang", "iang", "uang"],
  庚: ["eng", "ing", "ueng", "ong", "iong"],
  齐: ["i", "er", "ü"],
  支: ["-i"],
  姑: ["u"],
});

const GROUP_OF_FINAL: ReadonlyMap<string, RhymeGroup> = new Map(
  (Object.entries(RHYME_GROUPS) as [RhymeGroup, readonly string[]][]).flatMap(([g, finals]) => finals.map((f) => [f, g] as const)),
);

/** The rhyme of one character. */
export interface CharRhyme {
  readonly char: string;
  /** Its only reading, without tone: "shuang". */
  readonly pinyin: string;
  /** Its final: "uang". */
  readonly final: string;
  readonly group: RhymeGroup;
}

/** Every reading pinyin-pro knows for one character, with tones (长 → ["cháng", "zhǎng"]); [] when it is not Han. */
export function charReadings(char: string): string[] {
  if ([...char].length !== 1) throw new Error(`charReadings: '${char}' is not one character`);
  if (!/^\p{Script=Han}$/u.test(char)) return [];
  return [...new Set(pinyin(char, { multiple: true, type: "array" }))].filter((r) => r !== "" && r !== char);
}

/**
 * The final of a toneless syllable. pinyin-pro's `final` is what follows the initial, which is the final except
 * where pinyin spells the medial with y or w (烟 yan → "an", 雨 yu → "u", 文 wen → "en"): those are rewritten from the
 * spelling (ian, ü, un), and zhi … si get "-i".
 * @example syllableFinal("yu", "u") // "ü"     syllableFinal("shi", "i") // "-i"     syllableFinal("guang", "uang") // "uang"
 */
export function syllableFinal(syllable: string, libFinal: string): string {
  if (/^(zh|ch|sh|r|z|c|s)i$/.test(syllable)) return "-i";
  const y = /^y(.*)$/.exec(syllable)?.[1];
  if (y !== undefined) {
    if (y.startsWith("u")) return `ü${y.slice(1)}`; // yu yue yuan yun
    if (y.startsWith("i")) return y; // yi yin ying
    return y === "ou" ? "iu" : `i${y}`; // ya ye yao you yan yang yong
  }
  const w = /^w(.*)$/.exec(syllable)?.[1];
  if (w !== undefined) {
    if (w === "u") return "u";
    return w === "ei" ? "ui" : w === "en" ? "un" : `u${w}`; // wa wo wai wei wan wen wang weng
  }
  return libFinal;
}

/**
 * The rhyme of a character by its modern reading, or null when it has none to rely on: not Han, more than one
 * reading in pinyin-pro, or a final outside the table (嗯 ng, 欸 ê).
 * @example charRhyme("霜") // { char: "霜", pinyin: "shuang", final: "uang", group: "唐" }
 *          charRhyme("长") // null (cháng, zhǎng)
 */
export function charRhyme(char: string): CharRhyme | null {
  if (charReadings(char).length !== 1) return null;
  const syllable = pinyin(char, { toneType: "none", type: "array" })[0];
  const final = syllableFinal(syllable, pinyin(char, { pattern: "final", toneType: "none", type: "array" })[0]);
  const group = GROUP_OF_FINAL.get(final);
  return group ? { char, pinyin: syllable, final, group } : null;
}
