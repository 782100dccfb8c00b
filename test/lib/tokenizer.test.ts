/**
 * Byte-level BPE (chapter 2): the golden case, the incremental trainer against a naive one, round trips,
 * special tokens, save/load, malformed files, and the readable vocabulary.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ByteBPETokenizer,
  DEFAULT_SPECIAL_TOKENS,
  TokenizerFileError,
  displayBytes,
  parseTokenizerJSON,
  splitChunks,
  utf8,
} from "tiaoyu";
import { MergeLoop } from "../../lib/tokenizer/merges";
import { layoutWords } from "../../lib/tokenizer/words";
import { utf8Into } from "../../lib/tokenizer/bytes";
import { POEMS, ROUND_TRIP, randomStrings } from "../fixtures/tokenizer/texts";

/** minbpe-style reference trainer: recount every pair after every merge (slow, obviously right). */
function naiveMerges(texts: string[], n: number): [number, number][] {
  const counts = new Map<string, number>();
  for (const t of texts) for (const c of splitChunks(t)) counts.set(c, (counts.get(c) ?? 0) + 1);
  let words = [...counts].map(([w, c]) => ({ ids: [...utf8(w)], c }));
  const merges: [number, number][] = [];
  for (let m = 0; m < n; m++) {
    const pairs = new Map<number, number>();
    for (const w of words) for (let i = 0; i + 1 < w.ids.length; i++) {
      const k = w.ids[i] * 65536 + w.ids[i + 1];
      pairs.set(k, (pairs.get(k) ?? 0) + w.c);
    }
    let best = -1, bestCount = 0;
    for (const [k, c] of pairs) if (c > bestCount || (c === bestCount && k < best)) (best = k), (bestCount = c);
    if (bestCount < 2) break;
    const a = Math.floor(best / 65536), b = best % 65536, id = 256 + m;
    merges.push([a, b]);
    words = words.map((w) => {
      const ids: number[] = [];
      for (let i = 0; i < w.ids.length; i++) {
        if (i + 1 < w.ids.length && w.ids[i] === a && w.ids[i + 1] === b) ids.push(id), i++;
        else ids.push(w.ids[i]);
      }
      return { ids, c: w.c };
    });
  }
  return merges;
}

/** minbpe-style reference encoder: merge the lowest-rank pair everywhere, until none is left. */
function naiveEncode(tok: ByteBPETokenizer, text: string): number[] {
  const rank = new Map(tok.merges.map(([a, b], r) => [`${a},${b}`, r]));
  const out: number[] = [];
  for (const chunk of splitChunks(text, tok.preSplit)) {
    let ids = [...utf8(chunk)];
    for (;;) {
      let best = Infinity, pair: [number, number] | null = null;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = rank.get(`${ids[i]},${ids[i + 1]}`);
        if (r !== undefined && r < best) (best = r), (pair = [ids[i], ids[i + 1]]);
      }
      if (!pair) break;
      const id = tok.mergeId(best);
      const next: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === pair[0] && ids[i + 1] === pair[1]) next.push(id), i++;
        else next.push(ids[i]);
      }
      ids = next;
    }
    out.push(...ids);
  }
  return out;
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-tok-"));
}

describe("tokenizer: byte-level BPE", () => {
  it("golden: 'aaabdaaabac' with 3 merges encodes to [258, 100, 258, 97, 99] (minbpe)", async () => {
    const tok = await ByteBPETokenizer.train(["aaabdaaabac"], { vocabSize: 259, specialTokens: [] });
    assert.deepEqual(tok.merges, [[97, 97], [97, 98], [256, 257]]);
    assert.deepEqual(tok.encode("aaabdaaabac"), [258, 100, 258, 97, 99]);
    assert.equal(tok.vocabSize, 259);
    assert.equal(tok.decode([258]), "aaab");
  });

  it("learns exactly the merges of a naive trainer that recounts every pair after every merge", async () => {
    const texts = [...POEMS, ...POEMS.slice(0, 6), "aaaa aaaa aaa bbbbbb abab abab"];
    const want = naiveMerges(texts, 120);
    const tok = await ByteBPETokenizer.train(texts, { vocabSize: 256 + 120, specialTokens: [] });
    assert.ok(want.length > 50, `the naive trainer found only ${want.length} merges`);
    assert.deepEqual(tok.merges.slice(0, want.length), want);
  });

  it("keeps its incremental pair counts equal to a full recount after every merge", () => {
    const counts = new Map<string, number>();
    for (const t of [...POEMS, "aaaaaaa bababab aaab"]) for (const c of splitChunks(t)) counts.set(c, (counts.get(c) ?? 0) + 1);
    const loop = new MergeLoop(layoutWords(counts, utf8Into), { numSymbols: 256, score: "count" });
    let next = 256;
    for (let m = 0; m < 80; m++) {
      const step = loop.step(() => next++);
      if (!step) break;
      assert.equal(loop.audit(), null, `after merge ${m} (${step.a}, ${step.b})`);
    }
    assert.ok(next > 300, "too few merges to be a meaningful check");
  });

  it("encodes like the naive encoder, for short chunks and for one long chunk (no pre-split)", async () => {
    const texts = [...POEMS, ...POEMS];
    for (const preSplit of ["gpt2", "none"] as const) {
      const tok = await ByteBPETokenizer.train(texts, { vocabSize: 500, specialTokens: [], preSplit });
      for (const t of [...POEMS, POEMS.join("\n")]) assert.deepEqual(tok.encode(t), naiveEncode(tok, t), `${preSplit}: ${t.slice(0, 20)}`);
    }
  });

  it("decode(encode(x)) === x for Chinese, emoji, mixed scripts, '' and random Unicode", async () => {
    const tok = await ByteBPETokenizer.train(POEMS, { vocabSize: 400 });
    for (const s of [...ROUND_TRIP, ...POEMS, ...randomStrings(300)]) {
      assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
    }
    assert.deepEqual(tok.encode(""), []);
    assert.equal(tok.decode([]), "");
  });

  it("reserves the course's special tokens after the merges, with chat and <think> tokens", async () => {
    const tok = await ByteBPETokenizer.train(POEMS, { vocabSize: 320 });
    assert.equal(tok.vocabSize, 320);
    const n = DEFAULT_SPECIAL_TOKENS.length;
    for (const t of ["<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|end|>", "<think>", "</think>"]) {
      assert.ok(DEFAULT_SPECIAL_TOKENS.includes(t), t);
    }
    DEFAULT_SPECIAL_TOKENS.forEach((t, i) => assert.equal(tok.tokenToId(t), 320 - n + i, t));
    assert.equal(tok.specialId("<s>"), 320 - n);
    assert.throws(() => tok.specialId("<mask>"), /no special token "<mask>"/);
  });

  it("never turns special-token text into a special id unless asked (allowedSpecial)", async () => {
    const tok = await ByteBPETokenizer.train(["<s>床前明月光</s>", "<s>疑是地上霜</s>"], { vocabSize: 300 });
    const s = tok.specialId("<s>"), e = tok.specialId("</s>");
    assert.throws(() => tok.encode("<s>床前</s>"), /special token "<s>" at index 0.*allowedSpecial/);
    assert.deepEqual(tok.encode("<s>床前</s>", { allowedSpecial: "all" }).filter((id) => id >= s), [s, e]);
    const plain = tok.encode("<s>床前</s>", { allowedSpecial: "none" });
    assert.ok(plain.every((id) => id < s), "'none' must encode the text as ordinary bytes");
    assert.equal(tok.decode(plain), "<s>床前</s>");
    const onlyEnd = tok.encode("<s>床</s>", { allowedSpecial: ["</s>"] });
    assert.equal(onlyEnd.filter((id) => id >= s).join(), String(e));
    assert.throws(() => tok.encode("x", { allowedSpecial: ["<mask>"] }), /not a special token/);
    // The longest special wins where one is a prefix of another.
    const t2 = await ByteBPETokenizer.train(["ab"], { vocabSize: 258, specialTokens: ["<|e", "<|end|>"] });
    assert.deepEqual(t2.encode("<|end|>", { allowedSpecial: "all" }), [257]);
  });

  it("does not learn merges from special-token text, and no ordinary token spells a special token", async () => {
    const corpus = Array.from({ length: 50 }, () => "<s>月</s>");
    const tok = await ByteBPETokenizer.train(corpus, { vocabSize: 300 });
    for (let id = 256; id < tok.modelSize; id++) {
      const text = tok.decode([id]);
      assert.ok(!text.includes("<s") && !text.includes("/s>"), `merge ${id} = ${JSON.stringify(text)} comes from special-token text`);
    }
    assert.throws(() => new ByteBPETokenizer([[60, 115], [256, 62]], { specialTokens: ["<s>"] }), /also an ordinary token/);
  });

  it("saves tokenizer.json and loads it back with the same ids, vocabulary and specials", async () => {
    const tok = await ByteBPETokenizer.train(POEMS, { vocabSize: 420 });
    const dir = tmpDir();
    const file = tok.save(dir);
    assert.equal(path.basename(file), "tokenizer.json");
    const back = ByteBPETokenizer.fromJSON(parseTokenizerJSON(fs.readFileSync(file, "utf8")));
    assert.deepEqual(back.merges, tok.merges);
    assert.deepEqual([...back.specialTokens], [...tok.specialTokens]);
    for (const s of [...POEMS, ...ROUND_TRIP]) assert.deepEqual(back.encode(s, { allowedSpecial: "all" }), tok.encode(s, { allowedSpecial: "all" }));
    fs.rmSync(dir, { recursive: true });
  });

  it("explains what is wrong with a truncated or malformed tokenizer.json", async () => {
    const tok = await ByteBPETokenizer.train(POEMS, { vocabSize: 300 });
    const text = JSON.stringify(tok.toJSON());
    assert.throws(() => parseTokenizerJSON(text.slice(0, text.length / 2), "t.json"), (e: Error) => e instanceof TokenizerFileError && /t\.json: .*truncated/.test(e.message));
    assert.throws(() => parseTokenizerJSON("", "t.json"), /truncated/);
    assert.throws(() => parseTokenizerJSON("[1, 2]", "t.json"), /expected a JSON object/);
    const broken = (edit: (j: any) => void) => {
      const j = JSON.parse(text);
      edit(j);
      return () => ByteBPETokenizer.fromJSON(j, "t.json");
    };
    assert.throws(broken((j) => delete j.model.vocab), /t\.json: model\.vocab: missing/);
    assert.throws(broken((j) => (j.model.type = "Unigram")), /model\.type: expected "BPE", found string "Unigram"/);
    assert.throws(broken((j) => j.model.merges.push(["床", "前"])), /model\.merges\[\d+\]: token "床" is not in model\.vocab/);
    assert.throws(broken((j) => (j.model.merges[0] = "only-one")), /model\.merges\[0\]: expected "left right"/);
    assert.throws(broken((j) => (j.model.vocab["Ā"] = 5)), /model\.vocab/);
    assert.throws(broken((j) => (j.added_tokens[0].id = 3)), /added_tokens: token "<s>" has id 3/);
  });

  it("rejects bad options with the value and the reason", async () => {
    await assert.rejects(ByteBPETokenizer.train(POEMS, { vocabSize: 100 }), /vocabSize 100 is too small: it needs at least 256 model tokens plus 9 special tokens = 265/);
    await assert.rejects(ByteBPETokenizer.train(POEMS, { vocabSize: 300, preSplit: "words" as never }), /unknown preSplit "words"/);
    await assert.rejects(ByteBPETokenizer.train([42 as unknown as string], { vocabSize: 300 }), /corpus sample #0 is a number/);
    const tok = await ByteBPETokenizer.train(POEMS, { vocabSize: 300 });
    assert.throws(() => tok.decode([300]), /token id 300 is outside the vocabulary \(ids 0 … 299\)/);
    assert.throws(() => tok.decode([-1]), /outside the vocabulary/);
  });

  it("trains from an async iterable (a streamed corpus) exactly as from an array", async () => {
    async function* stream() {
      for (const p of POEMS) yield p;
    }
    const a = await ByteBPETokenizer.train(POEMS, { vocabSize: 350 });
    const b = await ByteBPETokenizer.train(stream(), { vocabSize: 350 });
    assert.deepEqual(b.merges, a.merges);
  });

  it("reports progress while training", async () => {
    const seen: string[] = [];
    await ByteBPETokenizer.train(POEMS, { vocabSize: 700, onProgress: (p) => seen.push(p.phase) });
    assert.ok(seen.includes("done"), seen.join());
  });

  it("shows byte-level tokens as the text they stand for, partial characters as hex", async () => {
    assert.equal(displayBytes(utf8("明")), "明");
    assert.equal(displayBytes([0xe6, 0x98]), "\\xE6\\x98");
    assert.equal(displayBytes([0x8e, ...utf8("月")]), "\\x8E月");
    assert.equal(displayBytes(utf8(" a\n")), "␣a\\n");
    const tok = await ByteBPETokenizer.train([...POEMS, ...POEMS], { vocabSize: 600 });
    const vocab = tok.vocab();
    assert.equal(vocab.length, 600);
    assert.equal(vocab[0x41].text, "A");
    const ming = tok.encode("明月");
    assert.equal(ming.map((id) => tok.displayToken(id)).join(""), "明月");
    assert.ok(vocab.some((v) => /[\u4e00-\u9fff]/.test(v.text)), "a Chinese-trained vocabulary shows Chinese characters");
    assert.ok(vocab.slice(256).some((v) => v.token !== v.text), "tokenizer.json strings (mojibake) differ from the readable text");
    assert.equal(vocab[vocab.length - 1].special, true);
  });

  it("cuts text with the GPT-2 pattern into chunks that tile it", () => {
    assert.deepEqual(splitChunks("床前明月光，疑是地上霜。"), ["床前明月光", "，", "疑是地上霜", "。"]);
    assert.deepEqual(splitChunks("It's 42 cats  here"), ["It", "'s", " 42", " cats", " ", " here"]);
    for (const s of [...ROUND_TRIP, ...randomStrings(100, 7)]) assert.equal(splitChunks(s).join(""), s);
  });
});
