/**
 * Our tokenizer.json files are real Hugging Face tokenizers: two independent implementations load them and give
 * the same ids as ours on held-out poems (and, for the native one, the same decoded text):
 *   `tokenizers`               the Rust library's official Node binding (all four models)
 *   `@huggingface/tokenizers`  the pure-JS port (BPE, WordPiece, character BPE; its Unigram has no byte fallback,
 *                              so it emits <unk> where the Rust library and we emit byte pieces)
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import { Tokenizer as NativeTokenizer } from "tokenizers";
import { TOKENIZER_KINDS, trainTokenizer, type AnyTokenizer, type TokenizerKind } from "tiaoyu";
import { ROUND_TRIP, randomStrings } from "../fixtures/tokenizer/texts";

/** Poems of one file of the chinese-poetry package (an installed dependency: no network, no lib/data). */
function tangPoems(file: string): string[] {
  const dir = path.join(path.dirname(require.resolve("chinese-poetry/package.json")), "dist", "quantangshi");
  const poems = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as { paragraphs?: string[] }[];
  return poems.filter((p) => p.paragraphs?.length).map((p) => p.paragraphs!.join("\n"));
}

const JS_SUPPORTED: readonly TokenizerKind[] = ["bpe", "wordpiece", "charbpe"];

describe("tokenizer: interop with Hugging Face tokenizers", function () {
  this.timeout(300_000);
  const train = tangPoems("poet.tang.0.json");
  const heldOut = [...tangPoems("poet.tang.1000.json").slice(0, 300), ...ROUND_TRIP, ...randomStrings(50, 11)];
  const trained = new Map<TokenizerKind, AnyTokenizer>();

  before(async () => {
    for (const kind of TOKENIZER_KINDS) trained.set(kind, await trainTokenizer(kind, train, { vocabSize: 2000 }));
  });

  for (const kind of TOKENIZER_KINDS) {
    it(`${kind}: the Rust library (tokenizers) gives our ids and our text on held-out poems`, async () => {
      const ours = trained.get(kind)!;
      const native = NativeTokenizer.fromString(JSON.stringify(ours.toJSON()));
      assert.equal(native.getVocabSize(true), ours.vocabSize);
      for (const [t, id] of ours.specialTokens) assert.equal(native.tokenToId(t), id, t);
      let tokens = 0;
      for (const text of [...heldOut, "<s>床前明月光</s>"]) {
        const want = ours.encode(text, { allowedSpecial: "all" });
        const got = (await native.encode(text)).getIds();
        assert.deepEqual(got, want, `${kind}: ${JSON.stringify(text.slice(0, 30))}`);
        assert.equal(await native.decode(got, false), text, `${kind} decode: ${JSON.stringify(text.slice(0, 30))}`);
        tokens += want.length;
      }
      assert.ok(tokens > 10_000, `only ${tokens} tokens compared`);
    });

    if (JS_SUPPORTED.includes(kind)) {
      it(`${kind}: the pure-JS library (@huggingface/tokenizers) gives our ids on held-out poems`, () => {
        const ours = trained.get(kind)!;
        const js = new JsTokenizer(ours.toJSON(), {});
        for (const text of heldOut) {
          assert.deepEqual(js.encode(text).ids, ours.encode(text), `${kind}: ${JSON.stringify(text.slice(0, 30))}`);
        }
      });
    }
  }
});
