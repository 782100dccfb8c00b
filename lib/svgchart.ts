/**
 * A static SVG picture of a Plotly chart, drawn in Node without a browser.
 *
 * Every chart output carries this picture next to the interactive Plotly chart (lib/display.ts), because a notebook
 * is often read where no script runs: an untrusted notebook in Jupyter, an exported HTML file opened offline, a
 * repository's web page or nbviewer. The interactive chart replaces the picture wherever scripts do run.
 *
 * Why our own renderer instead of a library: the course draws exactly three kinds of chart (line/marker scatter,
 * bars, heatmaps; side-by-side subplots; a second y axis on the right), and a library that turns Plotly figures into
 * SVG without a browser does not exist on npm: Plotly itself needs a DOM, and translating our figures into another
 * library's grammar (e.g. Vega) is as much code as drawing them, with 10+ MB more dependencies. So this file draws
 * what the course uses, and says so when asked for anything else (`unsupported` in the picture's text).
 *
 * Size matters (the pictures are committed inside the notebooks): curves are thinned to one point per pixel column
 * (keeping each column's minimum and maximum, so spikes survive), coordinates are rounded to 0.1 px, and a heatmap
 * is one small embedded PNG instead of one rectangle per cell.
 */
import * as zlib from "zlib";

export type Trace = Record<string, unknown>;
export type Layout = Record<string, unknown>;

/** Plotly's default trace colours, so the picture and the interactive chart agree. */
const COLORWAY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Colour scales the course uses, with plotly.js's stops (its "Blues" runs from dark blue at 0 to light grey at 1). */
const SCALES: Record<string, [number, string][]> = {
  Blues: [[0, "#050aac"], [0.35, "#283cbe"], [0.5, "#4664f5"], [0.6, "#5a78f5"], [0.7, "#6a89f7"], [1, "#dcdcdc"]],
  RdBu: [[0, "#050aac"], [0.35, "#6a89f7"], [0.5, "#bebebe"], [0.6, "#dcaa84"], [0.7, "#e6915a"], [1, "#b20a1c"]],
  Viridis: [[0, "#440154"], [0.25, "#3b528b"], [0.5, "#21918c"], [0.75, "#5ec962"], [1, "#fde725"]],
};

const FONT = "font-family='sans-serif'";

/** Plotly's axis or title text: a string, or `{ text }`. */
function textOf(t: unknown): string {
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as { text?: unknown }).text === "string") return (t as { text: string }).text;
  return "";
}

function esc(s: string): string {
  return s.replace(/[&<>']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;" })[c]!);
}

/** Rough width of a label in px at `size`: CJK characters are square, Latin about 0.6 em. */
export function textWidth(s: string, size = 12): number {
  let w = 0;
  for (const ch of s) w += ch.codePointAt(0)! >= 0x2e80 ? size : size * 0.6;
  return w;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `count` of them.
 * @example niceTicks(0, 97, 5) // [0, 20, 40, 60, 80]
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** A tick label as Plotly would write it: 1200 → "1200", 0.00005 → "50µ", 25000 → "25k". */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e4) return Number((v / 1000).toPrecision(6)) + "k";
  if (a < 1e-3) return Number((v * 1e6).toPrecision(6)) + "µ";
  return String(Number(v.toPrecision(6)));
}

interface Axis {
  title: string;
  reversed: boolean;
  tickvals?: number[];
  ticktext?: string[];
  side: "left" | "right" | "bottom";
}

function axisOf(layout: Layout, key: string, side: Axis["side"]): Axis {
  const a = (layout[key] ?? {}) as Record<string, unknown>;
  const tv = Array.isArray(a.tickvals) ? (a.tickvals as number[]) : undefined;
  const tt = Array.isArray(a.ticktext) ? (a.ticktext as unknown[]).map(String) : undefined;
  return { title: textOf(a.title), reversed: a.autorange === "reversed", tickvals: tv, ticktext: tt, side };
}

/** Axis names: "x", "x1" → 1, "x3" → 3. */
function axisIndex(ref: unknown): number {
  const m = /^[xy](\d*)$/.exec(String(ref ?? ""));
  return m && m[1] ? Number(m[1]) : 1;
}

interface Scale {
  lo: number;
  hi: number;
  px0: number;
  px1: number;
}

function project(s: Scale, v: number): number {
  return s.hi === s.lo ? (s.px0 + s.px1) / 2 : s.px0 + ((v - s.lo) / (s.hi - s.lo)) * (s.px1 - s.px0);
}

function numbers(v: unknown): (number | null)[] {
  return Array.isArray(v) ? v.map((x) => (typeof x === "number" && Number.isFinite(x) ? x : null)) : [];
}

/** Categorical x values (bar labels) become positions 0, 1, 2 …; numeric ones stay. */
function xValues(t: Trace, n: number): { xs: (number | null)[]; categories?: string[] } {
  const x = t.x;
  if (!Array.isArray(x)) return { xs: Array.from({ length: n }, (_, i) => i) };
  if (x.some((v) => typeof v === "string")) return { xs: x.map((_, i) => i), categories: x.map(String) };
  return { xs: numbers(x) };
}

function colorAt(scale: [number, string][], f: number): [number, number, number] {
  const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
  const t = Math.min(1, Math.max(0, f));
  for (let i = 1; i < scale.length; i++) {
    if (t <= scale[i][0]) {
      const [a, ca] = scale[i - 1];
      const [b, cb] = scale[i];
      const u = b === a ? 0 : (t - a) / (b - a);
      const x = hex(ca), y = hex(cb);
      return [0, 1, 2].map((k) => Math.round(x[k] + (y[k] - x[k]) * u)) as [number, number, number];
    }
  }
  return hex(scale[scale.length - 1][1]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A minimal RGBA PNG (the format's required chunks only), for heatmap pixels. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits per channel, RGBA, deflate, no filter method, no interlace
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

/** Polyline points of one curve, at most two per pixel column (that column's min and max, in order of x). */
function thinPath(pts: [number, number][]): [number, number][] {
  if (pts.length <= 600) return pts;
  const out: [number, number][] = [];
  let col = NaN;
  let lo: [number, number] | null = null, hi: [number, number] | null = null, first: [number, number] | null = null;
  const flush = () => {
    if (!first) return;
    const seen = new Set<[number, number]>();
    for (const p of [first, lo!, hi!].sort((a, b) => a[0] - b[0])) if (!seen.has(p)) seen.add(p), out.push(p);
  };
  for (const p of pts) {
    const c = Math.round(p[0]);
    if (c !== col) {
      flush();
      col = c;
      first = lo = hi = p;
    } else {
      if (p[1] < lo![1]) lo = p;
      if (p[1] > hi![1]) hi = p;
    }
  }
  flush();
  return out;
}

interface Cell {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/**
 * Draws `traces` with `layout` (a Plotly figure) as an SVG document of `width` × layout.height pixels.
 * @example renderSvg([{ type: "bar", x: ["五言", "七言"], y: [120, 80] }], { title: "诗的体裁", height: 300 })
 */
export function renderSvg(traces: readonly Trace[], layout: Layout, width = 720): string {
  const height = typeof layout.height === "number" ? layout.height : 360;
  const m = { t: 40, r: 20, b: 40, l: 50, ...((layout.margin ?? {}) as Record<string, number>) };
  const title = textOf(layout.title);
  const grid = (layout.grid ?? {}) as { rows?: number; columns?: number };
  const rows = grid.rows ?? 1, cols = grid.columns ?? 1;
  const out: string[] = [];
  const named = traces.filter((t) => t.type !== "heatmap" && t.name !== undefined);
  const legendW = named.length > 1 ? Math.min(200, 24 + Math.max(...named.map((t) => textWidth(String(t.name), 11)))) : 0;
  const hasY2Overlay = !!(layout.yaxis2 as { overlaying?: unknown } | undefined)?.overlaying;
  const colorbar = traces.some((t) => t.type === "heatmap" && t.showscale !== false) && cols === 1;
  const right = m.r + legendW + (hasY2Overlay ? 45 : 0) + (colorbar ? 60 : 0);
  const plotL = m.l + 20, plotR = width - right, plotT = m.t + 10, plotB = height - m.b - 10;
  const gap = 50;
  const cellW = (plotR - plotL - gap * (cols - 1)) / cols, cellH = (plotB - plotT - gap * (rows - 1)) / rows;
  const cells: Cell[] = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const x0 = plotL + c * (cellW + gap), y0 = plotT + r * (cellH + gap);
      cells.push({ x0, x1: x0 + cellW, y0, y1: y0 + cellH });
    }

  // Which traces go in which subplot (and on which y axis): overlaying axes share their cell.
  const cellOf = (xi: number) => cells[Math.min(cells.length, xi) - 1];
  type Group = { xi: number; yi: number; traces: Trace[] };
  const groups = new Map<string, Group>();
  for (const t of traces) {
    const xi = axisIndex(t.xaxis), yi = axisIndex(t.yaxis);
    const k = `${xi},${yi}`;
    if (!groups.has(k)) groups.set(k, { xi, yi, traces: [] });
    groups.get(k)!.traces.push(t);
  }

  out.push(`<rect width='${width}' height='${height}' fill='#fff'/>`);
  if (title) out.push(`<text x='${plotL}' y='${Math.max(16, m.t - 14)}' font-size='14' ${FONT}>${esc(title)}</text>`);

  let colorIdx = 0;
  const legend: { name: string; color: string; kind: string }[] = [];
  const drawnX = new Set<number>();
  for (const g of groups.values()) {
    const cell = cellOf(g.xi);
    if (!cell) continue;
    const overlay = g.yi !== g.xi && hasY2Overlay && g.yi === 2;
    const xAxis = axisOf(layout, g.xi === 1 ? "xaxis" : `xaxis${g.xi}`, "bottom");
    const yAxis = axisOf(layout, g.yi === 1 ? "yaxis" : `yaxis${g.yi}`, overlay ? "right" : "left");
    const heat = g.traces.filter((t) => t.type === "heatmap");
    const others = g.traces.filter((t) => t.type !== "heatmap");

    // Data ranges.
    let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
    let categories: string[] | undefined;
    const bars = others.filter((t) => t.type === "bar");
    for (const t of others) {
      const ys = numbers(t.y);
      const { xs, categories: cats } = xValues(t, ys.length);
      if (cats) categories = cats;
      for (let i = 0; i < ys.length; i++) {
        const x = xs[i], y = ys[i];
        if (x === null || y === null) continue;
        xlo = Math.min(xlo, x), xhi = Math.max(xhi, x), ylo = Math.min(ylo, y), yhi = Math.max(yhi, y);
      }
    }
    for (const t of heat) {
      const z = Array.isArray(t.z) ? (t.z as unknown[][]) : [];
      xlo = Math.min(xlo, -0.5), ylo = Math.min(ylo, -0.5);
      xhi = Math.max(xhi, Math.max(0, ...z.map((r) => r.length)) - 0.5), yhi = Math.max(yhi, z.length - 0.5);
    }
    if (!Number.isFinite(xlo)) (xlo = 0), (xhi = 1), (ylo = 0), (yhi = 1);
    if (bars.length) (ylo = Math.min(0, ylo)), (yhi = Math.max(0, yhi)), (xlo -= 0.5), (xhi += 0.5);
    if (!heat.length) {
      const pad = (yhi - ylo || Math.abs(yhi) || 1) * 0.05;
      if (!(bars.length && ylo === 0)) ylo -= pad;
      yhi += pad * (bars.some((b) => b.text) ? 2 : 1);
      if (!bars.length && xhi === xlo) (xlo -= 1), (xhi += 1);
    }
    const xs: Scale = { lo: xlo, hi: xhi, px0: cell.x0, px1: cell.x1 };
    const ys: Scale = yAxis.reversed ? { lo: ylo, hi: yhi, px0: cell.y0, px1: cell.y1 } : { lo: ylo, hi: yhi, px0: cell.y1, px1: cell.y0 };

    // Axes: frame, ticks, labels, titles (x axis once per cell).
    const yt = yAxis.tickvals ?? niceTicks(ylo, yhi, Math.max(2, Math.round(cellH / 60)));
    const axisX = overlay ? cell.x1 : cell.x0;
    for (let i = 0; i < yt.length; i++) {
      const py = r1(project(ys, yt[i]));
      if (py < cell.y0 - 0.5 || py > cell.y1 + 0.5) continue;
      if (!overlay) out.push(`<line x1='${r1(cell.x0)}' x2='${r1(cell.x1)}' y1='${py}' y2='${py}' stroke='#eee'/>`);
      const label = yAxis.ticktext?.[i] ?? formatTick(yt[i]);
      const anchor = overlay ? "start" : "end";
      out.push(`<text x='${r1(axisX + (overlay ? 4 : -4))}' y='${r1(py + 4)}' font-size='11' text-anchor='${anchor}' ${FONT}>${esc(label)}</text>`);
    }
    if (yAxis.title) {
      const tx = overlay ? cell.x1 + 40 : cell.x0 - 48, ty = (cell.y0 + cell.y1) / 2;
      out.push(`<text transform='translate(${r1(Math.max(12, tx))},${r1(ty)}) rotate(-90)' font-size='12' text-anchor='middle' ${FONT}>${esc(yAxis.title)}</text>`);
    }
    if (!drawnX.has(g.xi)) {
      drawnX.add(g.xi);
      out.push(`<rect x='${r1(cell.x0)}' y='${r1(cell.y0)}' width='${r1(cell.x1 - cell.x0)}' height='${r1(cell.y1 - cell.y0)}' fill='none' stroke='#ccc'/>`);
      let xt: number[], xl: string[];
      if (xAxis.tickvals) (xt = xAxis.tickvals), (xl = xt.map((v, i) => xAxis.ticktext?.[i] ?? formatTick(v)));
      else if (categories) (xt = categories.map((_, i) => i)), (xl = categories);
      else (xt = niceTicks(xlo, xhi, Math.max(2, Math.round(cellW / 90)))), (xl = xt.map(formatTick));
      // Labels that would overlap are thinned to every k-th, as Plotly does.
      const widest = Math.max(1, ...xl.map((s) => textWidth(s, 11)));
      const room = ((cell.x1 - cell.x0) / Math.max(1, xt.length)) * 0.9;
      const every = Math.max(1, Math.ceil(widest / Math.max(1, room)));
      for (let i = 0; i < xt.length; i += every) {
        const px = r1(project(xs, xt[i]));
        if (px < cell.x0 - 0.5 || px > cell.x1 + 0.5) continue;
        out.push(`<text x='${px}' y='${r1(cell.y1 + 14)}' font-size='11' text-anchor='middle' ${FONT}>${esc(xl[i])}</text>`);
      }
      if (xAxis.title) out.push(`<text x='${r1((cell.x0 + cell.x1) / 2)}' y='${r1(Math.min(height - 4, cell.y1 + 32))}' font-size='12' text-anchor='middle' ${FONT}>${esc(xAxis.title)}</text>`);
    }

    // Heatmaps: one PNG pixel per cell (scaled up without smoothing), null cells transparent.
    for (const t of heat) {
      const z = (Array.isArray(t.z) ? (t.z as unknown[][]) : []).map(numbers);
      const nr = z.length, nc = Math.max(0, ...z.map((r) => r.length));
      if (!nr || !nc) continue;
      const flat = z.flat().filter((v): v is number => v !== null);
      const zmin = typeof t.zmin === "number" ? t.zmin : Math.min(...flat);
      const zmax = typeof t.zmax === "number" ? t.zmax : Math.max(...flat);
      const scale = SCALES[String(t.colorscale)] ?? SCALES.Viridis;
      const rgba = new Uint8Array(nr * nc * 4);
      for (let r = 0; r < nr; r++)
        for (let c = 0; c < nc; c++) {
          const v = z[r][c];
          if (v === null || v === undefined) continue;
          const [R, G, B] = colorAt(scale, zmax === zmin ? 0.5 : (v - zmin) / (zmax - zmin));
          rgba.set([R, G, B, 255], (r * nc + c) * 4);
        }
      const png = encodePng(nc, nr, rgba).toString("base64");
      const x0 = project(xs, -0.5), x1 = project(xs, nc - 0.5), y0 = project(ys, -0.5), y1 = project(ys, nr - 0.5);
      // Row 0 of the PNG is the top; with a normal (not reversed) y axis row 0 of z belongs at the bottom.
      const flip = yAxis.reversed ? "" : ` transform='translate(0,${r1(y0 + y1)}) scale(1,-1)'`;
      out.push(
        `<image x='${r1(Math.min(x0, x1))}' y='${r1(Math.min(y0, y1))}' width='${r1(Math.abs(x1 - x0))}' height='${r1(Math.abs(y1 - y0))}'` +
          ` preserveAspectRatio='none' style='image-rendering:pixelated'${flip} href='data:image/png;base64,${png}'/>`,
      );
      if (colorbar && t.showscale !== false) {
        const bx = width - m.r - 50, steps = 20, bh = (cell.y1 - cell.y0) / steps;
        for (let i = 0; i < steps; i++) {
          const [R, G, B] = colorAt(scale, 1 - (i + 0.5) / steps);
          out.push(`<rect x='${bx}' y='${r1(cell.y0 + i * bh)}' width='12' height='${r1(bh + 0.5)}' fill='rgb(${R},${G},${B})'/>`);
        }
        out.push(`<text x='${bx + 16}' y='${r1(cell.y0 + 8)}' font-size='10' ${FONT}>${esc(formatTick(zmax))}</text>`);
        out.push(`<text x='${bx + 16}' y='${r1(cell.y1)}' font-size='10' ${FONT}>${esc(formatTick(zmin))}</text>`);
      }
    }

    // Bars (grouped side by side when there are several bar traces).
    const slot = 0.8 / Math.max(1, bars.length);
    bars.forEach((t, bi) => {
      const color = COLORWAY[colorIdx++ % COLORWAY.length];
      if (t.name !== undefined) legend.push({ name: String(t.name), color, kind: "bar" });
      const yv = numbers(t.y);
      const { xs: xv } = xValues(t, yv.length);
      const text = Array.isArray(t.text) ? (t.text as unknown[]).map(String) : null;
      for (let i = 0; i < yv.length; i++) {
        const x = xv[i], y = yv[i];
        if (x === null || y === null) continue;
        const a = project(xs, x - 0.4 + bi * slot), b = project(xs, x - 0.4 + (bi + 1) * slot);
        const p0 = project(ys, 0), p1 = project(ys, y);
        out.push(`<rect x='${r1(a)}' y='${r1(Math.min(p0, p1))}' width='${r1(Math.max(0.5, b - a - 1))}' height='${r1(Math.abs(p1 - p0))}' fill='${color}'/>`);
        if (text?.[i]) out.push(`<text x='${r1((a + b) / 2)}' y='${r1(Math.min(p0, p1) - 3)}' font-size='10' text-anchor='middle' ${FONT}>${esc(text[i])}</text>`);
      }
    });

    // Lines and markers.
    for (const t of others.filter((t) => t.type !== "bar")) {
      const color = COLORWAY[colorIdx++ % COLORWAY.length];
      if (t.type !== undefined && t.type !== "scatter") {
        out.push(`<text x='${r1(cell.x0 + 8)}' y='${r1(cell.y0 + 16)}' font-size='11' fill='#a00' ${FONT}>unsupported trace type ${esc(String(t.type))}</text>`);
        continue;
      }
      const yv = numbers(t.y);
      const { xs: xv } = xValues(t, yv.length);
      const mode = String(t.mode ?? (yv.length <= 20 ? "lines+markers" : "lines"));
      const dash = (t.line as { dash?: string } | undefined)?.dash;
      if (t.name !== undefined) legend.push({ name: String(t.name), color, kind: mode.includes("lines") ? "line" : "marker" });
      // A null breaks the line, as in Plotly.
      const runs: [number, number][][] = [[]];
      const points: [number, number][] = [];
      for (let i = 0; i < yv.length; i++) {
        const x = xv[i], y = yv[i];
        if (x === null || y === null) {
          if (runs[runs.length - 1].length) runs.push([]);
          continue;
        }
        const p: [number, number] = [project(xs, x), project(ys, y)];
        runs[runs.length - 1].push(p);
        points.push(p);
      }
      if (mode.includes("lines"))
        for (const run of runs) {
          if (run.length < 2) continue;
          const d = thinPath(run).map(([x, y], i) => `${i ? "L" : "M"}${r1(x)} ${r1(y)}`).join("");
          out.push(`<path d='${d}' fill='none' stroke='${color}' stroke-width='2'${dash ? ` stroke-dasharray='${dash === "dot" ? "2 3" : "6 4"}'` : ""}/>`);
        }
      // Hundreds of markers add bytes but no information over the line they sit on.
      if (mode.includes("markers") && (points.length <= 200 || !mode.includes("lines")))
        for (const [x, y] of points) out.push(`<circle cx='${r1(x)}' cy='${r1(y)}' r='3' fill='${color}'/>`);
      if (mode.includes("text") && Array.isArray(t.text)) {
        const text = (t.text as unknown[]).map(String);
        points.forEach(([x, y], i) => text[i] && out.push(`<text x='${r1(x)}' y='${r1(y - 6)}' font-size='10' text-anchor='middle' ${FONT}>${esc(text[i])}</text>`));
      }
    }
  }

  // Annotations placed relative to a subplot's domain (the only kind the course uses).
  for (const a of (Array.isArray(layout.annotations) ? layout.annotations : []) as Record<string, unknown>[]) {
    const cell = cellOf(axisIndex(String(a.xref ?? "x").split(" ")[0])) ?? cells[0];
    const fx = typeof a.x === "number" ? a.x : 0.5, fy = typeof a.y === "number" ? a.y : 1;
    const x = cell.x0 + fx * (cell.x1 - cell.x0), y = cell.y1 - fy * (cell.y1 - cell.y0);
    out.push(`<text x='${r1(x)}' y='${r1(Math.max(12, y + 4))}' font-size='12' text-anchor='middle' ${FONT}>${esc(textOf(a.text))}</text>`);
  }

  if (legend.length > 1) {
    const lx = width - m.r - legendW + 6;
    legend.forEach((l, i) => {
      const y = plotT + 6 + i * 18;
      const mark =
        l.kind === "line"
          ? `<line x1='${lx}' x2='${lx + 16}' y1='${y}' y2='${y}' stroke='${l.color}' stroke-width='2'/>`
          : `<rect x='${lx + 3}' y='${y - 5}' width='10' height='10' fill='${l.color}'/>`;
      out.push(mark + `<text x='${lx + 22}' y='${y + 4}' font-size='11' ${FONT}>${esc(l.name)}</text>`);
    });
  }
  return `<svg xmlns='http://www.w3.org/2000/svg' width='${width}' height='${height}' viewBox='0 0 ${width} ${height}'>${out.join("")}</svg>`;
}

/**
 * An SVG as a `data:` URI for an <img>: percent-encoding only what must be (the SVG uses single quotes, so most of
 * it stays readable and about 30% smaller than base64).
 */
export function svgDataUri(svg: string): string {
  const wellFormed = svg.replace(/[\ud800-\udfff]/gu, "\ufffd"); // a lone surrogate cannot be encoded
  return "data:image/svg+xml," + wellFormed.replace(/[^A-Za-z0-9 ,.:;=/'()!*\-_~+?@$]/gu, (c) => encodeURIComponent(c));
}
