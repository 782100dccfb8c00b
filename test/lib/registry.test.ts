/**
 * The stage registry (lib/train/registry.ts): every stage starts from a stage of the registry or from scratch, the
 * chains end, quick mode has folders of its own, and the command each stage names exists in `npx tiaoyu`.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { coursePreset, DPO_PRESETS, isStageName, STAGES, type StageName, stageDir, withOverrides } from "tiaoyu";

const names = Object.keys(STAGES) as StageName[];

describe("stage registry", () => {
  it("every stage starts from a registered stage or from scratch, and no chain loops", () => {
    for (const name of names) {
      const seen = new Set<string>([name]);
      for (let s = STAGES[name].from; s !== null; s = STAGES[s].from) {
        assert.ok(isStageName(s), `${name} starts from '${s}', which is not a stage`);
        assert.ok(!seen.has(s), `${name}: the chain of 'from' loops at ${s}`);
        seen.add(s);
      }
    }
    assert.ok(!isStageName("rlhf") && !isStageName("distill"), "names no run folder uses are not stages");
  });

  it("quick mode has its own folders and the tiny preset", () => {
    const saved = process.env.TIAOYU_QUICK;
    try {
      delete process.env.TIAOYU_QUICK;
      assert.strictEqual(path.basename(stageDir("distill-whitebox")), "distill-whitebox");
      assert.strictEqual(coursePreset(), "course");
      process.env.TIAOYU_QUICK = "1";
      assert.strictEqual(path.basename(stageDir("distill-whitebox")), "distill-whitebox-quick");
      assert.strictEqual(coursePreset(), "tiny");
    } finally {
      if (saved === undefined) delete process.env.TIAOYU_QUICK;
      else process.env.TIAOYU_QUICK = saved;
    }
  });

  it("the command each stage names is one npx tiaoyu has", function () {
    this.timeout(60_000);
    const list = spawnSync(process.execPath, [path.join(__dirname, "..", "..", "dist", "lib", "cli.js")], { encoding: "utf8" }).stdout;
    for (const name of names) {
      const command = /npx tiaoyu (\S+)/.exec(STAGES[name].command)?.[1];
      assert.ok(command && new RegExp(`^  ${command}\\s`, "m").test(list), `${name}: '${STAGES[name].command}' is not in:\n${list}`);
    }
  });

  it("withOverrides: a notebook's settings replace the preset's, the loop's options field by field", () => {
    const base = DPO_PRESETS.tiny;
    const s = withOverrides(base, { beta: 0.3, train: { steps: 7 } });
    assert.strictEqual(s.beta, 0.3);
    assert.strictEqual(s.train.steps, 7);
    assert.strictEqual(s.train.lr, base.train.lr, "the preset's learning rate is kept");
    assert.strictEqual(s.batchSize, base.batchSize);
    assert.notStrictEqual(base.beta, 0.3, "the preset itself is not changed");
    assert.strictEqual(withOverrides(base, undefined), base);
  });
});
