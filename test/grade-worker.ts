/**
 * One learner's grading, run by test/grade-batch.ts in a child process (never by hand): loads the specs of the
 * chosen chapters against the learner's files (TIAOYU_GRADE_DIR) and reports over IPC, as it happens, which
 * exercise starts and how each one ends. The parent owns the clock: an exercise that never ends (an endless
 * loop cannot be interrupted from inside the process) is killed from outside, and the parent starts a new worker
 * that skips what is already graded.
 *
 *   node --import tsx test/grade-worker.ts --time-limit MS --skip TITLES.json [NN ...]
 */
import * as fs from "fs";
import Mocha from "mocha";
import * as path from "path";
import { registry } from "./grading";

/** What a worker tells its parent, one message per event. */
export type WorkerMessage =
  | { kind: "exercises"; list: { title: string; chapter: string; name: string; points: number; hint: string; code: string }[] }
  | { kind: "start"; title: string }
  | { kind: "result"; title: string; passed: boolean; error?: string }
  | { kind: "done" };

export function specFiles(chapters: readonly string[]): string[] {
  const dir = path.join(__dirname, "exercises");
  const specs = fs.readdirSync(dir).filter((f) => f.endsWith(".spec.ts") && (chapters.length === 0 || chapters.some((c) => f.startsWith(c.padStart(2, "0")))));
  if (specs.length === 0) throw new Error(`no exercise specs match ${chapters.join(", ")} in test/exercises/`);
  return specs.sort().map((f) => path.join(dir, f));
}

function allTests(suite: Mocha.Suite): Mocha.Test[] {
  return [...suite.tests, ...suite.suites.flatMap(allTests)];
}

async function main(): Promise<void> {
  if (!process.send) throw new Error("test/grade-worker.ts is started by `npm run grade -- --submissions DIR`, not by hand");
  const send = (m: WorkerMessage) => new Promise<void>((resolve) => process.send!(m, undefined, {}, () => resolve()));
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const timeLimitMs = Number(opt("--time-limit") ?? 120_000);
  const skipFile = opt("--skip");
  const skip = new Set<string>(skipFile ? (JSON.parse(fs.readFileSync(skipFile, "utf8")) as string[]) : []);
  process.env.TIAOYU_GRADE_TARGET = "exercises";

  const mocha = new Mocha({ timeout: timeLimitMs, reporter: function () {} as unknown as Mocha.ReporterConstructor });
  for (const f of specFiles(args)) mocha.addFile(f);
  await mocha.loadFilesAsync();

  const tests = allTests(mocha.suite).filter((t) => registry.has(t.fullTitle()));
  await send({
    kind: "exercises",
    list: tests.map((t) => {
      const info = registry.get(t.fullTitle())!;
      return { title: t.fullTitle(), chapter: path.basename(t.file ?? "").slice(0, 2), name: info.name, points: info.points, hint: info.hint, code: info.code };
    }),
  });
  for (const t of tests) if (skip.has(t.fullTitle())) t.pending = true;

  const pending: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on("test", (t) => pending.push(send({ kind: "start", title: t.fullTitle() })));
    runner.on("pass", (t) => pending.push(send({ kind: "result", title: t.fullTitle(), passed: true })));
    runner.on("fail", (t, err) => {
      if (!registry.has(t.fullTitle())) return; // a hook: its tests are reported on their own
      pending.push(send({ kind: "result", title: t.fullTitle(), passed: false, error: String(err?.message ?? err).split("\n")[0].slice(0, 300) }));
    });
  });
  await Promise.all(pending);
  await send({ kind: "done" });
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
