/**
 * A seeded random number generator whose whole state fits in a checkpoint.
 *
 * `Math.random()` cannot be seeded or saved, so a run that used it could never be repeated or resumed exactly.
 * Training draws every random choice — which blocks go into a batch, the seed of each step's dropout masks — from
 * an `Rng`, and the checkpoint stores `rng.state()`. Restoring that state replays the same draws, which is what makes
 * "train 2N steps" and "train N, stop, resume, train N" produce the same losses.
 *
 * The generator is xoshiro128** (Blackman and Vigna, "Scrambled linear pseudorandom number generators", 2018):
 * four 32-bit words of state, fast in JavaScript's 32-bit integer arithmetic, and good enough statistically for
 * sampling batches. Seeds are spread over the four words with splitmix32, so seeds 1 and 2 give unrelated streams.
 */

/** The saved form of an {@link Rng}: its four 32-bit state words. */
export type RngState = readonly [number, number, number, number];

/** splitmix32: turns consecutive seeds into well-mixed, unrelated 32-bit words. */
function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [x, (z ^ (z >>> 16)) >>> 0];
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng {
  private s: [number, number, number, number];

  /**
   * @param seed any integer (non-integers and values beyond 32 bits are folded into 32 bits).
   * @example new Rng(42).int(10)  // the same number between 0 and 9 on every run and every machine
   */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng seed must be a finite number, got ${seed}`);
    let x = (Math.floor(seed) ^ Math.floor(seed / 2 ** 32)) >>> 0;
    const s: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nx, w] = splitmix32(x);
      x = nx;
      s.push(w);
    }
    // The all-zero state is the one state xoshiro never leaves; splitmix32 cannot produce it, but guard anyway.
    if (!s.some((w) => w !== 0)) s[0] = 1;
    this.s = s as [number, number, number, number];
  }

  /** A generator that continues exactly where the one that produced `state` stood. */
  static fromState(state: RngState): Rng {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
      throw new Error(`invalid Rng state ${JSON.stringify(state)}: expected four unsigned 32-bit integers`);
    }
    if (state.every((w) => w === 0)) throw new Error("invalid Rng state [0,0,0,0]: xoshiro128** cannot leave it");
    const r = new Rng(0);
    r.s = [state[0], state[1], state[2], state[3]];
    return r;
  }

  /** The state to save; `Rng.fromState(r.state())` continues the same sequence. */
  state(): RngState {
    return [...this.s] as unknown as RngState;
  }

  /** The next 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float in [0, 1) with 32 random bits. */
  float(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /**
   * An integer in [0, n), without the bias of `nextUint32() % n` (rejects the incomplete last stripe).
   * @example rng.int(6) + 1  // a die
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new Error(`Rng.int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A seed for a tfjs op that takes one (e.g. dropout), drawn from this stream so it is reproducible too. */
  seed(): number {
    return this.nextUint32();
  }
}
