/**
 * The committed notebooks as a reader sees them, in a real browser (Debian's `chromium`, driven by puppeteer-core):
 *
 * - opened untrusted in Jupyter Notebook (how every cloned notebook opens), every chart shows a drawn picture and no
 *   output area is empty;
 * - opened trusted, every chart is drawn (by Plotly, loaded from this project's node_modules);
 * - opening a notebook and saving it (with the kernel started, which writes its language_info) changes no byte;
 * - the HTML export (nbconvert, opened with every network request blocked) shows every chart.
 *
 * One Jupyter server and one browser for all notebooks, pages in sequence. Works on copies under build/browser/, so
 * the committed notebooks are never written. Skipped without Jupyter or Chromium, except in CI.
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { Browser, Page } from "puppeteer-core";
import { listNotebooks } from "../lib/setup/jupyter";
import { findJupyter, findNotebookPython, jupyterEnv } from "../lib/setup/jupyterEnv";

const root = path.join(__dirname, "..");
const work = path.join(root, "build", "browser");
const PLOTLY = "application/vnd.plotly.v1+json";

function findChromium(): string | null {
  for (const c of [process.env.TIAOYU_CHROMIUM, "chromium", "chromium-browser", "google-chrome"]) {
    if (!c) continue;
    const r = spawnSync("which", [c], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** How many chart outputs (and outputs in all) a notebook file holds. */
function countOutputs(file: string): { charts: number; outputs: number } {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as { cells: { outputs?: { data?: Record<string, unknown> }[] }[] };
  let charts = 0, outputs = 0;
  for (const c of nb.cells) for (const o of c.outputs ?? []) (outputs++, o.data && PLOTLY in o.data && charts++);
  return { charts, outputs };
}

/** Chart pictures on the page: <img> of an SVG that the browser decoded to a non-empty picture. */
const PICTURES = `Array.from(document.querySelectorAll('img')).filter(i => i.src.startsWith('data:image/svg+xml') && i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().height > 50).length`;
/** Charts Plotly drew. */
const PLOTS = `document.querySelectorAll('.js-plotly-plot .main-svg').length > 0 ? document.querySelectorAll('.js-plotly-plot').length : 0`;
/** Output areas that show nothing (no text, no picture, no height). */
const EMPTY = `Array.from(document.querySelectorAll('.output_area .output_subarea')).filter(o => o.getBoundingClientRect().height < 4 && !(o.textContent || '').trim()).length`;

describe("notebooks in a real browser (Jupyter Notebook + headless Chromium)", function () {
  this.timeout(15 * 60_000);
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  let base = "";
  let token = "";
  let serverEnv: NodeJS.ProcessEnv = {};
  const notebooks = listNotebooks();
  const jupyter = findJupyter();
  const python = findNotebookPython();
  const chromium = findChromium();

  before(async function () {
    if (!jupyter || !python || !chromium) {
      const missing = [!jupyter && "jupyter", !python && "nbformat", !chromium && "chromium"].filter(Boolean).join(", ");
      if (process.env.CI) throw new Error(`CI must run the browser test, but ${missing} is missing (.ci/run installs them)`);
      console.log(`    (skipped: ${missing} not found)`);
      this.skip();
    }
    fs.rmSync(work, { recursive: true, force: true });
    for (const d of ["untrusted", "trusted", "html"]) fs.mkdirSync(path.join(work, d), { recursive: true });
    for (const nb of notebooks) {
      fs.copyFileSync(nb, path.join(work, "untrusted", path.basename(nb)));
      fs.copyFileSync(nb, path.join(work, "trusted", path.basename(nb)));
    }
    // Jupyter's own data and config in a throw-away folder: the trust database the server reads, no user settings.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-jupyter-"));
    const env = jupyterEnv({ JUPYTER_DATA_DIR: path.join(home, "data"), JUPYTER_CONFIG_DIR: path.join(home, "config"), JUPYTER_RUNTIME_DIR: path.join(home, "runtime") });
    serverEnv = env;

    const port = await freePort();
    token = "t" + Math.random().toString(36).slice(2);
    base = `http://127.0.0.1:${port}`;
    const args = ["notebook", "--no-browser", `--port=${port}`, "--ip=127.0.0.1", `--NotebookApp.token=${token}`, `--notebook-dir=${root}`];
    if (process.getuid?.() === 0) args.push("--allow-root");
    server = spawn(jupyter!, args, { env, cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(`${base}/api/status?token=${token}`);
        if (r.ok) break;
      } catch {
        /* not listening yet */
      }
      if (i > 120 || server.exitCode !== null) throw new Error(`Jupyter did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const puppeteer = await import("puppeteer-core");
    browser = await puppeteer.launch({ executablePath: chromium!, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  });

  after(async function () {
    await browser?.close();
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((r) => server!.once("exit", r));
    }
  });

  /** Opens a notebook copy in Jupyter and waits until it is loaded (and, if asked, its kernel has sent its language_info). */
  async function open(rel: string, waitForKernel: boolean): Promise<Page> {
    const page = await browser!.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto(`${base}/notebooks/${rel}?token=${token}`, { waitUntil: "load" });
    await page.waitForFunction(
      "window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded" +
        (waitForKernel ? " && Jupyter.notebook.kernel && Jupyter.notebook.kernel.info_reply && Jupyter.notebook.kernel.info_reply.language_info" : ""),
      { timeout: 120_000, polling: 200 },
    );
    // Pictures are data: URIs, but decoding takes a moment; Plotly (trusted) loads its script from the server.
    await page.waitForFunction(`Array.from(document.images).every(i => i.complete)`, { timeout: 30_000 });
    return page;
  }

  async function close(page: Page): Promise<void> {
    await page.evaluate("Jupyter.notebook.session.delete()");
    await page.close();
  }

  for (const nb of notebooks) {
    const name = path.basename(nb);
    it(`${name}: untrusted, every chart shows its picture, no output is empty, and saving changes no byte`, async function () {
      const { charts, outputs } = countOutputs(nb);
      const page = await open(`build/browser/untrusted/${name}`, true);
      assert.strictEqual(await page.evaluate("Jupyter.notebook.trusted"), false, "the copy should open untrusted");
      assert.strictEqual(await page.evaluate(PICTURES), charts, `${name}: ${charts} charts, but not as many drawn pictures`);
      assert.strictEqual(await page.evaluate(`document.querySelectorAll('.output_area').length`), outputs, `${name}: output areas`);
      assert.strictEqual(await page.evaluate(EMPTY), 0, `${name}: an output area shows nothing`);
      // Jupyter's own save: the browser's notebook model, written by the server's contents manager.
      await page.evaluate("Jupyter.notebook.save_notebook()");
      await page.waitForFunction("!Jupyter.notebook.dirty && Jupyter.notebook.last_modified", { timeout: 30_000 });
      await new Promise((r) => setTimeout(r, 300));
      await close(page);
      const saved = fs.readFileSync(path.join(work, "untrusted", name), "utf8");
      assert.ok(saved === fs.readFileSync(nb, "utf8"), `${name}: opening and saving in Jupyter changed it (diff ${path.relative(root, nb)} build/browser/untrusted/${name}; run npm run notebooks:fix)`);
    });
  }

  it("the HTML export shows every chart with no network", async function () {
    const r = spawnSync(jupyter!, ["nbconvert", "--to", "html", "--output-dir", path.join(work, "html"), ...notebooks], { env: jupyterEnv(), encoding: "utf8" });
    assert.strictEqual(r.status, 0, `nbconvert failed: ${r.stderr}`);
    for (const nb of notebooks) {
      const page = await browser!.newPage();
      await page.setRequestInterception(true);
      page.on("request", (req) => (/^(file|data):/.test(req.url()) ? req.continue() : req.abort()));
      const html = path.join(work, "html", path.basename(nb, ".ipynb") + ".html");
      await page.goto("file://" + html, { waitUntil: "load" });
      const { charts } = countOutputs(nb);
      assert.strictEqual(await page.evaluate(PICTURES), charts, `${path.basename(html)}: ${charts} charts, but not as many drawn pictures`);
      await page.close();
    }
  });

  // Signed only now: trust is recorded by content, so the untrusted copies (same bytes) would be trusted too.
  describe("trusted", function () {
    before(function () {
      const trusted = notebooks.map((nb) => path.join(work, "trusted", path.basename(nb)));
      const sign = spawnSync(python!, ["-m", "nbformat.sign", ...trusted], { env: serverEnv, encoding: "utf8" });
      assert.strictEqual(sign.status, 0, `nbformat.sign failed: ${sign.stderr}`);
    });
    for (const nb of notebooks) {
      const name = path.basename(nb);
      it(`${name}: trusted, Plotly draws every chart`, async function () {
        const { charts } = countOutputs(nb);
        const page = await open(`build/browser/trusted/${name}`, false);
        assert.strictEqual(await page.evaluate("Jupyter.notebook.trusted"), true, "the signed copy should open trusted");
        if (charts) await page.waitForFunction(`(${PLOTS}) >= ${charts}`, { timeout: 60_000 }).catch(() => undefined);
        assert.strictEqual(await page.evaluate(PLOTS), charts, `${name}: ${charts} charts, but not as many drawn by Plotly`);
        assert.strictEqual(await page.evaluate(EMPTY), 0, `${name}: an output area shows nothing`);
        await close(page);
      });
    }
  });
});
