/** `npx tiaoyu data`: chapter 1's corpus, built from a terminal. */
import { isQuick } from "../course";
import { droppedRows, ensureCorpus, reportRows, splitRows } from "../data/pipeline";
import { formatTable } from "../display";
import { parseCommandFlags } from "../flags";

const DATA_USAGE = `usage: npx tiaoyu data [--quick] [--force]

Builds chapter 1's corpus: datasets/poems/ (or datasets/poems-quick/ with --quick or TIAOYU_QUICK=1):
train.jsonl, validation.jsonl, test.jsonl ({"text": "<s>…</s>"} one poem a line), poems.jsonl, report.json.
An up-to-date corpus is left as it is unless --force is given.`;

/** `npx tiaoyu data [--quick] [--force]`: builds the corpus with progress output, then prints its counts. */
export async function dataCommand(args: readonly string[]): Promise<void> {
  const values = parseCommandFlags("data", args, { quick: { type: "boolean" }, force: { type: "boolean" } }, DATA_USAGE);
  if (!values) return;
  const quick = (values.quick ?? false) || isQuick();
  const t0 = performance.now();
  const info = await ensureCorpus({
    quick,
    force: values.force ?? false,
    onProgress: (p) => console.log(`  ${p.label.padEnd(6, "　")} ${String(p.read).padStart(6)} read  ${String(p.kept).padStart(6)} kept${p.done ? "  ✓" : ""}`),
  });
  const r = info.report;
  if (info.cached) console.log(`${info.dir} is up to date (built ${r.builtAt}); --force rebuilds it`);
  console.log("\n" + formatTable(reportRows(r)));
  console.log("\n" + formatTable(droppedRows(r)));
  console.log(`\nduplicates: ${r.duplicates.exact} exact, ${r.duplicates.near} near`);
  console.log(formatTable(splitRows(r)));
  console.log(`\n${info.cached ? "found" : "built"} ${info.dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
