/**
 * `npm run grade [NN ...]`: grades your solutions in exercises/ and prints, per chapter, each exercise with
 * its points and, when it fails, what is wrong and which idea to revisit. The code-level hint is printed only when
 * you ask for it with --hint (try on your own first). Writes grade-report.json and grade-report.xml (JUnit) for a
 * teacher's autograder. Exits non-zero while anything fails.
 *
 *   npm run grade            every chapter
 *   npm run grade 01 02      chapters 1 and 2
 *   npm run grade 04 -- --hint   chapter 4, with the code-level hint of each failed exercise
 *   npm run grade -- --target solutions --report /tmp/r   grade the reference solutions, report elsewhere
 *   npm run grade -- --submissions DIR [NN ...] [--out grades] [--time-limit 120] [--hint]
 *                            grade a class: one subfolder of DIR per learner (see test/grade-batch.ts)
 */
import * as fs from "fs";
import Mocha from "mocha";
import * as path from "path";
import { formatTable } from "tiaoyu";
import { gradeSubmissions } from "./grade-batch";
import { registry } from "./grading";

interface Result {
  chapter: string;
  exercise: string;
  points: number;
  earned: number;
  passed: boolean;
  hint: string;
  /** The code-level hint, only when asked for with --hint. */
  code?: string;
  error?: string;
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

function junit(results: Result[]): string {
  const byChapter = new Map<string, Result[]>();
  for (const r of results) byChapter.set(r.chapter, [...(byChapter.get(r.chapter) ?? []), r]);
  const suites = [...byChapter].map(([chapter, rs]) => {
    const cases = rs.map((r) => {
      const failure = r.passed ? "" : `<failure message="${xmlEscape(r.error ?? "failed")}">${xmlEscape(`hint: ${r.hint}${r.code ? `\ncode hint: ${r.code}` : ""}`)}</failure>`;
      return `    <testcase classname="${xmlEscape(chapter)}" name="${xmlEscape(r.exercise)} (${r.points} pt)">${failure}</testcase>`;
    });
    const failures = rs.filter((r) => !r.passed).length;
    return `  <testsuite name="${xmlEscape(chapter)}" tests="${rs.length}" failures="${failures}">\n${cases.join("\n")}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join("\n")}\n</testsuites>\n`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const submissions = opt("--submissions");
  if (submissions !== undefined) {
    const out = path.resolve(opt("--out") ?? "grades");
    const timeLimitS = Number(opt("--time-limit") ?? 120);
    const codeHints = args.includes("--hint");
    if (codeHints) args.splice(args.indexOf("--hint"), 1);
    const unknown = args.filter((a) => a.startsWith("--"));
    if (unknown.length) throw new Error(`--submissions does not take ${unknown.join(", ")}`);
    const rows = await gradeSubmissions({
      submissions: path.resolve(submissions), out, chapters: args, timeLimitS, codeHints,
      onLearner: (learner, rs) => console.log(`${learner}: ${rs.reduce((s, r) => s + r.points, 0)}/${rs.reduce((s, r) => s + r.maxPoints, 0)} points` +
        rs.filter((r) => r.error).map((r) => `\n  ✗ ${r.chapter} ${r.exercise}: ${r.error}`).join("")),
    });
    const shown = path.relative(process.cwd(), out);
    console.log(`\n${new Set(rows.map((r) => r.learner)).size} learners graded: ${path.join(shown && !shown.startsWith("..") ? shown : out, "grades.csv")} and junit/<learner>.xml`);
    return;
  }
  const target = opt("--target") ?? "exercises";
  const report = opt("--report") ?? path.join(__dirname, "..", "grade-report");
  const quiet = args.includes("--quiet");
  const codeHints = args.includes("--hint");
  const chapters = args.filter((a) => !a.startsWith("--"));
  process.env.TIAOYU_GRADE_TARGET = target;

  const dir = path.join(__dirname, "exercises");
  const specs = fs.readdirSync(dir).filter((f) => f.endsWith(".spec.ts") && (chapters.length === 0 || chapters.some((c) => f.startsWith(c.padStart(2, "0")))));
  if (specs.length === 0) throw new Error(`no exercise specs match ${chapters.join(", ")} in test/exercises/`);

  const mocha = new Mocha({ timeout: 120_000, reporter: function () {} as unknown as Mocha.ReporterConstructor });
  for (const f of specs.sort()) mocha.addFile(path.join(dir, f));
  await mocha.loadFilesAsync();

  const results: Result[] = [];
  const record = (test: Mocha.Test, passed: boolean, err?: Error) => {
    const info = registry.get(test.fullTitle());
    if (!info) return; // a helper test, not a graded exercise
    results.push({
      chapter: info.chapter, exercise: info.name, points: info.points, earned: passed ? info.points : 0,
      passed, hint: info.hint, code: codeHints && !passed ? info.code : undefined, error: err ? String(err.message).split("\n")[0].slice(0, 300) : undefined,
    });
  };
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on("pass", (t) => record(t, true));
    runner.on("fail", (t, err) => record(t as Mocha.Test, false, err));
  });

  if (!quiet) {
    for (const chapter of [...new Set(results.map((r) => r.chapter))]) {
      const rs = results.filter((r) => r.chapter === chapter);
      console.log(`\n${chapter}  (${rs.reduce((s, r) => s + r.earned, 0)}/${rs.reduce((s, r) => s + r.points, 0)} points)`);
      console.log(formatTable(rs.map((r) => ({ exercise: r.exercise, result: r.passed ? "passed" : "FAILED", points: `${r.earned}/${r.points}` }))));
      for (const r of rs.filter((r) => !r.passed)) {
        console.log(`  ✗ ${r.exercise}: ${r.error}\n    hint: ${r.hint}${r.code ? `\n    code hint: ${r.code}` : ""}`);
      }
    }
  }
  const earned = results.reduce((s, r) => s + r.earned, 0);
  const total = results.reduce((s, r) => s + r.points, 0);
  const failed = results.filter((r) => !r.passed).length;
  fs.mkdirSync(path.dirname(report), { recursive: true });
  fs.writeFileSync(`${report}.json`, JSON.stringify({ target, earned, total, results }, null, 2) + "\n");
  fs.writeFileSync(`${report}.xml`, junit(results));
  if (!quiet) {
    console.log(`\ngrade: ${earned}/${total} points; ${results.length - failed} passed, ${failed} failed`);
    console.log(`report: ${path.relative(process.cwd(), report)}.json, .xml`);
    const again = ["npm run grade", ...chapters, "-- --hint"].join(" ");
    if (failed > 0 && !codeHints) console.log(`stuck? \`${again}\` also prints a code-level hint for each failed exercise`);
  }
  process.exitCode = failed > 0 || results.length === 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
