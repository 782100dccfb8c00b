/**
 * Every untouched stub in exercises/ must FAIL its grader: a grader that a stub can pass grades nothing.
 * Each chapter is graded in a child process against exercises/ (as `npm run grade NN` would), and every one
 * of its exercises must come out failed. A stub file you have edited is skipped (checked with git), so this
 * test stays green while you work through the exercises.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..");
const specs = fs.readdirSync(path.join(__dirname, "exercises")).filter((f) => f.endsWith(".spec.ts")).sort();

function isUntouched(file: string): boolean {
  const rel = path.relative(root, file);
  const tracked = spawnSync("git", ["ls-files", "--error-unmatch", rel], { cwd: root });
  if (tracked.error || tracked.status !== 0) return true; // no git, or a new file: judge it as a stub
  return spawnSync("git", ["diff", "--quiet", "HEAD", "--", rel], { cwd: root }).status === 0;
}

describe("exercise stubs fail their graders", () => {
  for (const spec of specs) {
    const chapter = spec.slice(0, 2);
    const stub = fs.readdirSync(path.join(root, "exercises")).find((f) => f.startsWith(chapter) && f.endsWith(".ts"));
    it(`exercises/${stub ?? chapter + "-?.ts"} fails every exercise of ${spec}`, function () {
      assert.ok(stub, `test/exercises/${spec} has no stub file exercises/${chapter}-*.ts`);
      const file = path.join(root, "exercises", stub);
      if (!isUntouched(file)) this.skip();
      const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-stub-")), "report");
      const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "grade.ts"), chapter, "--target", "exercises", "--report", report, "--quiet"], {
        cwd: root, encoding: "utf8", timeout: 300_000,
      });
      assert.ok(fs.existsSync(`${report}.json`), `grading the stubs wrote no report:\n${r.stdout}\n${r.stderr}`);
      const { results } = JSON.parse(fs.readFileSync(`${report}.json`, "utf8")) as { results: { exercise: string; passed: boolean }[] };
      assert.ok(results.length > 0, `${spec} graded no exercise`);
      const passing = results.filter((x) => x.passed).map((x) => x.exercise);
      assert.deepStrictEqual(passing, [], `untouched stubs passed their graders: ${passing.join(", ")}`);
      assert.notStrictEqual(r.status, 0, "grading stubs must exit non-zero");
    });
  }
});
