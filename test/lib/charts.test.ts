/**
 * Static chart pictures (lib/svgchart.ts, lib/display.ts) and the committed notebooks' saved form (lib/setup/notebooks.ts).
 * The browser test (npm test -- browser) checks that the pictures actually show in Jupyter and in exported HTML.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as zlib from "zlib";
import { plotBundle } from "../../lib/display";
import { listNotebooks } from "../../lib/setup/jupyter";
import { findNotebookPython } from "../../lib/setup/jupyterEnv";
import { fixedTexts, mergeStreams, normalize, TSLAB_LANGUAGE_INFO } from "../../lib/setup/notebooks";
import { encodePng, formatTick, niceTicks, renderSvg, svgDataUri } from "../../lib/svgchart";

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe("static chart pictures", function () {
  it("niceTicks steps by 1, 2 or 5 × 10^k inside the range", function () {
    assert.deepStrictEqual(niceTicks(0, 97, 5), [0, 20, 40, 60, 80]);
    assert.deepStrictEqual(niceTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
    assert.deepStrictEqual(niceTicks(2.1, 2.35, 5), [2.1, 2.15, 2.2, 2.25, 2.3, 2.35]);
    assert.deepStrictEqual(niceTicks(3, 3), [3]);
  });

  it("formatTick writes thousands as k and tiny values as µ", function () {
    assert.strictEqual(formatTick(20000), "20k");
    assert.strictEqual(formatTick(0.00005), "50µ");
    assert.strictEqual(formatTick(0.25), "0.25");
    assert.strictEqual(formatTick(0), "0");
  });

  it("encodePng writes a PNG whose pixels decode back", function () {
    const rgba = new Uint8Array([255, 0, 0, 255, 0, 0, 255, 0]); // 2 × 1: red, transparent
    const png = encodePng(2, 1, rgba);
    assert.deepStrictEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    assert.strictEqual(png.readUInt32BE(16), 2);
    assert.strictEqual(png.readUInt32BE(20), 1);
    const idatLen = png.readUInt32BE(33);
    assert.strictEqual(png.toString("ascii", 37, 41), "IDAT");
    const raw = zlib.inflateSync(png.subarray(41, 41 + idatLen));
    assert.deepStrictEqual([...raw], [0, ...rgba]);
  });

  it("draws bars, lines with markers, and heatmaps as SVG elements", function () {
    const bars = renderSvg([{ type: "bar", x: ["五言", "七言", "词"], y: [120, 80, 40], text: ["a", "b", "c"] }], { title: "体裁" });
    assert.strictEqual(count(bars, /<rect [^>]*fill='#1f77b4'/g), 3);
    assert.match(bars, />体裁</);
    assert.match(bars, />七言</);
    const lines = renderSvg(
      [
        { type: "scatter", mode: "lines", name: "train", x: [1, 2, 3], y: [3, 2, 1] },
        { type: "scatter", mode: "lines+markers", name: "validation", x: [1, 3], y: [3.2, 1.5] },
      ],
      { height: 300 },
    );
    assert.strictEqual(count(lines, /<path /g), 2);
    assert.strictEqual(count(lines, /<circle /g), 2);
    assert.match(lines, />validation</, "two named curves get a legend");
    const heat = renderSvg([{ type: "heatmap", z: [[1, null], [0.5, 0]], colorscale: "Blues" }], {});
    assert.strictEqual(count(heat, /href='data:image\/png;base64,/g), 1);
  });

  it("thins a long curve to about two points per pixel column", function () {
    const n = 20_000;
    const y = Array.from({ length: n }, (_, i) => Math.sin(i / 50) + (i === 7000 ? 5 : 0));
    const svg = renderSvg([{ type: "scatter", mode: "lines", y }], {});
    const d = /<path d='([^']*)'/.exec(svg)![1];
    assert.ok(count(d, /L/g) < 2 * 720, `${count(d, /L/g)} segments`);
    const ys = [...d.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]));
    assert.ok(Math.min(...ys) < 70, "the spike at step 7000 survives thinning");
  });

  it("says so when asked for a trace type it does not draw", function () {
    assert.match(renderSvg([{ type: "pie", values: [1, 2] }], {}), /unsupported trace type pie/);
  });

  it("the data: URI escapes what HTML and URLs need and keeps the SVG readable", function () {
    const uri = svgDataUri(`<svg><text x='1'>a&b "#% 诗</text></svg>`);
    assert.ok(!/[<>"#&]/.test(uri.slice(5)), uri);
    assert.strictEqual(decodeURIComponent(uri.slice("data:image/svg+xml,".length)), `<svg><text x='1'>a&b "#% 诗</text></svg>`);
  });

  it("a chart's HTML is its picture plus the script that replaces it with Plotly", function () {
    const b = plotBundle([{ type: "bar", x: ["a"], y: [1] }], { title: "t" }, 300, "tiaoyu-plot-x");
    const html = String(b["text/html"]);
    assert.match(html, /^<div id="tiaoyu-plot-x" class="tiaoyu-chart"><img src="data:image\/svg\+xml,/);
    assert.match(html, /Plotly\.newPlot/);
    const fig = b["application/vnd.plotly.v1+json"] as { layout: { title: { x: number } } };
    assert.strictEqual(fig.layout.title.x, 0, "titles start at the left, away from Plotly's toolbar");
  });
});

describe("notebooks in Jupyter's saved form", function () {
  it("merges adjacent output of the same stream as Notebook 6 does on load, overwriting what \\r overwrote", function () {
    const merged = mergeStreams([
      { output_type: "stream", name: "stdout", text: ["a\n", "b"] },
      { output_type: "stream", name: "stdout", text: "c\n" },
      { output_type: "stream", name: "stderr", text: "e\n" },
      { output_type: "stream", name: "stdout", text: "10%\r50%\r" },
      { output_type: "stream", name: "stdout", text: "100%\n" },
    ]);
    assert.deepStrictEqual(merged.map((o) => o.text), ["a\nbc\n", "e\n", "100%\n"]);
  });

  it("sets tslab's language_info and gives every chart its picture", function () {
    const nb = {
      metadata: { kernelspec: { name: "tslab" }, language_info: { name: "typescript" } },
      cells: [{ cell_type: "code", outputs: [{ output_type: "display_data", data: { "application/vnd.plotly.v1+json": { data: [{ type: "bar", y: [1] }], layout: {} }, "text/html": "<div></div>" } }] }],
    };
    normalize(nb, "x.ipynb");
    assert.deepStrictEqual(nb.metadata.language_info, TSLAB_LANGUAGE_INFO);
    assert.match(String(nb.cells[0].outputs[0].data["text/html"]), /<img src="data:image\/svg\+xml,/);
  });

  it("a chart output without data or layout is an error naming the notebook and cell", function () {
    const nb = { metadata: {}, cells: [{ cell_type: "code", outputs: [{ output_type: "display_data", data: { "application/vnd.plotly.v1+json": {} } }] }] };
    assert.throws(() => normalize(nb, "bad.ipynb"), /bad\.ipynb, cell 0 output 0: the Plotly output has no data\/layout/);
  });

  it("every committed notebook is already in that form (npm run notebooks:fix changes no byte)", function () {
    if (!findNotebookPython()) {
      if (process.env.CI) throw new Error("CI must check the notebooks' form, but no Python with nbformat was found");
      this.skip();
    }
    this.timeout(120_000);
    const files = listNotebooks();
    const texts = fixedTexts(files);
    const changed = files.filter((f, i) => fs.readFileSync(f, "utf8") !== texts[i]);
    assert.deepStrictEqual(changed, [], "run npm run notebooks:fix");
  });
});
