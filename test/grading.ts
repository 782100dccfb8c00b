/**
 * Helpers for the exercise specs in test/exercises/. A spec grades either the learner's `exercises/` or the
 * reference `solutions/`, chosen by TIAOYU_GRADE_TARGET (default: solutions, as `npm test` checks them).
 *
 *   const ex = target<typeof import("../../solutions/01-data")>("01-data");
 *   exercise("1.5 fnv1a32", {
 *     points: 1,
 *     hint: "what is wrong and which idea to revisit (shown at every failure)",
 *     code: "the code-level hint (shown only with `npm run grade 01 -- --hint`)",
 *     libraryTwins: ["fnv1a32"],       // tiaoyu exports the learner must not call for this exercise
 *   }, () => assert.strictEqual(ex().fnv1a32("a"), 0xe40c292c));
 *
 * ## Why the learner cannot hand in the library's own implementation
 * Exercises import the course library as "tiaoyu", and the library has a twin of almost every exercise. A grader
 * that only compares answers would give full points to `export { splitHeads } from "tiaoyu"`. So, for every name
 * that any spec lists in `libraryTwins`, the library module that defines it gets, in place of that export, a
 * guard (a Proxy of the original function or class) that throws while the learner's code is running an exercise
 * that lists the name. The guard is installed before the learner's file is loaded, and it replaces the export
 * on the *defining* module (dist/lib/…/x.js), which the package index reads through getters, so every path to
 * the function sees the guard: a renamed import, an alias captured at load time (`const f = splitHeads`), a
 * namespace lookup by a computed key, a deep import of dist/lib/…, a re-export, a wrapper. A library module
 * loaded later (from the TypeScript sources in lib/, or again after someone deletes it from require.cache)
 * is guarded as it loads. "Running" is a window: target() hands out the learner's functions wrapped so that
 * each call opens it and closes it when the call (or its promise) ends; the grader computes its reference
 * values outside it, so the same library functions work for the grader. A violation is remembered, so a learner
 * who catches the guard's error still fails; and an export that *is* the library's function (a re-export) fails
 * by identity before it is called.
 * Limits, said plainly: code copied from lib/ into the exercise is not detected (that is copying, not calling),
 * and neither is a library function that a *different*, allowed library function calls internally.
 */
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require("module") as {
  _load: (request: string, parent: unknown, isMain: boolean) => unknown;
  _resolveFilename: (request: string, parent: unknown, isMain: boolean) => string;
  _cache: Record<string, { exports: unknown } | undefined>;
};

export type GradeTarget = "exercises" | "solutions";

export function gradeTarget(): GradeTarget {
  const t = process.env.TIAOYU_GRADE_TARGET ?? "solutions";
  if (t !== "exercises" && t !== "solutions") throw new Error(`TIAOYU_GRADE_TARGET must be exercises or solutions, not '${t}'`);
  return t;
}

const root = path.join(__dirname, "..");
const libraryDirs = [path.join(root, "dist", "lib") + path.sep, path.join(root, "lib") + path.sep];
const isLibraryFile = (file: string) => libraryDirs.some((d) => file.startsWith(d));

// ---------------------------------------------------------------------------------------------------------------
// Guards on the library's twins

/** The error a guard throws; its message is what the learner sees. */
export class LibraryTwinError extends Error {}

const twinNames = new Set<string>();
const guardOf = new WeakMap<object, object>(); // original → guard
const guards = new WeakSet<object>();
/** The exercise whose learner code is running now (depth > 0), and the twins it bans. */
const state = { depth: 0, exercise: "", banned: new Set<string>(), violation: null as string | null };

function violate(message: string): never {
  state.violation ??= message;
  throw new LibraryTwinError(message);
}

function check(name: string): void {
  if (state.depth > 0 && state.banned.has(name)) {
    violate(`exercise ${state.exercise} called the library's ${name} (tiaoyu): this exercise asks you to write it yourself, without calling tiaoyu's ${name}`);
  }
}

function guard(name: string, original: object): object {
  if (guards.has(original)) return original;
  let g = guardOf.get(original);
  if (!g) {
    g = new Proxy(original, {
      apply(t, self, args) {
        check(name);
        return Reflect.apply(t as (...a: unknown[]) => unknown, self, args);
      },
      construct(t, args, newTarget) {
        check(name);
        return Reflect.construct(t as new (...a: unknown[]) => object, args, (newTarget === g ? t : newTarget) as new (...a: unknown[]) => object);
      },
    });
    guardOf.set(original, g);
    guards.add(g);
  }
  return g;
}

/** Is `value` one of the library's twins named `name`, guarded or not? */
function isLibraryTwin(value: unknown): boolean {
  return typeof value === "function" && (guards.has(value) || guardOf.has(value));
}

/** Puts guards on a library module's exports; returns the object requirers should get. */
function guardExports(file: string, exports: unknown): unknown {
  if (!isLibraryFile(file) || exports === null || typeof exports !== "object") return exports;
  const mod = exports as Record<string, unknown>;
  let needsProxy = false;
  for (const name of twinNames) {
    const d = Object.getOwnPropertyDescriptor(mod, name);
    if (!d) continue;
    if ("value" in d) {
      if (typeof d.value !== "function" || guards.has(d.value)) continue;
      if (d.writable) mod[name] = guard(name, d.value);
      else if (d.configurable) Object.defineProperty(mod, name, { ...d, value: guard(name, d.value) });
      else needsProxy = true;
    } else if (!d.configurable) {
      // esbuild's (tsx's) CommonJS exports are fixed getters: hand out a view that guards what they return.
      // A getter of tsc's own index (dist/lib/index.js) reads the defining module, which is guarded already.
      if (file.endsWith(".ts")) needsProxy = true;
    }
  }
  if (!needsProxy) return exports;
  const view = new Proxy(mod, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r);
      return typeof k === "string" && twinNames.has(k) && typeof v === "function" ? guard(k, v) : v;
    },
  });
  const cached = Module._cache[file];
  if (cached && cached.exports === exports) cached.exports = view;
  return view;
}

let hooked = false;

function guardLoadedLibrary(): void {
  for (const [file, m] of Object.entries(Module._cache)) if (m && isLibraryFile(file)) guardExports(file, m.exports);
}

/** Declares library exports some exercise must not call; guards them from now on. */
function declareTwins(names: readonly string[]): void {
  const fresh = names.filter((n) => !twinNames.has(n));
  if (fresh.length === 0) return;
  for (const n of fresh) twinNames.add(n);
  if (!hooked) {
    hooked = true;
    const load = Module._load;
    Module._load = function (request: string, parent: unknown, isMain: boolean) {
      const exports = load.call(this, request, parent, isMain);
      let file: string;
      try {
        file = Module._resolveFilename(request, parent, isMain);
      } catch {
        return exports;
      }
      return guardExports(file, exports);
    };
  }
  guardLoadedLibrary();
}

// ---------------------------------------------------------------------------------------------------------------
// The learner's module, and the window its calls run in

/** Where target() loads from, instead of <root>/<target>/ (for the graders' own tests). */
let targetDir: string | null = null;
/** Replacements for single exports of a target file (for mutants and bypass tests): file → name → value. */
const overrides = new Map<string, Record<string, unknown>>();
let lastTargetFile = "";

function enter(): void {
  state.depth++;
}
function leave(): void {
  state.depth--;
}

/** Runs a learner's function inside the window; keeps it open until a returned promise settles. */
function inWindow<A extends unknown[], R>(fn: (...args: A) => R, self: unknown, args: A): R {
  enter();
  let result: R;
  try {
    result = Reflect.apply(fn, self, args);
  } catch (e) {
    leave();
    throw e;
  }
  if (result && typeof (result as { then?: unknown }).then === "function") {
    return (result as unknown as Promise<unknown>).then(
      (v) => (leave(), v),
      (e) => {
        leave();
        throw e;
      },
    ) as R;
  }
  leave();
  return result;
}

const windowed = new WeakMap<object, object>();

function wrapLearnerFunction(name: string, fn: (...args: unknown[]) => unknown): unknown {
  if (isLibraryTwin(fn)) {
    // A re-export: the learner's "function" is the library's own. Say so even if it is never called.
    const libName = (fn as { name?: string }).name || name;
    if (state.banned.has(libName) || state.banned.has(name)) {
      violate(`exercise ${state.exercise}: your ${name} is the library's ${libName} (tiaoyu) re-exported: this exercise asks you to write it yourself`);
    }
  }
  let w = windowed.get(fn);
  if (!w) {
    w = new Proxy(fn, {
      apply: (t, self, args) => inWindow(t as (...a: unknown[]) => unknown, self, args),
      construct: (t, args) => inWindow((...a: unknown[]) => Reflect.construct(t as unknown as new (...x: unknown[]) => object, a), undefined, args),
    });
    windowed.set(fn, w);
  }
  return w;
}

/**
 * The folder the learner's files are loaded from: withTargetDir()'s folder (the graders' own tests), else
 * TIAOYU_GRADE_DIR (batch grading copies each learner's `exercises/` there, inside the project so that
 * `import … from "tiaoyu"` resolves), else `<root>/<target>/`.
 */
export function gradeDir(): string {
  return targetDir ?? process.env.TIAOYU_GRADE_DIR ?? path.join(root, gradeTarget());
}

function loadTarget(file: string): Record<string, unknown> {
  const full = path.join(gradeDir(), file);
  // Loading runs the file's top level: no twin may be called there either.
  const saved = state.banned;
  state.banned = new Set(twinNames);
  enter();
  try {
    return require(full) as Record<string, unknown>;
  } finally {
    leave();
    state.banned = saved;
  }
}

/**
 * Loads `<target>/<file>` lazily, so a module that throws on import fails its exercises, not the whole run.
 * Its functions come back wrapped: each call runs in the learner's window (see the header).
 */
export function target<T>(file: string): () => T {
  lastTargetFile = file;
  return () => {
    const mod = loadTarget(file);
    return new Proxy(mod, {
      get(t, k) {
        const patch = overrides.get(file);
        const v = patch && typeof k === "string" && k in patch ? patch[k] : Reflect.get(t, k);
        return typeof v === "function" && typeof k === "string" ? wrapLearnerFunction(k, v as (...a: unknown[]) => unknown) : v;
      },
    }) as T;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Exercises

export interface ExerciseInfo {
  readonly chapter: string;
  readonly name: string;
  readonly points: number;
  /** What is wrong and which idea to revisit: shown at every failure. Never the code. */
  readonly hint: string;
  /** The code-level hint: shown only with `npm run grade NN -- --hint`. */
  readonly code: string;
  /** tiaoyu exports the learner's code must not call (or re-export) for this exercise. */
  readonly libraryTwins: readonly string[];
  /** The target file (as given to target()) whose exports this exercise grades. */
  readonly file: string;
  /** The name of the exported function this exercise asks for ("4.1 splitHeads" → "splitHeads"). */
  readonly fn: string;
  /** Runs the grader once, as mocha would (rejects when the exercise fails). */
  readonly run: () => Promise<void>;
}

/** Every exercise declared so far, keyed by mocha's full title ("chapter 01 … 1.1 wrapSample"). */
export const registry = new Map<string, ExerciseInfo>();

/**
 * Declares a graded exercise: a mocha test plus its points, its two hints and the library twins it bans.
 * The exercise's name is "<number> <exported function>".
 */
export function exercise(
  name: string,
  info: { points: number; hint: string; code: string; libraryTwins: readonly string[] },
  fn: () => void | Promise<void>,
): void {
  const fnName = name.split(" ")[1];
  if (!fnName) throw new Error(`exercise name '${name}' must be "<number> <function>", e.g. "1.1 wrapSample"`);
  declareTwins(info.libraryTwins);
  const file = lastTargetFile;
  const run = async (): Promise<void> => {
    // depth back to 0: a learner's promise that never settled (a hang cut off by a timeout) must not leave it open.
    Object.assign(state, { depth: 0, exercise: name, banned: new Set(info.libraryTwins), violation: null });
    let failure: unknown = null;
    try {
      await fn();
    } catch (e) {
      failure = e;
    } finally {
      state.banned = new Set();
    }
    if (state.violation) throw new LibraryTwinError(state.violation);
    if (failure) throw failure;
  };
  // describe() has already set the suite title; mocha gives it to us through the current suite.
  const test = it(name, run);
  const chapter = test.parent?.fullTitle() ?? "";
  registry.set(test.fullTitle(), { chapter, name, ...info, file, fn: fnName, run });
}

/** Runs `fn` with some exports of a target file replaced (mutants, bypass tests). */
export async function withOverrides(file: string, patch: Record<string, unknown>, fn: () => Promise<void>): Promise<void> {
  overrides.set(file, patch);
  try {
    await fn();
  } finally {
    overrides.delete(file);
  }
}

/** Runs `fn` with target() loading from `dir` instead of exercises/ or solutions/ (tests of the graders). */
export async function withTargetDir(dir: string, fn: () => Promise<void>): Promise<void> {
  targetDir = dir;
  try {
    await fn();
  } finally {
    targetDir = null;
  }
}

/** A plausible wrong answer to one exercise: the reference solution with some exports replaced. */
export interface Mutant<T> {
  /** The exercise's name as declared ("10.2 formatCorrectnessReward"). */
  readonly exercise: string;
  /** The mistake, in a few words ("looks for 「…」 in the thinking too"). */
  readonly mistake: string;
  readonly patch: Partial<T>;
}
