#!/usr/bin/env node
/*
 * `npm run build` (and the first step of postinstall): compile lib/ into an empty dist/.
 *
 * dist/ is removed first: tsc never deletes an output whose source is gone, and a stale one can shadow a new module
 * (dist/lib/kernels.js, left from before lib/kernels/ existed, hid dist/lib/kernels/index.js). A new file has no
 * execute bit, so the command line `npx tiaoyu` runs (package.json "bin") gets it back here.
 * Plain JavaScript (not TypeScript) so that it runs before anything is compiled.
 */
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..", "..");
fs.rmSync(path.join(root, "dist"), { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(root, "tsconfig.json")], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const bin = require(path.join(root, "package.json")).bin;
for (const file of Object.values(bin)) fs.chmodSync(path.join(root, file), 0o755);
