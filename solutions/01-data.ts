/**
 * 第 1 章练习的参考答案:数据收集与处理。
 * (Reference solutions for chapter 1; `npm run grade 01 -- --target solutions` must pass them all.)
 */
import { mix32 } from "tiaoyu";

/** 1.1 一首诗 → 一行样本 JSON:{"text": "<s>…</s>"}。 */
export function wrapSample(paragraphs: string[]): string {
  return `{"text": ${JSON.stringify("<s>" + paragraphs.join("") + "</s>")}}`;
}

/** 1.2 去掉所有空白,半角标点换成全角。 */
export function normalizeLine(line: string): string {
  const full: Record<string, string> = { ",": "，", ".": "。", "?": "？", "!": "！", ";": "；", ":": "：" };
  return line.replace(/\s+/g, "").replace(/[,.?!;:]/g, (c) => full[c]);
}

/** 1.3 有 □、■ 或（缺）（阙）就是残缺的诗。 */
export function isIncomplete(text: string): boolean {
  return /[□■]|（缺）|（阙）/.test(text);
}

/** 1.4 只比较汉字,每组重复保留第一条。 */
export function dedupExact(texts: string[]): string[] {
  const seen = new Set<string>();
  return texts.filter((t) => {
    const key = (t.match(/\p{Script=Han}/gu) ?? []).join("");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** 1.5 32 位 FNV-1a。 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** 1.6 u = mix32(fnv1a32(key)) / 2³² 落在哪个区间,就是哪个集合。 */
export function splitOf(key: string, ratios: { train: number; validation: number; test: number }): "train" | "validation" | "test" {
  const u = mix32(fnv1a32(key)) / 2 ** 32;
  if (u < ratios.train) return "train";
  if (u < ratios.train + ratios.validation) return "validation";
  return "test";
}
