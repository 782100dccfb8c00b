/**
 * Tests of the graders themselves (runs after the specs, in `npm test -- solutions`):
 *   - every library twin a spec bans exists in tiaoyu;
 *   - bypass: for every exercise with a library twin, handing in the twin (a re-export) or a wrapper that calls
 *     it fails, with the library-twin message; real exercise files in test/fixtures/bypass/ that try it in other
 *     ways (renamed import, captured alias, computed key, deep import, lib/ source, fresh copy, try/catch) fail too;
 *   - mutants: every exercise has at least two plausible wrong answers (test/exercises/mutants/NN-*.ts), and each
 *     one fails its exercise by the grader's own checks.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tiaoyu from "tiaoyu";
import { ExerciseInfo, LibraryTwinError, Mutant, registry, withOverrides, withTargetDir } from "../grading";

const lib = tiaoyu as unknown as Record<string, unknown>;
const distLib = path.join(__dirname, "..", "..", "dist", "lib") + path.sep;

/**
 * A library twin as the learner could reach it: from the package index, or (for one the index does not export,
 * like a helper inside lib/train/optimizer.ts) from the compiled module that defines it.
 */
function libraryExport(name: string): unknown {
  if (typeof lib[name] === "function") return lib[name];
  for (const [file, m] of Object.entries(require.cache)) {
    const v = file.startsWith(distLib) ? (m?.exports as Record<string, unknown> | undefined)?.[name] : undefined;
    if (typeof v === "function") return v;
  }
  return undefined;
}
const exercises = [...registry.values()];
const byName = new Map(exercises.map((e) => [e.name, e]));

/** Runs an exercise and returns the error it failed with, or null when it passed. */
async function failure(e: ExerciseInfo): Promise<unknown> {
  try {
    await e.run();
    return null;
  } catch (err) {
    return err;
  }
}

const mutantDir = path.join(__dirname, "mutants");
const mutants: Mutant<Record<string, unknown>>[] = fs
  .readdirSync(mutantDir)
  .filter((f) => /^\d\d-.*\.ts$/.test(f))
  .sort()
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  .flatMap((f) => (require(path.join(mutantDir, f)) as { mutants: Mutant<Record<string, unknown>>[] }).mutants);

describe("graders", () => {
  it("the specs declared their exercises (this file runs after them)", () => {
    assert.ok(exercises.length >= 30, `only ${exercises.length} exercises registered`);
  });

  it("every library twin a spec bans is a function or class that the library (dist/lib) exports", () => {
    const missing = exercises.flatMap((e) => e.libraryTwins.filter((t) => typeof libraryExport(t) !== "function").map((t) => `${e.name}: ${t}`));
    assert.deepStrictEqual(missing, []);
  });

  describe("handing in the library's own implementation fails", () => {
    for (const e of exercises.filter((x) => x.libraryTwins.length > 0)) {
      for (const twin of e.libraryTwins) {
        it(`${e.name}: a re-export of ${twin} and a wrapper that calls it`, async () => {
          const reexport = libraryExport(twin);
          const wrapper = (...args: unknown[]) => (reexport as (...a: unknown[]) => unknown)(...args);
          for (const [how, value] of [["re-export", reexport], ["wrapper", wrapper]] as const) {
            let err: unknown = null;
            await withOverrides(e.file, { [e.fn]: value }, async () => {
              err = await failure(e);
            });
            assert.ok(err instanceof LibraryTwinError, `${how} of ${twin} was not caught: ${err === null ? "it passed" : String(err)}`);
            assert.match((err as Error).message, new RegExp(`library's ${twin}`));
          }
        });
      }
    }

    const tricks = path.join(__dirname, "..", "fixtures", "bypass");
    const splitHeads = byName.get("4.1 splitHeads")!;
    for (const trick of fs.readdirSync(tricks).filter((d) => d !== "honest" && fs.statSync(path.join(tricks, d)).isDirectory())) {
      it(`4.1 splitHeads from test/fixtures/bypass/${trick}/ fails with the library-twin message`, async () => {
        let err: unknown = null;
        await withTargetDir(path.join(tricks, trick), async () => {
          err = await failure(splitHeads);
        });
        assert.ok(err instanceof LibraryTwinError, `not caught: ${err === null ? "it passed" : String(err)}`);
      });
    }

    it("4.1 splitHeads written by hand in test/fixtures/bypass/honest/ passes (the tricks fail for the right reason)", async () => {
      await withTargetDir(path.join(tricks, "honest"), async () => {
        assert.strictEqual(await failure(splitHeads), null);
      });
    });

    it("the guards do not get in the grader's way: the library twins still work outside a learner's call", () => {
      const s = tiaoyu.parseReasoning("<think>想</think>「甲」");
      assert.strictEqual(s.ok, true);
    });
  });

  it("no committed notebook shows a hint in its outputs (a saved graded cell must not give the answers away)", () => {
    const dir = path.join(__dirname, "..", "..", "notebooks");
    const hints = exercises.flatMap((e) => [e.hint, e.code]);
    const found: string[] = [];
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".ipynb"))) {
      const nb = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { cells: { outputs?: unknown[] }[] };
      nb.cells.forEach((c, i) => {
        const out = JSON.stringify(c.outputs ?? []);
        if (/\bhint: /.test(out) || hints.some((h) => out.includes(JSON.stringify(h).slice(1, -1)))) found.push(`${f} cell ${i}`);
      });
    }
    assert.deepStrictEqual(found, []);
  });

  it("npm run grade gives the code-level hint only when asked with --hint (graded on the untouched stubs of chapter 10)", function () {
    const root = path.join(__dirname, "..", "..");
    if (spawnSync("git", ["diff", "--quiet", "HEAD", "--", "exercises/10-reasoning.ts"], { cwd: root }).status !== 0) this.skip();
    this.timeout(300_000);
    const grade = (...extra: string[]) => {
      const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-hint-")), "report");
      const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "..", "grade.ts"), "10", "--target", "exercises", "--report", report, ...extra], { cwd: root, encoding: "utf8" });
      const json = JSON.parse(fs.readFileSync(`${report}.json`, "utf8")) as { results: { passed: boolean; hint: string; code?: string }[] };
      return { out: r.stdout, results: json.results };
    };
    const plain = grade();
    const asked = grade("--hint");
    const chapter10 = exercises.filter((e) => e.name.startsWith("10."));
    assert.ok(plain.results.length === chapter10.length && plain.results.every((r) => !r.passed && r.hint !== ""), "every stub fails with a hint");
    for (const e of chapter10) {
      assert.ok(plain.out.includes(e.hint), `without --hint, ${e.name}'s hint is printed`);
      assert.ok(!plain.out.includes(e.code), `without --hint, ${e.name}'s code-level hint must not be printed`);
      assert.ok(asked.out.includes(e.code), `with --hint, ${e.name}'s code-level hint is printed`);
    }
    assert.ok(plain.results.every((r) => r.code === undefined) && asked.results.every((r) => typeof r.code === "string"), "the report carries code hints only with --hint");
  });

  describe("every plausible wrong answer (mutant) fails its exercise", () => {
    it("every exercise has at least two mutants, and every mutant names a real exercise and export", () => {
      const count = new Map<string, number>();
      for (const m of mutants) {
        const e = byName.get(m.exercise);
        assert.ok(e, `mutant '${m.mistake}' names an unknown exercise ${m.exercise}`);
        assert.ok(Object.keys(m.patch).length > 0, `mutant '${m.mistake}' patches nothing`);
        count.set(m.exercise, (count.get(m.exercise) ?? 0) + 1);
      }
      const thin = exercises.filter((e) => (count.get(e.name) ?? 0) < 2).map((e) => `${e.name} (${count.get(e.name) ?? 0})`);
      assert.deepStrictEqual(thin, [], "exercises with fewer than two mutants");
    });

    for (const m of mutants) {
      it(`${m.exercise}: ${m.mistake}`, async () => {
        const e = byName.get(m.exercise);
        assert.ok(e, `unknown exercise ${m.exercise}`);
        let err: unknown = null;
        await withOverrides(e.file, m.patch, async () => {
          err = await failure(e);
        });
        assert.ok(err !== null, "the mutant passed: the grader cannot tell this mistake from a right answer");
        assert.ok(!(err instanceof LibraryTwinError), `the mutant failed only because it calls the library: ${String(err)}`);
      });
    }
  });
});
