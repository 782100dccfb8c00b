/**
 * Encoding with a list of merges (BPE's whole model): while some adjacent pair of ids has a merge, merge the pair
 * whose merge was learned first (lowest rank), the leftmost one if it occurs twice. Hugging Face `tokenizers`
 * does exactly this, so ids agree.
 *
 *   merges: 0: (a, a) → X   1: (a, b) → Y   2: (X, Y) → Z
 *   "aaabd"  a a a b d  →  X a b d  →  X Y d  →  Z d
 */
import { PairHeap, PairTable } from "./pairs";

/** Chunks longer than this are merged with a heap instead of rescanning the array after each merge. */
const LONG_CHUNK = 96;
const NONE = 0x7fffffff;

export class MergeRanks {
  /** (a, b) → rank */
  private readonly table: PairTable;
  /** The id each rank's merge produces. */
  private readonly ids: Int32Array;
  /** Ranks of pairs of ids below 256 in a dense 256×256 array: the first lookups of every byte-level chunk. */
  private readonly small = new Int32Array(65536).fill(NONE);
  private rankBuf = new Int32Array(256);

  /** `merges[r] = [a, b]` joins a and b into `ids[r]`. */
  constructor(merges: ReadonlyArray<readonly [number, number]>, ids: ArrayLike<number>) {
    this.table = new PairTable(merges.length + 16);
    this.ids = Int32Array.from(ids);
    merges.forEach(([a, b], r) => {
      if (this.table.get(a, b) >= 0) throw new Error(`merge #${r} (${a}, ${b}) is listed twice`);
      this.table.set(a, b, r);
      if (a < 256 && b < 256) this.small[(a << 8) | b] = r;
    });
  }

  /** The rank of the merge of (a, b), or -1. */
  rank(a: number, b: number): number {
    return this.table.get(a, b);
  }

  /** The id merge `rank` produces. */
  idOf(rank: number): number {
    return this.ids[rank];
  }

  /** Merges `ids[0 … n)` in place and appends the result to `out`. */
  apply(ids: Int32Array, n: number, out: number[]): void {
    if (n > LONG_CHUNK) return this.applyLong(ids, n, out);
    if (this.rankBuf.length < n) this.rankBuf = new Int32Array(n * 2);
    const ranks = this.rankBuf;
    const table = this.table;
    const small = this.small;
    // ranks[i] is the rank of the merge of (ids[i], ids[i+1]), NONE if there is none.
    for (let i = 0; i + 1 < n; i++) {
      const a = ids[i], b = ids[i + 1];
      if (a < 256 && b < 256) ranks[i] = small[(a << 8) | b];
      else {
        const r = table.get(a, b);
        ranks[i] = r < 0 ? NONE : r;
      }
    }
    while (n > 1) {
      let best = NONE, at = -1;
      for (let i = 0; i + 1 < n; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      }
      if (at < 0) break;
      ids[at] = this.ids[best];
      for (let i = at + 1; i + 1 < n; i++) {
        ids[i] = ids[i + 1];
        ranks[i] = ranks[i + 1];
      }
      n--;
      if (at > 0) {
        const r = table.get(ids[at - 1], ids[at]);
        ranks[at - 1] = r < 0 ? NONE : r;
      }
      if (at + 1 < n) {
        const r = table.get(ids[at], ids[at + 1]);
        ranks[at] = r < 0 ? NONE : r;
      }
    }
    for (let i = 0; i < n; i++) out.push(ids[i]);
  }

  /** The same for a long chunk: a linked list and a heap of (rank, position), O(n log n). */
  private applyLong(ids: Int32Array, n: number, out: number[]): void {
    const next = new Int32Array(n), prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new PairHeap(); // max-heap: priority −rank, ties to the smaller position (leftmost first)
    const offer = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const r = this.table.get(ids[i], ids[j]);
      if (r >= 0) heap.push(-r, i, i);
    };
    for (let i = 0; i + 1 < n; i++) offer(i);
    while (heap.size > 0) {
      const r = -heap.topPriority();
      const i = heap.topItem();
      heap.pop();
      const j = next[i];
      if (!alive[i] || j < 0 || this.table.get(ids[i], ids[j]) !== r) continue; // out of date
      ids[i] = this.ids[r];
      alive[j] = 0;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) offer(prev[i]);
      offer(i);
    }
    for (let i = 0; i >= 0; i = next[i]) out.push(ids[i]);
  }
}
