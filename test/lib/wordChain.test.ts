/**
 * 词语接龙 (lib/eval/wordChain.ts): the next-character probability summed over tokenizations, checked by hand on a
 * scripted model over a byte-level BPE where the expected character merges with the prompt's last one (南|国 vs 南国),
 * and against plain next-token probabilities and greedy generation when every token is one character.
 */
import * as assert from "assert";
import {
  ByteBPETokenizer,
  complete,
  FAMOUS_FIRST_LINES,
  type GenerativeModel,
  GPT,
  gptConfig,
  initBackend,
  nextCharacterProbability,
  nextTokenProbabilities,
  presetConfig,
  solitaireTable,
  tf,
} from "tiaoyu";
import { expectNoLeak } from "../leak";
import { poemTokenizer } from "./train_fixtures";

const bytes = (s: string) => [...new TextEncoder().encode(s)];

/**
 * A byte-level BPE with exactly these merges: 南 = E5 8D 97 → 257, 国 = E5 9B BD → 259, 南国 → 260.
 * 258 is the two-byte piece E5 9B (the start of 国).
 */
function nanguoTokenizer(): ByteBPETokenizer {
  const [n0, n1, n2] = bytes("南");
  const [g0, g1, g2] = bytes("国");
  return new ByteBPETokenizer(
    [
      [n0, n1, 256],
      [256, n2, 257],
      [g0, g1, 258],
      [258, g2, 259],
      [257, 259, 260],
    ],
    { specialTokens: ["<s>", "</s>"] },
  );
}

/** A "model" whose next-token distribution is looked up by context (ids joined by ","); unlisted contexts say </s>. */
function scriptedModel(vocabSize: number, eos: number, script: Record<string, Record<number, number>>): GenerativeModel {
  return {
    config: gptConfig({ vocabSize, blockSize: 16, nLayer: 1, nHead: 1, nEmbd: 4 }),
    forward(ids) {
      const rows = ids as readonly (readonly number[])[];
      const probs = script[rows[0].join(",")] ?? { [eos]: 1 };
      return tf.tidy(() => {
        const logits = new Float32Array(rows[0].length * vocabSize).fill(-Infinity);
        for (const [id, p] of Object.entries(probs)) logits[(rows[0].length - 1) * vocabSize + Number(id)] = Math.log(p);
        return tf.tensor3d(logits, [1, rows[0].length, vocabSize]);
      });
    },
    newCache() {
      throw new Error("the scripted model has no cache: pass useCache: false");
    },
  };
}

describe("solitaire: 词语接龙", function () {
  this.timeout(60_000);
  before(() => initBackend({ quiet: true }));

  it("the tokenizer fixture cuts 南国 as one token, and <s>南 as <s>|南", () => {
    const tok = nanguoTokenizer();
    assert.deepStrictEqual(tok.encode("<s>南国", { allowedSpecial: "all" }), [261, 260]);
    assert.deepStrictEqual(tok.encode("<s>南", { allowedSpecial: "all" }), [261, 257]);
  });

  it("sums P(国 | 南) over every spelling of 南国 and of 南: 0.456 / 0.55, where the token 国 after 南 alone gives 0.5", async () => {
    const tok = nanguoTokenizer();
    const [bos, eos, a] = [261, 262, "a".charCodeAt(0)];
    const [n0, n1, n2] = bytes("南");
    const g2 = bytes("国")[2];
    const model = scriptedModel(tok.vocabSize, eos, {
      [`${bos}`]: { 260: 0.3, 257: 0.2, [n0]: 0.1, [a]: 0.4 }, // 南国 | 南 | the first byte of 南 | something else
      [`${bos},257`]: { 259: 0.5, 258: 0.2, [a]: 0.3 }, // after 南: 国 | the first two bytes of 国 | other
      [`${bos},257,258`]: { [g2]: 0.9, [a]: 0.1 }, // the last byte of 国
      [`${bos},${n0}`]: { [n1]: 0.5, [a]: 0.5 },
      [`${bos},${n0},${n1}`]: { [n2]: 1 }, // 南 spelled byte by byte
      [`${bos},${n0},${n1},${n2}`]: { 259: 0.4, [a]: 0.6 },
      [`${bos},260`]: { [eos]: 1 },
    });
    // P(text goes on with 南国) = 0.3 + 0.2·(0.5 + 0.2·0.9) + 0.1·0.5·1·0.4 = 0.456
    // P(text goes on with 南)   = 0.3 + 0.2 + 0.1·0.5·1                       = 0.55
    const p = await nextCharacterProbability(model, tok, "<s>南", "国");
    assert.ok(Math.abs(p - 0.456 / 0.55) < 1e-6, `P(国 | 南) = ${p}, expected ${0.456 / 0.55}`);
    // Naively, the token 国 after the token 南 has probability 0.5: what the model knows is in the other spellings too.
    assert.ok(Math.abs((await nextTokenProbabilities(model, [bos, 257]))[259] - 0.5) < 1e-6);

    // The continuation starts with the most likely token that spells 南 — here 南国 itself — so it reads 国.
    const [row] = await solitaireTable(model, tok, ["南国"], { useCache: false });
    assert.deepStrictEqual({ ...row, probability: Math.round(row.probability * 1e6) / 1e6 }, {
      prompt: "南",
      expected: "国",
      continuation: "国",
      probability: Math.round((0.456 / 0.55) * 1e6) / 1e6,
      correct: true,
    });
  });

  it("skips spellings less likely than minBranch", async () => {
    const tok = nanguoTokenizer();
    const [bos, eos] = [261, 262];
    const [n0, n1, n2] = bytes("南");
    const model = scriptedModel(tok.vocabSize, eos, {
      [`${bos}`]: { 257: 0.5, [n0]: 0.3, [eos]: 0.2 },
      [`${bos},257`]: { 259: 0.5, [eos]: 0.5 },
      [`${bos},${n0}`]: { [n1]: 1 },
      [`${bos},${n0},${n1}`]: { [n2]: 1 },
      [`${bos},${n0},${n1},${n2}`]: { 259: 1 },
    });
    // All spellings: (0.5·0.5 + 0.3·1) / (0.5 + 0.3) = 0.6875. Without the byte-by-byte one (0.3 < 0.4): 0.25 / 0.5.
    assert.ok(Math.abs((await nextCharacterProbability(model, tok, "<s>南", "国")) - 0.6875) < 1e-6);
    assert.ok(Math.abs((await nextCharacterProbability(model, tok, "<s>南", "国", { minBranch: 0.4 })) - 0.5) < 1e-6);
  });

  it("with one token per character: the probability is the next token's, the continuation is greedy generation's", async () => {
    const tok = poemTokenizer();
    const model = new GPT(presetConfig("tiny", { vocabSize: tok.vocabSize }), { seed: 3 });
    try {
      const lines = ["床前明月光", "白日依山尽", "千山鸟飞绝"];
      const rows = await solitaireTable(model, tok, lines, { maxNewTokens: 10 });
      assert.strictEqual(rows.length, lines.length);
      for (const [i, row] of rows.entries()) {
        const chars = [...lines[i]];
        assert.strictEqual(row.prompt + row.expected, lines[i]);
        const p = await nextTokenProbabilities(model, tok.encode("<s>" + chars.slice(0, -1).join(""), { allowedSpecial: "all" }));
        const want = p[tok.tokenToId(row.expected)!];
        assert.ok(Math.abs(row.probability - want) < 1e-6 * Math.max(1, want), `${row.prompt}: ${row.probability} vs ${want}`);
        const greedy = await complete(model, tok, "<s>" + row.prompt, { temperature: 0, maxNewTokens: 10 });
        const end = greedy.text.search(/[。！？]/);
        assert.strictEqual(row.continuation, end >= 0 ? greedy.text.slice(0, end + 1) : greedy.text);
        assert.strictEqual(row.correct, row.continuation.startsWith(row.expected));
      }
      await expectNoLeak(async () => void (await solitaireTable(model, tok, ["春眠不觉晓"], { maxNewTokens: 6 })), "solitaireTable");
    } finally {
      model.dispose();
    }
  });

  it("rejects lines too short to have a prompt, and ships ten well-known first lines", async () => {
    const tok = poemTokenizer();
    const model = new GPT(presetConfig("tiny", { vocabSize: tok.vocabSize }), { seed: 3 });
    try {
      await assert.rejects(solitaireTable(model, tok, ["光"]), /line 0 "光" needs at least two characters/);
      await assert.rejects(nextCharacterProbability(model, tok, "<s>床前", "明月"), /must be exactly one character/);
    } finally {
      model.dispose();
    }
    assert.strictEqual(FAMOUS_FIRST_LINES.length, 10);
    assert.ok(FAMOUS_FIRST_LINES.every((l) => [...l].length >= 5));
  });
});
