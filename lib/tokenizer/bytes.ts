/**
 * Bytes: what byte-level tokenizers are built on, and how to show them to a human.
 *
 * Every text is a sequence of UTF-8 bytes, and there are only 256 byte values, so a tokenizer whose alphabet is
 * the 256 bytes can encode any text at all, with no "unknown" token. A Chinese character takes 3 bytes:
 *
 *   "明" = E6 98 8E      "月" = E6 9C 88      "😀" = F0 9F 98 80
 *
 * tokenizer.json stores tokens as strings, and not every byte is a printable character, so byte-level files
 * map each byte to a stand-in character (GPT-2's convention): printable Latin-1 bytes stand for themselves and
 * the others are moved to U+0100 and up ("Ġ" for the space 0x20). That is why a byte-level vocabulary looks
 * like mojibake ("æĺİ" for 明) and "has no Chinese" in it; `displayBytes` shows the text instead.
 */

/** Byte → its stand-in character in tokenizer.json (GPT-2's byte-level alphabet). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let next = 0x100; // non-printable bytes, in byte order, get U+0100, U+0101, …
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : next++);
  return Object.freeze(out);
})();

/** Stand-in character → byte. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** Bytes → their tokenizer.json string. */
export function bytesToTokenString(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** A byte-level tokenizer.json string → bytes, or null if a character is not a stand-in byte. */
export function tokenStringToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = CHAR_TO_BYTE.get(s[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

const encoder = new TextEncoder();
// ignoreBOM: a text that starts with U+FEFF must keep it (by default TextDecoder drops a leading BOM).
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes → text; bytes that are not valid UTF-8 become U+FFFD (only happens for a partial token sequence). */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Writes the UTF-8 bytes of `s` into `out` (which must hold 3 bytes per UTF-16 unit) and returns their count.
 * A hand-written loop: for the short chunks an encoder sees, it is several times faster than TextEncoder.
 * Lone surrogates become EF BF BD (U+FFFD), as TextEncoder does.
 */
export function utf8Into(s: string, out: Int32Array | Uint8Array, start = 0, end = s.length): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < end ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 63);
          out[n++] = 0x80 | ((c >> 6) & 63);
          out[n++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd;
      }
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

function hex(b: number): string {
  return "\\x" + b.toString(16).toUpperCase().padStart(2, "0");
}

/** Makes whitespace and control characters visible: " " → "␣", "\n" → "\n" (two characters), U+0007 → "\x07". */
export function visible(text: string): string {
  let out = "";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === " ") out += "␣";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += hex(c);
    else out += ch;
  }
  return out;
}

/**
 * The text a run of bytes stands for, readable: valid UTF-8 characters as themselves (whitespace made
 * visible), and bytes that are only part of a character as hex. A byte-level token often holds part of a
 * Chinese character:
 *
 *   displayBytes([0xE6, 0x98, 0x8E])  → "明"
 *   displayBytes([0xE6, 0x98])        → "\xE6\x98"        (the first two bytes of 明)
 *   displayBytes([0x8E, 0xE6, 0x9C, 0x88]) → "\x8E月"
 */
export function displayBytes(bytes: ArrayLike<number>): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      const piece = Uint8Array.from({ length: len }, (_, k) => bytes[i + k]);
      try {
        out += visible(strictDecoder.decode(piece));
        i += len;
        continue;
      } catch {
        // not a valid character (e.g. a continuation byte is missing): fall through to hex
      }
    }
    out += hex(b);
    i++;
  }
  return out;
}
