/**
 * Small, fast, non-cryptographic hashes, used where the pipeline needs a number that depends only on some
 * text and is the same on every machine: the split of a poem (split.ts) and shingles for deduplication (dedup.ts).
 * Not for security: anyone can construct collisions on purpose.
 */

const encoder = new TextEncoder();

/**
 * 32-bit FNV-1a of a string's UTF-8 bytes: start from the offset basis, and for each byte xor it in, then
 * multiply by the FNV prime (mod 2³²). Checkable by hand against the published test vectors.
 * @example fnv1a32("")  // 0x811c9dc5 = 2166136261
 *          fnv1a32("a") // 0xe40c292c = 3826002220
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(text)) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 0;
}

/**
 * MurmurHash3's 32-bit finaliser: a bijection on 32-bit integers that mixes every input bit into every output bit.
 * FNV-1a on its own moves the last bytes of a key into the high bits poorly, so keys that differ only at the end
 * (题1, 题2, …) would crowd into the same part of [0, 2³²); mixing afterwards spreads them evenly.
 * @example mix32(0) // 0;  mix32(1) // 0x514e28b7
 */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
