/**
 * safetensors: the checkpoint format of Hugging Face (https://huggingface.co/docs/safetensors), read and written
 * by our own small code so that every byte of a checkpoint is accounted for.
 *
 * Layout of a file:
 *
 *   [8 bytes]  N, the header length, unsigned 64-bit little-endian
 *   [N bytes]  JSON: { "transformer.wte.weight": { "dtype": "F32", "shape": [97, 48], "data_offsets": [0, 18624] },
 *                      ..., "__metadata__": { "format": "pt" } }      (padded with spaces to a multiple of 8)
 *   [rest]     the tensors' raw little-endian bytes; offsets count from the end of the header
 *
 * Reading checks everything a damaged or hostile file could get wrong: a sane header length, valid JSON, known
 * dtypes, byte sizes equal to product(shape) × dtype size, offsets inside the file and covering the data with no
 * gap or overlap. A truncated or corrupt file gives an error naming the file and the tensor, never garbage weights.
 * Writing goes through an atomic file, so a crash mid-save leaves the previous file intact.
 */
import * as fs from "fs";
import { withAtomicFile } from "./atomic";

/** The dtypes we read. Floats are returned as Float32Array, integers as Int32Array. We write F32, F16 and I32. */
export type SafetensorsDtype = "F32" | "F16" | "BF16" | "I32" | "I64";

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

/** One tensor as read: its dtype in the file, its shape, and its values (converted to float32 or int32). */
export interface SafeTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** One tensor to write: F32 for a Float32Array, I32 for an Int32Array; `dtype: "F16"` stores floats as halves. */
export interface SafeTensorInput {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  /** Store a Float32Array as float16 (half the bytes; values rounded to the nearest half, see floatToHalf). */
  readonly dtype?: "F16";
}

export interface SafetensorsContents {
  /** Tensors by name, in the order of their data in the file. */
  readonly tensors: Map<string, SafeTensor>;
  /** The header's `__metadata__` (string → string); empty when absent. */
  readonly metadata: Record<string, string>;
}

/** One entry of the header, without the data: enough to check names, shapes and dtypes before loading. */
export interface SafetensorsHeaderEntry {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly dataOffsets: readonly [number, number];
}

/** The reference implementation refuses headers over 100 MB; so do we (a corrupt length would allocate terabytes). */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parses and checks the header. `source` names the file in errors. */
function parseHeader(bytes: Uint8Array, source: string): {
  entries: Map<string, SafetensorsHeaderEntry>; metadata: Record<string, string>; dataStart: number;
} {
  if (bytes.length < 8) throw new Error(`${source}: not a safetensors file (only ${bytes.length} bytes, less than the 8-byte header length)`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw new Error(`${source}: header length ${n} is not plausible (over ${MAX_HEADER} bytes): not a safetensors file, or corrupt`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) {
    throw new Error(`${source}: truncated: the header says it is ${headerLen} bytes long but only ${bytes.length - 8} bytes follow the length`);
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLen).toString("utf8"));
  } catch (e) {
    throw new Error(`${source}: the header is not valid JSON (${(e as Error).message}): corrupt file`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new Error(`${source}: the header is not a JSON object`);

  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsHeaderEntry>();
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null) throw new Error(`${source}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") throw new Error(`${source}: __metadata__.${k} must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `${source}: tensor '${name}'`;
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw new Error(`${where}: header entry is not an object`);
    if (typeof e.dtype !== "string" || !(e.dtype in DTYPE_BYTES)) {
      throw new Error(`${where}: dtype ${JSON.stringify(e.dtype)} is not supported (supported: ${Object.keys(DTYPE_BYTES).join(", ")})`);
    }
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`${where}: shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new Error(`${where}: data_offsets ${JSON.stringify(offsets)} must be [begin, end] with 0 ≤ begin ≤ end`);
    }
    const shape = e.shape as number[];
    const expected = product(shape) * DTYPE_BYTES[dtype];
    if (offsets[1] - offsets[0] !== expected) {
      throw new Error(`${where}: shape [${shape.join(", ")}] of ${dtype} needs ${expected} bytes, but data_offsets [${offsets.join(", ")}] span ${offsets[1] - offsets[0]}`);
    }
    entries.set(name, { dtype, shape, dataOffsets: [offsets[0], offsets[1]] });
  }

  // The data must be covered exactly: sorted by offset, each tensor starts where the previous one ended.
  const dataLen = bytes.length - 8 - headerLen;
  const sorted = [...entries].sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  let pos = 0;
  for (const [name, e] of sorted) {
    const [begin, end] = e.dataOffsets;
    if (end > dataLen) {
      throw new Error(`${source}: truncated: tensor '${name}' needs data bytes [${begin}, ${end}) but only ${dataLen} bytes follow the header`);
    }
    if (begin !== pos) {
      throw new Error(`${source}: tensor '${name}' starts at data byte ${begin}, expected ${pos} (${begin > pos ? "a gap" : "an overlap"} between tensors): corrupt file`);
    }
    pos = end;
  }
  if (pos !== dataLen) throw new Error(`${source}: ${dataLen - pos} bytes after the last tensor are not described by the header: corrupt file`);
  return { entries: new Map(sorted), metadata, dataStart: 8 + headerLen };
}

/** IEEE half precision → float32. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * float32 → float16 bits, rounding to the nearest half (ties to even), as PyTorch's `.half()` does. Values beyond
 * ±65504 become ±Infinity and tiny ones become subnormals or zero: fine for trained weights, which sit near ±1.
 * @example floatToHalf(1) // 0x3c00    floatToHalf(-2) // 0xc000    floatToHalf(65520) // 0x7c00 (Infinity)
 */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Infinity, or a quiet NaN
  const e = exp - 127 + 15; // the exponent in half's bias
  if (e >= 31) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    // subnormal half (or zero): shift the mantissa, with its implicit 1, into place and round
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // Rounding up may carry into the exponent (and up to Infinity): that is the correct result.
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/** Copies one tensor's bytes out of the file and converts them to float32 or int32. */
function decodeData(bytes: Uint8Array, start: number, e: SafetensorsHeaderEntry, where: string): Float32Array | Int32Array {
  const [begin, end] = e.dataOffsets;
  const raw = bytes.buffer.slice(bytes.byteOffset + start + begin, bytes.byteOffset + start + end); // aligned copy
  switch (e.dtype) {
    case "F32":
      return new Float32Array(raw);
    case "I32":
      return new Int32Array(raw);
    case "F16": {
      const h = new Uint16Array(raw);
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32: shift the bits back into place.
      const h = new Uint16Array(raw);
      const bits = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case "I64": {
      const wide = new BigInt64Array(raw);
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        if (wide[i] > 2147483647n || wide[i] < -2147483648n) throw new Error(`${where}: I64 value ${wide[i]} at index ${i} does not fit in int32`);
        out[i] = Number(wide[i]);
      }
      return out;
    }
  }
}

/** Decodes a whole safetensors file held in memory. `source` (usually the path) names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = "safetensors buffer"): SafetensorsContents {
  if (!LITTLE_ENDIAN) throw new Error("safetensors: this reader needs a little-endian machine");
  const { entries, metadata, dataStart } = parseHeader(bytes, source);
  const tensors = new Map<string, SafeTensor>();
  for (const [name, e] of entries) {
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data: decodeData(bytes, dataStart, e, `${source}: tensor '${name}'`) });
  }
  return { tensors, metadata };
}

/** Reads and checks a safetensors file. */
export function readSafetensors(file: string): SafetensorsContents {
  return decodeSafetensors(fs.readFileSync(file), file);
}

/** Reads only the header of a safetensors file (names, dtypes, shapes), checked against the file's size. */
export function readSafetensorsHeader(file: string): { entries: Map<string, SafetensorsHeaderEntry>; metadata: Record<string, string> } {
  // The whole file is read so that the size checks see the real data length.
  const { entries, metadata } = parseHeader(fs.readFileSync(file), file);
  return { entries, metadata };
}

/** The header bytes (length prefix + JSON padded to 8 bytes) and the data parts, in order. */
function layout(tensors: Iterable<[string, SafeTensorInput]>, metadata: Record<string, string>): { head: Uint8Array; parts: Uint8Array[] } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = { ...metadata };
  const parts: Uint8Array[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__") throw new Error(`safetensors: '__metadata__' cannot be a tensor name`);
    if (seen.has(name)) throw new Error(`safetensors: tensor '${name}' given twice`);
    seen.add(name);
    let dtype = t.data instanceof Float32Array ? "F32" : t.data instanceof Int32Array ? "I32" : null;
    if (!dtype) throw new Error(`safetensors: tensor '${name}' must be a Float32Array or Int32Array`);
    if (product(t.shape) !== t.data.length) {
      throw new Error(`safetensors: tensor '${name}' has shape [${t.shape.join(", ")}] (${product(t.shape)} values) but ${t.data.length} values`);
    }
    let bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (t.dtype === "F16") {
      if (dtype !== "F32") throw new Error(`safetensors: tensor '${name}' asks for F16 but holds integers`);
      const halves = Uint16Array.from(t.data, floatToHalf);
      bytes = new Uint8Array(halves.buffer);
      dtype = "F16";
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // pad so the data starts 8-byte aligned
  const jsonBytes = Buffer.from(json, "utf8");
  const head = new Uint8Array(8 + jsonBytes.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  head.set(jsonBytes, 8);
  return { head, parts };
}

function entriesOf(tensors: ReadonlyMap<string, SafeTensorInput> | Record<string, SafeTensorInput>): [string, SafeTensorInput][] {
  return tensors instanceof Map ? [...tensors] : Object.entries(tensors);
}

/** Encodes tensors (in the given order) and metadata into one safetensors buffer. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafeTensorInput> | Record<string, SafeTensorInput>,
  metadata: Record<string, string> = {},
): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error("safetensors: this writer needs a little-endian machine");
  const { head, parts } = layout(entriesOf(tensors), metadata);
  return Buffer.concat([head, ...parts]);
}

/**
 * Writes a safetensors file atomically: the file is either the previous one or the complete new one.
 * @example await writeSafetensors("runs/x/model.safetensors", { w: { shape: [2], data: new Float32Array([1, 2]) } }, { format: "pt" })
 */
export async function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, SafeTensorInput> | Record<string, SafeTensorInput>,
  metadata: Record<string, string> = {},
): Promise<void> {
  if (!LITTLE_ENDIAN) throw new Error("safetensors: this writer needs a little-endian machine");
  const { head, parts } = layout(entriesOf(tensors), metadata);
  await withAtomicFile(file, async (w) => {
    await w.write(head);
    for (const p of parts) await w.write(p);
  });
}
