/**
 * WordPiece, Unigram and character-level BPE (chapter 2), and what all four tokenizers share: exact round trips,
 * special tokens, save/load through loadTokenizer, readable vocabularies, clear errors on bad files.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  CharBPETokenizer,
  TOKENIZER_KINDS,
  UnigramTokenizer,
  WordPieceTokenizer,
  digamma,
  loadTokenizer,
  tokenizerFromString,
  trainTokenizer,
  utf8,
  type AnyTokenizer,
  type TokenizerKind,
} from "tiaoyu";
import { POEMS, ROUND_TRIP, randomStrings } from "../fixtures/tokenizer/texts";

const trained = new Map<TokenizerKind, AnyTokenizer>();

/** One small tokenizer of each kind, trained once for the whole file. */
async function small(kind: TokenizerKind): Promise<AnyTokenizer> {
  if (!trained.has(kind)) trained.set(kind, await trainTokenizer(kind, [...POEMS, ...POEMS], { vocabSize: 700 }));
  return trained.get(kind)!;
}

/** WordPiece pieces by hand: the 512 byte pieces, then `extra` ("##x" continues a word). */
function wordPieces(extra: string[]): { bytes: Uint8Array; cont: boolean }[] {
  const pieces: { bytes: Uint8Array; cont: boolean }[] = [];
  for (let b = 0; b < 512; b++) pieces.push({ bytes: Uint8Array.of(b & 255), cont: b >= 256 });
  for (const e of extra) pieces.push({ bytes: utf8(e.replace(/^##/, "")), cont: e.startsWith("##") });
  return pieces;
}

describe("tokenizer: the four models", () => {
  for (const kind of TOKENIZER_KINDS) {
    describe(kind, () => {
      it("decode(encode(x)) === x for Chinese, emoji, mixed scripts, '' and random Unicode", async () => {
        const tok = await small(kind);
        assert.equal(tok.kind, kind);
        for (const s of [...ROUND_TRIP, ...POEMS, ...randomStrings(200, 3)]) assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
        assert.deepEqual(tok.encode(""), []);
      });

      it("has the vocabulary size asked for, special tokens last, and refuses special-token text by default", async () => {
        const tok = await small(kind);
        assert.ok(tok.vocabSize <= 700 && tok.vocabSize > 600, `vocabSize ${tok.vocabSize}`);
        const s = tok.specialId("<s>");
        assert.equal(s, tok.modelSize);
        assert.throws(() => tok.encode("<s>月"), /allowedSpecial/);
        assert.deepEqual(tok.encode("<s>月</s>", { allowedSpecial: "all" }).filter((id) => id >= s), [s, s + 1]);
        assert.ok(tok.encode("<s>月</s>", { allowedSpecial: "none" }).every((id) => id < s));
      });

      it("saves tokenizer.json and loadTokenizer gives back the same tokenizer", async () => {
        const tok = await small(kind);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-tok-"));
        tok.save(dir);
        const back = loadTokenizer(dir);
        assert.equal(back.kind, kind);
        assert.equal(back.vocabSize, tok.vocabSize);
        for (const s of [...POEMS, ...ROUND_TRIP]) assert.deepEqual(back.encode(s, { allowedSpecial: "all" }), tok.encode(s, { allowedSpecial: "all" }), s);
        assert.deepEqual(back.vocab(), tok.vocab());
        fs.rmSync(dir, { recursive: true });
      });

      it("names the file and the field when tokenizer.json is truncated or broken", async () => {
        const tok = await small(kind);
        const text = JSON.stringify(tok.toJSON());
        assert.throws(() => tokenizerFromString(text.slice(0, 200), "x/tokenizer.json"), /x\/tokenizer\.json: .*truncated/);
        const j = JSON.parse(text);
        delete j.model.vocab;
        assert.throws(() => tokenizerFromString(JSON.stringify(j), "x/tokenizer.json"), /x\/tokenizer\.json: model\.vocab: missing/);
        const k = JSON.parse(text);
        k.model.type = "WordLevel";
        assert.throws(() => tokenizerFromString(JSON.stringify(k)), /model\.type: expected "BPE", "WordPiece" or "Unigram"/);
        assert.throws(() => loadTokenizer(path.join(os.tmpdir(), "no-such-tokenizer")), /no tokenizer at .*no-such-tokenizer/);
      });

      it("shows its vocabulary readably: Chinese as Chinese, no mojibake", async () => {
        const tok = await small(kind);
        const vocab = tok.vocab();
        assert.equal(vocab.length, tok.vocabSize);
        const texts = vocab.map((v) => v.text);
        assert.ok(texts.some((t) => /[\u4e00-\u9fff]{2}/.test(t)), `${kind} learned no two-character token: ${texts.slice(-20).join(" ")}`);
        assert.ok(!texts.some((t) => /[ÃåæçèéĠ]/.test(t) && !/[\u4e00-\u9fff]/.test(t) && t.length > 2 && /[\u0100-\u017f]/.test(t)), "byte stand-in characters leak into the display");
        // Every entry shown as text (not as hex bytes) is exactly the text the token decodes to.
        for (const v of vocab) {
          if (v.special || v.text.includes("\\x") || v.text === "<unk>") continue;
          const shown = v.text.replace(/^##/, "").replace(/<\/w>$/, "").replace(/␣/g, " ").replace(/\\n/g, "\n").replace(/\\t/g, "\t").replace(/\\r/g, "\r");
          assert.equal(tok.decode([v.id]), shown, `token ${v.id} shown as ${JSON.stringify(v.text)}`);
        }
      });
    });
  }

  describe("wordpiece", () => {
    it("encodes a word by greedy longest match, continuation pieces marked ##", () => {
      const tok = new WordPieceTokenizer(wordPieces(["明", "明月", "##月", "##光", "##月光", "##明月光"]));
      const ids = tok.encode("明月光");
      assert.deepEqual(ids.map((id) => tok.idToToken(id)), ["æĺİæľĪ", "##åħī"]); // 明月 then ##光 (byte-level spelling)
      assert.deepEqual(ids.map((id) => tok.displayToken(id)), ["明月", "##光"]);
      // Longest match first, even when a shorter first piece would allow a longer continuation.
      assert.deepEqual(tok.encode("明明月光").map((id) => tok.displayToken(id)), ["明", "##明月光"]);
      // A character with no piece is spelled with byte pieces.
      assert.deepEqual(tok.encode("霜").map((id) => tok.displayToken(id)), ["\\xE9", "##\\x9C", "##\\x9C"]);
    });

    it("merges by likelihood count(ab)/(count(a)·count(b)), not by frequency as BPE does", async () => {
      const corpus = [...Array(10).fill("ab ac db"), ..."xy xy xy".split(" ")];
      const wp = await WordPieceTokenizer.train(corpus, { vocabSize: 513, specialTokens: [] });
      // (x, y): 3 / (3·3) = 0.33 beats (a, b): 10 / (20·20) = 0.025, though (a, b) occurs more often.
      assert.equal(wp.displayToken(512), "xy");
      const bpe = await trainTokenizer("bpe", corpus, { vocabSize: 257, specialTokens: [] });
      assert.notEqual(bpe.displayToken(256), "xy");
    });
  });

  describe("unigram", () => {
    it("segments by Viterbi: the pieces whose log probabilities sum highest", () => {
      const tok = new UnigramTokenizer([
        { piece: "明", score: -5 },
        { piece: "月", score: -5 },
        { piece: "光", score: -5 },
        { piece: "明月", score: -6 },
        { piece: "月光", score: -8 },
      ], { specialTokens: [] });
      // 明月+光 = −11 beats 明+月光 = −13 and 明+月+光 = −15.
      assert.deepEqual(tok.encode("明月光").map((id) => tok.idToToken(id)), ["明月", "光"]);
      // An unknown character falls back to its UTF-8 bytes.
      assert.deepEqual(tok.encode("霜").map((id) => tok.idToToken(id)), ["<0xE9>", "<0x9C>", "<0x9C>"]);
      assert.equal(tok.decode(tok.encode("霜明月")), "霜明月");
    });

    it("uses the digamma function of SentencePiece's M-step", () => {
      assert.ok(Math.abs(digamma(1) + 0.5772156649015329) < 1e-12);
      assert.ok(Math.abs(digamma(0.5) + 1.9635100260214235) < 1e-12);
      assert.ok(Math.abs(digamma(100) - 4.600161852738087) < 1e-12);
    });

    it("keeps every frequent character, learns multi-character pieces, and reports each pruning round", async () => {
      const rounds: string[] = [];
      const tok = (await trainTokenizer("unigram", [...POEMS, ...POEMS, ...POEMS], {
        vocabSize: 400,
        onProgress: (p) => p.phase === "training" && p.note && rounds.push(p.note),
      })) as UnigramTokenizer;
      for (const ch of "上不山月人，。") assert.notEqual(tok.tokenToId(ch), undefined, ch); // the most frequent characters
      assert.ok(tok.pieces.some((p) => [...p.piece].length > 1 && /[\u4e00-\u9fff]/.test(p.piece)));
      assert.ok(rounds.length >= 2, rounds.join("\n"));
      for (const p of tok.pieces.slice(257)) assert.ok(p.score < 0, `${p.piece} has score ${p.score}`);
    });
  });

  describe("charbpe", () => {
    it("marks the end of each word with </w> and drops the marker when decoding", async () => {
      const tok = (await small("charbpe")) as CharBPETokenizer;
      const ids = tok.encode("明月光，");
      const shown = ids.map((id) => tok.displayToken(id));
      assert.ok(shown.some((t) => t.endsWith("</w>")), shown.join(" "));
      assert.ok(!tok.decode(ids).includes("</w>"));
      assert.ok(tok.vocab().some((v) => /^[\u4e00-\u9fff]+<\/w>$/.test(v.text)), "word-final tokens exist");
    });

    it("spells an unknown last character with bytes of it and of </w>, as Hugging Face does, and decodes it exactly", async () => {
      const tok = (await small("charbpe")) as CharBPETokenizer;
      const ids = tok.encode("鑫");
      assert.deepEqual(ids.map((id) => tok.idToToken(id)), [..."鑫</w>"].flatMap((c) => [...utf8(c)]).map((b) => `<0x${b.toString(16).toUpperCase()}>`));
      assert.equal(tok.decode(ids), "鑫");
      assert.equal(tok.decode(tok.encode("鑫鑫 a</w>b")), "鑫鑫 a</w>b");
    });
  });
});
