/**
 * The import graph of lib/ has no cycle. A cycle makes the order in which modules initialise depend on which one is
 * imported first (a constant can be undefined when read), and it is the mark of a file that does two jobs. Type-only
 * imports count too: they say which file a concept belongs to. The walk reads every `import … from "./x"`,
 * `export … from "./x"` and `import("./x")` of lib/*.ts; the check is tested on a small made-up graph first.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const LIB = path.join(__dirname, "..", "..", "lib");

/** Every .ts file under `dir` (not .d.ts), skipping folders of native code and shims. */
function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return ["native", "shims", "node_modules"].includes(e.name) ? [] : tsFiles(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g;

/** file → the lib files it imports (relative specifiers resolved to x.ts or x/index.ts). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const resolve = (from: string, spec: string): string | null => {
    const base = path.resolve(path.dirname(from), spec);
    for (const c of [base + ".ts", path.join(base, "index.ts")]) if (fs.existsSync(c)) return c;
    return null;
  };
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const src = fs.readFileSync(f, "utf8");
    const out = new Set<string>();
    for (const m of src.matchAll(IMPORT)) {
      const target = resolve(f, m[1] ?? m[2]);
      if (target) out.add(target);
    }
    graph.set(f, [...out]);
  }
  return graph;
}

/** One cycle per back edge of a depth-first walk, each as the list of nodes from the repeated one back to it. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (u: string): void => {
    state.set(u, "open");
    stack.push(u);
    for (const v of graph.get(u) ?? []) {
      if (state.get(v) === "open") cycles.push([...stack.slice(stack.indexOf(v)), v]);
      else if (!state.has(v)) visit(v);
    }
    stack.pop();
    state.set(u, "done");
  };
  for (const u of graph.keys()) if (!state.has(u)) visit(u);
  return cycles;
}

describe("lib's import graph", () => {
  it("findCycles finds a cycle of three and none in a tree", () => {
    const cyclic = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
    assert.deepStrictEqual(findCycles(cyclic), [["a", "b", "c", "a"]]);
    assert.deepStrictEqual(findCycles(new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]])), []);
  });

  it("the walk sees lib's imports (loop.ts imports optimizer.ts)", () => {
    const graph = importGraph(tsFiles(LIB));
    assert.ok(graph.size > 50, `only ${graph.size} files found under ${LIB}`);
    assert.ok(graph.get(path.join(LIB, "train", "loop.ts"))?.includes(path.join(LIB, "train", "optimizer.ts")));
  });

  it("has no cycle", () => {
    const cycles = findCycles(importGraph(tsFiles(LIB))).map((c) => c.map((f) => path.relative(LIB, f)).join(" → "));
    assert.deepStrictEqual(cycles, [], `import cycles in lib/:\n${cycles.join("\n")}`);
  });
});
