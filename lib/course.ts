/**
 * Course-wide settings: where things live on disk and whether we run in quick mode.
 *
 * Quick mode (`TIAOYU_QUICK=1`) shrinks data and training so that every notebook runs in a minute or two:
 * CI uses it, and so can a reader who only wants to see a chapter work. Without it, notebooks run at full size.
 */
import * as fs from "fs";
import * as path from "path";

/** True when `TIAOYU_QUICK` is set to anything but "" or "0". */
export function isQuick(): boolean {
  const v = process.env.TIAOYU_QUICK;
  return v !== undefined && v !== "" && v !== "0";
}

/** `quick(full, small)` returns `small` in quick mode and `full` otherwise. */
export function quick<T>(full: T, small: T): T {
  return isQuick() ? small : full;
}

let root: string | null = null;

/** The project root: the folder of the `package.json` named "tiaoyu" above this file. */
export function projectRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "tiaoyu") return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the tiaoyu package.json above ${__dirname}`);
    dir = up;
  }
}

/**
 * A path as the reader should see it: relative to the project root when it is inside it (runs/sft/step-00001500),
 * unchanged otherwise. For messages and tables, so that outputs do not show the machine they were made on.
 */
export function projectPath(p: string): string {
  const rel = path.relative(projectRoot(), path.resolve(p));
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

/** `datasets/` (generated data: cleaned corpus, token caches). Override with `TIAOYU_DATA_DIR`. */
export function datasetsDir(...parts: string[]): string {
  return path.join(process.env.TIAOYU_DATA_DIR ?? path.join(projectRoot(), "datasets"), ...parts);
}

/** `runs/` (checkpoints and logs of training runs). Override with `TIAOYU_RUNS_DIR`. */
export function runsDir(...parts: string[]): string {
  return path.join(process.env.TIAOYU_RUNS_DIR ?? path.join(projectRoot(), "runs"), ...parts);
}

/**
 * The placeholder a graded exercise stub calls. Throws, so an untouched stub fails its grader.
 * @example export function wrapSample(text: string): string { return todo("1.1 wrapSample"); }
 */
export function todo(exercise: string): never {
  throw new Error(`exercise ${exercise} is not implemented yet: replace the call to todo() with your code`);
}
