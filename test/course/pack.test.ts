/**
 * The student pack (npm run student-pack DIR), made from the last commit in a temporary folder: it holds no
 * reference solution, installs (node_modules linked from this checkout instead of downloaded, then the same
 * postinstall `npm install` runs), passes a fitting subset of its own `npm test -- lib`, and grades a filled-in
 * chapter while an untouched one scores nothing. One install, one grading run: this is the slow part of the course
 * tests (the postinstall's tsc and the type check dominate).
 */
import * as assert from "assert";
import { spawnSync, type SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { makeStudentPack } from "../student-pack";

const root = path.join(__dirname, "..", "..");

function walk(dir: string, rel = ""): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.join(rel, e.name);
    if (e.name === "node_modules" || e.name === "dist" || e.name === ".jupyter") return [];
    return e.isDirectory() ? walk(dir, r) : [r];
  });
}

/** The lines of a solution that say something (not blank, not a brace, not a comment), whitespace normalized. */
function bodyLines(text: string): string[] {
  return text.split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter((l) => l.length > 3 && !/^(\/\/|\/\*\*?|\*)/.test(l) && !/^[{}();,\s]*$/.test(l));
}

describe("course: the student pack", function () {
  this.timeout(30 * 60_000);
  let pack = "";
  const env = { ...process.env, TIAOYU_NATIVE: "0", TIAOYU_NO_KERNEL_REGISTER: "1", TIAOYU_GRADE_TARGET: "" };
  delete (env as Record<string, string | undefined>).TIAOYU_GRADE_TARGET;
  const npm = (args: string[]): SpawnSyncReturns<string> => spawnSync("npm", args, { cwd: pack, env, encoding: "utf8", timeout: 20 * 60_000 });
  const node = (args: string[]): SpawnSyncReturns<string> => spawnSync(process.execPath, ["--import", "tsx", ...args], { cwd: pack, env, encoding: "utf8", timeout: 20 * 60_000 });

  before(() => {
    pack = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-pack-")), "course");
    makeStudentPack(pack);
  });
  after(() => fs.rmSync(path.dirname(pack), { recursive: true, force: true }));

  it("holds no reference solution: no solutions/, no mutants or bypass fixtures, no pointer to them, no three lines of any solution in a row", () => {
    for (const gone of ["solutions", "test/exercises/mutants", "test/exercises/graders.test.ts", "test/fixtures/bypass"]) {
      assert.ok(!fs.existsSync(path.join(pack, gone)), `${gone} is in the pack`);
    }
    const files = walk(pack);
    // A mutant is a solution with one change, and the bypass fixtures hold an honest answer to 4.1: nothing left in
    // the pack may point at them (the graders' tests that use them stay behind).
    // (test/student-pack.ts names them only to leave them out.)
    for (const f of files.filter((f) => /\.(ts|js|json|md|ipynb)$/.test(f) && f !== path.join("test", "student-pack.ts"))) {
      assert.doesNotMatch(fs.readFileSync(path.join(pack, f), "utf8"), /exercises\/mutants|fixtures\/bypass|graders\.test/, `${f} refers to something left out of the pack`);
    }
    for (const f of files.filter((f) => f.startsWith(path.join("test", "exercises")))) {
      assert.doesNotMatch(fs.readFileSync(path.join(pack, f), "utf8"), /\.\.\/solutions\//, `${f} still imports from solutions/`);
    }
    // Three consecutive lines of a solution, anywhere in the pack, would give its body away (the stubs share
    // signatures and doc comments with the solutions, so the check is on windows of body lines the stub lacks).
    // lib/ is left out on purpose: each exercise is a simplified piece of the library, which the learner is told to
    // read afterwards; what must not travel is the solution file's own text.
    const texts = files.filter((f) => !f.startsWith("lib" + path.sep)).map((f) => ({ f, lines: bodyLines(fs.readFileSync(path.join(pack, f), "utf8")).join("\n") }));
    for (const s of fs.readdirSync(path.join(root, "solutions"))) {
      const stub = new Set(bodyLines(fs.readFileSync(path.join(root, "exercises", s), "utf8")));
      const lines = bodyLines(fs.readFileSync(path.join(root, "solutions", s), "utf8"));
      for (let i = 0; i + 3 <= lines.length; i++) {
        const window = lines.slice(i, i + 3);
        if (window.every((l) => stub.has(l))) continue;
        const hit = texts.find((t) => t.lines.includes(window.join("\n")));
        assert.ok(!hit, `${hit?.f} contains lines ${i + 1}–${i + 3} of solutions/${s}:\n${window.join("\n")}`);
      }
    }
    // The stubs are the committed ones, not whatever a teacher has in the working tree.
    for (const f of fs.readdirSync(path.join(pack, "exercises"))) {
      const committed = spawnSync("git", ["show", `HEAD:exercises/${f}`], { cwd: root, encoding: "utf8" }).stdout;
      assert.strictEqual(fs.readFileSync(path.join(pack, "exercises", f), "utf8"), committed, `exercises/${f} differs from the last commit`);
    }
  });

  it("installs, passes its own lib tests (schedule, optimizer, type check), and grades filled-in and untouched exercises", () => {
    // `npm install` without the network: every dependency linked from this checkout, except the package's link to
    // itself, which the pack's postinstall makes (so `tiaoyu` is the pack's library, not this one).
    fs.mkdirSync(path.join(pack, "node_modules"));
    for (const e of fs.readdirSync(path.join(root, "node_modules"))) {
      if (e !== "tiaoyu") fs.symlinkSync(path.join(root, "node_modules", e), path.join(pack, "node_modules", e));
    }
    const install = npm(["run", "postinstall"]);
    assert.strictEqual(install.status, 0, `postinstall failed:\n${install.stdout}\n${install.stderr}`);
    assert.strictEqual(fs.realpathSync(path.join(pack, "node_modules", "tiaoyu")), fs.realpathSync(pack));

    // The postinstall has just compiled dist/: the commands below are `npm test` and `npm run grade` without their
    // leading `npm run build` (a second identical tsc run would prove nothing and costs a minute on CI).
    const test = node(["test/run.ts", "lib", "--grep", "train/schedule|train/optimizer|compile"]);
    assert.strictEqual(test.status, 0, `npm test -- lib failed in the pack:\n${test.stdout.slice(-4000)}\n${test.stderr.slice(-2000)}`);
    assert.match(test.stdout, /tests: [1-9]\d* passed, 0 failed/);
    const solutionsPart = node(["test/run.ts", "solutions"]);
    assert.notStrictEqual(solutionsPart.status, 0);
    assert.match(solutionsPart.stderr, /student pack: there are no solutions/);

    // One grading run covers both: chapter 5 filled in (every point), chapter 0 untouched (no point).
    fs.copyFileSync(path.join(root, "solutions", "05-pretrain.ts"), path.join(pack, "exercises", "05-pretrain.ts"));
    const graded = node(["test/grade.ts", "00", "05", "--quiet", "--report", "build/graded"]);
    assert.notStrictEqual(graded.status, 0, "untouched stubs of chapter 0 must not pass");
    const report = JSON.parse(fs.readFileSync(path.join(pack, "build", "graded.json"), "utf8")) as {
      results: { chapter: string; exercise: string; earned: number; points: number; code?: string }[];
    };
    const by = (n: string) => report.results.filter((r) => r.exercise.startsWith(n));
    assert.ok(by("5.").length === 5 && by("5.").every((r) => r.earned === r.points), `filled-in chapter 5: ${JSON.stringify(by("5."))}`);
    assert.ok(by("0.").length === 2 && by("0.").every((r) => r.earned === 0), `untouched chapter 0: ${JSON.stringify(by("0."))}`);
    assert.ok(report.results.every((r) => r.code === undefined), "code-level hints in the report without --hint");
  });
});
