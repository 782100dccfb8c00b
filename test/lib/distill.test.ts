import * as assert from "assert";
import {
  type BatchSampler, changedWeights, type ChatBatch, chatLoss, collateChat, crossEntropy, distillationKL, distillationLoss, generationSpeed, GPT,
  gptConfig, snapshotWeights, softTargets, STUDENT_PRESETS, studentConfig, tf, train, whiteBoxStage,
} from "tiaoyu";
import { expectNoLeak } from "../leak";

const close = (a: number, b: number, tol = 1e-5, what = "") => assert.ok(Math.abs(a - b) < tol, `${what} ${a} ≠ ${b}`);
const scalar = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

describe("train/distill: the white-box loss", () => {
  // One position, two tokens: teacher logits [0, ln 3] give p = [¼, ¾] at T = 1; the student's [0, 0] give q = [½, ½].
  const teacher = () => tf.tensor3d([[[0, Math.log(3)]]]);
  const student = () => tf.tensor3d([[[0, 0]]]);

  it("softTargets flattens the teacher's distribution as T grows", () => {
    const p = (T: number) => tf.tidy(() => Array.from(softTargets(teacher(), T).dataSync()));
    const [a, b] = p(1);
    close(a, 0.25), close(b, 0.75);
    close(p(2)[1], Math.sqrt(3) / (1 + Math.sqrt(3)), 1e-6, "T = 2: ¾ → √3/(1+√3)");
    close(p(1000)[1], 0.5, 1e-3, "T → ∞: uniform");
    assert.throws(() => softTargets(teacher(), 0), /temperature = 0/);
  });

  it("T = 1: KL(p ‖ q) = ¼·ln(½) + ¾·ln(3/2) = ¾·ln 3 − ln 2", () => {
    close(scalar(distillationKL(student(), teacher(), 1)), 0.75 * Math.log(3) - Math.log(2));
  });

  it("T = 2: T² · KL of the softened distributions", () => {
    const p1 = Math.sqrt(3) / (1 + Math.sqrt(3)), p0 = 1 - p1;
    const kl = p0 * Math.log(p0 / 0.5) + p1 * Math.log(p1 / 0.5);
    close(scalar(distillationKL(student(), teacher(), 2)), 4 * kl);
  });

  it("its gradient with respect to the student's logits is T · (q − p): the T² keeps it from vanishing", () => {
    for (const T of [1, 2, 4]) {
      const g = tf.tidy(() => Array.from(tf.grad((s: tf.Tensor) => distillationKL(s as tf.Tensor3D, teacher(), T))(student()).dataSync()));
      const p1 = 1 / (1 + Math.exp(-Math.log(3) / T));
      close(g[0], T * (0.5 - (1 - p1)), 1e-5, `T = ${T}, token 0`);
      close(g[1], T * (0.5 - p1), 1e-5, `T = ${T}, token 1`);
    }
  });

  it("is zero when the student matches the teacher, positive otherwise, and averages over the masked positions", () => {
    const z = tf.randomNormal([2, 3, 7], 0, 2, "float32", 1) as tf.Tensor3D;
    const w = tf.randomNormal([2, 3, 7], 0, 2, "float32", 2) as tf.Tensor3D;
    close(scalar(distillationKL(z, z, 3)), 0, 1e-5);
    assert.ok(scalar(distillationKL(w, z, 3)) > 0);
    // Two positions, mask [1, 0]: only the first counts.
    const s = tf.tensor3d([[[0, 0], [5, -5]]]), t = tf.tensor3d([[[0, Math.log(3)], [0, 0]]]);
    const mask = tf.tensor2d([[1, 0]]);
    close(scalar(distillationKL(s, t, 1, mask)), 0.75 * Math.log(3) - Math.log(2));
    tf.dispose([z, w, s, t, mask]);
  });

  it("the mixed loss is α · KD + (1 − α) · CE, with CE the model's own masked cross-entropy", () => {
    const s = tf.randomNormal([2, 4, 9], 0, 1, "float32", 3) as tf.Tensor3D;
    const t = tf.randomNormal([2, 4, 9], 0, 1, "float32", 4) as tf.Tensor3D;
    const y = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4], "int32");
    const mask = tf.tensor2d([[0, 1, 1, 1], [0, 0, 1, 1]]);
    const kd = scalar(distillationKL(s, t, 2, mask));
    const ce = scalar(crossEntropy(s, y, mask));
    close(scalar(distillationLoss(s, t, y, { temperature: 2, alpha: 0, mask })), ce);
    close(scalar(distillationLoss(s, t, y, { temperature: 2, alpha: 1, mask })), kd);
    close(scalar(distillationLoss(s, t, y, { temperature: 2, alpha: 0.3, mask })), 0.3 * kd + 0.7 * ce);
    // By hand: one position, target 1, student [0, 0] → CE = ln 2; α = ½ at T = 1 → ½(¾ln3 − ln2) + ½ln2 = ⅜ln3.
    const hand = tf.tensor2d([[1]], [1, 1], "int32");
    close(scalar(distillationLoss(student(), teacher(), hand, { temperature: 1, alpha: 0.5 })), (3 / 8) * Math.log(3));
    assert.throws(() => distillationLoss(s, t, y, { temperature: 2, alpha: 1.5 }), /alpha = 1.5/);
    tf.dispose([s, t, y, mask, hand]);
  });

  it("leaks no tensors", async () => {
    const s = tf.randomNormal([2, 4, 9], 0, 1, "float32", 5) as tf.Tensor3D;
    const t = tf.randomNormal([2, 4, 9], 0, 1, "float32", 6) as tf.Tensor3D;
    const y = tf.zeros([2, 4], "int32") as tf.Tensor2D;
    await expectNoLeak(() => {
      distillationLoss(s, t, y, { temperature: 2, alpha: 0.5 }).dispose();
      tf.grad((x: tf.Tensor) => distillationLoss(x as tf.Tensor3D, t, y, { temperature: 2, alpha: 0.5 }))(s).dispose();
    }, "distillationLoss and its gradient");
    tf.dispose([s, t, y]);
  });
});

/** Chat batches over a toy vocabulary: "questions" of random tokens, "answers" that copy them (mask on the answer). */
function toyBatches(n: number, seed: number): ChatBatch[] {
  let x = seed;
  const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, () =>
    collateChat(
      Array.from({ length: 4 }, () => {
        const q = Array.from({ length: 3 + Math.floor(rnd() * 3) }, () => 2 + Math.floor(rnd() * 20));
        const ids = [0, ...q, 1, ...q, 1];
        return { ids, lossMask: ids.map((_, i) => (i > q.length + 1 ? 1 : 0)) };
      }),
      16,
      0,
    ),
  );
}

class CycleSampler implements BatchSampler<ChatBatch> {
  private i = 0;
  constructor(private readonly all: readonly ChatBatch[]) {}
  next(): ChatBatch {
    return this.all[this.i++ % this.all.length];
  }
  state() {
    return this.i;
  }
  restore(s: unknown) {
    this.i = s as number;
  }
}

describe("train/distill: students and the white-box stage", () => {
  const cfg = gptConfig({ vocabSize: 24, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 });

  it("a student keeps its teacher's vocabulary and context, with the preset's smaller shape", () => {
    const s = studentConfig(cfg, "tiny-small");
    assert.deepStrictEqual([s.vocabSize, s.blockSize, s.nLayer, s.nEmbd], [24, 16, 1, 16]);
    const teacher = new GPT({ ...STUDENT_PRESETS["course-small"], nLayer: 4, nHead: 4, nEmbd: 128 });
    const student = new GPT(studentConfig(teacher.config, "course-small"));
    const ratio = student.numParameters() / teacher.numParameters();
    assert.ok(ratio > 0.2 && ratio < 0.3, `course-small has ${(100 * ratio).toFixed(1)}% of the course model's parameters (about a quarter wanted)`);
    teacher.dispose();
    student.dispose();
  });

  it("trains the student towards the teacher while the teacher stays frozen, without leaking tensors", async () => {
    const teacher = new GPT(cfg, { seed: 1 });
    const student = new GPT(studentConfig(cfg, "tiny-small"), { seed: 2 });
    const data = toyBatches(4, 7);
    const frozen = snapshotWeights(teacher.parameters());
    const studentBefore = snapshotWeights(student.parameters());
    const kl = async () => {
      const b = data[0];
      const shape: [number, number] = [b.batchSize, b.blockSize];
      const t = tf.tidy(() => {
        const x = tf.tensor2d(b.ids, shape, "int32");
        return distillationKL(student.forward(x), teacher.forward(x), 2, tf.tensor2d(b.mask, shape));
      });
      return scalar(t);
    };
    const klBefore = await kl();
    const stage = whiteBoxStage(student, teacher, { batches: new CycleSampler(data), validation: data.slice(0, 1) }, { temperature: 2, alpha: 1 });
    const counts: number[] = [];
    const r = await train(stage, { steps: 30, lr: 1e-2, runDir: null, progress: "none", evalEvery: 10, onStep: () => counts.push(tf.memory().numTensors) });
    assert.deepStrictEqual(changedWeights(teacher.parameters(), frozen), [], "the teacher's weights must not change");
    assert.strictEqual(changedWeights(student.parameters(), studentBefore).length, student.parameters().size, "every student weight trains");
    assert.ok((await kl()) < 0.5 * klBefore, `KL to the teacher should fall: ${klBefore} → ${await kl()}`);
    assert.ok(r.valLoss !== null && r.valLoss < r.history.val[0].loss);
    assert.strictEqual(new Set(counts.slice(2)).size, 1, `tensor count per step should be flat: ${counts.join(",")}`);
    teacher.dispose();
    student.dispose();
  });

  it("measures the hard-label loss on chat batches and the generation speed", async () => {
    const model = new GPT(cfg, { seed: 3 });
    const data = toyBatches(2, 9);
    const loss = await chatLoss(model, data);
    close(loss, Math.log(24), 0.3, "an untrained model scores about ln V");
    await expectNoLeak(async () => void (await chatLoss(model, data)), "chatLoss");
    assert.ok((await generationSpeed(model, [0, 5, 6], 8)) > 0);
    model.dispose();
  });

  it("refuses a student with another vocabulary", () => {
    const teacher = new GPT(cfg);
    const other = new GPT({ ...cfg, vocabSize: 30 });
    assert.throws(() => whiteBoxStage(other, teacher, { batches: new CycleSampler([]) }), /vocabSize 30 differs/);
    teacher.dispose();
    other.dispose();
  });
});
