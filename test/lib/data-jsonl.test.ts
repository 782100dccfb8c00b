import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expectObject, JsonlError, openJsonl, readJsonl, readSamples, sampleLine, stringField, writeJsonl } from "tiaoyu";

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("data/jsonl: streaming reader and atomic writer", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-jsonl-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content?: string) => {
    const f = path.join(dir, name);
    if (content !== undefined) fs.writeFileSync(f, content);
    return f;
  };

  it("round-trips records, including Chinese, emoji, quotes and line breaks inside strings", async () => {
    const records = [
      { text: "<s>床前明月光，疑是地上霜。</s>" },
      { text: "多行\n文本\r\n和\"引号\"与\\反斜杠 🌙", n: 3, nested: { ok: true, list: [1, null] } },
      { text: "" },
      { text: "\u2028 line and paragraph separators \u2029" },
    ];
    const f = file("round.jsonl");
    assert.strictEqual(await writeJsonl(f, records), records.length);
    assert.strictEqual(fs.readFileSync(f, "utf8").split("\n").length, records.length + 1); // one line each, final \n
    assert.deepStrictEqual(await collect(readJsonl(f)), records);
  });

  it("writes from an async generator, and samples in the book's exact bytes", async () => {
    const f = file("train.jsonl");
    async function* gen() {
      yield "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>";
      yield "<s>春眠不觉晓，处处闻啼鸟。</s>";
    }
    await writeJsonl(f, gen(), { stringify: sampleLine });
    assert.strictEqual(
      fs.readFileSync(f, "utf8"),
      '{"text": "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>"}\n{"text": "<s>春眠不觉晓，处处闻啼鸟。</s>"}\n',
    );
    assert.deepStrictEqual(await collect(readSamples(f)), ["<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>", "<s>春眠不觉晓，处处闻啼鸟。</s>"]);
  });

  it("a malformed line stops the read with the file, line number and problem", async () => {
    const f = file("poems.jsonl", ['{"text": "a"}', '{"text": "b"}', "{not json", '{"text": "d"}'].join("\n") + "\n");
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const t of readSamples(f)) seen.push(t);
      })(),
      (e: JsonlError) => {
        assert.ok(e instanceof JsonlError);
        assert.strictEqual(e.line, 3);
        assert.match(e.message, /^line 3 of .*poems\.jsonl: invalid JSON: .*"\{not json"/);
        return true;
      },
    );
    assert.deepStrictEqual(seen, ["a", "b"], "records before the bad line are delivered");
  });

  it("names a missing or mistyped field, a non-object and an empty line", async () => {
    const cases: [string, RegExp][] = [
      ['{"title": "静夜思"}', /line 17 of .*x\.jsonl: missing field 'text'$/],
      ['{"text": 42}', /line 17 of .*x\.jsonl: field 'text' must be a string, got number$/],
      ['["text"]', /line 17 of .*x\.jsonl: expected a JSON object, got an array$/],
      ["null", /line 17 of .*x\.jsonl: expected a JSON object, got null$/],
      ["   ", /line 17 of .*x\.jsonl: empty line/],
    ];
    for (const [bad, re] of cases) {
      const lines = Array.from({ length: 20 }, (_, i) => (i === 16 ? bad : JSON.stringify({ text: `第${i + 1}行` })));
      const f = file("x.jsonl", lines.join("\n") + "\n");
      await assert.rejects(collect(readSamples(f)), re);
    }
  });

  it("skip mode skips and counts bad lines, keeping their messages", async () => {
    const lines = ['{"text": "a"}', "{oops", '{"text": 1}', "", '{"text": "e"}', '{"title": "x"}', '{"text": "g"}'];
    const f = file("mixed.jsonl", lines.join("\n"));
    const r = readSamples(f, { skipInvalid: true });
    assert.deepStrictEqual(await collect(r), ["a", "e", "g"]);
    assert.strictEqual(r.lines, 7);
    assert.strictEqual(r.records, 3);
    assert.strictEqual(r.skipped, 4);
    assert.strictEqual(r.errors.length, 4);
    assert.match(r.errors[0], /^line 2 of .*: invalid JSON/);
    assert.match(r.errors[3], /^line 6 of .*: missing field 'text'/);
    // Reading again starts from scratch.
    assert.strictEqual((await collect(r)).length, 3);
    assert.strictEqual(r.skipped, 4);
  });

  it("handles CRLF line ends, a BOM and a missing final newline", async () => {
    const f = file("crlf.jsonl", '\ufeff{"text": "a"}\r\n{"text": "b"}\r\n{"text": "c"}');
    assert.deepStrictEqual(await collect(readSamples(f)), ["a", "b", "c"]);
  });

  it("reports a missing file by name", async () => {
    await assert.rejects(collect(readJsonl(path.join(dir, "nope.jsonl"))), /cannot read .*nope\.jsonl: ENOENT/);
  });

  it("custom validators type the records", async () => {
    const f = file("v.jsonl", '{"title": "静夜思", "author": "李白"}\n');
    const rows = await collect(readJsonl(f, { validate: (v) => ({ title: stringField(expectObject(v), "title") }) }));
    assert.deepStrictEqual(rows, [{ title: "静夜思" }]);
  });

  it("a generator that throws midway leaves the previous file byte-identical and no temporary file", async () => {
    const f = file("keep.jsonl", '{"text": "old"}\n');
    const before = fs.readFileSync(f);
    async function* failing() {
      for (let i = 0; i < 50_000; i++) yield { text: `第${i}首` }; // enough to reach the disk before failing
      throw new Error("source broke");
    }
    await assert.rejects(writeJsonl(f, failing()), /source broke/);
    assert.ok(fs.readFileSync(f).equals(before));
    assert.deepStrictEqual(fs.readdirSync(dir), ["keep.jsonl"]);
  });

  it("the writer refuses a line break from a custom stringify", async () => {
    const w = await openJsonl<string>(file("w.jsonl"), (s) => s);
    await assert.rejects(w.write("a\nb"), /record 1 for .*w\.jsonl contains a line break/);
    await w.abort();
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  });
});
