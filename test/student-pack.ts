/**
 * `npm run student-pack DIR`: writes the course as learners get it — everything committed except the reference
 * solutions and what only makes sense next to them — into DIR, which must not exist yet (or be empty).
 *
 * Made from the last commit (`git archive HEAD`), never from the working tree, so a teacher's uncommitted edits
 * (say, exercises/ filled in while trying the graders) cannot slip into the pack. Left out:
 *   solutions/            the reference solutions
 *   test/stubs.test.ts    "every untouched stub fails": in the pack the learner edits the stubs, without git to tell
 *   test/course/          tests of this tooling, which grade solutions/
 *   test/exercises/mutants/        wrong answers kept to test the graders: each is a solution with one change,
 *                                  so it gives the body away
 *   test/exercises/graders.test.ts the graders' own tests, which need the mutants and solutions/
 *   test/fixtures/bypass/          ways of handing in the library's splitHeads, and an honest answer to 4.1
 *   .ci/                  the course's own CI
 * and rewritten:
 *   test/exercises/*.spec.ts   the type-only `import("../../solutions/…")` points at exercises/ (same signatures)
 *   README.md                  says it is a student pack, and no longer points at solutions/
 *
 * The pack installs with the README's two commands (`npm install`, `npm start`); its `npm test` runs the library
 * tests and the notebooks; `npm run grade` grades the learner's exercises/.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "..");

/** Paths (relative to the project, '/'-separated) kept out of the pack; a folder excludes everything under it. */
export const PACK_EXCLUDES: readonly string[] = [
  "solutions", "test/stubs.test.ts", "test/course", ".ci",
  "test/exercises/mutants", "test/exercises/graders.test.ts", "test/fixtures/bypass",
];

const PACK_NOTE =
  "This is a **student pack** of TIAOYU: the reference solutions are not included. `npm test` checks the library and " +
  "the notebooks; `npm run grade` grades your exercises.\n\n" +
  "这是 TIAOYU 的**学生版**:不含参考答案。`npm test` 检查库和笔记本;`npm run grade` 为你的练习评分。\n";

function git(args: string[], options: { input?: Buffer } = {}): Buffer {
  const r = spawnSync("git", args, { cwd: root, input: options.input, maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`student-pack needs git (it packs the last commit): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

function rewrite(file: string, fn: (text: string) => string): void {
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, "utf8");
  const next = fn(text);
  if (next !== text) fs.writeFileSync(file, next);
}

/** Writes the student pack of the last commit into `dest`; returns the files written (relative paths). */
export function makeStudentPack(dest: string): string[] {
  if (!fs.existsSync(path.join(root, "solutions"))) throw new Error("this is already a student pack (no solutions/): make packs from the teacher's course");
  const out = path.resolve(dest);
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new Error(`student-pack: ${out} exists and is not empty; choose a new folder`);
  if (out === root || out.startsWith(root + path.sep)) {
    // Inside the course its own node_modules/, dist/ … would be found by the pack's Node and tsc: keep it outside.
    throw new Error(`student-pack: ${out} is inside the course (${root}); write the pack somewhere else`);
  }
  const files = git(["ls-tree", "-r", "-z", "--name-only", "HEAD"]).toString("utf8").split("\0").filter(Boolean);
  const kept = files.filter((f) => !PACK_EXCLUDES.some((x) => f === x || f.startsWith(x + "/")));
  if (!kept.some((f) => f.startsWith("exercises/"))) throw new Error("student-pack: the last commit has no exercises/");

  fs.mkdirSync(out, { recursive: true });
  // `git archive` with an explicit file list writes exactly the committed bytes (and modes) of those files.
  const tar = git(["archive", "--format=tar", "HEAD", "--", ...kept]);
  const x = spawnSync("tar", ["-x", "-C", out], { input: tar, maxBuffer: 1 << 30 });
  if (x.status !== 0) throw new Error(`student-pack: tar failed: ${x.stderr?.toString() ?? x.error?.message}`);

  const specs = path.join(out, "test", "exercises");
  for (const f of fs.existsSync(specs) ? fs.readdirSync(specs) : []) {
    rewrite(path.join(specs, f), (t) => t.replace(/(["'])\.\.\/\.\.\/solutions\//g, "$1../../exercises/"));
  }
  rewrite(path.join(out, "README.md"), (t) => {
    const withoutPointer = t
      .replace(/,? ?reference solutions in `solutions\/NN-\*\.ts`,?/g, ",")
      .replace(/ \(`test\/exercises\/mutants\/`\)/g, "");
    const at = withoutPointer.indexOf("## ");
    return at < 0 ? PACK_NOTE + "\n" + withoutPointer : withoutPointer.slice(0, at) + PACK_NOTE + "\n" + withoutPointer.slice(at);
  });
  return kept;
}

function main(): void {
  const args = process.argv.slice(2);
  if (args.length !== 1 || args[0].startsWith("-")) {
    console.error("usage: npm run student-pack DIR   (DIR: a new folder outside the course)");
    process.exit(2);
  }
  const files = makeStudentPack(args[0]);
  console.log(`student pack: ${files.length} files in ${path.resolve(args[0])} (without ${PACK_EXCLUDES.join(", ")})`);
  console.log(`learners: cd ${args[0]} && npm install && npm start`);
}

if (require.main === module) main();
