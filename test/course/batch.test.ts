/**
 * Batch grading of a class: three fake learners for chapter 5 — one correct, one wrong (the library's schedule
 * re-exported under the exercise's name, a clipping that leaks tensors, AdamW without the bias correction), one
 * whose learning-rate schedule never returns — must give exactly the expected CSV, one JUnit file each with the
 * hints but no code-level hint, and the hung exercise must not stop the others from being graded.
 * The time limit is short (4 s: the reference answers take milliseconds) because the hang costs one limit plus a
 * fresh worker; each learner's worker start (tfjs, tsx, the specs) is most of this test's time.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { batchJUnit } from "../grade-batch";

const root = path.join(__dirname, "..", "..");

function edit(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the reference solution no longer contains '${from}': update this test's fake submissions`);
  return text.replace(from, to);
}

describe("course: batch grading (npm run grade -- --submissions DIR)", function () {
  this.timeout(15 * 60_000);

  it("grades a correct, a wrong and a hanging submission into the expected CSV and JUnit files", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-batch-"));
    const subs = path.join(tmp, "submissions");
    const solution = fs.readFileSync(path.join(root, "solutions", "05-pretrain.ts"), "utf8");
    const learners: Record<string, string> = {
      alice: solution,
      bob: edit(
        edit(
          edit(solution, "const mHat = tf.div(m2, 1 - h.beta1 ** t);", "const mHat = m2;"),
          "return { grads: tf.tidy(() => grads.map((g) => tf.mul(g, factor))), norm };",
          "return { grads: grads.map((g) => tf.mul(tf.add(g, 0), factor)), norm };",
        ),
        "export function scheduledLr(step: number, s: Schedule): number {",
        'export { learningRate as scheduledLr } from "tiaoyu";\nexport function unusedLr(step: number, s: Schedule): number {',
      ),
      carol: edit(solution, "if (step <= s.warmupSteps)", "while (step > 0) step += 0;\n  if (step <= s.warmupSteps)"),
    };
    for (const [name, text] of Object.entries(learners)) {
      // alice hands in her exercises/ folder, the others their files directly: both layouts are accepted.
      const dir = name === "alice" ? path.join(subs, name, "exercises") : path.join(subs, name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "05-pretrain.ts"), text);
    }
    const out = path.join(tmp, "grades");
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "test", "grade.ts"), "--submissions", subs, "--out", out, "--time-limit", "4", "05"], {
      cwd: root, encoding: "utf8", timeout: 14 * 60_000,
    });
    assert.strictEqual(r.status, 0, `batch grading failed:\n${r.stdout}\n${r.stderr}`);
    const csv = fs.readFileSync(path.join(out, "grades.csv"), "utf8");
    const expected = [
      "learner,chapter,exercise,points",
      ...["alice,05,5.1 scheduledLr,2", "alice,05,5.2 clipGlobalNorm,2", "alice,05,5.3 adamwUpdate,3", "alice,05,5.4 topKFromLogits,2", "alice,05,5.5 topPFromLogits,3"],
      ...["bob,05,5.1 scheduledLr,0", "bob,05,5.2 clipGlobalNorm,0", "bob,05,5.3 adamwUpdate,0", "bob,05,5.4 topKFromLogits,2", "bob,05,5.5 topPFromLogits,3"],
      ...["carol,05,5.1 scheduledLr,0", "carol,05,5.2 clipGlobalNorm,2", "carol,05,5.3 adamwUpdate,3", "carol,05,5.4 topKFromLogits,2", "carol,05,5.5 topPFromLogits,3"],
    ].join("\n") + "\n";
    assert.strictEqual(csv, expected);
    for (const name of Object.keys(learners)) assert.ok(fs.existsSync(path.join(out, "junit", `${name}.xml`)), `no JUnit file for ${name}`);
    const carol = fs.readFileSync(path.join(out, "junit", "carol.xml"), "utf8");
    assert.match(carol, /5\.1 scheduledLr \(0\/2 pt\)"><failure message="time limit of 4 s exceeded/);
    const bob = fs.readFileSync(path.join(out, "junit", "bob.xml"), "utf8");
    assert.match(bob, /5\.1 scheduledLr \(0\/2 pt\)"><failure message="[^"]*library's learningRate/);
    assert.match(bob, /5\.2 clipGlobalNorm \(0\/2 pt\)"><failure message="[^"]*tensors are alive[^"]*">hint: 全局范数/);
    assert.doesNotMatch(bob + carol + csv, /code hint/, "code-level hints without --hint");
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("puts the code-level hint into the JUnit file only when the row carries it (--hint)", () => {
    const row = { learner: "dave", chapter: "05", exercise: "5.1 scheduledLr", points: 0, maxPoints: 2, error: "step 1: got 0", hint: "看预热", code: "return maxLr * step / warmupSteps" };
    assert.match(batchJUnit("dave", [row]), /<failure message="step 1: got 0">hint: 看预热\ncode hint: return maxLr \* step \/ warmupSteps<\/failure>/);
    assert.doesNotMatch(batchJUnit("dave", [{ ...row, code: undefined }]), /code hint/);
  });

  it("refuses a submissions folder that does not exist, naming it", () => {
    const missing = path.join(os.tmpdir(), "tiaoyu-no-such-class");
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "test", "grade.ts"), "--submissions", missing], { cwd: root, encoding: "utf8" });
    assert.notStrictEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`--submissions ${missing}: not a folder`));
  });
});
