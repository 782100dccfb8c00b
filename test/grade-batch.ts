/**
 * Batch grading: `npm run grade -- --submissions DIR [NN ...] [--out DIR] [--time-limit S]` grades every learner
 * of a class. DIR holds one subfolder per learner, each with that learner's `exercises/` folder (or its files
 * directly: DIR/alice/05-pretrain.ts). Written to --out (default ./grades):
 *
 *   grades.csv            learner,chapter,exercise,points — one row per learner and exercise, 0 for a failure
 *   junit/<learner>.xml   one JUnit file per learner, for an autograder's dashboard: each failure with its error and
 *                         the hint that says what is wrong; the code-level hint only with --hint (never in the CSV)
 *
 * Each learner runs in a child process (test/grade-worker.ts), so one learner's code cannot see or break another's.
 * The graders' guard applies as in `npm run grade` (test/grading.ts): a learner who calls or re-exports the
 * library's own version of an exercise scores 0 for it.
 * An exercise that throws, fails, leaks tensors (the specs check it) or runs past the time limit scores 0 and
 * grading goes on: a hung worker is killed and a fresh one continues after the exercise that hung.
 */
import { type ChildProcess, fork } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomicSync } from "tiaoyu";
import type { WorkerMessage } from "./grade-worker";

export interface BatchRow {
  readonly learner: string;
  readonly chapter: string;
  readonly exercise: string;
  readonly points: number;
  readonly maxPoints: number;
  /** Empty when passed; otherwise why it scored 0 (the failure, "time limit of 20 s exceeded", …). */
  readonly error: string;
  /** What is wrong and which idea to revisit (empty when passed). */
  readonly hint: string;
  /** The code-level hint: only with codeHints, and only when failed. */
  readonly code?: string;
}

export interface BatchOptions {
  readonly submissions: string;
  readonly out: string;
  readonly chapters: readonly string[];
  /** Seconds one exercise may run before its worker is killed and it scores 0. */
  readonly timeLimitS: number;
  /** Put the code-level hint of each failed exercise into the JUnit files (`--hint`); never into the CSV. */
  readonly codeHints?: boolean;
  /** Called as each learner finishes (progress on the terminal). */
  readonly onLearner?: (learner: string, rows: readonly BatchRow[]) => void;
}

const root = path.join(__dirname, "..");

/** A learner's folder of exercise files: DIR/<learner>/exercises if there is one, else DIR/<learner> itself. */
function exerciseFolder(dir: string): string {
  const inner = path.join(dir, "exercises");
  return fs.existsSync(inner) && fs.statSync(inner).isDirectory() ? inner : dir;
}

/**
 * Copies the learner's .ts files into build/submissions/<learner>/: inside the project, so the learner's
 * `import … from "tiaoyu"` resolves to this project's library, and a fresh copy each time so nothing of an
 * earlier run (or of the learner's own node_modules) is loaded.
 */
function stage(learner: string, from: string): string {
  const to = path.join(root, "build", "submissions", learner);
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) {
    if (f.endsWith(".ts") && fs.statSync(path.join(from, f)).isFile()) fs.copyFileSync(path.join(from, f), path.join(to, f));
  }
  return to;
}

interface Outcome {
  passed: boolean;
  error: string;
}

/** Runs workers for one learner until every exercise has an outcome. */
async function gradeLearner(learner: string, dir: string, o: BatchOptions): Promise<BatchRow[]> {
  type Listed = { title: string; chapter: string; name: string; points: number; hint: string; code: string }[];
  // Set from the worker's messages (a callback), so TypeScript's flow analysis cannot see it change: typed by hand.
  let list = null as Listed | null;
  const outcomes = new Map<string, Outcome>();
  const skipFile = path.join(dir, ".graded.json");
  const logFile = path.join(dir, "grading.log");
  fs.writeFileSync(logFile, "");
  // Loading a spec (tfjs, the library) takes a while on a busy machine: the first exercise gets extra time.
  const startupMs = Math.max(120_000, o.timeLimitS * 1000);

  for (let attempt = 0; ; attempt++) {
    fs.writeFileSync(skipFile, JSON.stringify([...outcomes.keys()]));
    let current: string | null = null;
    let finished = false;
    const child: ChildProcess = fork(
      path.join(__dirname, "grade-worker.ts"),
      ["--time-limit", String(o.timeLimitS * 1000), "--skip", skipFile, ...o.chapters],
      {
        cwd: root,
        execArgv: ["--import", "tsx"],
        env: { ...process.env, TIAOYU_GRADE_DIR: dir, TIAOYU_GRADE_TARGET: "exercises" },
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      },
    );
    // The learner's own prints go to a log next to the copy, not into the teacher's terminal.
    child.stdout!.on("data", (d) => fs.appendFileSync(logFile, d));
    child.stderr!.on("data", (d) => fs.appendFileSync(logFile, d));

    let timer: NodeJS.Timeout | null = null;
    let timedOut = false;
    const arm = (ms: number) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, ms);
    };
    arm(startupMs);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.on("message", (m: WorkerMessage) => {
      if (m.kind === "exercises") list ??= m.list;
      else if (m.kind === "start") {
        current = m.title;
        arm(o.timeLimitS * 1000 + 2_000); // mocha's own timeout fires first for an async hang; this is for a sync one
      } else if (m.kind === "result") {
        outcomes.set(m.title, { passed: m.passed, error: m.passed ? "" : m.error ?? "failed" });
        current = null;
        arm(o.timeLimitS * 1000 + 2_000);
      } else if (m.kind === "done") finished = true;
    });
    const code = await exited;
    if (timer) clearTimeout(timer);
    if (finished || list === null) {
      if (list === null) {
        // The specs did not even load: nothing of this learner can be graded (a broken install, not the learner).
        throw new Error(`grading ${learner}: the worker exited (code ${code}) before listing the exercises; see ${path.relative(process.cwd(), logFile)}`);
      }
      break;
    }
    // The worker died or was killed in the middle: charge the exercise it was running, then continue after it.
    const culprit = current ?? list.find((e) => !outcomes.has(e.title))?.title;
    if (!culprit) break;
    outcomes.set(culprit, {
      passed: false,
      error: timedOut ? `time limit of ${o.timeLimitS} s exceeded (killed)` : `the grading process exited (code ${code}) during this exercise`,
    });
    if (attempt > list.length) break; // every restart grades at least one exercise; this cannot loop forever
  }
  fs.rmSync(skipFile, { force: true });
  return list!.map((e) => {
    const r = outcomes.get(e.title) ?? { passed: false, error: "not run" };
    return {
      learner, chapter: e.chapter, exercise: e.name, points: r.passed ? e.points : 0, maxPoints: e.points, error: r.error,
      hint: r.passed ? "" : e.hint, code: o.codeHints && !r.passed ? e.code : undefined,
    };
  });
}

function csvField(s: string | number): string {
  const t = String(s);
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

export function batchJUnit(learner: string, rows: readonly BatchRow[]): string {
  const failures = rows.filter((r) => r.points === 0 && r.maxPoints > 0).length;
  const cases = rows.map((r) => {
    const body = `hint: ${r.hint}${r.code ? `\ncode hint: ${r.code}` : ""}`;
    const failure = r.error ? `<failure message="${xmlEscape(r.error)}">${xmlEscape(body)}</failure>` : "";
    return `    <testcase classname="${xmlEscape(`${learner}.chapter ${r.chapter}`)}" name="${xmlEscape(r.exercise)} (${r.points}/${r.maxPoints} pt)">${failure}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="${xmlEscape(learner)}" tests="${rows.length}" failures="${failures}">\n${cases.join("\n")}\n  </testsuite>\n</testsuites>\n`;
}

/** Grades every learner in `o.submissions`; writes grades.csv and junit/<learner>.xml under `o.out`. */
export async function gradeSubmissions(o: BatchOptions): Promise<BatchRow[]> {
  if (!fs.existsSync(o.submissions) || !fs.statSync(o.submissions).isDirectory()) {
    throw new Error(`--submissions ${o.submissions}: not a folder (expected one subfolder per learner)`);
  }
  if (!(o.timeLimitS > 0)) throw new Error(`--time-limit ${o.timeLimitS}: must be a number of seconds > 0`);
  const learners = fs.readdirSync(o.submissions).filter((f) => !f.startsWith(".") && fs.statSync(path.join(o.submissions, f)).isDirectory()).sort();
  if (learners.length === 0) throw new Error(`--submissions ${o.submissions}: no learner folders in it`);
  const bad = learners.find((l) => !/^[\w.\-\u4e00-\u9fff]+$/.test(l));
  if (bad) throw new Error(`--submissions: learner folder '${bad}' has characters other than letters, digits, '.', '-', '_' (rename it)`);

  const rows: BatchRow[] = [];
  fs.mkdirSync(path.join(o.out, "junit"), { recursive: true });
  for (const learner of learners) {
    const dir = stage(learner, exerciseFolder(path.join(o.submissions, learner)));
    const mine = await gradeLearner(learner, dir, o);
    rows.push(...mine);
    writeFileAtomicSync(path.join(o.out, "junit", `${learner}.xml`), batchJUnit(learner, mine));
    o.onLearner?.(learner, mine);
  }
  const csv = ["learner,chapter,exercise,points", ...rows.map((r) => [r.learner, r.chapter, r.exercise, r.points].map(csvField).join(","))];
  writeFileAtomicSync(path.join(o.out, "grades.csv"), csv.join("\n") + "\n");
  return rows;
}
