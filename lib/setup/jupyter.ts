/**
 * `npm start` (open the course in Jupyter) and `npm run course` (execute every notebook headless).
 *
 *   node dist/lib/setup/jupyter.js notebook           → Jupyter (Lab if installed, else Notebook) on notebooks/
 *   node dist/lib/setup/jupyter.js course [NN ...]    → runs notebooks/NN-*.ipynb, writes build/notebooks/
 *   node dist/lib/setup/jupyter.js run IN.ipynb OUT.ipynb  → runs one notebook (used by the tests)
 *
 * Set TIAOYU_QUICK=1 to run the notebooks in quick mode.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../course";
import { findJupyter, findNotebookPython, INSTALL_HINT, jupyterEnv, kernelDir, staleKernelWarning } from "./jupyterEnv";

/** The course's notebooks in chapter order, optionally only those whose names start with one of `prefixes`. */
export function listNotebooks(prefixes: string[] = []): string[] {
  const dir = path.join(projectRoot(), "notebooks");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb") && (prefixes.length === 0 || prefixes.some((p) => f.startsWith(p))))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Runs one notebook to completion in a fresh tslab kernel; resolves to the exit code (0 = every cell ran). */
export function runNotebook(input: string, output: string, env: NodeJS.ProcessEnv = {}): number {
  const python = findNotebookPython();
  if (!python) throw new Error(`cannot run notebooks: no Python with nbclient found.\n${INSTALL_HINT}`);
  const runner = path.join(projectRoot(), "lib", "setup", "run_notebook.py");
  const r = spawnSync(python, [runner, input, output], { stdio: "inherit", env: jupyterEnv(env) });
  return r.status ?? 1;
}

function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  const root = projectRoot();
  if (cmd === "notebook") {
    const jupyter = findJupyter();
    if (!jupyter) {
      console.error(`Jupyter is not installed.\n${INSTALL_HINT}`);
      process.exit(1);
    }
    if (!fs.existsSync(path.join(kernelDir(), "kernels", "tslab", "kernel.json"))) {
      console.error("This checkout's kernel is missing (.jupyter/kernels/tslab): run npm run register-kernel");
      process.exit(1);
    }
    const warning = staleKernelWarning();
    if (warning) console.log(warning);
    const hasLab = spawnSync(jupyter, ["lab", "--version"], { env: jupyterEnv() }).status === 0;
    // Serve the project root (so charts can load plotly.js from node_modules) and open the notebooks folder.
    const args = hasLab
      ? ["lab", `--ServerApp.root_dir=${root}`, "--LabApp.default_url=/lab/tree/notebooks", ...rest]
      : ["notebook", `--notebook-dir=${root}`, "--NotebookApp.default_url=/tree/notebooks", ...rest];
    // Jupyter refuses to start as root (containers, CI images) unless told it is deliberate.
    if (process.getuid?.() === 0 && !rest.includes("--allow-root")) args.push("--allow-root");
    console.log(`Starting Jupyter ${hasLab ? "Lab" : "Notebook"} with this checkout's kernel (${path.relative(root, kernelDir())}/kernels/tslab): open 01-data.ipynb.`);
    const child = spawn(jupyter, args, { stdio: "inherit", env: jupyterEnv(), cwd: root });
    child.on("exit", (code) => process.exit(code ?? 0));
    // Ctrl-C reaches Jupyter directly (same process group); a SIGTERM sent to us alone must not orphan it.
    process.on("SIGTERM", () => child.kill("SIGTERM"));
    return;
  }
  if (cmd === "course") {
    const outDir = path.join(root, "build", "notebooks");
    let failed = 0;
    for (const nb of listNotebooks(rest)) {
      const out = path.join(outDir, path.basename(nb));
      if (runNotebook(nb, out) !== 0) failed++;
      else console.log(`  → ${path.relative(root, out)}`);
    }
    process.exit(failed ? 1 : 0);
  }
  if (cmd === "run" && rest.length === 2) process.exit(runNotebook(rest[0], rest[1]));
  console.error("usage: jupyter.js notebook | course [NN ...] | run IN.ipynb OUT.ipynb");
  process.exit(2);
}

if (require.main === module) main(process.argv.slice(2));
