/**
 * Showing results in a notebook: tables, charts, Markdown and live-updating text.
 *
 * Inside the tslab kernel these send rich outputs (HTML tables, Plotly charts); in plain Node (tests, the CLI)
 * they print a text version instead, so every library function that "shows" something also works in a terminal.
 */
import * as fs from "fs";
import * as path from "path";
import { renderSvg, svgDataUri } from "./svgchart";

type Bundle = Record<string, unknown>;
type Writer = (msg: { data: Bundle; metadata: object; transient: object }, update: boolean) => void;

/** tslab's writer for display data, present only while a notebook cell is running. */
function kernelWriter(): Writer | null {
  try {
    const jup = require("tslab/dist/jupyter") as { lastWriteDisplayData: Writer | null };
    return jup.lastWriteDisplayData ?? null;
  } catch {
    return null;
  }
}

/** True inside a running tslab notebook cell. */
export function inNotebook(): boolean {
  return kernelWriter() !== null;
}

function send(bundle: Bundle, displayId?: string, update = false): void {
  const w = kernelWriter();
  if (!w) {
    console.log(String(bundle["text/plain"] ?? ""));
    return;
  }
  w({ data: bundle, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** Shows Markdown (rendered in a notebook, printed as is in a terminal). */
export function markdown(text: string): void {
  send({ "text/markdown": text, "text/plain": text });
}

/** Shows raw HTML with a text fallback. */
export function html(content: string, fallback = ""): void {
  send({ "text/html": content, "text/plain": fallback });
}

export type Row = Record<string, string | number | boolean | null | undefined>;

function formatCell(v: Row[string], digits: number): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(digits);
  return String(v);
}

/** Text width that counts CJK characters as two columns, so Chinese tables line up in a terminal. */
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) || ch.codePointAt(0)! > 0x1f000 ? 2 : 1;
  return w;
}

/** Renders rows as aligned text columns (used for the terminal and for text/plain). */
export function formatTable(rows: readonly Row[], options: { columns?: string[]; digits?: number } = {}): string {
  const digits = options.digits ?? 3;
  const columns = options.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c], digits)));
  const widths = columns.map((c, i) => Math.max(displayWidth(c), ...cells.map((row) => displayWidth(row[i]))));
  const pad = (s: string, i: number) => s + " ".repeat(widths[i] - displayWidth(s));
  const lines = [columns.map(pad).join("  "), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const row of cells) lines.push(row.map(pad).join("  "));
  return lines.join("\n");
}

/**
 * Shows rows (plain objects) as a table.
 * @example table([{ 集合: "全唐诗", 首数: 57603 }, { 集合: "宋词", 首数: 21050 }], { caption: "语料规模" })
 */
export function table(rows: readonly Row[], options: { columns?: string[]; digits?: number; caption?: string } = {}): void {
  const digits = options.digits ?? 3;
  const columns = options.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = rows
    .map((r) => "<tr>" + columns.map((c) => `<td>${escapeHtml(formatCell(r[c], digits))}</td>`).join("") + "</tr>")
    .join("");
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  const text = (options.caption ? options.caption + "\n" : "") + formatTable(rows, { columns, digits });
  send({ "text/html": `<table>${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`, "text/plain": text });
}

/** A Plotly trace, e.g. `{ type: "bar", x: [...], y: [...], name: "train" }`. */
export type Trace = Record<string, unknown>;
export type Layout = Record<string, unknown>;

let plotlySent = false;

/** The script that makes `window.Plotly` available, without committing 4.8 MB of plotly.js into notebooks. */
function plotlyLoader(): string {
  // TIAOYU_INLINE_PLOTLY=1 inlines plotly.js once per kernel (for a fully offline HTML export).
  if (process.env.TIAOYU_INLINE_PLOTLY === "1" && !plotlySent) {
    plotlySent = true;
    const file = require.resolve("plotly.js-dist-min");
    return `<script>${fs.readFileSync(file, "utf8")}</script>`;
  }
  // Otherwise load it once: from the Jupyter server (npm start serves the project root), else from the CDN.
  const local = "/files/node_modules/plotly.js-dist-min/plotly.min.js";
  const version = (require("plotly.js-dist-min/package.json") as { version: string }).version;
  return `<script>(function(){if(window.Plotly||window.__tiaoyuPlotly)return;window.__tiaoyuPlotly=1;
var s=document.createElement("script");s.src=${JSON.stringify(local)};
s.onerror=function(){var c=document.createElement("script");c.src="https://cdn.plot.ly/plotly-${version}.min.js";document.head.appendChild(c);};
document.head.appendChild(s);})();</script>`;
}

function plotText(traces: readonly Trace[], layout: Layout): string {
  const title = typeof layout.title === "string" ? layout.title : (layout.title as { text?: string } | undefined)?.text;
  const lines = [`[chart${title ? ": " + title : ""}]`];
  for (const t of traces) {
    const ys = (t.y ?? t.values ?? t.z ?? []) as unknown[];
    lines.push(`  ${t.type ?? "scatter"} ${t.name ?? ""} (${ys.length} points)`.trimEnd());
  }
  return lines.join("\n");
}

/** A copy of `v` with every object's keys in sorted order, as nbformat saves them, so a saved chart rebuilds identically. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
}

/**
 * Builds the display bundle of a Plotly chart: JSON for JupyterLab/VS Code, HTML for classic Jupyter and HTML export.
 *
 * The HTML starts as a static picture (an <img> of an SVG drawn in Node, lib/svgchart.ts) and the script replaces it
 * with the interactive chart once plotly.js is there. Where no script runs (an untrusted notebook: Jupyter keeps an
 * <img> with a data: URI but drops scripts, styles and inline SVG; an HTML export opened offline; nbviewer) the
 * picture stays. Exported so `notebooks fix` can rebuild the HTML of charts already saved in notebooks.
 */
export function plotBundle(traces: readonly Trace[], layout: Layout, height: number, id = "tiaoyu-plot-" + Math.random().toString(36).slice(2)): Bundle {
  // Titles start at the left and the top margin leaves a line for Plotly's toolbar (top right), so a long live
  // title (the training status line) does not run under it.
  const title = typeof layout.title === "string" ? { text: layout.title } : layout.title;
  const fullLayout = sortKeys({
    height,
    margin: { t: 50, r: 20, b: 40, l: 50 },
    ...layout,
    ...(title ? { title: { x: 0, xref: "paper", xanchor: "left", ...(title as object) } } : {}),
  }) as Layout;
  traces = sortKeys(traces) as Trace[];
  const alt = escapeHtml(plotText(traces, layout).split("\n")[0]);
  const picture = `<img src="${svgDataUri(renderSvg(traces, fullLayout))}" alt="${alt}" style="max-width:100%;height:auto">`;
  const draw =
    `<div id="${id}" class="tiaoyu-chart">${picture}</div>${plotlyLoader()}` +
    `<script>(function draw(){if(window.Plotly){var d=document.getElementById(${JSON.stringify(id)});d.innerHTML="";` +
    `d.style.height="${height}px";Plotly.newPlot(d,${JSON.stringify(traces)},${JSON.stringify(fullLayout)});}` +
    `else{setTimeout(draw,50);}})();</script>`;
  return {
    "application/vnd.plotly.v1+json": { data: traces, layout: fullLayout },
    "text/html": draw,
    "text/plain": plotText(traces, layout),
  };
}

/**
 * Draws a Plotly chart.
 * @example plot([{ type: "bar", x: ["五言", "七言"], y: [120, 80] }], { title: "诗的体裁" })
 */
export function plot(traces: readonly Trace[], layout: Layout = {}, options: { height?: number } = {}): void {
  send(plotBundle(traces, layout, options.height ?? 360));
}

/**
 * A display that is replaced in place each time it is updated: one live chart or status line per cell,
 * not one output per training step. In a terminal, updates are printed as lines.
 */
export class LiveDisplay {
  private readonly id = "tiaoyu-live-" + Math.random().toString(36).slice(2);
  private shown = false;

  private show(bundle: Bundle): void {
    send(bundle, this.id, this.shown);
    this.shown = true;
  }

  text(s: string): void {
    this.show({ "text/plain": s });
  }

  markdown(s: string): void {
    this.show({ "text/markdown": s, "text/plain": s });
  }

  plot(traces: readonly Trace[], layout: Layout = {}, options: { height?: number } = {}): void {
    this.show(plotBundle(traces, layout, options.height ?? 360));
  }
}

