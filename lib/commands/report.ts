/** `npx tiaoyu report STAGE`: chapter 5's measures of a stage's checkpoint, from a terminal. */
import { initBackend } from "../backend";
import { projectPath } from "../course";
import { ensureCorpus } from "../data/pipeline";
import { readSamples } from "../data/sample";
import { NgramBaseline } from "../eval/nextToken";
import { pretrainedReport } from "../eval/pretrained";
import { formatRate } from "../eval/stats";
import { numberFlag, parseCommandArgs, UsageError } from "../flags";
import { ensureTokenizer } from "../tokenizer/ensure";
import { loadTokenizer } from "../tokenizer/load";
import { ensureTokenStream } from "../train/tokens";
import { loadStage } from "../train/handoff";
import { requireStage } from "./prerequisites";
import { isStageName, STAGES, stageDir } from "../train/registry";

const REPORT_USAGE = `usage: npx tiaoyu report [STAGE] [options]

Chapter 5's measures of the model in runs/STAGE (default: pretrain): next-token top-1/top-5 accuracy on the
validation poems beside unigram and bigram guessers, and the form of poems it writes from <s> (lines of 5 or 7
characters, couplets in place, lines 2 and 4 rhyming) beside the corpus's own. Every rate with n and a 95% interval.

  --poems N       poems to generate (default 200)
  --positions N   next-token positions to score (default 20,000)
  --tokenizer DIR a folder with tokenizer.json (default: chapter 2's tokenizer)`;

export async function reportCommand(args: string[]): Promise<void> {
  const parsed = parseCommandArgs("report", args, { poems: { type: "string" }, positions: { type: "string" }, tokenizer: { type: "string" } }, REPORT_USAGE);
  if (!parsed) return;
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`report takes one stage, got '${positionals.join(" ")}'`);
  const stage = positionals[0] ?? "pretrain";
  if (!isStageName(stage)) throw new UsageError(`report: no stage called '${stage}'; the stages are ${Object.keys(STAGES).join(", ")}`);
  const poems = numberFlag("poems", values.poems, { integer: true, min: 1, max: 100_000 });
  const positions = numberFlag("positions", values.positions, { integer: true, min: 1, max: 10_000_000 });
  await requireStage(stage);
  await initBackend();
  const tok = values.tokenizer ? loadTokenizer(values.tokenizer) : await ensureTokenizer();
  const corpus = await ensureCorpus();
  const train = await ensureTokenStream(corpus.files.train, () => readSamples(corpus.files.train), tok);
  const val = await ensureTokenStream(corpus.files.validation, () => readSamples(corpus.files.validation), tok);
  const valSamples: string[] = [];
  for await (const s of readSamples(corpus.files.validation)) valSamples.push(s);
  const { model, meta } = loadStage(stage, { tokenizer: tok });
  try {
    console.log(`${projectPath(stageDir(stage))}: step ${meta.step}, ${model.numParameters().toLocaleString("en-US")} parameters`);
    const r = await pretrainedReport(model, tok, val.tokens, new NgramBaseline(train.tokens), valSamples, {
      poems,
      positions,
    });
    console.log(`\nnext-token accuracy on validation poems (n = ${r.nextToken.positions.toLocaleString("en-US")} positions)`);
    for (const k of ["model", "bigram", "unigram"] as const) {
      console.log(`  ${k.padEnd(8)} top-1 ${formatRate(r.nextToken[k].top1).padEnd(22)} top-5 ${formatRate(r.nextToken[k].top5)}`);
    }
    console.log(`\nform of ${r.form.generated.poems} generated poems vs ${r.form.corpus.poems} validation poems`);
    const rows = { regularLines: "lines of 5 or 7", couplets: "couplets in place", evenLinesRhyme: "lines 2, 4 rhyme" } as const;
    for (const [k, label] of Object.entries(rows) as [keyof typeof rows, string][]) {
      console.log(`  ${label.padEnd(18)} model ${formatRate(r.form.generated[k], { withN: true }).padEnd(30)} corpus ${formatRate(r.form.corpus[k], { withN: true })}`);
    }
    console.log("\nsamples:");
    for (const s of r.samples) console.log(`  ${s}`);
  } finally {
    model.dispose();
  }
}
