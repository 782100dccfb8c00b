/**
 * Finding Jupyter and the Python behind it, and the environment our notebooks run with.
 * Shared by `npm install` (kernel registration), `npm start`, `npm run course` and the notebook tests.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../course";

/** Where `npm install` writes the project's own tslab kernelspec (git-ignored: its paths are this machine's). */
export function kernelDir(): string {
  return path.join(projectRoot(), ".jupyter");
}

/** The `jupyter` command on PATH, or null. */
export function findJupyter(): string | null {
  const r = spawnSync(process.platform === "win32" ? "where" : "which", ["jupyter"], { encoding: "utf8" });
  const first = r.status === 0 ? r.stdout.split(/\r?\n/)[0].trim() : "";
  return first || null;
}

/**
 * The Python that can import nbclient: the interpreter named in the `jupyter` script's first line (so a pip
 * or Debian Jupyter both work even when `python3` on PATH is another Python), then python3 and /usr/bin/python3.
 */
export function findNotebookPython(): string | null {
  const candidates: string[] = [];
  if (process.env.TIAOYU_PYTHON) candidates.push(process.env.TIAOYU_PYTHON);
  const jupyter = findJupyter();
  if (jupyter) {
    try {
      const first = fs.readFileSync(jupyter, "utf8").split("\n")[0];
      if (first.startsWith("#!")) candidates.push(first.slice(2).trim().split(/\s+/).pop()!);
    } catch {
      /* a binary launcher: fall through */
    }
  }
  candidates.push("python3", "/usr/bin/python3", "python");
  for (const py of candidates) {
    const r = spawnSync(py, ["-c", "import nbclient, nbformat"], { encoding: "utf8" });
    if (r.status === 0) return py;
  }
  return null;
}

/** Environment for Jupyter processes: our kernelspec first, no debugger noise, node_modules/.bin on PATH. */
export function jupyterEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const root = projectRoot();
  const jp = [kernelDir(), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  return {
    ...process.env,
    JUPYTER_PATH: jp,
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    PATH: [path.join(root, "node_modules", ".bin"), process.env.PATH].join(path.delimiter),
    ...extra,
  };
}

/**
 * The tslab kernel registered where Jupyter looks without this project's JUPYTER_PATH (the user's or the system's
 * kernels), if it belongs to another checkout: its kernel.json names another project's tslab. That is what VS Code or
 * a plain `jupyter notebook` would run. `npm start` and `npm run course` are not affected (they put .jupyter/ first),
 * so this is reported, not fatal. Returns null when it is this checkout's, when none is registered, or without Jupyter.
 */
export function staleUserKernel(): { dir: string; points: string } | null {
  const jupyter = findJupyter();
  if (!jupyter) return null;
  const env: NodeJS.ProcessEnv = { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" };
  delete env.JUPYTER_PATH;
  const r = spawnSync(jupyter, ["kernelspec", "list", "--json"], { encoding: "utf8", env });
  if (r.status !== 0) return null;
  let specs: Record<string, { resource_dir: string; spec: { argv?: string[] } }>;
  try {
    specs = (JSON.parse(r.stdout) as { kernelspecs: typeof specs }).kernelspecs;
  } catch {
    return null;
  }
  const tslab = specs.tslab;
  if (!tslab) return null;
  const ours = path.join(projectRoot(), "node_modules", "tslab");
  const argv = tslab.spec.argv ?? [];
  if (argv.some((a) => a.startsWith(ours + path.sep))) return null;
  // A bare `tslab` (tslab's own installer) runs whichever tslab is on PATH: not ours either.
  const named = argv.find((a) => /tslab/.test(a)) ?? argv.join(" ");
  return { dir: tslab.resource_dir, points: named };
}

/** The warning for a stale user-level kernel, or "" when there is none. */
export function staleKernelWarning(): string {
  const stale = staleUserKernel();
  if (!stale) return "";
  return (
    `[tiaoyu] The "tslab" kernel registered for your user (${stale.dir}) runs ${stale.points},\n` +
    `[tiaoyu] not this checkout (${projectRoot()}). npm start and npm run course still use this checkout's kernel;\n` +
    `[tiaoyu] other front ends (VS Code, a plain \`jupyter notebook\`) would not. To point them here: npm run register-kernel`
  );
}

export const INSTALL_HINT =
  "Install Jupyter, then run `npm run register-kernel`:\n" +
  "    pip install jupyterlab            # any OS, with Python's pip\n" +
  "    sudo apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient   # Debian/Ubuntu";
