/**
 * The library, tests, exercises and solutions type-check in strict mode with the project's TypeScript
 * (tsx runs tests without type-checking, and tslab compiles notebooks without `strict`, so this is where
 * type errors are caught). Uses the real `typescript` package, not tslab's bundled 5.0 `tsc` in .bin.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

describe("type check", function () {
  this.timeout(300_000);
  it("lib, test, exercises and solutions compile with strict settings", () => {
    const root = path.join(__dirname, "..", "..");
    const tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.check.json"], { cwd: root, encoding: "utf8" });
    assert.strictEqual(r.status, 0, `tsc -p tsconfig.check.json reported:\n${r.stdout}${r.stderr}`);
  });
});
