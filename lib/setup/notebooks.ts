/**
 * Keeping the committed notebooks clean: `npm run notebooks:fix` (re-runnable, idempotent, works on any notebook).
 *
 *   node dist/lib/setup/notebooks.js fix [FILE ...]     rewrite notebooks/*.ipynb (or FILEs) in place
 *   node dist/lib/setup/notebooks.js check [FILE ...]   exit 1 and name the files that `fix` would change
 *
 * What `fix` does to a notebook:
 * 1. Every chart output (a bundle with Plotly's JSON) gets its HTML rebuilt from the chart data stored in it, by the
 *    same code as a live chart (lib/display.ts): a static picture the interactive chart replaces. So outputs made
 *    before the pictures existed (full-size runs we cannot repeat) get them too.
 * 2. It brings the notebook to the form Jupyter saves after merely opening it, so opening changes no byte:
 *    - `language_info` as the tslab kernel reports it on start (Jupyter writes it into the metadata);
 *    - adjacent stream outputs of the same stream merged as Notebook 6's output area merges them on load;
 *    - finally written by nbformat itself (sorted keys, indent 1, Python's number format), via the Python that
 *      has Jupyter, since that is the code Jupyter's own save runs.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { plotBundle } from "../display";
import { listNotebooks } from "./jupyter";
import { findNotebookPython, INSTALL_HINT } from "./jupyterEnv";

type Json = Record<string, unknown>;
interface Output extends Json {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Json;
}
interface Notebook extends Json {
  cells: { cell_type: string; outputs?: Output[] }[];
  metadata: Json;
}

/**
 * The `language_info` tslab 1.0.22 sends in its kernel_info reply (node_modules/tslab/dist/jupyter.js). The browser
 * test opens every notebook in Jupyter with the real kernel and checks that saving changes nothing, so a tslab
 * upgrade that changes this fails there.
 */
export const TSLAB_LANGUAGE_INFO = {
  codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
  file_extension: ".ts",
  mimetype: "text/typescript",
  name: "typescript",
  version: "3.7.2",
};

const PLOTLY = "application/vnd.plotly.v1+json";
/** Notebook 6's `stream_chunk_size`: a stream output longer than this is not extended on load. */
const STREAM_CHUNK = 8192;
/** The margin display.ts used to give every chart; charts saved with it get today's default instead. */
const OLD_DEFAULT_MARGIN = JSON.stringify({ b: 40, l: 50, r: 20, t: 40 });

const joined = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join("") : (t ?? ""));

/** Notebook 6's utils.fixOverwrittenChars: what \b and \r overwrite is dropped when streams are merged. */
function fixOverwrittenChars(txt: string): string {
  let tmp = txt;
  do {
    txt = tmp;
    tmp = txt.replace(/[^\n]\x08/gm, "");
  } while (tmp.length < txt.length);
  txt = txt.replace(/\r+\n/gm, "\n");
  while (txt.search(/\r[^$]/g) > -1) {
    const base = txt.match(/^(.*)\r+/m)![1];
    let insert = txt.match(/\r+(.*)$/m)![1];
    insert = insert + base.slice(insert.length, base.length);
    txt = txt.replace(/\r+.*$/m, "\r").replace(/^.*\r/m, insert);
  }
  return txt;
}

/** The outputs as Notebook 6's OutputArea keeps them after loading them one by one (its append_stream). */
export function mergeStreams(outputs: readonly Output[]): Output[] {
  const out: Output[] = [];
  for (const o of outputs) {
    const last = out[out.length - 1];
    if (o.output_type === "stream" && last?.output_type === "stream" && last.name === o.name) {
      const lastText = joined(last.text);
      if (lastText.length > STREAM_CHUNK) {
        const nl = lastText.lastIndexOf("\n");
        if (nl !== -1 && nl !== lastText.length - 1) {
          last.text = lastText.slice(0, nl + 1);
          out.push({ ...o, text: lastText.slice(nl + 1) + joined(o.text) });
          continue;
        }
      } else {
        last.text = fixOverwrittenChars(lastText + joined(o.text));
        continue;
      }
    }
    out.push({ ...o });
  }
  return out;
}

/** Rebuilds one chart output's HTML (and its normalized Plotly JSON) from the Plotly JSON stored in it. */
function rebuildChart(o: Output, key: string, name: string): void {
  const fig = o.data![PLOTLY] as { data?: unknown; layout?: Json };
  if (!fig || !Array.isArray(fig.data) || typeof fig.layout !== "object" || fig.layout === null)
    throw new Error(`${name}, ${key}: the Plotly output has no data/layout`);
  const layout: Json = { ...fig.layout };
  if (JSON.stringify(layout.margin) === OLD_DEFAULT_MARGIN) delete layout.margin;
  const height = typeof layout.height === "number" ? layout.height : 360;
  // The element id is a hash of the rebuilt chart and its place, so a rerun reproduces every byte.
  const draft = plotBundle(fig.data as Json[], layout, height, "TIAOYU_ID");
  const id = "tiaoyu-plot-" + createHash("sha1").update(key).update(JSON.stringify(draft[PLOTLY])).digest("hex").slice(0, 12);
  const bundle = { ...draft, "text/html": String(draft["text/html"]).split("TIAOYU_ID").join(id) };
  o.data = { ...o.data, ...bundle };
}

/** Applies steps 1 and 2 (except the final nbformat write) to a parsed notebook, in place. */
export function normalize(nb: Notebook, name: string): Notebook {
  if (!Array.isArray(nb.cells) || typeof nb.metadata !== "object") throw new Error(`${name}: not a notebook (no cells/metadata)`);
  if ((nb.metadata.kernelspec as Json | undefined)?.name === "tslab") nb.metadata.language_info = TSLAB_LANGUAGE_INFO;
  nb.cells.forEach((cell, ci) => {
    if (cell.cell_type !== "code" || !Array.isArray(cell.outputs)) return;
    cell.outputs = mergeStreams(cell.outputs);
    cell.outputs.forEach((o, oi) => {
      if (o.data && PLOTLY in o.data) rebuildChart(o, `cell ${ci} output ${oi}`, name);
    });
  });
  return nb;
}

/** Python that reads JSON notebooks on stdin (one per line) and prints each as nbformat writes it, NUL-separated. */
const NBFORMAT_WRITE = `
import io, sys, nbformat
for line in sys.stdin:
    nb = nbformat.reads(line, as_version=nbformat.NO_CONVERT)
    buf = io.StringIO()
    nbformat.write(nb, buf, version=nbformat.NO_CONVERT)
    sys.stdout.write(buf.getvalue() + "\\0")
`;

/** Each notebook exactly as `nbformat.write` writes it (what Jupyter's contents manager does on save). */
export function nbformatWrite(notebooks: readonly Notebook[]): string[] {
  const python = findNotebookPython();
  if (!python) throw new Error(`cannot write notebooks as Jupyter does: no Python with nbformat found.\n${INSTALL_HINT}`);
  const input = notebooks.map((nb) => JSON.stringify(nb)).join("\n") + "\n";
  const r = spawnSync(python, ["-c", NBFORMAT_WRITE], { input, encoding: "utf8", maxBuffer: 1 << 30, env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1", PYTHONIOENCODING: "utf-8" } });
  if (r.status !== 0) throw new Error(`nbformat failed (${python}): ${r.stderr}`);
  const texts = r.stdout.split("\0").slice(0, -1);
  if (texts.length !== notebooks.length) throw new Error(`nbformat returned ${texts.length} notebooks for ${notebooks.length}`);
  return texts;
}

/** The fixed text of each file. */
export function fixedTexts(files: readonly string[]): string[] {
  const nbs = files.map((f) => {
    let nb: Notebook;
    try {
      nb = JSON.parse(fs.readFileSync(f, "utf8")) as Notebook;
    } catch (e) {
      throw new Error(`${f}: cannot read the notebook: ${(e as Error).message}`);
    }
    return normalize(nb, path.basename(f));
  });
  return nbformatWrite(nbs);
}

function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  if (cmd !== "fix" && cmd !== "check") {
    console.error("usage: notebooks.js fix|check [FILE.ipynb ...]   (default: notebooks/*.ipynb)");
    process.exit(2);
  }
  const files = rest.length ? rest.map((f) => path.resolve(f)) : listNotebooks();
  const texts = fixedTexts(files);
  let changed = 0;
  files.forEach((f, i) => {
    const before = fs.readFileSync(f, "utf8");
    if (before === texts[i]) return;
    changed++;
    if (cmd === "check") {
      console.log(`${path.relative(process.cwd(), f)}: not in Jupyter's saved form (run npm run notebooks:fix)`);
      return;
    }
    const tmp = `${f}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, texts[i]);
    fs.renameSync(tmp, f); // atomic: a crash leaves the old notebook, never half a new one
    const bytes = (s: string) => Buffer.byteLength(s).toLocaleString("en-US");
    console.log(`${path.relative(process.cwd(), f)}: ${bytes(before)} → ${bytes(texts[i])} bytes`);
  });
  if (cmd === "check") process.exit(changed ? 1 : 0);
  console.log(`${changed} of ${files.length} notebooks rewritten`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
