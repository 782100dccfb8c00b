/**
 * Traditional → simplified Chinese (繁体 → 简体), and one spelling for characters that have several (异体字).
 *
 * Why: the Tang poems come in traditional characters and the Song lyrics in simplified ones. Left as they are,
 * 雲 and 云, 長 and 长, 劒 and 剑 would be different characters to the tokenizer and the model: twice the
 * vocabulary for the same words, and each form seen half as often. One script makes the corpus consistent
 * (数据质量) and lets deduplication see that 唐诗三百首's 靜夜思 and 全唐诗's are the same poem.
 *
 * The conversion is OpenCC's (opencc-js, `t` → `cn`), which works on phrases, not single characters, so that
 * 乾坤 keeps its 乾 while 乾淨 becomes 干净. OpenCC maps traditional to simplified but leaves older variant
 * forms alone (擧, 鄕, 劒 stay as they are), and the Tang texts use many of them; {@link VARIANTS} maps the
 * frequent ones in this corpus to their standard simplified form.
 */
import * as OpenCC from "opencc-js";

let converter: ((text: string) => string) | null = null;

/** OpenCC's converter is built on first use: building its dictionaries takes a moment. */
function opencc(): (text: string) => string {
  return (converter ??= OpenCC.Converter({ from: "t", to: "cn" }));
}

/**
 * Variant characters (异体字) → the standard simplified character, for variants that occur often in 全唐诗 after
 * OpenCC and mean the same as their standard form in poetry. Ambiguous ones are left out on purpose:
 * 祇 is "only" in 祇应 but a god in 神祇, so it stays.
 */
export const VARIANTS: Readonly<Record<string, string>> = Object.freeze({
  疎: "疏", 劒: "剑", 鴈: "雁", 猨: "猿", 慙: "惭", 簷: "檐", 鬬: "斗", 徧: "遍", 櫂: "棹", 斾: "旆",
  媿: "愧", 嬾: "懒", 蘂: "蕊", 堦: "阶", 褭: "袅", 覩: "睹", 臯: "皋", 廻: "回", 飜: "翻", 髪: "发",
  煖: "暖", 煗: "暖", 暎: "映", 歛: "敛", 桮: "杯", 妬: "妒", 隣: "邻", 檝: "楫", 呌: "叫", 竝: "并",
  燄: "焰", 牋: "笺", 巵: "卮", 罇: "樽", 鼇: "鳌", 鏁: "锁", 羇: "羁", 逈: "迥", 鵶: "鸦", 僊: "仙",
  隄: "堤", 緜: "绵", 缾: "瓶", 壻: "婿", 蹔: "暂", 栢: "柏", 粧: "妆", 棃: "梨", 鸎: "莺", 筯: "箸",
  帬: "裙", 碁: "棋", 牕: "窗", 醆: "盏", 藂: "丛", 邨: "村", 懽: "欢", 椀: "碗", 虵: "蛇", 峩: "峨",
  輭: "软", 畧: "略", 汚: "污", 効: "效", 欵: "款", 衞: "卫", 犂: "犁", 鼈: "鳖", 搆: "构", 怱: "匆",
  擧: "举", 鄕: "乡", 秪: "只", 秖: "只", 顦: "憔", 顇: "悴", 凖: "准",
});

const VARIANT_RE = new RegExp(`[${Object.keys(VARIANTS).join("")}]`, "gu");

/** Replaces the variant characters of {@link VARIANTS}. */
export function normalizeVariants(text: string): string {
  return text.replace(VARIANT_RE, (c) => VARIANTS[c]);
}

/**
 * Converts text to simplified Chinese with one spelling per character. Simplified text passes through unchanged.
 * @example toSimplified("牀前明月光，疑是地上霜。擧頭望明月，低頭思故鄕。")
 *          // "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
 */
export function toSimplified(text: string): string {
  return normalizeVariants(opencc()(text));
}
