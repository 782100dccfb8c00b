/**
 * 第 1 章练习:数据收集与处理。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 01` 查看得分。
 * 没通过的题会说明哪里不对、该复习哪个概念;实在卡住了,再用 `npm run grade 01 -- --hint` 看代码层面的提示。
 * 评分会检查代码是你自己写的:直接调用(或转手导出)tiaoyu 里同一功能的实现,这道题不得分。
 * 这些函数都是 lib/data 里某一步的简化版:先自己写一遍,再去读 lib/data 的实现,对照二者的差别。
 */
import { mix32, todo } from "tiaoyu";

/**
 * 1.1 把一首诗包装成一条样本
 *
 * 书中的样本格式:每条样本是一行 JSON,文本放在 "text" 字段里,前后加上特殊标记 `<s>` 和 `</s>`。
 * 给定一首诗的各行 `paragraphs`,把它们直接连起来(不加分隔符),包上 `<s>…</s>`,
 * 返回这一行 JSON 文本:`{"text": "…"}`(和书中一样,冒号后有一个空格)。
 * 文本里的引号、反斜杠等要按 JSON 的规则转义(JSON.stringify 会替你做)。
 *
 * @example
 *   wrapSample(["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"])
 *   // → '{"text": "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>"}'
 */
export function wrapSample(paragraphs: string[]): string {
  return todo("1.1 wrapSample");
}

/**
 * 1.2 清洗规则:统一空白和标点
 *
 * 古诗不用空格,标点一律用全角。去掉 `line` 中所有空白字符(空格、制表符、全角空格 U+3000 等,
 * 正则里的 \s 都能匹配),并把半角标点换成全角:
 *   ,→，   .→。   ?→？   !→！   ;→；   :→：
 *
 * @example
 *   normalizeLine(" 床前明月光, 疑是地上霜.")   // → "床前明月光，疑是地上霜。"
 */
export function normalizeLine(line: string): string {
  return todo("1.2 normalizeLine");
}

/**
 * 1.3 清洗规则:找出有缺字的诗
 *
 * 古籍流传中丢失的字,整理者用 □ 或 ■ 占位,或者写一个注 （缺）、（阙）。这样的诗不完整,要丢弃。
 * 如果 `text` 含有 □、■,或者含有 "（缺）"、"（阙）",返回 true;否则返回 false。
 *
 * @example
 *   isIncomplete("冰□已镂津。")            // → true
 *   isIncomplete("白日依山尽，（缺）入海流。")  // → true
 *   isIncomplete("床前明月光，疑是地上霜。")  // → false
 */
export function isIncomplete(text: string): boolean {
  return todo("1.3 isIncomplete");
}

/**
 * 1.4 精确去重
 *
 * 两首诗只要汉字完全相同(标点、空白不同也算),就是重复的。按顺序遍历 `texts`,
 * 每组重复只保留第一次出现的那一条(保持原来的样子,不要修改它),返回保留下来的文本,顺序不变。
 * 提示:先为每条文本算一个"键"(只留汉字),用一个 Set 记录见过的键。
 * 判断汉字可以用正则 /\p{Script=Han}/u。
 *
 * @example
 *   dedupExact(["床前明月光，疑是地上霜。", "床前明月光 疑是地上霜", "春眠不觉晓"])
 *   // → ["床前明月光，疑是地上霜。", "春眠不觉晓"]
 */
export function dedupExact(texts: string[]): string[] {
  return todo("1.4 dedupExact");
}

/**
 * 1.5 FNV-1a 哈希
 *
 * 32 位 FNV-1a:h 从 0x811c9dc5 开始;对文本 UTF-8 编码后的每个字节 b,先 h = h ^ b,再 h = h × 0x01000193(取模 2³²)。
 * 最后返回无符号整数(0 … 2³² − 1)。
 * 提示:`new TextEncoder().encode(text)` 得到 UTF-8 字节;`Math.imul(h, 0x01000193)` 做 32 位乘法;`h >>> 0` 变成无符号数。
 *
 * @example
 *   fnv1a32("")   // → 2166136261 (0x811c9dc5)
 *   fnv1a32("a")  // → 3826002220 (0xe40c292c)
 */
export function fnv1a32(text: string): number {
  return todo("1.5 fnv1a32");
}

/**
 * 1.6 按哈希确定性地划分数据集
 *
 * 用一首诗的稳定键(比如 "标题|作者|首句")决定它属于 train、validation 还是 test,
 * 这样不管语料里还有哪些诗、顺序如何,同一首诗永远分到同一个集合。做法:
 *   u = mix32(fnv1a32(key)) / 2³²        (mix32 已从 tiaoyu 导入,它把哈希值的位充分打散)
 *   u < train                  → "train"
 *   u < train + validation     → "validation"
 *   其余                        → "test"
 * 你的结果应当与 lib 的 assignSplit 完全一致。
 *
 * @example
 *   splitOf("静夜思|李白|床前明月光，疑是地上霜。", { train: 0.9, validation: 0.05, test: 0.05 })
 *   // → 每次都是同一个结果
 */
export function splitOf(key: string, ratios: { train: number; validation: number; test: number }): "train" | "validation" | "test" {
  return todo("1.6 splitOf");
}
