/**
 * Runs after `npm install` (and as `npm run register-kernel`). It never fails the install: every step that
 * cannot be done prints what to do instead.
 *
 * 1. Links `node_modules/tiaoyu` to the project, so notebooks, exercises and solutions import the library by
 *    its package name (tslab compiles a notebook with rootDir = the notebook's folder, so `../lib` cannot work).
 * 2. Writes the tslab kernelspec into `.jupyter/kernels/tslab` with absolute paths to this Node and this tslab.
 * 3. When Jupyter is installed, registers that kernelspec for the user (replacing one an earlier or other checkout
 *    registered), so `jupyter notebook` anywhere and other front ends offer "TypeScript (TIAOYU)" from this checkout.
 *    With TIAOYU_NO_KERNEL_REGISTER=1 it registers nothing but says when the user's registration is another checkout's.
 *    When Jupyter is missing, says how to get it. (npm start and npm run course never depend on the user's
 *    registration: they put this checkout's .jupyter/ first on JUPYTER_PATH.)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../course";
import { findJupyter, INSTALL_HINT, kernelDir, staleKernelWarning } from "./jupyterEnv";

function linkSelf(root: string): void {
  const link = path.join(root, "node_modules", "tiaoyu");
  try {
    const st = fs.lstatSync(link);
    if (st.isSymbolicLink() && path.resolve(path.dirname(link), fs.readlinkSync(link)) === root) return;
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    /* not there yet */
  }
  // A junction needs no admin rights on Windows; elsewhere it is an ordinary relative symlink.
  fs.symlinkSync(process.platform === "win32" ? root : "..", link, "junction");
  console.log("[tiaoyu] linked node_modules/tiaoyu -> . (import the library as \"tiaoyu\")");
}

function writeKernelSpec(root: string): string {
  const dir = path.join(kernelDir(), "kernels", "tslab");
  fs.mkdirSync(dir, { recursive: true });
  const tslab = path.join(root, "node_modules", "tslab", "bin", "tslab");
  const spec = {
    argv: [process.execPath, tslab, "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript (TIAOYU)",
    language: "typescript",
    env: { TIAOYU_ROOT: root },
  };
  fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(spec, null, 2) + "\n");
  return dir;
}

function main(): void {
  const root = projectRoot();
  linkSelf(root);
  const dir = writeKernelSpec(root);
  const jupyter = findJupyter();
  if (!jupyter) {
    console.log(`[tiaoyu] Jupyter was not found, so the tslab kernel is written to ${path.relative(root, dir)} but not registered.`);
    console.log(`[tiaoyu] ${INSTALL_HINT.replace(/\n/g, "\n[tiaoyu] ")}`);
    console.log("[tiaoyu] (npm test and npm start use .jupyter/ directly once Jupyter is there.)");
    return;
  }
  if (process.env.TIAOYU_NO_KERNEL_REGISTER === "1") {
    const warning = staleKernelWarning();
    if (warning) console.log(warning);
    return;
  }
  const r = spawnSync(jupyter, ["kernelspec", "install", "--user", "--name", "tslab", dir], {
    encoding: "utf8",
    env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" },
  });
  if (r.status === 0) console.log(`[tiaoyu] registered the tslab kernel with Jupyter (${jupyter})`);
  else console.log(`[tiaoyu] could not register the kernel with ${jupyter}: ${(r.stderr || "").trim()}\n[tiaoyu] npm start still works: it points Jupyter at .jupyter/.`);
}

try {
  main();
} catch (e) {
  console.log(`[tiaoyu] post-install step skipped: ${(e as Error).message}`);
}
