import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { decodeSafetensors, encodeSafetensors, floatToHalf, readSafetensors, readSafetensorsHeader, writeSafetensors } from "tiaoyu";

const GOLDEN = path.join(__dirname, "..", "fixtures", "golden", "gpt2-tiny", "model.safetensors");

/** A safetensors file built by hand from a header object and data bytes (to make broken files on purpose). */
function handMade(header: unknown, data: Uint8Array, pad = true): Uint8Array {
  let json = JSON.stringify(header);
  if (pad) json += " ".repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(Buffer.from(json), 8);
  out.set(data, 8 + json.length);
  return out;
}

describe("safetensors", () => {
  it("round trip: F32 and I32 tensors and metadata come back bit for bit, in order, data 8-byte aligned", () => {
    const w = new Float32Array([1.5, -2, Math.PI, 1e-30, -0, Infinity]);
    const ids = new Int32Array([7, -3, 2147483647]);
    const bytes = encodeSafetensors({ w: { shape: [2, 3], data: w }, ids: { shape: [3], data: ids } }, { format: "pt", step: "12" });
    const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.strictEqual(headerLen % 8, 0);
    const back = decodeSafetensors(bytes);
    assert.deepStrictEqual(back.metadata, { format: "pt", step: "12" });
    assert.deepStrictEqual([...back.tensors.keys()], ["w", "ids"]);
    const bw = back.tensors.get("w")!;
    assert.strictEqual(bw.dtype, "F32");
    assert.deepStrictEqual(bw.shape, [2, 3]);
    assert.deepStrictEqual(Buffer.from(bw.data.buffer), Buffer.from(w.buffer));
    assert.deepStrictEqual([...back.tensors.get("ids")!.data], [7, -3, 2147483647]);
  });

  it("reads the golden file written by Python's safetensors", () => {
    const { tensors, metadata } = readSafetensors(GOLDEN);
    assert.strictEqual(metadata.format, "pt");
    assert.strictEqual(tensors.size, 28);
    assert.deepStrictEqual(tensors.get("transformer.h.0.attn.c_attn.weight")!.shape, [48, 144]);
    const header = readSafetensorsHeader(GOLDEN);
    assert.deepStrictEqual(header.entries.get("transformer.wpe.weight")!.dataOffsets, [18624, 24768]);
  });

  it("reads F16, BF16 and I64, converting to float32 / int32", () => {
    // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal = 0x0001
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]);
    // BF16: the top 16 bits of float32 1.0 (0x3f80) and -0.5 (0xbf00)
    const bf16 = new Uint16Array([0x3f80, 0xbf00]);
    const i64 = new BigInt64Array([5n, -6n]);
    const data = Buffer.concat([Buffer.from(f16.buffer), Buffer.from(bf16.buffer), Buffer.from(i64.buffer)]);
    const file = handMade({
      h: { dtype: "F16", shape: [4], data_offsets: [0, 8] },
      b: { dtype: "BF16", shape: [2], data_offsets: [8, 12] },
      n: { dtype: "I64", shape: [2], data_offsets: [12, 28] },
    }, data);
    const t = decodeSafetensors(file).tensors;
    assert.deepStrictEqual([...t.get("h")!.data], [1, -2, 65504, 2 ** -24]);
    assert.deepStrictEqual([...t.get("b")!.data], [1, -0.5]);
    assert.ok(t.get("n")!.data instanceof Int32Array);
    assert.deepStrictEqual([...t.get("n")!.data], [5, -6]);
    const big = handMade({ n: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, Buffer.from(new BigInt64Array([1n << 40n]).buffer));
    assert.throws(() => decodeSafetensors(big, "big.safetensors"), /big\.safetensors: tensor 'n': I64 value 1099511627776 at index 0 does not fit in int32/);
  });

  it("writes F16 rounded as numpy rounds (nearest, ties to even; 1,666 values incl. ties, subnormals, overflow)", () => {
    const fx = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "float16.json"), "utf8")) as { float32Bits: number[]; halfBits: number[] };
    const values = new Float32Array(new Uint32Array(fx.float32Bits).buffer);
    const got = Array.from(values, floatToHalf);
    const wrong = got.map((h, i) => [h, fx.halfBits[i], values[i]]).filter(([h, want]) => h !== want);
    assert.deepStrictEqual(wrong.slice(0, 5), [], `${wrong.length} values rounded differently from numpy (got, want, value)`);
    // Every finite half survives the trip half → float → half, and the file round trip reads back those floats.
    const all = new Uint16Array(0x7c00).map((_, i) => i);
    const file = handMade({ h: { dtype: "F16", shape: [all.length], data_offsets: [0, all.byteLength] } }, Buffer.from(all.buffer));
    const floats = decodeSafetensors(file).tensors.get("h")!.data as Float32Array;
    assert.ok(Array.from(floats, floatToHalf).every((h, i) => h === i), "half → float → half is the identity");
    const back = decodeSafetensors(encodeSafetensors({ h: { shape: [floats.length], data: floats, dtype: "F16" } })).tensors.get("h")!;
    assert.strictEqual(back.dtype, "F16");
    assert.deepStrictEqual(back.data, floats);
    assert.throws(() => encodeSafetensors({ i: { shape: [1], data: new Int32Array([1]), dtype: "F16" } }), /tensor 'i' asks for F16 but holds integers/);
  });

  describe("rejects damaged files with an error naming the file and the tensor", () => {
    const good = fs.readFileSync(GOLDEN);

    it("truncated data", () => {
      assert.throws(() => decodeSafetensors(good.subarray(0, good.length - 100), "m.safetensors"),
        /m\.safetensors: truncated: tensor 'transformer\.ln_f\.bias' needs data bytes \[251136, 251328\) but only 251228 bytes follow the header/);
    });

    it("truncated header, tiny file, absurd header length", () => {
      assert.throws(() => decodeSafetensors(good.subarray(0, 100), "m.safetensors"), /m\.safetensors: truncated: the header says it is 2624 bytes long but only 92/);
      assert.throws(() => decodeSafetensors(good.subarray(0, 5), "m.safetensors"), /not a safetensors file \(only 5 bytes/);
      const absurd = Buffer.from(good);
      absurd.writeBigUInt64LE(1n << 50n, 0);
      assert.throws(() => decodeSafetensors(absurd, "m.safetensors"), /header length 1125899906842624 is not plausible/);
    });

    it("corrupt JSON", () => {
      const bad = Buffer.from(good);
      bad[8] = "[".charCodeAt(0) + 1; // the header no longer starts with {
      assert.throws(() => decodeSafetensors(bad, "m.safetensors"), /m\.safetensors: the header is not valid JSON/);
    });

    it("shape and offsets that disagree, gaps, overlaps, trailing bytes, unknown dtypes", () => {
      const four = new Uint8Array(16);
      assert.throws(() => decodeSafetensors(handMade({ a: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }, four), "x"),
        /x: tensor 'a': shape \[3\] of F32 needs 12 bytes, but data_offsets \[0, 16\] span 16/);
      assert.throws(() => decodeSafetensors(handMade({
        a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
      }, four), "x"), /x: tensor 'b' starts at data byte 8, expected 4 \(a gap between tensors\)/);
      assert.throws(() => decodeSafetensors(handMade({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [3], data_offsets: [4, 16] },
      }, four), "x"), /x: tensor 'b' starts at data byte 4, expected 8 \(an overlap between tensors\)/);
      assert.throws(() => decodeSafetensors(handMade({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, four), "x"),
        /x: 8 bytes after the last tensor are not described by the header/);
      assert.throws(() => decodeSafetensors(handMade({ a: { dtype: "F64", shape: [2], data_offsets: [0, 16] } }, four), "x"),
        /x: tensor 'a': dtype "F64" is not supported/);
      assert.throws(() => decodeSafetensors(handMade({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 16] } }, four), "x"),
        /x: tensor 'a': shape \[-1\] is not a list of non-negative integers/);
    });
  });

  it("writes atomically to disk and refuses inconsistent input", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-st-"));
    const file = path.join(dir, "w.safetensors");
    await writeSafetensors(file, new Map([["a", { shape: [2], data: new Float32Array([1, 2]) }]]), { format: "pt" });
    assert.deepStrictEqual([...readSafetensors(file).tensors.get("a")!.data], [1, 2]);
    assert.deepStrictEqual(fs.readdirSync(dir), ["w.safetensors"], "no temporary file is left behind");
    await assert.rejects(writeSafetensors(file, { a: { shape: [3], data: new Float32Array(2) } }), /tensor 'a' has shape \[3\] \(3 values\) but 2 values/);
    assert.deepStrictEqual([...readSafetensors(file).tensors.get("a")!.data], [1, 2], "a failed write leaves the old file");
    fs.rmSync(dir, { recursive: true });
  });
});
