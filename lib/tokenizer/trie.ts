/**
 * A trie over integer symbols (bytes for WordPiece, UTF-16 code units for Unigram): walking it along a text
 * finds every vocabulary entry that starts at a position in one pass, shortest first.
 *
 *   insert("明", 1); insert("明月", 2)   walk from 明月光: node(明) → id 1, node(明月) → id 2, node(明月光) → none
 *
 * Edges live in a PairTable keyed (node, symbol), so a trie of tens of thousands of entries is a few typed arrays.
 */
import { PairTable } from "./pairs";

export class Trie {
  private readonly edges = new PairTable(4096);
  /** The root's children in a plain array indexed by symbol: every walk starts there, so no hashing for it. */
  private root = new Int32Array(256).fill(-1);
  private ids = new Int32Array(1024).fill(-1);
  private count = 1; // node 0 is the root

  /** Adds `symbols` (e.g. the bytes of a piece) with the given id. */
  insert(symbols: ArrayLike<number>, id: number): void {
    let node = 0;
    for (let i = 0; i < symbols.length; i++) {
      const sym = symbols[i];
      if (node === 0 && sym >= this.root.length) {
        const grown = new Int32Array(Math.max(sym + 1, this.root.length * 2)).fill(-1);
        grown.set(this.root);
        this.root = grown;
      }
      let child = node === 0 ? this.root[sym] : this.edges.get(node, sym);
      if (child < 0) {
        child = this.count++;
        if (node === 0) this.root[sym] = child;
        else this.edges.set(node, sym, child);
        if (child >= this.ids.length) {
          const grown = new Int32Array(this.ids.length * 2).fill(-1);
          grown.set(this.ids);
          this.ids = grown;
        }
      }
      node = child;
    }
    this.ids[node] = id;
  }

  /** The child of `node` along `symbol`, or -1. Start at node 0. */
  next(node: number, symbol: number): number {
    if (node === 0) return symbol < this.root.length ? this.root[symbol] : -1;
    return this.edges.get(node, symbol);
  }

  /** The id of the entry that ends at `node`, or -1 if none does. */
  idAt(node: number): number {
    return this.ids[node];
  }
}
