/**
 * The course's tokenizer (chapter 2 → every later chapter): trained once on chapter 1's training split, cached
 * under datasets/, loaded again at once, retrained when asked.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureTokenizer } from "tiaoyu";

describe("tokenizer: the course's tokenizer (ensureTokenizer)", function () {
  this.timeout(300_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-course-tok-"));
  const options = { quick: true, vocabSize: 300, dir: path.join(root, "tok"), corpus: { quick: true, limit: 40, dir: path.join(root, "poems") } };
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("trains on the corpus's training split, saves tokenizer.json + meta.json, and loads them the second time", async () => {
    const first = await ensureTokenizer(options);
    assert.equal(first.vocabSize, 300);
    assert.ok(fs.existsSync(path.join(options.dir, "tokenizer.json")));
    const meta = JSON.parse(fs.readFileSync(path.join(options.dir, "meta.json"), "utf8"));
    assert.equal(meta.vocabSize, 300);
    assert.match(meta.corpus, /train\.jsonl$/);
    const stamp = fs.statSync(path.join(options.dir, "tokenizer.json")).mtimeMs;
    const second = await ensureTokenizer(options);
    assert.equal(fs.statSync(path.join(options.dir, "tokenizer.json")).mtimeMs, stamp, "the cached file was rewritten");
    assert.deepEqual(second.merges, first.merges);
    const sample = "<s>床前明月光，疑是地上霜。</s>";
    assert.deepEqual(second.encode(sample, { allowedSpecial: "all" }), first.encode(sample, { allowedSpecial: "all" }));
    assert.equal(second.encode(sample, { allowedSpecial: "all" })[0], second.specialId("<s>"));
  });

  it("retrains when the settings change or force is given", async () => {
    const other = await ensureTokenizer({ ...options, vocabSize: 320, dir: path.join(root, "tok320") });
    assert.equal(other.vocabSize, 320);
    const before = fs.statSync(path.join(options.dir, "meta.json")).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    await ensureTokenizer({ ...options, force: true });
    assert.notEqual(fs.statSync(path.join(options.dir, "meta.json")).mtimeMs, before);
  });
});
