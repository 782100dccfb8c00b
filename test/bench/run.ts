/**
 * `npm run bench [-- NAME ... --vs-pytorch ...]`: speed and memory benchmarks. Not tests: nothing here asserts
 * a time; each benchmark prints its figures and its ratio to the baseline its issue names.
 *
 * Every file test/bench/NAME.bench.ts exports `run(args: string[]): Promise<void>`. With no NAME, all run.
 */
import * as fs from "fs";
import * as path from "path";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const available = fs.readdirSync(__dirname).filter((f) => f.endsWith(".bench.ts")).map((f) => f.replace(/\.bench\.ts$/, "")).sort();
  const names = args.filter((a) => !a.startsWith("-") && available.includes(a));
  const unknown = args.filter((a) => !a.startsWith("-") && !available.includes(a) && !/^\d/.test(a));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(", ")}: available ${available.join(", ")}`);
  for (const name of names.length ? names : available) {
    console.log(`\n=== bench: ${name} ===`);
    const mod = require(path.join(__dirname, `${name}.bench.ts`)) as { run(args: string[]): Promise<void> };
    await mod.run(args.filter((a) => a !== name));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
