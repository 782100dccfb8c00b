/**
 * 第 3 章练习的参考答案:嵌入层、Dropout、位置编码。
 * (Reference solutions for chapter 3; `npm run grade 03 -- --target solutions` must pass them all.)
 */

/** 3.1 嵌入查表:返回 table 中第 ids[i] 行组成的新数组。 */
export function embeddingLookup(table: number[][], ids: number[]): number[][] {
  return ids.map((id) => {
    if (!Number.isInteger(id) || id < 0 || id >= table.length) throw new Error(`id ${id} is not a row of the table (0..${table.length - 1})`);
    return [...table[id]];
  });
}

/** 3.2 倒置 Dropout:keep[i] 为 false 的位置置 0,保留的位置除以 (1 − rate)。 */
export function applyDropout(x: number[], keep: boolean[], rate: number): number[] {
  return x.map((v, i) => (keep[i] ? v / (1 - rate) : 0));
}

/** 3.3 正弦位置编码表 [positions][nEmbd]:第 2i 列 sin(pos/10000^(2i/D)),第 2i+1 列 cos(同一角度)。 */
export function sinusoidalTable(positions: number, nEmbd: number): number[][] {
  const table: number[][] = [];
  for (let pos = 0; pos < positions; pos++) {
    const row = new Array<number>(nEmbd);
    for (let i = 0; i < nEmbd / 2; i++) {
      const angle = pos / Math.pow(10000, (2 * i) / nEmbd);
      row[2 * i] = Math.sin(angle);
      row[2 * i + 1] = Math.cos(angle);
    }
    table.push(row);
  }
  return table;
}

/** 3.4 RoPE:把向量 x(长度 hs,偶数)按位置 pos 旋转;第 j 维与第 j + hs/2 维成对,角度 pos·base^(−2j/hs)。 */
export function rope(x: number[], pos: number, base = 10000): number[] {
  const half = x.length / 2;
  const out = new Array<number>(x.length);
  for (let j = 0; j < half; j++) {
    const angle = pos * Math.pow(base, (-2 * j) / x.length);
    const c = Math.cos(angle), s = Math.sin(angle);
    out[j] = x[j] * c - x[j + half] * s;
    out[j + half] = x[j] * s + x[j + half] * c;
  }
  return out;
}
