/**
 * `npm test`: the whole suite, in this order:
 *   lib        unit tests of the library            test/lib/*.test.ts
 *   solutions  every exercise spec against solutions/ (they must pass)
 *   stubs      every untouched stub in exercises/ must fail its spec (a grader a stub can pass is broken)
 *   notebooks  every notebook executed headless in a fresh tslab kernel, in quick mode
 *   browser    the committed notebooks in Jupyter + headless Chromium: charts visible untrusted and trusted, saving
 *              changes nothing, the HTML export shows every chart offline
 *   course     the course's tooling: the student pack, batch grading
 *
 * In a student pack (no solutions/) the default is lib and notebooks: there is nothing to check solutions
 * against, and the learner's edited stubs are meant to pass.
 *
 *   npm test                      everything
 *   npm test -- lib solutions     only these parts
 *   npm test -- --grep attention  only tests whose title matches
 *
 * Ends with one summary line "tests: N passed, N failed, N skipped".
 */
import * as fs from "fs";
import Mocha from "mocha";
import * as path from "path";

const PARTS: Record<string, string[]> = {
  lib: ["test/lib"],
  solutions: ["test/exercises"],
  stubs: ["test/stubs.test.ts"],
  notebooks: ["test/notebooks.test.ts"],
  browser: ["test/browser.test.ts"],
  course: ["test/course"],
};

function files(entry: string): string[] {
  const p = path.join(__dirname, "..", entry);
  if (!fs.existsSync(p)) return [];
  if (fs.statSync(p).isFile()) return [p];
  return fs
    .readdirSync(p)
    .filter((f) => f.endsWith(".test.ts") || f.endsWith(".spec.ts"))
    .sort()
    .map((f) => path.join(p, f));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const grepAt = args.indexOf("--grep");
  const grep = grepAt >= 0 ? args.splice(grepAt, 2)[1] : undefined;
  const studentPack = !fs.existsSync(path.join(__dirname, "..", "solutions"));
  const parts = args.length ? args : Object.keys(PARTS).filter((p) => !studentPack || (p !== "solutions" && PARTS[p].flatMap(files).length > 0));
  for (const p of parts) if (!PARTS[p]) throw new Error(`unknown test part '${p}': use ${Object.keys(PARTS).join(", ")}`);
  if (studentPack && parts.includes("solutions")) throw new Error("this is a student pack: there are no solutions/ to test; `npm run grade` grades your exercises");
  process.env.TIAOYU_GRADE_TARGET = "solutions";

  const mocha = new Mocha({ timeout: 120_000, reporter: "spec", grep });
  for (const p of parts) for (const f of PARTS[p].flatMap(files)) mocha.addFile(f);
  await mocha.loadFilesAsync();
  const runner = mocha.run();
  let passed = 0, failed = 0, skipped = 0;
  runner.on("pass", () => passed++);
  runner.on("fail", () => failed++);
  runner.on("pending", () => skipped++);
  runner.on("end", () => {
    console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
    process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
