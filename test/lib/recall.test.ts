/**
 * Chapter 5's recall of the anthology (lib/eval/recall.ts): the couplets it asks about, and the scoring of what a
 * model writes after `<s>first，` and after `<s>first，second。——`, checked with a model that answers from a script.
 */
import * as assert from "assert";
import { anthologyRecall, ByteBPETokenizer, type GenerativeModel, gptConfig, recallItems, tf } from "tiaoyu";
import { expectNoLeak } from "../leak";

const tok = new ByteBPETokenizer([], { specialTokens: ["<s>", "</s>"] });
const EOS = tok.tokenToId("</s>")!;

/** Writes, byte by byte, the scripted continuation of a prompt it knows, then </s>; anything else: </s> at once. */
function scripted(script: Record<string, string>): GenerativeModel {
  const V = tok.vocabSize;
  const known = Object.entries(script).map(([prompt, text]) => [tok.encode(prompt, { allowedSpecial: "all" }), [...new TextEncoder().encode(text)]] as const);
  return {
    config: gptConfig({ vocabSize: V, blockSize: 128, nLayer: 1, nHead: 1, nEmbd: 4 }),
    forward(ids) {
      const row = (ids as unknown as number[][])[0];
      const hits = known.filter(([p]) => p.length <= row.length && p.every((id, i) => row[i] === id));
      const hit = hits.sort((a, b) => b[0].length - a[0].length)[0]; // the longest prompt that starts the row
      const next = hit ? hit[1][row.length - hit[0].length] ?? EOS : EOS;
      return tf.tidy(() => {
        const logits = new Float32Array(row.length * V).fill(-1e9);
        logits[(row.length - 1) * V + next] = 0;
        return tf.tensor3d(logits, [1, row.length, V]);
      });
    },
    newCache() {
      throw new Error("scripted: no cache");
    },
  };
}

describe("eval/recall: what the base model remembers of the anthology", () => {
  it("takes the couplets of each poem, with the source when the poet and title are known", () => {
    const items = recallItems([
      { title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"] },
      { title: "无题", author: "佚名", paragraphs: ["白日依山尽，黄河入海流。"] },
    ]);
    assert.deepStrictEqual(items, [
      { first: "床前明月光", second: "疑是地上霜", author: "李白", title: "静夜思" },
      { first: "举头望明月", second: "低头思故乡", author: "李白", title: "静夜思" },
      { first: "白日依山尽", second: "黄河入海流", author: null, title: null },
    ]);
    assert.strictEqual(recallItems([{ title: "静夜思", author: "李白", paragraphs: ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"] }], 1).length, 1);
  });

  it("scores the second line, the poet and the title exactly, each with its own n", async () => {
    const model = scripted({
      "<s>床前明月光，": "疑是地上霜。举头",
      "<s>床前明月光，疑是地上霜。——": "李白《夜思》",
      "<s>白日依山尽，": "黄河入海鸣。",
    });
    const items = [
      { first: "床前明月光", second: "疑是地上霜", author: "李白", title: "静夜思" },
      { first: "白日依山尽", second: "黄河入海流", author: null, title: null },
    ];
    let r: Awaited<ReturnType<typeof anthologyRecall>> | undefined;
    await expectNoLeak(async () => void (r = await anthologyRecall(model, tok, items, { useCache: false, maxNewTokens: 40 })), "anthologyRecall");
    assert.deepStrictEqual([r!.nextLine.k, r!.nextLine.n], [1, 2], "the first couplet right, the second wrong (鸣 for 流)");
    assert.deepStrictEqual([r!.author.k, r!.author.n], [1, 1], "only couplets with a known source count for the poet");
    assert.deepStrictEqual([r!.title.k, r!.title.n], [0, 1], "《夜思》 is not 《静夜思》");
  });
});
