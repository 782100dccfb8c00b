/**
 * Two small data structures that make BPE fast in plain JavaScript: a hash table keyed by a pair of token ids,
 * and a max-heap of pairs by score.
 *
 * Why not `Map<string, number>` with keys like "101,32"? Building a string per lookup costs more than the whole
 * rest of the work, and a Map keyed by numbers `a * 65536 + b` stops being fast once keys outgrow small
 * integers. The table below keeps keys and values in typed arrays (no objects, no garbage) and finds a pair
 * in one or two probes.
 */

/** Grows a typed array to at least `min` elements (doubling), keeping its contents. */
export function grow<T extends Int32Array | Float64Array | Uint8Array>(arr: T, min: number): T {
  if (arr.length >= min) return arr;
  let n = Math.max(16, arr.length);
  while (n < min) n *= 2;
  const out = new (arr.constructor as new (n: number) => T)(n);
  out.set(arr);
  return out;
}

/**
 * A hash table (open addressing, linear probing) from a pair of non-negative int32 ids to an int32 value.
 *
 *   const t = new PairTable(); t.set(101, 32, 7); t.get(101, 32) → 7; t.get(1, 2) → -1
 */
export class PairTable {
  // One entry = 4 int32s [a, b, value, unused]: a probe reads one cache line, not three arrays.
  private cells: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.cells = new Int32Array(n * 4).fill(-1);
    this.mask = n - 1;
  }

  private hash(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ 0x5bd1e995, 0x85ebca77);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The value of pair (a, b), or -1 if absent. */
  get(a: number, b: number): number {
    const cells = this.cells, mask = this.mask;
    let i = this.hash(a, b);
    for (;;) {
      const at = i << 2;
      const k = cells[at];
      if (k === -1) return -1;
      if (k === a && cells[at + 1] === b) return cells[at + 2];
      i = (i + 1) & mask;
    }
  }

  /** Sets pair (a, b) to `v` (v ≥ 0 so that -1 can mean "absent"). */
  set(a: number, b: number, v: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.rehash();
    const cells = this.cells;
    let i = this.hash(a, b);
    for (;;) {
      const at = i << 2;
      const k = cells[at];
      if (k === -1) {
        cells[at] = a;
        cells[at + 1] = b;
        cells[at + 2] = v;
        this.size++;
        return;
      }
      if (k === a && cells[at + 1] === b) {
        cells[at + 2] = v;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  private rehash(): void {
    const old = this.cells;
    const n = (this.mask + 1) * 2;
    this.cells = new Int32Array(n * 4).fill(-1);
    this.mask = n - 1;
    this.size = 0;
    for (let at = 0; at < old.length; at += 4) if (old[at] !== -1) this.set(old[at], old[at + 1], old[at + 2]);
  }

  /** Bytes held, for memory reports. */
  get bytes(): number {
    return this.cells.byteLength;
  }
}

/**
 * A binary max-heap of (priority, item) with a deterministic tie-break: among equal priorities the smaller
 * `tie` comes first. BPE uses `tie = a * 2^26 + b`, so ties go to the pair with the smaller ids, as Hugging Face
 * `tokenizers` does, and training gives the same merges on every run.
 */
export class PairHeap {
  private prio = new Float64Array(1024);
  private tie = new Float64Array(1024);
  private item = new Int32Array(1024);
  size = 0;

  private above(i: number, j: number): boolean {
    const p = this.prio[i], q = this.prio[j];
    return p > q || (p === q && this.tie[i] < this.tie[j]);
  }

  private swap(i: number, j: number): void {
    const p = this.prio[i], t = this.tie[i], it = this.item[i];
    this.prio[i] = this.prio[j];
    this.tie[i] = this.tie[j];
    this.item[i] = this.item[j];
    this.prio[j] = p;
    this.tie[j] = t;
    this.item[j] = it;
  }

  push(priority: number, tie: number, item: number): void {
    if (this.size === this.prio.length) {
      this.prio = grow(this.prio, this.size + 1);
      this.tie = grow(this.tie, this.size + 1);
      this.item = grow(this.item, this.size + 1);
    }
    let i = this.size++;
    this.prio[i] = priority;
    this.tie[i] = tie;
    this.item[i] = item;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  topPriority(): number {
    return this.prio[0];
  }

  topItem(): number {
    return this.item[0];
  }

  pop(): void {
    const last = --this.size;
    if (last === 0) return;
    this.prio[0] = this.prio[last];
    this.tie[0] = this.tie[last];
    this.item[0] = this.item[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let best = i;
      if (l < last && this.above(l, best)) best = l;
      if (r < last && this.above(r, best)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  get bytes(): number {
    return this.prio.byteLength * 2 + this.item.byteLength;
  }
}
