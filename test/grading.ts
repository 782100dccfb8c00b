/**
 * Helpers for the exercise specs in test/exercises/. A spec grades either the learner's `exercises/` or the
 * reference `solutions/`, chosen by TIAOYU_GRADE_TARGET (default: solutions, as `npm test` checks them).
 *
 *   const ex = target<typeof import("../../solutions/01-data")>("01-data");
 *   exercise("1.1 wrapSample", { points: 1, hint: "…" }, () => assert.equal(ex().wrapSample("月"), "<s>月</s>"));
 */
import * as path from "path";

export type GradeTarget = "exercises" | "solutions";

export function gradeTarget(): GradeTarget {
  const t = process.env.TIAOYU_GRADE_TARGET ?? "solutions";
  if (t !== "exercises" && t !== "solutions") throw new Error(`TIAOYU_GRADE_TARGET must be exercises or solutions, not '${t}'`);
  return t;
}

/**
 * The folder the learner's files are loaded from: TIAOYU_GRADE_DIR when set (batch grading copies each learner's
 * `exercises/` there, inside the project so that `import … from "tiaoyu"` resolves), otherwise `<target>/`.
 */
export function gradeDir(): string {
  return process.env.TIAOYU_GRADE_DIR ?? path.join(__dirname, "..", gradeTarget());
}

/** Loads `<target>/<file>` lazily, so a module that throws on import fails its exercises, not the whole run. */
export function target<T>(file: string): () => T {
  return () => require(path.join(gradeDir(), file)) as T;
}

export interface ExerciseInfo {
  readonly chapter: string;
  readonly name: string;
  readonly points: number;
  readonly hint: string;
}

/** Every exercise declared so far, keyed by mocha's full title ("chapter 01 … 1.1 wrapSample"). */
export const registry = new Map<string, ExerciseInfo>();

/** Declares a graded exercise: a mocha test plus its points and the hint shown when it fails. */
export function exercise(name: string, info: { points: number; hint: string }, fn: () => void | Promise<void>): void {
  // describe() has already set the suite title; mocha gives it to us through the current suite.
  const test = it(name, fn);
  const chapter = test.parent?.fullTitle() ?? "";
  registry.set(test.fullTitle(), { chapter, name, ...info });
}
