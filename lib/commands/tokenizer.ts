/** `npx tiaoyu tokenizer`: chapter 2's tokenizer, trained (or found) from a terminal, or a text cut by it. */
import { isQuick } from "../course";
import { formatTable } from "../display";
import { TOKENIZER_FILE } from "../tokenizer/hfjson";
import { COURSE_VOCAB_SIZE, courseTokenizerDir, ensureTokenizer, QUICK_VOCAB_SIZE } from "../tokenizer/ensure";

const TOKENIZER_USAGE = `usage: npx tiaoyu tokenizer [--quick] [--force] [--vocab N]
       npx tiaoyu tokenizer encode [--quick] TEXT

Trains chapter 2's byte-level BPE on chapter 1's training split (building the corpus if needed) and keeps it
in datasets/tokenizer-bpe-<N>/tokenizer.json (Hugging Face format). Default vocabulary: ${COURSE_VOCAB_SIZE}, or
${QUICK_VOCAB_SIZE} with --quick / TIAOYU_QUICK=1. "encode" shows how the course's tokenizer cuts TEXT.`;

/** `npx tiaoyu tokenizer …`: trains (or finds) the course's tokenizer, or shows how it encodes a text. */
export async function tokenizerCommand(args: readonly string[]): Promise<void> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(TOKENIZER_USAGE);
    return;
  }
  const rest = [...args];
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    if (i >= 0) rest.splice(i, 1);
    return i >= 0;
  };
  const quick = flag("--quick") || isQuick();
  const force = flag("--force");
  let vocabSize: number | undefined;
  const v = rest.indexOf("--vocab");
  if (v >= 0) {
    vocabSize = Number(rest[v + 1]);
    if (!Number.isInteger(vocabSize)) throw new Error(`tokenizer: --vocab needs an integer, got '${rest[v + 1]}'\n${TOKENIZER_USAGE}`);
    rest.splice(v, 2);
  }
  const encode = rest[0] === "encode";
  if (encode) rest.shift();
  const unknown = rest.filter((a) => a.startsWith("-"));
  if (unknown.length || (!encode && rest.length)) throw new Error(`tokenizer: unexpected '${unknown[0] ?? rest[0]}'\n${TOKENIZER_USAGE}`);
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
