/**
 * Choosing where the tensors live.
 *
 * TensorFlow.js can run the same model on several backends. We try them from fastest to slowest and keep the
 * first that works:
 *
 *   1. `tensorflow` through `@tensorflow/tfjs-node-gpu`  — libtensorflow with CUDA (a GPU)
 *   2. `tensorflow` through `@tensorflow/tfjs-node`      — libtensorflow on the CPU, multi-threaded
 *   3. `wasm`       through `@tensorflow/tfjs-backend-wasm` — WebAssembly + SIMD (the usual one on a laptop)
 *   4. `cpu`        — plain JavaScript, always there, slowest
 *
 * Both tfjs-node packages are optional dependencies: their installer downloads libtensorflow, which fails
 * without internet access, so most readers will land on `wasm`. Set `TIAOYU_BACKEND=wasm` (or `cpu`,
 * `tensorflow`) to force one; the notebook's first cell prints which backend was picked and why the faster
 * ones were not.
 */
import * as tf from "@tensorflow/tfjs";

/** The backends TIAOYU knows, fastest first. */
export const BACKEND_ORDER = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"] as const;
export type BackendCandidate = (typeof BACKEND_ORDER)[number];

export interface BackendChoice {
  /** tfjs's own name for the backend now in use: "tensorflow", "wasm" or "cpu". */
  readonly name: string;
  /** Which of our candidates it is. */
  readonly candidate: BackendCandidate;
  /** Why each faster candidate was skipped, e.g. "tfjs-node: not installed". */
  readonly skipped: readonly string[];
  /** One line for people: "wasm (WebAssembly SIMD) — skipped tfjs-node-gpu: not installed; …". */
  readonly summary: string;
}

const DESCRIPTION: Record<BackendCandidate, string> = {
  "tfjs-node-gpu": "libtensorflow with CUDA",
  "tfjs-node": "libtensorflow on the CPU",
  wasm: "WebAssembly",
  cpu: "plain JavaScript",
};

/** Loads a package if it is installed; returns the reason as text when it is not. */
function tryRequire(pkg: string): string | null {
  try {
    require(pkg);
    return null;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "MODULE_NOT_FOUND" && String(err.message).includes(`'${pkg}'`)) return "not installed";
    // Installed but broken, e.g. libtensorflow missing because its download failed, or no CUDA libraries.
    return `failed to load (${String(err.message).split("\n")[0]})`;
  }
}

async function tryCandidate(c: BackendCandidate): Promise<string | null> {
  if (c === "tfjs-node-gpu" || c === "tfjs-node") {
    const pkg = `@tensorflow/${c}`;
    const why = tryRequire(pkg);
    if (why) return why;
    // Only the real package registers the "tensorflow" backend; a stand-in (see lib/shims) does not.
    if (!tf.findBackendFactory("tensorflow")) return "installed, but it registered no 'tensorflow' backend";
    return (await tf.setBackend("tensorflow")) ? null : "the 'tensorflow' backend failed to initialise";
  }
  if (c === "wasm") {
    const why = tryRequire("@tensorflow/tfjs-backend-wasm");
    if (why) return why;
    const { registerKernels } = require("./kernels") as typeof import("./kernels");
    registerKernels("wasm");
    registerKernels("cpu"); // tf.setBackend("cpu") later, e.g. to compare, gets the fixed kernels too
    return (await tf.setBackend("wasm")) ? null : "the wasm backend failed to initialise";
  }
  const { registerKernels } = require("./kernels") as typeof import("./kernels");
  registerKernels("cpu");
  return (await tf.setBackend("cpu")) ? null : "the cpu backend failed to initialise";
}

function describe(c: BackendCandidate): string {
  if (c !== "wasm") return DESCRIPTION[c];
  // tfjs-backend-wasm itself runs single-threaded SIMD under Node; TIAOYU's kernels (lib/kernels) add matrix
  // products and fused ops on OpenBLAS threads when the native addon was built, and say so here.
  const { kernelSummary } = require("./kernels") as typeof import("./kernels");
  return `${DESCRIPTION.wasm} SIMD; ${kernelSummary()}`;
}

let current: BackendChoice | null = null;

/**
 * Picks the fastest backend available (or the one named by `force` / `TIAOYU_BACKEND`) and makes it current.
 * Calling it again returns the same choice unless `force` asks for another.
 *
 * @example
 *   const b = await initBackend();
 *   console.log(b.summary);   // "wasm (WebAssembly, SIMD, 1 thread) — skipped tfjs-node-gpu: not installed; …"
 */
export async function initBackend(options: { force?: string; quiet?: boolean } = {}): Promise<BackendChoice> {
  const forced = options.force ?? process.env.TIAOYU_BACKEND;
  let candidates: BackendCandidate[] = [...BACKEND_ORDER];
  if (forced) {
    const wanted = forced === "tensorflow" ? ["tfjs-node-gpu", "tfjs-node"] : [forced];
    candidates = BACKEND_ORDER.filter((c) => wanted.includes(c));
    if (candidates.length === 0) {
      throw new Error(
        `unknown backend '${forced}' (from ${options.force ? "initBackend({force})" : "TIAOYU_BACKEND"}): ` +
          `use one of tensorflow, ${BACKEND_ORDER.join(", ")}`,
      );
    }
  }
  if (current && candidates.includes(current.candidate) && tf.getBackend() === current.name) return current;

  const skipped: string[] = [];
  for (const c of candidates) {
    const why = await tryCandidate(c);
    if (why === null) {
      const name = tf.getBackend();
      const skippedText = skipped.length ? ` — skipped ${skipped.join("; ")}` : "";
      const forcedText = forced ? ` (forced by ${options.force ? "initBackend" : "TIAOYU_BACKEND"}=${forced})` : "";
      current = { name, candidate: c, skipped, summary: `${name} (${describe(c)})${forcedText}${skippedText}` };
      if (!options.quiet) console.log(`TIAOYU backend: ${current.summary}`);
      return current;
    }
    skipped.push(`${c}: ${why}`);
  }
  throw new Error(`no TensorFlow.js backend could be started: ${skipped.join("; ")}`);
}

/** The backend chosen by {@link initBackend}, or null before it ran. */
export function currentBackend(): BackendChoice | null {
  return current;
}
