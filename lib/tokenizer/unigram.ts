/**
 * Unigram language-model tokenizer (Kudo 2018, "Subword Regularization"; SentencePiece's default model).
 *
 * BPE and WordPiece grow a vocabulary by merging; Unigram shrinks one. Each piece has a probability p(piece), and
 * a text is split into the pieces whose probabilities multiply to the most (the best path through a lattice of
 * every way to split it, found by Viterbi):
 *
 *   "明月光":  明月 + 光   log p = −6.1 − 7.9 = −14.0     ← best
 *              明 + 月光   log p = −7.2 − 9.3 = −16.5
 *              明 + 月 + 光                    = −21.4
 *
 * Training (as SentencePiece does):
 *   1. seed: every character, plus the most frequent substrings (up to `maxPieceLength` characters);
 *   2. EM: the E-step computes how often each piece is expected to be used over all segmentations of the corpus
 *      (forward-backward on each word's lattice), the M-step turns those counts into new probabilities;
 *   3. prune: for every piece, estimate how much the corpus likelihood drops if it is removed (its uses go to the
 *      next best segmentation of the piece itself); keep the 75% that hurt most to lose; back to 2 until the
 *      vocabulary has the size asked for. Single characters are never pruned, so every word stays spellable.
 *
 * Characters too rare to keep fall back to byte pieces <0xE6> … (SentencePiece's byte_fallback), so every text
 * is encoded and decoded back exactly. Model ids: 0 is <unk>, 1 … 256 the byte pieces, then the pieces by score.
 * Encoding mirrors Hugging Face's Unigram model step for step (same tie-breaking), so ids agree with it.
 */
import { BaseTokenizer, commonOptions } from "./base";
import { displayBytes, utf8 } from "./bytes";
import { byteTokenName } from "./charbpe";
import { JsonReader, tokenizerJSON, type JsonObject } from "./hfjson";
import { preSplitFromJSON, preSplitJSON } from "./presplit";
import { grow } from "./pairs";
import { Trie } from "./trie";
import type { Corpus, PreSplitName, TrainOptions } from "./types";
import { countWords } from "./words";

export const UNK = "<unk>";
/**
 * Score of the byte pieces. They are only meant for characters outside the vocabulary, but Hugging Face matches
 * every vocabulary entry against the text, so the literal text "<0x41>" could become the byte piece for "A".
 * A score far below any real piece makes the ordinary spelling win (its characters are always in the vocabulary).
 */
export const BYTE_PIECE_SCORE = -1e6;
/** Characters always in the vocabulary: those that spell byte pieces like "<0x41>" (see BYTE_PIECE_SCORE). */
const SPELLING_CHARS = [..."<>x0123456789ABCDEF"];
/** Hugging Face's penalty for an unknown character, below the lowest score. */
const UNK_PENALTY = 10;

export interface UnigramTrainOptions extends TrainOptions {
  /** Longest piece, in characters (default 8). */
  readonly maxPieceLength?: number;
  /** How many substrings seed the vocabulary before pruning (default 10 × vocabSize). */
  readonly seedSize?: number;
  /** Share of pieces kept at each pruning round (default 0.75). */
  readonly shrinkingFactor?: number;
  /** EM iterations between pruning rounds (default 2). */
  readonly emIterations?: number;
  /** Share of the corpus's characters the alphabet must cover (default 0.9995); rarer ones use byte pieces. */
  readonly characterCoverage?: number;
}

/** A piece of the vocabulary and its score (log probability). */
export interface UnigramPiece {
  readonly piece: string;
  readonly score: number;
}

export class UnigramTokenizer extends BaseTokenizer {
  readonly kind = "unigram" as const;
  /** [<unk>, <0x00> … <0xFF>, pieces…] with scores. */
  readonly pieces: readonly UnigramPiece[];
  private readonly ids: Map<string, number>;
  private readonly scores: Float64Array;
  private readonly trie = new Trie();
  private readonly unkScore: number;
  private readonly bytesOf: Uint8Array[];
  private bestScore = new Float64Array(64);
  private bestStart = new Int32Array(64);
  private bestId = new Int32Array(64);

  /** A tokenizer from its pieces and scores (without <unk> and the byte pieces, which are added in front). */
  constructor(pieces: readonly UnigramPiece[], options: { specialTokens?: readonly string[]; preSplit?: PreSplitName } = {}) {
    const all: UnigramPiece[] = [{ piece: UNK, score: 0 }];
    for (let b = 0; b < 256; b++) all.push({ piece: byteTokenName(b), score: BYTE_PIECE_SCORE });
    all.push(...pieces);
    super(all.length, options.specialTokens ?? [], options.preSplit ?? "gpt2");
    this.pieces = Object.freeze(all);
    this.ids = new Map();
    this.scores = new Float64Array(all.length);
    let min = Infinity;
    all.forEach(({ piece, score }, id) => {
      if (piece === "") throw new Error(`Unigram piece ${id} is empty`);
      if (!Number.isFinite(score)) throw new Error(`Unigram piece ${JSON.stringify(piece)} has score ${score}`);
      if (this.ids.has(piece)) throw new Error(`Unigram piece ${JSON.stringify(piece)} appears twice`);
      this.ids.set(piece, id);
      this.scores[id] = score;
      min = Math.min(min, score);
      const units = new Array<number>(piece.length);
      for (let i = 0; i < piece.length; i++) units[i] = piece.charCodeAt(i);
      this.trie.insert(units, id);
    });
    this.unkScore = min - UNK_PENALTY;
    this.bytesOf = all.map(({ piece }, id) => (id >= 1 && id <= 256 ? Uint8Array.of(id - 1) : utf8(piece)));
    for (const [t] of this.specials.ids) {
      if (this.ids.has(t)) throw new Error(`special token "${t}" is also a Unigram piece: tokenizer.json could not tell them apart`);
    }
  }

  static async train(corpus: Corpus, options: UnigramTrainOptions): Promise<UnigramTokenizer> {
    const { specials, modelSize, preSplit } = commonOptions(options, 257 + SPELLING_CHARS.length + 1, "UnigramTokenizer.train");
    const started = Date.now();
    const words = await countWords(corpus, { specials, preSplit, onProgress: options.onProgress, started });
    const reserved = new Set<string>([...specials, UNK]);
    for (let b = 0; b < 256; b++) reserved.add(byteTokenName(b));
    const trainer = new UnigramTrainer(words.counts, modelSize - 257, reserved, options, (round, size, note) =>
      options.onProgress?.({ phase: "training", done: round, total: 0, seconds: (Date.now() - started) / 1000, note: `${size} pieces${note}` }),
    );
    const pieces = trainer.run();
    options.onProgress?.({ phase: "done", done: pieces.length + 257, total: modelSize, seconds: (Date.now() - started) / 1000 });
    return new UnigramTokenizer(pieces, { specialTokens: specials, preSplit });
  }

  protected modelBytes(id: number): Uint8Array {
    return this.bytesOf[id];
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token) ?? this.specials.idOf(token);
  }

  idToToken(id: number): string | undefined {
    return id < this.modelSize ? this.pieces[id].piece : this.specials.textOf(id);
  }

  override displayToken(id: number): string {
    if (id === 0) return UNK;
    if (id <= 256) return displayBytes([id - 1]);
    return super.displayToken(id);
  }

  protected encodeChunk(text: string, start: number, end: number, out: number[]): void {
    const L = end - start;
    if (this.bestScore.length < L + 1) {
      this.bestScore = new Float64Array(2 * L + 2);
      this.bestStart = new Int32Array(2 * L + 2);
      this.bestId = new Int32Array(2 * L + 2);
    }
    const score = this.bestScore, from = this.bestStart, idAt = this.bestId;
    from.fill(-1, 0, L + 1);
    score[0] = 0;
    // Forward Viterbi over character starts, as Hugging Face's encode_optimized: candidates from the trie in
    // order of length, a later candidate replacing an earlier one only when strictly better; <unk> for a
    // character no piece covers alone.
    for (let s = 0; s < L; ) {
      const c = text.charCodeAt(start + s);
      const len = c >= 0xd800 && c <= 0xdbff && s + 1 < L && (text.charCodeAt(start + s + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      const base = score[s];
      let single = false;
      let node = 0;
      for (let i = s; i < L; i++) {
        node = this.trie.next(node, text.charCodeAt(start + i));
        if (node < 0) break;
        const id = this.trie.idAt(node);
        if (id < 0) continue;
        const e = i + 1, cand = this.scores[id] + base;
        if (from[e] < 0 || cand > score[e]) (score[e] = cand), (from[e] = s), (idAt[e] = id);
        if (e - s === len) single = true;
      }
      if (!single) {
        const e = s + len, cand = this.unkScore + base;
        if (from[e] < 0 || cand > score[e]) (score[e] = cand), (from[e] = s), (idAt[e] = 0);
      }
      s += len;
    }
    // Backtrack; neighbouring <unk> characters are fused into one string, which is then looked up, else spelled
    // with byte pieces.
    const pieces: string[] = [];
    let unk = "";
    for (let e = L; e > 0; ) {
      const s = from[e];
      const piece = text.slice(start + s, start + e);
      if (idAt[e] === 0) unk = piece + unk;
      else {
        if (unk) pieces.push(unk), (unk = "");
        pieces.push(piece);
      }
      e = s;
    }
    if (unk) pieces.push(unk);
    for (let k = pieces.length - 1; k >= 0; k--) {
      const id = this.ids.get(pieces[k]);
      if (id !== undefined) out.push(id);
      else for (const b of utf8(pieces[k])) out.push(1 + b);
    }
  }

  toJSON(): object {
    return tokenizerJSON({
      addedTokens: this.specials.toAddedTokens(),
      preTokenizer: preSplitJSON(this.preSplit),
      decoder: { type: "Sequence", decoders: [{ type: "ByteFallback" }, { type: "Fuse" }] },
      model: { type: "Unigram", unk_id: 0, vocab: this.pieces.map((p) => [p.piece, p.score]), byte_fallback: true },
    });
  }

  static fromJSON(json: JsonObject, file = "tokenizer.json"): UnigramTokenizer {
    const r: JsonReader = new JsonReader(file);
    const model = r.model(json, "Unigram");
    if (r.field(model, "unk_id", "model") !== 0) r.fail("model.unk_id", `expected 0, found ${JSON.stringify(model.unk_id)}`);
    if (model.byte_fallback !== true) r.fail("model.byte_fallback", "expected true");
    const list = r.array(r.field(model, "vocab", "model"), "model.vocab");
    const pieces = list.map((e, i): UnigramPiece => {
      const pair = r.array(e, `model.vocab[${i}]`);
      if (pair.length !== 2) r.fail(`model.vocab[${i}]`, `expected [piece, score], found ${pair.length} items`);
      return { piece: r.string(pair[0], `model.vocab[${i}][0]`), score: r.number(pair[1], `model.vocab[${i}][1]`) };
    });
    if (pieces[0]?.piece !== UNK) r.fail("model.vocab[0]", `expected "${UNK}"`);
    for (let b = 0; b < 256; b++) {
      if (pieces[1 + b]?.piece !== byteTokenName(b)) r.fail(`model.vocab[${1 + b}]`, `expected the byte piece "${byteTokenName(b)}"`);
    }
    const specials = r.specials(json, pieces.length);
    try {
      return new UnigramTokenizer(pieces.slice(257), { specialTokens: specials, preSplit: preSplitFromJSON(json.pre_tokenizer, file) });
    } catch (e) {
      return r.fail("model", (e as Error).message);
    }
  }
}

/** ψ(x), the digamma function (derivative of ln Γ): ψ(x) = ψ(x+1) − 1/x up to x ≥ 10, then its asymptotic series. */
export function digamma(x: number): number {
  let result = 0;
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  const f = 1 / (x * x);
  return result + Math.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))));
}

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/**
 * The training loop. Works on characters as small integers: segment = the characters of a word between
 * characters outside the alphabet; piece = a run of characters.
 */
class UnigramTrainer {
  private readonly chars: string[] = []; // alphabet: index → character
  private readonly segments: Int32Array[] = [];
  private readonly segCounts: number[] = [];
  private pieces: Int32Array[] = [];
  private logp = new Float64Array(0);
  private trie = new Trie();
  private readonly maxLen: number;

  constructor(
    words: Map<string, number>,
    private readonly budget: number,
    private readonly reserved: Set<string>,
    private readonly options: UnigramTrainOptions,
    private readonly progress: (round: number, size: number, note: string) => void,
  ) {
    this.maxLen = options.maxPieceLength ?? 8;
    // 1. The alphabet: the most frequent characters covering `characterCoverage` of the text, at most 80% of
    //    the budget, plus the characters that spell byte pieces.
    const freq = new Map<string, number>();
    let total = 0;
    for (const [w, c] of words) for (const ch of w) freq.set(ch, (freq.get(ch) ?? 0) + c), (total += c);
    const ranked = [...freq].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    const coverage = options.characterCoverage ?? 0.9995;
    const cap = Math.floor(budget * 0.8) - SPELLING_CHARS.length;
    const index = new Map<string, number>();
    for (const ch of SPELLING_CHARS) index.set(ch, index.size), this.chars.push(ch);
    let covered = 0;
    for (const [ch, c] of ranked) {
      if (covered >= coverage * total || index.size >= cap + SPELLING_CHARS.length) break;
      covered += c;
      if (!index.has(ch) && !reserved.has(ch)) index.set(ch, index.size), this.chars.push(ch);
    }
    if (this.chars.length > 0xffff) throw new Error(`Unigram: an alphabet of ${this.chars.length} characters is more than 65,535`);
    // Segments: runs of alphabet characters.
    for (const [w, c] of words) {
      let run: number[] = [];
      const flush = () => {
        if (run.length) this.segments.push(Int32Array.from(run)), this.segCounts.push(c);
        run = [];
      };
      for (const ch of w) {
        const k = index.get(ch);
        if (k === undefined) flush();
        else run.push(k);
      }
      flush();
    }
  }

  private textOf(p: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < p.length; i++) s += this.chars[p[i]];
    return s;
  }

  /** 1. Seed pieces: characters and frequent substrings, scored by count × length. */
  private seed(): void {
    const charCount = new Float64Array(this.chars.length);
    this.segments.forEach((seg, k) => seg.forEach((ch) => (charCount[ch] += this.segCounts[k])));
    // Count substrings length by length; a substring seen twice has both its shorter parts seen twice, so
    // only extend those (otherwise the count of every substring of a big corpus would not fit in memory).
    const frequent: Map<string, number>[] = [new Map(), new Map()];
    // Each segment as a string of alphabet indices (one UTF-16 unit each): substrings are then cheap slices.
    const keys = this.segments.map((seg) => {
      let key = "";
      for (let i = 0; i < seg.length; i += 4096) key += String.fromCharCode(...seg.subarray(i, i + 4096));
      return key;
    });
    for (let len = 2; len <= this.maxLen; len++) {
      const counts = new Map<string, number>();
      const shorter = len > 2 ? frequent[len - 1] : null;
      keys.forEach((segKey, k) => {
        const c = this.segCounts[k];
        for (let i = 0; i + len <= segKey.length; i++) {
          const key = segKey.slice(i, i + len);
          if (shorter && !(shorter.has(key.slice(0, -1)) && shorter.has(key.slice(1)))) continue;
          counts.set(key, (counts.get(key) ?? 0) + c);
        }
      });
      for (const [key, c] of counts) if (c < 2) counts.delete(key);
      frequent.push(counts);
      if (counts.size === 0) break;
    }
    const seedSize = this.options.seedSize ?? 10 * (this.budget + 257);
    const candidates: [string, number][] = [];
    for (let len = 2; len < frequent.length; len++) {
      for (const [key, c] of frequent[len]) {
        if (!this.reserved.has(this.textOf([...key].map((u) => u.charCodeAt(0))))) candidates.push([key, c]);
      }
    }
    candidates.sort((x, y) => y[1] * y[0].length - x[1] * x[0].length || (x[0] < y[0] ? -1 : 1));
    const kept = candidates.slice(0, Math.max(0, seedSize - this.chars.length));
    this.pieces = this.chars.map((_, i) => Int32Array.of(i));
    const counts = Array.from(charCount, (c) => Math.max(c, 1));
    for (const [key, c] of kept) {
      this.pieces.push(Int32Array.from([...key].map((u) => u.charCodeAt(0))));
      counts.push(c);
    }
    const sum = counts.reduce((a, b) => a + b, 0);
    this.logp = Float64Array.from(counts, (c) => Math.log(c / sum));
    this.rebuildTrie();
  }

  private rebuildTrie(): void {
    this.trie = new Trie();
    this.pieces.forEach((p, id) => this.trie.insert(p, id));
  }

  // Scratch space for one segment's lattice: edge k goes from position ms[k] to me[k] with piece mid[k].
  private ms = new Int32Array(1024);
  private me = new Int32Array(1024);
  private mid = new Int32Array(1024);
  private alpha = new Float64Array(64);
  private beta = new Float64Array(64);
  private back = new Int32Array(64);
  private backId = new Int32Array(64);

  /**
   * Fills ms/me/mid with every piece that occurs in `seg` (except piece `skip`), by start, then by length, and
   * returns how many. Edges in this order make one forward pass and one backward pass enough.
   */
  private lattice(seg: Int32Array, skip = -1): number {
    let m = 0;
    for (let s = 0; s < seg.length; s++) {
      let node = 0;
      for (let i = s; i < seg.length && i - s < this.maxLen; i++) {
        node = this.trie.next(node, seg[i]);
        if (node < 0) break;
        const id = this.trie.idAt(node);
        if (id < 0 || id === skip) continue;
        if (m === this.ms.length) {
          this.ms = grow(this.ms, m + 1);
          this.me = grow(this.me, m + 1);
          this.mid = grow(this.mid, m + 1);
        }
        this.ms[m] = s;
        this.me[m] = i + 1;
        this.mid[m] = id;
        m++;
      }
    }
    return m;
  }

  private room(n: number): void {
    if (this.alpha.length > n) return;
    this.alpha = new Float64Array(2 * n + 2);
    this.beta = new Float64Array(2 * n + 2);
    this.back = new Int32Array(2 * n + 2);
    this.backId = new Int32Array(2 * n + 2);
  }

  /** The best segmentation of `seg` (piece ids), never using piece `skip`; null if there is none. */
  private viterbi(seg: Int32Array, skip = -1): number[] | null {
    const m = this.lattice(seg, skip);
    return this.viterbiEdges(seg.length, this.ms, this.me, this.mid, 0, m);
  }

  /** Viterbi over edges [from, to) of the given edge arrays (ordered by start). */
  private viterbiEdges(n: number, ms: Int32Array, me: Int32Array, mid: Int32Array, from: number, to: number): number[] | null {
    this.room(n);
    const best = this.alpha, back = this.back, backId = this.backId;
    best.fill(-Infinity, 0, n + 1);
    best[0] = 0;
    for (let k = from; k < to; k++) {
      const cand = best[ms[k]] + this.logp[mid[k]];
      const e = me[k];
      if (cand > best[e]) (best[e] = cand), (back[e] = ms[k]), (backId[e] = mid[k]);
    }
    if (best[n] === -Infinity) return null;
    const out: number[] = [];
    for (let e = n; e > 0; e = back[e]) out.push(backId[e]);
    return out.reverse();
  }

  // Every segment's lattice, built once per round (piece ids do not change within a round): segment k's edges
  // are edges [edgeStart[k], edgeStart[k+1]).
  private edgeStart = new Int32Array(0);
  private es = new Int32Array(0);
  private ee = new Int32Array(0);
  private eid = new Int32Array(0);

  private buildLattices(): void {
    this.edgeStart = new Int32Array(this.segments.length + 1);
    let total = 0;
    let es = new Int32Array(1 << 16), ee = new Int32Array(1 << 16), eid = new Int32Array(1 << 16);
    this.segments.forEach((seg, k) => {
      const m = this.lattice(seg);
      if (total + m > es.length) {
        es = grow(es, total + m);
        ee = grow(ee, total + m);
        eid = grow(eid, total + m);
      }
      es.set(this.ms.subarray(0, m), total);
      ee.set(this.me.subarray(0, m), total);
      eid.set(this.mid.subarray(0, m), total);
      total += m;
      this.edgeStart[k + 1] = total;
    });
    this.es = es;
    this.ee = ee;
    this.eid = eid;
  }

  /** Per-character log-probability offset that keeps forward-backward sums near 1 (see em). */
  private shift = 6;

  /**
   * 2. One EM iteration: expected piece counts over all segmentations (forward-backward), then new log
   * probabilities. The sums run on probabilities, not logs (exp/log per lattice edge would dominate the time):
   * each piece's weight is p · e^(shift · length), and as every segmentation of a segment covers all its n
   * characters, that multiplies every path by the same e^(shift · n): the posteriors are unchanged and the
   * sums stay near 1 instead of underflowing. A segment whose sum still leaves the range is redone in logs.
   */
  private em(): number {
    const P = this.pieces.length;
    const expected = new Float64Array(P);
    const shift = this.shift;
    const w = Float64Array.from(this.logp, (lp, id) => Math.exp(lp + shift * this.pieces[id].length));
    const { es, ee, eid, edgeStart } = this;
    let objective = 0, chars = 0;
    this.segments.forEach((seg, k) => {
      const n = seg.length, c = this.segCounts[k];
      const from = edgeStart[k], to = edgeStart[k + 1];
      this.room(n);
      const { alpha, beta } = this;
      alpha.fill(0, 0, n + 1);
      beta.fill(0, 0, n + 1);
      alpha[0] = 1;
      beta[n] = 1;
      for (let j = from; j < to; j++) alpha[ee[j]] += alpha[es[j]] * w[eid[j]];
      for (let j = to - 1; j >= from; j--) beta[es[j]] += w[eid[j]] * beta[ee[j]];
      const z = alpha[n];
      chars += c * n;
      if (z > 1e-280 && z < 1e280) {
        objective += c * (Math.log(z) - shift * n);
        const scale = c / z;
        for (let j = from; j < to; j++) expected[eid[j]] += alpha[es[j]] * w[eid[j]] * beta[ee[j]] * scale;
      } else {
        objective += c * this.emLog(n, from, to, expected, c);
      }
    });
    // Next time, centre the weights on this iteration's average log probability per character.
    this.shift = Math.min(50, Math.max(0, -objective / Math.max(1, chars)));
    // M-step (SentencePiece's Bayesian variant): log p = ψ(count) − ψ(total). Pieces expected less than half a
    // time are dropped (probability 0 until the next pruning removes them); characters are always kept.
    let total = 0;
    const keep = new Uint8Array(P);
    for (let id = 0; id < P; id++) {
      if (id < this.chars.length || (expected[id] >= 0.5 && this.logp[id] > -Infinity)) (keep[id] = 1), (total += Math.max(expected[id], 0.5));
    }
    const dt = digamma(total);
    for (let id = 0; id < P; id++) this.logp[id] = keep[id] ? digamma(Math.max(expected[id], 0.5)) - dt : -Infinity;
    return objective;
  }

  /** Number of pieces still in play (probability above 0). */
  private alive(): number {
    let n = 0;
    for (let id = 0; id < this.logp.length; id++) if (this.logp[id] > -Infinity) n++;
    return n;
  }

  /** Forward-backward in log space for one segment (edges [from, to)); returns log Z. */
  private emLog(n: number, from: number, to: number, expected: Float64Array, c: number): number {
    const alpha = new Float64Array(n + 1).fill(-Infinity);
    const beta = new Float64Array(n + 1).fill(-Infinity);
    alpha[0] = 0;
    beta[n] = 0;
    const { es, ee, eid, logp } = this;
    for (let j = from; j < to; j++) alpha[ee[j]] = logAdd(alpha[ee[j]], alpha[es[j]] + logp[eid[j]]);
    for (let j = to - 1; j >= from; j--) beta[es[j]] = logAdd(beta[es[j]], logp[eid[j]] + beta[ee[j]]);
    const z = alpha[n];
    for (let j = from; j < to; j++) if (logp[eid[j]] > -Infinity) expected[eid[j]] += c * Math.exp(alpha[es[j]] + logp[eid[j]] + beta[ee[j]] - z);
    return z;
  }

  /** 3. Pruning: drop the pieces whose loss would hurt the corpus likelihood least. */
  private prune(target: number): void {
    const n = this.pieces.length;
    const freq = new Float64Array(n);
    this.segments.forEach((seg, k) => {
      const best = this.viterbiEdges(seg.length, this.es, this.ee, this.eid, this.edgeStart[k], this.edgeStart[k + 1]);
      for (const id of best ?? []) freq[id] += this.segCounts[k];
    });
    const total = freq.reduce((a, b) => a + b, 0);
    const loss = new Float64Array(n).fill(Infinity);
    for (let id = this.chars.length; id < n; id++) {
      if (this.logp[id] === -Infinity) continue; // already dropped by the M-step
      if (freq[id] === 0) {
        loss[id] = 0; // never used by the best segmentation: free to remove
        continue;
      }
      // Without this piece, its uses go to the best segmentation of its own characters.
      const alt = this.viterbi(this.pieces[id], id);
      if (alt === null) continue; // cannot be spelled otherwise: keep
      const newTotal = total + freq[id] * (alt.length - 1);
      const lpPiece = Math.log(freq[id]) - Math.log(total);
      let lpAlt = 0;
      for (const j of alt) lpAlt += Math.log(freq[j] + freq[id]) - Math.log(newTotal);
      loss[id] = freq[id] * (lpPiece - lpAlt);
    }
    const order = Array.from({ length: n - this.chars.length }, (_, k) => this.chars.length + k)
      .filter((id) => this.logp[id] > -Infinity)
      .sort((a, b) => loss[b] - loss[a] || a - b);
    const keep = new Set(order.slice(0, Math.max(0, target - this.chars.length)));
    const ids = this.pieces.map((_, id) => id).filter((id) => id < this.chars.length || keep.has(id));
    this.pieces = ids.map((id) => this.pieces[id]);
    this.logp = Float64Array.from(ids, (id) => this.logp[id]);
    this.rebuildTrie();
  }

  run(): UnigramPiece[] {
    this.seed();
    const shrink = this.options.shrinkingFactor ?? 0.75;
    const iterations = this.options.emIterations ?? 2;
    for (let round = 1; ; round++) {
      this.buildLattices();
      let objective = 0;
      for (let it = 0; it < iterations; it++) objective = this.em();
      const perChar = objective / Math.max(1, this.segments.reduce((s, seg, k) => s + seg.length * this.segCounts[k], 0));
      const size = this.alive();
      this.progress(round, size, `, log-likelihood ${perChar.toFixed(3)} per character`);
      if (size <= Math.ceil(this.budget * 1.1) || round > 60) break;
      this.prune(Math.max(this.budget, Math.floor(size * shrink)));
    }
    // Final cut to the budget by score (characters first, as they must stay), then order by score.
    const ids = this.pieces.map((_, id) => id).filter((id) => this.logp[id] > -Infinity);
    const chars = ids.filter((id) => id < this.chars.length);
    const rest = ids.filter((id) => id >= this.chars.length).sort((a, b) => this.logp[b] - this.logp[a] || a - b);
    const kept = [...chars, ...rest.slice(0, Math.max(0, this.budget - chars.length))];
    return kept
      .map((id) => ({ piece: this.textOf(this.pieces[id]), score: this.logp[id] }))
      .sort((a, b) => b.score - a.score || (a.piece < b.piece ? -1 : 1));
  }
}
