/**
 * Looking inside tokenizers, for chapter 2's notebook: BPE step by step, how a text is cut into tokens,
 * which tokens are used most, and how many tokens a text costs (compression).
 */
import { html, LiveDisplay, type Row } from "../display";
import { displayBytes, utf8Into } from "./bytes";
import { MergeLoop } from "./merges";
import { splitChunks } from "./presplit";
import type { PreSplitName, Tokenizer, TrainProgress } from "./types";
import { layoutWords } from "./words";

/** One merge of a traced BPE training run. */
export interface BPETraceStep {
  /** 1, 2, … */
  readonly step: number;
  /** The pairs and their counts before this merge, most frequent first (readable: "明 + 月"). */
  readonly pairs: readonly { readonly pair: string; readonly count: number }[];
  /** The pair merged, the new id, how often the pair occurred and the new token's text. */
  readonly merged: { readonly a: number; readonly b: number; readonly id: number; readonly count: number; readonly token: string };
  /** The whole text as tokens after this merge. */
  readonly tokens: readonly string[];
}

/**
 * Trains byte-level BPE on one short text for `merges` steps and records every step: the pair counts, the
 * pair merged, and the text's tokens afterwards. Same algorithm and tie-breaking as ByteBPETokenizer.train
 * (which gives the same merges), with every intermediate state kept for display.
 * @example bpeTrace("明月几时有，明月照我还", 3)[0].merged.token  // → "\xE6\x98" (the first two bytes of 明)
 */
export function bpeTrace(text: string, merges: number, options: { preSplit?: PreSplitName; topPairs?: number } = {}): BPETraceStep[] {
  const chunks = splitChunks(text, options.preSplit ?? "gpt2");
  const counts = new Map<string, number>();
  for (const c of chunks) counts.set(c, (counts.get(c) ?? 0) + 1);
  const order = [...counts.keys()];
  const loop = new MergeLoop(layoutWords(counts, utf8Into, 1), { numSymbols: 256, score: "count" });
  const bytesOf: number[][] = Array.from({ length: 256 }, (_, b) => [b]);
  const byKey = new Map<string, number>(bytesOf.map((b, id) => [b.join(","), id]));
  const show = (id: number) => displayBytes(bytesOf[id]);
  const steps: BPETraceStep[] = [];
  for (let step = 1; step <= merges; step++) {
    const pairs = loop.pairCounts().slice(0, options.topPairs ?? 10).map((p) => ({ pair: `${show(p.a)} + ${show(p.b)}`, count: p.count }));
    const done = loop.step((a, b) => {
      const joined = [...bytesOf[a], ...bytesOf[b]];
      const key = joined.join(",");
      const existing = byKey.get(key);
      if (existing !== undefined) return existing;
      byKey.set(key, bytesOf.length);
      bytesOf.push(joined);
      return bytesOf.length - 1;
    });
    if (done === null) break;
    const words = loop.currentWords();
    const index = new Map(order.map((c, k) => [c, k]));
    const tokens = chunks.flatMap((c) => words[index.get(c)!].map(show));
    steps.push({ step, pairs, merged: { ...done, token: show(done.id) }, tokens });
  }
  return steps;
}

/** The tokens of a text, one row each: position, id and readable text. */
export function tokenRows(tok: Tokenizer, text: string): Row[] {
  return tok.encode(text, { allowedSpecial: "all" }).map((id, i) => ({ "#": i + 1, id, token: tok.displayToken(id) }));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

const COLORS = ["#fde2e2", "#e2f0fd", "#e5f8e0", "#fdf3d9", "#efe3fb", "#dff7f5"];

/**
 * Shows how a tokenizer cuts a text: each token on a coloured background (hover for its id), then
 * "N characters → M tokens". In a terminal: the tokens separated by "|".
 */
export function showTokens(tok: Tokenizer, text: string, options: { title?: string } = {}): void {
  const ids = tok.encode(text, { allowedSpecial: "all" });
  const shown = ids.map((id) => tok.displayToken(id));
  const spans = shown
    .map((t, i) => `<span title="id ${ids[i]}" style="background:${COLORS[i % COLORS.length]};padding:1px 2px;margin:1px;border-radius:3px;font-family:monospace">${escapeHtml(t)}</span>`)
    .join("");
  const summary = `${[...text].length} 个字符 → ${ids.length} 个词元`;
  const title = options.title ? `<b>${escapeHtml(options.title)}</b> ` : "";
  html(`<div style="line-height:2">${title}${spans}<br><small>${summary}</small></div>`, `${options.title ? options.title + ": " : ""}${shown.join("|")}\n${summary}`);
}

/** How much text each token carries. */
export interface Compression {
  readonly texts: number;
  readonly chars: number;
  readonly bytes: number;
  readonly tokens: number;
  /** tokens / characters: lower is better (fewer steps for the model per poem). */
  readonly tokensPerChar: number;
  readonly charsPerToken: number;
  readonly bytesPerToken: number;
}

/** Encodes every text and counts characters (code points), UTF-8 bytes and tokens. Special tokens count too. */
export function compression(tok: Tokenizer, texts: Iterable<string>): Compression {
  let n = 0, chars = 0, bytes = 0, tokens = 0;
  for (const t of texts) {
    n++;
    for (const ch of t) chars++, (bytes += Buffer.byteLength(ch));
    tokens += tok.encode(t, { allowedSpecial: "all" }).length;
  }
  return { texts: n, chars, bytes, tokens, tokensPerChar: tokens / chars, charsPerToken: chars / tokens, bytesPerToken: bytes / tokens };
}

/**
 * The plain character vocabulary (one token per character seen in training, [UNK] for the rest) as a baseline:
 * its size, and the share of the other texts' characters it does not know.
 */
export function characterBaseline(train: Iterable<string>, other: Iterable<string>): { vocabSize: number; unknownShare: number; tokensPerChar: number } {
  const known = new Set<string>();
  for (const t of train) for (const ch of t) known.add(ch);
  let all = 0, unknown = 0;
  for (const t of other) for (const ch of t) (all++, known.has(ch) ? 0 : unknown++);
  return { vocabSize: known.size + 1, unknownShare: all ? unknown / all : 0, tokensPerChar: 1 };
}

/** The tokens used most often in the texts (special tokens left out), with their share of all tokens. */
export function topTokens(tok: Tokenizer, texts: Iterable<string>, n = 20): Row[] {
  const counts = new Map<number, number>();
  let total = 0;
  const specials = new Set(tok.specialTokens.values());
  for (const t of texts) {
    for (const id of tok.encode(t, { allowedSpecial: "all" })) {
      if (specials.has(id)) continue;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      total++;
    }
  }
  return [...counts]
    .sort((x, y) => y[1] - x[1] || x[0] - y[0])
    .slice(0, n)
    .map(([id, count]) => ({ id, token: tok.displayToken(id), count, share: count / total }));
}

/** Vocabulary entries as rows: id, the string stored in tokenizer.json, and the text it stands for. */
export function vocabRows(tok: Tokenizer, ids: Iterable<number>): Row[] {
  return [...ids].map((id) => ({ id, "tokenizer.json": tok.idToToken(id) ?? "", text: tok.displayToken(id) }));
}

/**
 * A training progress line that updates in place (at most a few times a second), for `onProgress`:
 *   await ByteBPETokenizer.train(poems, { vocabSize: 6400, onProgress: progressLine("BPE") })
 */
export function progressLine(label: string): (p: TrainProgress) => void {
  const live = new LiveDisplay();
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p.phase !== "done" && now - last < 300) return;
    last = now;
    const amount = p.total ? `${p.done}/${p.total}` : `${p.done}`;
    const what = p.phase === "counting" ? "统计语料" : p.phase === "training" ? "训练" : "完成";
    live.text(`${label} ${what} ${amount} · ${p.seconds.toFixed(1)} s${p.note ? " · " + p.note : ""}`);
  };
}
