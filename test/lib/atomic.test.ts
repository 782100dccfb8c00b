import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openAtomic, sweepStaleTemps, withAtomicFile, writeFileAtomic, writeFileAtomicSync } from "tiaoyu";

/** Everything in `dir` except the files we expect: leftovers would be temporary files. */
function others(dir: string, ...expected: string[]): string[] {
  return fs.readdirSync(dir).filter((f) => !expected.includes(f));
}

describe("io/atomic", () => {
  let dir: string;
  let file: string;
  const OLD = Buffer.from("旧的内容\nold content that must survive\n", "utf8");

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-atomic-"));
    file = path.join(dir, "poems.jsonl");
    fs.writeFileSync(file, OLD);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("replaces a file and leaves nothing else behind", async () => {
    await writeFileAtomic(file, "新\n");
    assert.strictEqual(fs.readFileSync(file, "utf8"), "新\n");
    writeFileAtomicSync(file, new Uint8Array([1, 2, 3]));
    assert.deepStrictEqual([...fs.readFileSync(file)], [1, 2, 3]);
    assert.deepStrictEqual(others(dir, "poems.jsonl"), []);
  });

  it("creates missing folders", async () => {
    const deep = path.join(dir, "a", "b", "c.json");
    await writeFileAtomic(deep, "{}");
    assert.strictEqual(fs.readFileSync(deep, "utf8"), "{}");
  });

  it("a write that throws midway leaves the old file byte-identical and no temporary file", async () => {
    const big = "床前明月光，疑是地上霜。\n".repeat(20_000); // > the 64 KiB buffer, so bytes reach the temp file
    await assert.rejects(
      withAtomicFile(file, async (w) => {
        await w.write(big);
        assert.ok(fs.statSync(w.tempPath).size > 0, "the temporary file should have received bytes");
        throw new Error("boom midway");
      }),
      /boom midway/,
    );
    assert.ok(fs.readFileSync(file).equals(OLD));
    assert.deepStrictEqual(others(dir, "poems.jsonl"), []);
  });

  it("nothing is visible at the target before commit", async () => {
    const w = await openAtomic(file);
    await w.write(new Uint8Array(200_000).fill(7));
    assert.ok(fs.readFileSync(file).equals(OLD));
    await w.commit();
    assert.strictEqual(fs.statSync(file).size, 200_000);
    assert.strictEqual(w.bytesWritten, 200_000);
    await assert.rejects(w.write("more"), /already committed/);
    await w.abort(); // harmless after commit
    assert.strictEqual(fs.statSync(file).size, 200_000);
  });

  it("a failing rename (target is a folder) removes the temporary file", async () => {
    const target = path.join(dir, "folder");
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "keep"), "x");
    await assert.rejects(writeFileAtomic(target, "data"));
    assert.throws(() => writeFileAtomicSync(target, "data"));
    assert.deepStrictEqual(others(dir, "poems.jsonl", "folder"), []);
    assert.strictEqual(fs.readFileSync(path.join(target, "keep"), "utf8"), "x");
  });

  it("a process killed mid-write leaves the old file intact; the next write sweeps its temporary file", async function () {
    this.timeout(30_000);
    // The child writes 1 MB, says so, and then waits forever with the file uncommitted until we kill it.
    const script = `
      const { openAtomic } = require("tiaoyu/dist/lib/io/atomic");
      (async () => {
        const w = await openAtomic(${JSON.stringify(file)});
        await w.write(Buffer.alloc(1 << 20, 65));
        process.stdout.write("written " + w.tempPath + "\\n");
        setInterval(() => {}, 1000);
      })();`;
    const child = spawn(process.execPath, ["-e", script], { cwd: path.join(__dirname, "..", ".."), stdio: ["ignore", "pipe", "inherit"] });
    const tempPath = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /written (.+)\n/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`child exited early with ${code}`)));
    });
    assert.ok(fs.statSync(tempPath).size >= 1 << 20, "the child should have written its bytes to the temporary file");
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGKILL");
    await exited;

    assert.ok(fs.readFileSync(file).equals(OLD), "the killed write must not touch the old file");
    assert.deepStrictEqual(others(dir, "poems.jsonl"), [path.basename(tempPath)], "a SIGKILL cannot clean up: the temp stays");
    await writeFileAtomic(file, "after\n");
    assert.strictEqual(fs.readFileSync(file, "utf8"), "after\n");
    assert.deepStrictEqual(others(dir, "poems.jsonl"), [], "the next write removes the dead writer's temp");
  });

  it("the sweep never touches a live writer's temporary file", async () => {
    const w = await openAtomic(file);
    await w.write("x");
    assert.deepStrictEqual(sweepStaleTemps(file), []);
    assert.ok(fs.existsSync(w.tempPath));
    await w.abort();
    assert.ok(!fs.existsSync(w.tempPath));
    assert.ok(fs.readFileSync(file).equals(OLD));
  });
});
