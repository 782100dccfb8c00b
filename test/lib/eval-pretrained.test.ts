/**
 * Chapter 5's report of a pretrained model (lib/eval/pretrained.ts) on an untrained GPT and a character tokenizer,
 * and the `npx tiaoyu report` command's help and missing-checkpoint error.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GPT, gptConfig, NgramBaseline, pretrainedReport } from "tiaoyu";
import { expectNoLeak } from "../leak";

const CHARS = ["<s>", "</s>", ...[..."床前明月光疑是地上霜举头望低思故乡，。"]];
const tok = {
  encode: (text: string) => {
    const ids: number[] = [];
    for (let i = 0; i < text.length; ) {
      const special = ["<s>", "</s>"].find((s) => text.startsWith(s, i));
      const piece = special ?? text[i];
      const id = CHARS.indexOf(piece);
      if (id < 0) throw new Error(`unknown character ${piece}`);
      ids.push(id);
      i += piece.length;
    }
    return ids;
  },
  decode: (ids: ArrayLike<number>) => Array.from(ids, (id) => CHARS[id]).join(""),
  tokenToId: (t: string) => (CHARS.includes(t) ? CHARS.indexOf(t) : undefined),
};
const POEM = "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>";

describe("pretrained-model report", () => {
  it("scores next tokens, generates poems and measures their form beside the corpus's, without leaking", async () => {
    const model = new GPT(gptConfig({ vocabSize: CHARS.length, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }), { seed: 1 });
    try {
      const stream = tok.encode(POEM.repeat(4));
      const ngrams = new NgramBaseline(stream);
      await expectNoLeak(async () => {
        const r = await pretrainedReport(model, tok, stream, ngrams, [POEM, POEM], { poems: 3, maxNewTokens: 12 });
        assert.strictEqual(r.nextToken.positions, 96);
        assert.strictEqual(r.nextToken.bigram.top1.n, 96);
        assert.strictEqual(r.form.generated.poems, 3);
        assert.strictEqual(r.form.corpus.poems, 2);
        assert.strictEqual(r.form.corpus.couplets.k, 2, "静夜思 is in couplets");
        assert.strictEqual(r.form.corpus.evenLinesRhyme.k, 2);
        assert.strictEqual(r.samples.length, 3);
      }, "pretrainedReport");
    } finally {
      model.dispose();
    }
  });

  it("npx tiaoyu report: --help prints usage, a stage without a checkpoint is a clear error", function () {
    this.timeout(300_000);
    const cli = path.join(__dirname, "..", "..", "dist", "lib", "cli.js");
    const help = spawnSync(process.execPath, [cli, "report", "--help"], { encoding: "utf8" });
    assert.strictEqual(help.status, 0, help.stderr);
    assert.match(help.stdout, /usage: npx tiaoyu report \[STAGE\]/);
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-report-"));
    try {
      const r = spawnSync(process.execPath, [cli, "report", "sft"], { encoding: "utf8", env: { ...process.env, TIAOYU_QUICK: "1", TIAOYU_RUNS_DIR: runs } });
      assert.notStrictEqual(r.status, 0);
      assert.match(r.stderr, /no checkpoint for stage 'sft'/);
    } finally {
      fs.rmSync(runs, { recursive: true, force: true });
    }
  });
});
