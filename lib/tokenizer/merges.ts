/**
 * The merge loop that trains byte-level BPE, character-level BPE and WordPiece: start from single symbols
 * (bytes or characters), repeatedly pick the best adjacent pair and merge it into a new symbol everywhere.
 *
 *   words  "aaabdaaabac" (one word, symbols a a a b d a a a b a c)
 *   best pair (a, a), 4 times  → merge into X:   X a b d X a b a c
 *   best pair (a, b), 2 times  → merge into Y:   X Y d X Y a c
 *   best pair (X, Y), 2 times  → merge into Z:   Z d Z a c              (Z = "aaab")
 *
 * "Best" is the pair seen most often (BPE) or the pair with the highest likelihood score
 * count(ab) / (count(a) · count(b)) (WordPiece: a pair whose parts rarely occur apart).
 *
 * The naive loop recounts every pair of the corpus after each merge: O(corpus × merges), hours for 6,400 merges
 * over 11 MB. This one counts once and then updates only what a merge changes. Each distinct word is stored
 * once (with how often it occurs) as a doubly linked list of positions; every pair keeps the list of positions
 * where it starts; a max-heap orders pairs by score. Merging (a, b) at position i with neighbours p and n:
 *
 *   before  … p:x  i:a  j:b  n:y …        after   … p:x  i:ab  n:y …
 *   counts  (x,a) −w   (b,y) −w   (a,b) −w      (x,ab) +w   (ab,y) +w      (w = how often the word occurs)
 *
 * so a merge costs time proportional to how often the pair occurs, not to the corpus size. Heap entries are
 * not updated when a count falls; an entry whose score is out of date is re-pushed with its current score when
 * it reaches the top ("lazy deletion"), and a count that rises pushes a new entry. Positions in a pair's list
 * may also be out of date (a neighbour was merged away); they are checked when the pair is merged.
 */
import { grow, PairHeap, PairTable } from "./pairs";

/** Distinct words, each a run of initial symbols, and how often each occurs. */
export interface MergeWords {
  /** All words' symbols, one after another. */
  readonly symbols: Int32Array;
  /** Word k is symbols[starts[k] … starts[k+1]). Length: number of words + 1. */
  readonly starts: Int32Array;
  /** How often word k occurs in the corpus. */
  readonly counts: Int32Array;
}

export interface MergeLoopOptions {
  /** Initial symbols have ids 0 … numSymbols-1 (ids of later merges may be larger). */
  readonly numSymbols: number;
  /** "count": most frequent pair first (BPE); "likelihood": highest count(ab)/(count(a)·count(b)) (WordPiece). */
  readonly score: "count" | "likelihood";
  /** Pairs seen fewer times than this are never merged (default 2: a pair seen once teaches nothing). */
  readonly minFrequency?: number;
}

/** One merge the loop made. */
export interface MergeStep {
  readonly a: number;
  readonly b: number;
  /** The id of the merged symbol. */
  readonly id: number;
  /** How often the pair occurred when it was merged. */
  readonly count: number;
}

/**
 * Decides the id of the symbol made by merging a and b: a new id, an existing id (when another merge already
 * made the same string), or -1 to refuse this merge for good (e.g. it would spell a special token).
 */
export type ResolveMerge = (a: number, b: number) => number;

// Each position is a record of 5 int32s in one array, so that the fields a merge reads and writes together
// share a cache line: the symbol, the next and previous live positions of its word (-1 at the ends), how often
// the word occurs, and the slot of the pair that starts here.
const SYM = 0, NEXT = 1, PREV = 2, WEIGHT = 3, SLOT = 4, REC = 5;
const DEAD = -1;

export class MergeLoop {
  private readonly rec: Int32Array;
  private readonly numPositions: number;

  // Pairs: a slot per distinct pair ever seen.
  private readonly table: PairTable;
  private pairA = new Int32Array(1024);
  private pairB = new Int32Array(1024);
  private pairCount = new Float64Array(1024);
  private pairHead = new Int32Array(1024); // first node of the pair's position list, -1 if none
  private pairStamp = new Int32Array(1024); // last merge that marked the pair as grown (dedupes pushes)
  private banned = new Uint8Array(1024);
  private numPairs = 0;

  // Position-list nodes [position, next node], recycled through a free list.
  private occ: Int32Array;
  private occUsed = 0;
  private occFree = -1;

  // During one merge into X: the slots of (y, X) and (X, y) already looked up, by y (saves hash lookups).
  private leftSlot = new Int32Array(1024);
  private leftStamp = new Int32Array(1024).fill(-1);
  private rightSlot = new Int32Array(1024);
  private rightStamp = new Int32Array(1024).fill(-1);

  // WordPiece only: how often each symbol occurs, and the pairs each symbol is part of.
  private symCount = new Float64Array(1024);
  private symHead = new Int32Array(1024).fill(-1);
  private symPairs = new Int32Array(2048); // nodes [slot, next node]
  private symPairUsed = 0;

  private readonly heap = new PairHeap();
  private readonly minFrequency: number;
  private readonly likelihood: boolean;
  private scratch = new Int32Array(1024);
  private grown: number[] = [];
  private merges = 0;

  constructor(words: MergeWords, options: MergeLoopOptions) {
    const n = words.symbols.length;
    this.numPositions = n;
    this.minFrequency = Math.max(1, options.minFrequency ?? 2);
    this.likelihood = options.score === "likelihood";
    const rec = (this.rec = new Int32Array(n * REC));
    this.table = new PairTable(Math.max(1 << 16, n >> 4));
    this.occ = new Int32Array((n + 1024) * 2);
    this.symCount = grow(this.symCount, options.numSymbols);

    const { symbols, starts, counts } = words;
    for (let w = 0; w + 1 < starts.length; w++) {
      const s = starts[w], e = starts[w + 1], c = counts[w];
      for (let i = s; i < e; i++) {
        const r = i * REC, x = symbols[i];
        rec[r + SYM] = x;
        rec[r + NEXT] = i + 1 < e ? i + 1 : -1;
        rec[r + PREV] = i > s ? i - 1 : -1;
        rec[r + WEIGHT] = c;
        rec[r + SLOT] = -1;
        if (this.likelihood) {
          if (x >= this.symCount.length) this.symCount = grow(this.symCount, x + 1);
          this.symCount[x] += c;
        }
        if (i + 1 < e) {
          const slot = this.intern(x, symbols[i + 1]);
          this.pairCount[slot] += c;
          this.addOcc(slot, i);
          rec[r + SLOT] = slot;
        }
      }
    }
    for (let slot = 0; slot < this.numPairs; slot++) this.pushPair(slot);
  }

  /** Number of distinct pairs seen so far (a memory figure). */
  get pairs(): number {
    return this.numPairs;
  }

  /** Approximate bytes held by the loop's arrays, for memory reports. */
  get bytes(): number {
    const arrays = [this.rec, this.pairA, this.pairB, this.pairCount, this.pairHead, this.pairStamp, this.banned, this.occ, this.leftSlot, this.leftStamp, this.rightSlot, this.rightStamp, this.symCount, this.symHead, this.symPairs, this.scratch];
    return arrays.reduce((s, a) => s + a.byteLength, 0) + this.table.bytes + this.heap.bytes;
  }

  private intern(a: number, b: number): number {
    let slot = this.table.get(a, b);
    if (slot >= 0) return slot;
    slot = this.numPairs++;
    if (slot >= this.pairA.length) {
      const m = slot + 1;
      this.pairA = grow(this.pairA, m);
      this.pairB = grow(this.pairB, m);
      this.pairCount = grow(this.pairCount, m);
      this.pairHead = grow(this.pairHead, m);
      this.pairStamp = grow(this.pairStamp, m);
      this.banned = grow(this.banned, m);
    }
    this.pairA[slot] = a;
    this.pairB[slot] = b;
    this.pairCount[slot] = 0;
    this.pairHead[slot] = -1;
    this.pairStamp[slot] = -1;
    this.table.set(a, b, slot);
    if (this.likelihood) {
      this.linkSym(a, slot);
      if (b !== a) this.linkSym(b, slot);
    }
    return slot;
  }

  private linkSym(s: number, slot: number): void {
    if (s >= this.symHead.length) {
      const old = this.symHead.length;
      this.symHead = grow(this.symHead, s + 1);
      this.symHead.fill(-1, old);
    }
    const node = this.symPairUsed++;
    if (node * 2 + 2 > this.symPairs.length) this.symPairs = grow(this.symPairs, node * 2 + 2);
    this.symPairs[node * 2] = slot;
    this.symPairs[node * 2 + 1] = this.symHead[s];
    this.symHead[s] = node;
  }

  private addOcc(slot: number, pos: number): void {
    let node = this.occFree;
    if (node >= 0) {
      this.occFree = this.occ[node * 2 + 1];
    } else {
      node = this.occUsed++;
      if (node * 2 + 2 > this.occ.length) this.occ = grow(this.occ, node * 2 + 2);
    }
    this.occ[node * 2] = pos;
    this.occ[node * 2 + 1] = this.pairHead[slot];
    this.pairHead[slot] = node;
  }

  private score(slot: number): number {
    const c = this.pairCount[slot];
    if (!this.likelihood) return c;
    return c / (this.symCount[this.pairA[slot]] * this.symCount[this.pairB[slot]]);
  }

  private pushPair(slot: number): void {
    if (this.pairCount[slot] >= this.minFrequency && !this.banned[slot]) {
      this.heap.push(this.score(slot), this.pairA[slot] * 67108864 + this.pairB[slot], slot);
    }
  }

  /**
   * Finds the best pair, asks `resolve` for the id of the merged symbol, merges every occurrence and returns
   * what it did; null when no pair occurs at least `minFrequency` times.
   */
  step(resolve: ResolveMerge): MergeStep | null {
    const heap = this.heap;
    while (heap.size > 0) {
      const slot = heap.topItem();
      const prio = heap.topPriority();
      heap.pop();
      if (this.banned[slot] || this.pairCount[slot] < this.minFrequency) continue;
      const current = this.score(slot);
      if (current !== prio) {
        // Out of date: the count fell since this entry was pushed. Put it back with today's score.
        this.heap.push(current, this.pairA[slot] * 67108864 + this.pairB[slot], slot);
        continue;
      }
      const a = this.pairA[slot], b = this.pairB[slot];
      const id = resolve(a, b);
      if (id < 0) {
        this.banned[slot] = 1;
        continue;
      }
      const count = this.pairCount[slot];
      this.apply(slot, a, b, id);
      return { a, b, id, count };
    }
    return null;
  }

  /** The slot of pair (y, x) during merge `m` into x, looked up once per neighbour y. */
  private slotLeftOf(y: number, x: number, m: number): number {
    if (y >= this.leftStamp.length) this.growNeighbours(y + 1);
    if (this.leftStamp[y] === m) return this.leftSlot[y];
    const s = this.intern(y, x);
    this.leftStamp[y] = m;
    this.leftSlot[y] = s;
    return s;
  }

  private slotRightOf(x: number, y: number, m: number): number {
    if (y >= this.rightStamp.length) this.growNeighbours(y + 1);
    if (this.rightStamp[y] === m) return this.rightSlot[y];
    const s = this.intern(x, y);
    this.rightStamp[y] = m;
    this.rightSlot[y] = s;
    return s;
  }

  private growNeighbours(n: number): void {
    const old = this.leftStamp.length;
    this.leftSlot = grow(this.leftSlot, n);
    this.rightSlot = grow(this.rightSlot, n);
    this.leftStamp = grow(this.leftStamp, n);
    this.rightStamp = grow(this.rightStamp, n);
    this.leftStamp.fill(-1, old);
    this.rightStamp.fill(-1, old);
  }

  private apply(slot: number, a: number, b: number, id: number): void {
    const merge = this.merges++;
    if (this.likelihood && id >= this.symCount.length) this.symCount = grow(this.symCount, id + 1);
    // Take the pair's positions out of its list.
    let k = 0;
    for (let node = this.pairHead[slot]; node >= 0; ) {
      if (k >= this.scratch.length) this.scratch = grow(this.scratch, k + 1);
      this.scratch[k++] = this.occ[node * 2];
      const nxt = this.occ[node * 2 + 1];
      this.occ[node * 2 + 1] = this.occFree;
      this.occFree = node;
      node = nxt;
    }
    this.pairHead[slot] = -1;
    // Occurrences of (a, a) overlap in "a a a": merge them left to right, as the encoder will. Occurrences of
    // (a, b) with a ≠ b never overlap, and the order does not change the result; the list is newest-first,
    // i.e. roughly descending, so walk it backwards to touch memory in ascending order.
    const positions = this.scratch.subarray(0, k);
    if (a === b) positions.sort();
    else positions.reverse();

    const rec = this.rec; // never reallocated (pairCount is, when intern() grows it: always read it afresh)
    const grown = this.grown;
    grown.length = 0;
    for (let t = 0; t < k; t++) {
      const i = positions[t], ri = i * REC;
      if (rec[ri + SYM] !== a) continue; // merged into something else (or dead) since it was listed
      const j = rec[ri + NEXT];
      if (j < 0) continue;
      const rj = j * REC;
      if (rec[rj + SYM] !== b) continue;
      const w = rec[ri + WEIGHT];
      const p = rec[ri + PREV], n = rec[rj + NEXT];
      if (p >= 0) this.pairCount[rec[p * REC + SLOT]] -= w; // (x, a) is gone
      if (n >= 0) this.pairCount[rec[rj + SLOT]] -= w; // (b, y) is gone
      this.pairCount[slot] -= w;
      rec[ri + SYM] = id;
      rec[rj + SYM] = DEAD;
      rec[ri + NEXT] = n;
      if (n >= 0) rec[n * REC + PREV] = i;
      if (p >= 0) {
        const s = this.slotLeftOf(rec[p * REC + SYM], id, merge);
        this.pairCount[s] += w;
        this.addOcc(s, p);
        rec[p * REC + SLOT] = s;
        if (this.pairStamp[s] !== merge) (this.pairStamp[s] = merge), grown.push(s);
      }
      if (n >= 0) {
        const s = this.slotRightOf(id, rec[n * REC + SYM], merge);
        this.pairCount[s] += w;
        this.addOcc(s, i);
        rec[ri + SLOT] = s;
        if (this.pairStamp[s] !== merge) (this.pairStamp[s] = merge), grown.push(s);
      } else {
        rec[ri + SLOT] = -1;
      }
      if (this.likelihood) {
        this.symCount[a] -= w;
        this.symCount[b] -= w;
        this.symCount[id] += w;
      }
    }
    for (const s of grown) this.pushPair(s);
    if (this.likelihood) {
      // a and b now occur less often, so every pair containing them scores higher than its heap entry says.
      for (const s of [a, b]) {
        for (let node = this.symHead[s]; node >= 0; node = this.symPairs[node * 2 + 1]) {
          const ps = this.symPairs[node * 2];
          if (this.pairStamp[ps] !== merge && ps !== slot) (this.pairStamp[ps] = merge), this.pushPair(ps);
        }
      }
    }
  }

  /**
   * Recounts every pair from the words as they are now and compares with the incrementally kept counts.
   * For tests: returns the first disagreement, or null when the bookkeeping is exact.
   */
  audit(): string | null {
    const rec = this.rec;
    const fresh = new Map<string, number>();
    for (let i = 0; i < this.numPositions; i++) {
      const r = i * REC, n = rec[r + NEXT];
      if (rec[r + SYM] === DEAD || n < 0) continue;
      const key = `${rec[r + SYM]},${rec[n * REC + SYM]}`;
      fresh.set(key, (fresh.get(key) ?? 0) + rec[r + WEIGHT]);
      const slot = rec[r + SLOT];
      if (slot < 0 || `${this.pairA[slot]},${this.pairB[slot]}` !== key) return `position ${i}: slot ${slot} does not hold pair (${key})`;
    }
    for (let slot = 0; slot < this.numPairs; slot++) {
      const key = `${this.pairA[slot]},${this.pairB[slot]}`;
      const want = fresh.get(key) ?? 0;
      if (this.pairCount[slot] !== want) return `pair (${key}): kept ${this.pairCount[slot]}, recounted ${want}`;
      fresh.delete(key);
    }
    for (const [key, c] of fresh) return `pair (${key}) occurs ${c} times but has no slot`;
    return null;
  }

  /** Every pair that occurs now, with its count, most frequent first (for the step-by-step display of chapter 2). */
  pairCounts(): { a: number; b: number; count: number }[] {
    const out: { a: number; b: number; count: number }[] = [];
    for (let slot = 0; slot < this.numPairs; slot++) {
      if (this.pairCount[slot] > 0) out.push({ a: this.pairA[slot], b: this.pairB[slot], count: this.pairCount[slot] });
    }
    return out.sort((x, y) => y.count - x.count || x.a - y.a || x.b - y.b);
  }

  /** The current symbols of every word (for tests and for the step-by-step display of chapter 2). */
  currentWords(): number[][] {
    const rec = this.rec;
    const out: number[][] = [];
    for (let i = 0; i < this.numPositions; i++) {
      if (rec[i * REC + SYM] === DEAD || rec[i * REC + PREV] >= 0) continue;
      const w: number[] = [];
      for (let j = i; j >= 0; j = rec[j * REC + NEXT]) w.push(rec[j * REC + SYM]);
      out.push(w);
    }
    return out;
  }
}
