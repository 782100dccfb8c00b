/**
 * Agreement with an independent reference: every folder of test/fixtures/golden/ holds a GPT-2-format model
 * (config.json + model.safetensors) with results computed by PyTorch (case.json + logits.safetensors). TIAOYU
 * loads the folder as any checkpoint and must reproduce the logits, the loss and every parameter's gradient
 * norm within case.json's tolerances, on every backend this machine has. No folder is special-cased: a new
 * case only needs the same four files.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { initBackend, loadModel, readSafetensors, tf } from "tiaoyu";

const ROOT = path.join(__dirname, "..", "fixtures", "golden");
const FILES = ["config.json", "model.safetensors", "case.json", "logits.safetensors"];

interface GoldenCase {
  input_ids: number[][];
  targets: number[][];
  loss: number;
  grad_l2_norm: Record<string, number>;
  tolerance: { logits_abs: number; loss_rel: number; grad_rel: number };
}

const cases = fs.readdirSync(ROOT).filter((d) => fs.statSync(path.join(ROOT, d)).isDirectory()).sort();

/** tfjs-node(-gpu) when installed, then wasm and cpu, which every machine has. */
const BACKENDS = ["tensorflow", "wasm", "cpu"];

describe("golden: TIAOYU reproduces PyTorch's GPT-2", function () {
  this.timeout(300_000);
  let previous = "";
  before(() => {
    previous = tf.getBackend();
    assert.ok(cases.length > 0, `no golden cases in ${ROOT}`);
  });
  after(async () => {
    await initBackend({ force: previous === "tensorflow" ? "tensorflow" : previous, quiet: true });
  });

  for (const backend of BACKENDS) {
    for (const name of cases) {
      it(`${name} on ${backend}: logits, loss and every gradient norm`, async function () {
        try {
          await initBackend({ force: backend, quiet: true });
        } catch (e) {
          if (backend === "tensorflow") this.skip(); // tfjs-node is optional
          throw e;
        }
        const dir = path.join(ROOT, name);
        for (const f of FILES) assert.ok(fs.existsSync(path.join(dir, f)), `${dir}: ${f} is missing`);
        const c = JSON.parse(fs.readFileSync(path.join(dir, "case.json"), "utf8")) as GoldenCase;
        const ref = readSafetensors(path.join(dir, "logits.safetensors")).tensors.get("logits");
        assert.ok(ref, `${dir}/logits.safetensors has no tensor 'logits'`);
        const { model } = loadModel(dir);
        try {
          const ids = tf.tensor2d(c.input_ids, undefined, "int32");
          const targets = tf.tensor2d(c.targets, undefined, "int32");

          const logits = model.forward(ids);
          assert.deepStrictEqual(logits.shape, ref.shape);
          const got = logits.dataSync();
          let worst = 0;
          for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref.data[i]));
          logits.dispose();
          assert.ok(worst <= c.tolerance.logits_abs, `max |logits − PyTorch| = ${worst} > ${c.tolerance.logits_abs}`);

          const { value, grads } = tf.variableGrads(() => model.loss(ids, targets), model.trainableVariables());
          const loss = value.dataSync()[0];
          assert.ok(Math.abs(loss - c.loss) / c.loss <= c.tolerance.loss_rel, `loss ${loss} vs PyTorch ${c.loss}`);

          const norms = new Map(Object.entries(grads).map(([v, g]) => [model.parameterName(v), tf.tidy(() => tf.norm(g).dataSync()[0])]));
          assert.deepStrictEqual([...norms.keys()].sort(), Object.keys(c.grad_l2_norm).sort(), "gradients for exactly the reference's parameters");
          const bad = [...norms]
            .map(([n, g]) => ({ n, g, r: c.grad_l2_norm[n], rel: Math.abs(g - c.grad_l2_norm[n]) / c.grad_l2_norm[n] }))
            .filter((x) => !(x.rel <= c.tolerance.grad_rel));
          assert.deepStrictEqual(bad.map((x) => `${x.n}: ${x.g} vs ${x.r} (rel ${x.rel.toExponential(2)})`), []);
          tf.dispose([value, ids, targets, grads]);
        } finally {
          model.dispose();
        }
      });
    }
  }
});
