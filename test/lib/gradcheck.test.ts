/**
 * Gradients checked against the definition: for the largest gradient entries of every parameter, the central
 * difference (loss(w + h) − loss(w − h)) / 2h must agree with the analytic gradient. The golden test compares each
 * parameter's gradient *norm* with PyTorch; a gradient with the right norm but the wrong direction (transposed,
 * permuted, a flipped sign) would pass that, and fail this.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { initBackend, loadModel, tf } from "tiaoyu";

const CASE = path.join(__dirname, "..", "fixtures", "golden", "gpt2-tiny");

describe("gradients agree with finite differences (golden gpt2-tiny)", function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("for the three largest entries of every parameter", () => {
    const { model } = loadModel(CASE);
    const c = JSON.parse(fs.readFileSync(path.join(CASE, "case.json"), "utf8")) as { input_ids: number[][]; targets: number[][] };
    const shape: [number, number] = [c.input_ids.length, c.input_ids[0].length];
    const x = tf.tensor2d(c.input_ids.flat(), shape, "int32");
    const y = tf.tensor2d(c.targets.flat(), shape, "int32");
    const loss = () => tf.tidy(() => model.loss(x, y, { training: false }).dataSync()[0]);
    const before = tf.memory().numTensors;
    try {
      const params = [...model.parameters().entries()];
      const { value, grads } = tf.variableGrads(() => model.loss(x, y, { training: false }), params.map(([, v]) => v));
      value.dispose();
      const h = 1e-2; // float32: a smaller step drowns the difference in rounding
      for (const [name, v] of params) {
        const g = grads[v.name].dataSync();
        const w = v.dataSync().slice();
        const top = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 3);
        for (const i of top) {
          const at = (delta: number) => {
            const moved = w.slice();
            moved[i] += delta;
            tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
            return loss();
          };
          const numeric = (at(h) - at(-h)) / (2 * h);
          tf.tidy(() => v.assign(tf.tensor(w, v.shape)));
          const err = Math.abs(numeric - g[i]);
          assert.ok(err <= 0.05 * Math.abs(g[i]) + 2e-4, `${name}[${i}]: analytic ${g[i].toExponential(3)}, finite difference ${numeric.toExponential(3)}`);
        }
      }
      tf.dispose(Object.values(grads));
    } finally {
      tf.dispose([x, y]);
      model.dispose();
    }
    assert.ok(tf.memory().numTensors <= before, "no tensors left behind");
  });
});
