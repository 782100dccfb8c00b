#!/usr/bin/env node
/*
 * Builds the optional native kernels (tiaoyu_native.node: OpenBLAS matrix products for the wasm backend).
 * Run by `npm install` (package.json "postinstall") and by hand: `node lib/native/build.js`.
 *
 * It never fails the install: without a C compiler, node-gyp, Node's headers or OpenBLAS it prints one line
 * saying TIAOYU falls back to WebAssembly matrix products, and exits 0. TIAOYU_NATIVE=0 skips the build.
 * Plain JavaScript (not TypeScript) so that it runs before anything is compiled.
 */
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const dir = __dirname;
const fallback = (why) => {
  console.log(`tiaoyu: native OpenBLAS kernels not built (${why}); falling back to WebAssembly matrix products`);
  process.exit(0);
};

if (process.env.TIAOYU_NATIVE === "0") fallback("TIAOYU_NATIVE=0");

/** node-gyp: the one npm passes to install scripts, else npm's bundled copy next to this node, else on PATH. */
function findNodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return [process.execPath, fromNpm];
  const prefix = path.resolve(path.dirname(process.execPath), "..");
  for (const p of [
    path.join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    path.join(prefix, "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ]) {
    if (fs.existsSync(p)) return [process.execPath, p];
  }
  const which = spawnSync("sh", ["-c", "command -v node-gyp"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return [which.stdout.trim()];
  return null;
}

function main() {
  const gyp = findNodeGyp();
  if (!gyp) fallback("node-gyp not found");
  const [cmd, ...pre] = gyp;
  const args = [...pre, "rebuild", "--directory", dir];
  // Without headers node-gyp downloads them, which fails offline. Under npm, nodedir comes from npm's config; run by
  // hand, use the headers installed next to this node (e.g. /usr/include/node) when they are there.
  const prefix = path.resolve(path.dirname(process.execPath), "..");
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, "include", "node", "node_api.h"))) {
    args.push(`--nodedir=${prefix}`);
  }
  const result = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
  const built = path.join(dir, "build", "Release", "tiaoyu_native.node");
  if (result.status !== 0 || !fs.existsSync(built)) {
    const log = `${result.stdout || ""}${result.stderr || ""}`;
    const lines = log.split("\n");
    const err =
      lines.find((l) => /error:|cannot find|not found/i.test(l) && !/^gyp /.test(l)) || // the compiler's or linker's
      lines.find((l) => /^gyp ERR! (stack )?Error/.test(l)) ||
      lines.find((l) => /^gyp ERR!/.test(l));
    if (process.env.TIAOYU_NATIVE_VERBOSE) console.log(log);
    fallback(result.error ? String(result.error.message) : (err || `node-gyp exited with ${result.status}`).trim().slice(0, 160));
  }

  // Load it once here, so that a module that builds but cannot load (e.g. OpenBLAS missing at run time) falls back now.
  try {
    const native = require(built);
    const threads = native.setThreads(0);
    console.log(`tiaoyu: native OpenBLAS kernels built (${threads} threads)`);
  } catch (e) {
    fs.rmSync(built, { force: true });
    fallback(`built but failed to load: ${String(e.message).split("\n")[0]}`);
  }
}

try {
  main();
} catch (e) {
  fallback(`unexpected error: ${String(e && e.message).split("\n")[0]}`);
}
