/** `npx tiaoyu tokenizer`: chapter 2's tokenizer, trained (or found) from a terminal, or a text cut by it. */
import { isQuick } from "../course";
import { formatTable } from "../display";
import { MAX_VOCAB_SIZE, TOKENIZER_FILE } from "../tokenizer/hfjson";
import { nearest, numberFlag, parseCommandArgs, UsageError } from "../flags";
import { COURSE_VOCAB_SIZE, courseTokenizerDir, ensureTokenizer, QUICK_VOCAB_SIZE } from "../tokenizer/ensure";

const TOKENIZER_USAGE = `usage: npx tiaoyu tokenizer [--quick] [--force] [--vocab N]
       npx tiaoyu tokenizer encode [--quick] TEXT

Trains chapter 2's byte-level BPE on chapter 1's training split (building the corpus if needed) and keeps it
in datasets/tokenizer-bpe-<N>/tokenizer.json (Hugging Face format). Default vocabulary: ${COURSE_VOCAB_SIZE}, or
${QUICK_VOCAB_SIZE} with --quick / TIAOYU_QUICK=1. "encode" shows how the course's tokenizer cuts TEXT.`;

/** `npx tiaoyu tokenizer …`: trains (or finds) the course's tokenizer, or shows how it encodes a text. */
export async function tokenizerCommand(args: readonly string[]): Promise<void> {
  const parsed = parseCommandArgs("tokenizer", args, { quick: { type: "boolean" }, force: { type: "boolean" }, vocab: { type: "string" } }, TOKENIZER_USAGE);
  if (!parsed) return;
  const { values, positionals: rest } = parsed;
  const quick = (values.quick ?? false) || isQuick();
  const force = values.force ?? false;
  const vocabSize = numberFlag("vocab", values.vocab, { integer: true, min: 1, max: MAX_VOCAB_SIZE });
  const encode = rest[0] === "encode";
  if (encode) rest.shift();
  if (!encode && rest.length) {
    const near = nearest(rest[0], ["encode"]);
    throw new UsageError(`tokenizer: unexpected '${rest[0]}'${near ? ` — did you mean '${near}'?` : ""} (npx tiaoyu tokenizer --help)`);
  }
  const t0 = Date.now();
  let last = 0;
  const tok = await ensureTokenizer({
    quick,
    force,
    vocabSize,
    onProgress: (p) => {
      if (Date.now() - last < 2000 && p.phase !== "done") return;
      last = Date.now();
      console.log(`  ${p.phase} ${p.total ? `${p.done}/${p.total}` : p.done} ${p.seconds.toFixed(1)} s ${p.note ?? ""}`);
    },
  });
  if (encode) {
    const text = rest.join(" ");
    const ids = tok.encode(text, { allowedSpecial: "all" });
    console.log(formatTable(ids.map((id) => ({ id, token: tok.displayToken(id) }))));
    console.log(`${[...text].length} characters → ${ids.length} tokens`);
    return;
  }
  const dir = courseTokenizerDir({ quick, vocabSize });
  console.log(`${dir}/${TOKENIZER_FILE}: vocabulary ${tok.vocabSize} (${tok.merges.length} merges, ${tok.specials.size} special tokens), ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
