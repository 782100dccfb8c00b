/**
 * Every notebook runs top to bottom in a fresh tslab kernel, in quick mode (TIAOYU_QUICK=1), as a reader
 * would run it. Any failing cell fails the test, and the runner's log shows the cell and its error.
 * Executed copies go to build/notebooks/. Without Jupyter the tests are skipped with a message, except in CI.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { listNotebooks, runNotebook } from "../lib/setup/jupyter";
import { findNotebookPython, INSTALL_HINT } from "../lib/setup/jupyterEnv";

const root = path.join(__dirname, "..");

describe("notebooks run headless in quick mode", function () {
  this.timeout(30 * 60_000);
  const python = findNotebookPython();
  before(function () {
    if (!python) {
      if (process.env.CI) throw new Error(`CI must run the notebooks, but Jupyter/nbclient is missing.\n${INSTALL_HINT}`);
      console.log(`    (skipped: Jupyter/nbclient not found. ${INSTALL_HINT.split("\n")[0]})`);
      this.skip();
    }
  });
  it("the runner fails on a cell with an error, and never runs the cells after it", function () {
    // A notebook test that cannot fail proves nothing: check the runner on a notebook that must fail.
    const dir = path.join(root, "build", "runner-check");
    fs.mkdirSync(dir, { recursive: true });
    const cell = (source: string) => ({ cell_type: "code", metadata: {}, outputs: [], execution_count: null, source });
    const nb = {
      nbformat: 4, nbformat_minor: 5,
      metadata: { kernelspec: { name: "tslab", display_name: "TypeScript (TIAOYU)", language: "typescript" } },
      cells: [cell('import { isQuick } from "tiaoyu";\nconsole.log("quick=" + isQuick());'), cell("const s: string = 42;"), cell('console.log("after");')],
    };
    const input = path.join(dir, "broken.ipynb");
    fs.writeFileSync(input, JSON.stringify(nb));
    const out = path.join(dir, "broken.out.ipynb");
    assert.strictEqual(runNotebook(input, out, { TIAOYU_QUICK: "1" }), 1);
    const ran = JSON.parse(fs.readFileSync(out, "utf8")) as { cells: { outputs: { text?: string }[] }[] };
    assert.match(ran.cells[0].outputs.map((o) => o.text ?? "").join(""), /quick=true/);
    assert.match(ran.cells[1].outputs.map((o) => o.text ?? "").join(""), /not assignable to type 'string'/);
    assert.deepStrictEqual(ran.cells[2].outputs, []);
  });

  for (const nb of listNotebooks()) {
    const rel = path.relative(root, nb);
    it(`${rel} runs top to bottom`, function () {
      const out = path.join(root, "build", "notebooks", path.basename(nb));
      const rc = runNotebook(nb, out, { TIAOYU_QUICK: "1" });
      assert.strictEqual(rc, 0, `${rel} failed in quick mode: see the cell and its stderr above; partial output in ${path.relative(root, out)}`);
    });
  }
});
