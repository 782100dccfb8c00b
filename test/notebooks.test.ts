/**
 * Every notebook runs top to bottom in a fresh tslab kernel, in quick mode (TIAOYU_QUICK=1), as a reader
 * would run it. Any failing cell fails the test, and the runner's log shows the cell and its error.
 * Executed copies go to build/notebooks/. Without Jupyter the tests are skipped with a message, except in CI.
 */
import * as assert from "assert";
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
  for (const nb of listNotebooks()) {
    const rel = path.relative(root, nb);
    it(`${rel} runs top to bottom`, function () {
      const out = path.join(root, "build", "notebooks", path.basename(nb));
      const rc = runNotebook(nb, out, { TIAOYU_QUICK: "1" });
      assert.strictEqual(rc, 0, `${rel} failed in quick mode: see the cell and its stderr above; partial output in ${path.relative(root, out)}`);
    });
  }
});
