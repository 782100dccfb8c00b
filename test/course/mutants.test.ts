/**
 * Plausible wrong answers to the exercises of chapters 0 and 5, kept as edits of the reference solutions: each one
 * must fail the exercise it breaks (a grader that lets one through grades nothing). They are graded as one class
 * with the batch grader, one learner per mutant, which also exercises batch grading on many learners.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { type BatchRow, gradeSubmissions } from "../grade-batch";

const root = path.join(__dirname, "..", "..");

interface Mutant {
  readonly file: string;
  /** The exercise it must fail, by number ("5.3"). */
  readonly exercise: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

const MUTANTS: readonly Mutant[] = [
  { file: "00-tfjs.ts", exercise: "0.1", name: "axis 1", from: "tf.moments(x, 0)", to: "tf.moments(x, 1, true)" },
  { file: "00-tfjs.ts", exercise: "0.1", name: "sample std", from: "tf.sqrt(variance)", to: "tf.sqrt(tf.mul(variance, x.shape[0] / (x.shape[0] - 1)))" },
  { file: "00-tfjs.ts", exercise: "0.1", name: "no tidy std", from: "  return tf.tidy(() => {\n    const { mean, variance } = tf.moments(x, 0); // [F], [F]\n    return tf.div(tf.sub(x, mean), tf.sqrt(variance)) as tf.Tensor2D; // [N, F]\n  });", to: "  const { mean, variance } = tf.moments(x, 0);\n  return tf.div(tf.sub(x, mean), tf.sqrt(variance)) as tf.Tensor2D;" },
  { file: "00-tfjs.ts", exercise: "0.2", name: "sum loss", from: "tf.mean(tf.squaredDifference(", to: "tf.sum(tf.squaredDifference(" },
  { file: "00-tfjs.ts", exercise: "0.2", name: "no reshape (broadcast [N,1] vs [N])", from: "tf.matMul(xT, w).reshape([-1])", to: "tf.matMul(xT, w)" },
  { file: "00-tfjs.ts", exercise: "0.2", name: "sequential update", from: "      b.assign(tf.sub(b, tf.mul(grads[b.name], lr)));", to: "      b.assign(tf.sub(b, tf.mul(tf.variableGrads(() => tf.mean(tf.squaredDifference(predict(), yT)) as tf.Scalar, [b]).grads[b.name], lr)));" },
  { file: "00-tfjs.ts", exercise: "0.2", name: "no var dispose", from: "tf.dispose([xT, yT, w, b]);", to: "tf.dispose([xT, yT]);" },
  { file: "00-tfjs.ts", exercise: "0.2", name: "variable leak", from: "const b = tf.tidy(() => tf.variable(tf.scalar(0)));", to: "const b = tf.variable(tf.scalar(0));" },
  { file: "00-tfjs.ts", exercise: "0.2", name: "step leak", from: "    tf.tidy(() => {\n      const { grads }", to: "    ((f: () => void) => f())(() => {\n      const { grads }" },
  { file: "05-pretrain.ts", exercise: "5.1", name: "warmup from 0", from: "return (s.maxLr * step) / s.warmupSteps;", to: "return (s.maxLr * (step - 1)) / s.warmupSteps;" },
  { file: "05-pretrain.ts", exercise: "5.1", name: "decay to 0", from: "return s.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.maxLr - s.minLr);", to: "return 0.5 * (1 + Math.cos(Math.PI * progress)) * s.maxLr;" },
  { file: "05-pretrain.ts", exercise: "5.1", name: "progress over decaySteps", from: "const progress = (step - s.warmupSteps) / (s.decaySteps - s.warmupSteps);", to: "const progress = step / s.decaySteps;" },
  { file: "05-pretrain.ts", exercise: "5.1", name: "no floor after", from: "if (step >= s.decaySteps) return s.minLr;", to: "" },
  { file: "05-pretrain.ts", exercise: "5.2", name: "clip per tensor", from: "return { grads: tf.tidy(() => grads.map((g) => tf.mul(g, factor))), norm };", to: "return { grads: tf.tidy(() => grads.map((g) => { const n = tf.norm(g).dataSync()[0]; return tf.mul(g, n > maxNorm ? maxNorm / n : 1); })), norm };" },
  { file: "05-pretrain.ts", exercise: "5.2", name: "clip always", from: "const factor = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;", to: "const factor = maxNorm / (norm + 1e-6);" },
  { file: "05-pretrain.ts", exercise: "5.2", name: "norm after clip", from: "return { grads: tf.tidy(() => grads.map((g) => tf.mul(g, factor))), norm };", to: "return { grads: tf.tidy(() => grads.map((g) => tf.mul(g, factor))), norm: Math.min(norm, maxNorm) };" },
  { file: "05-pretrain.ts", exercise: "5.2", name: "clip leak", from: "return { grads: tf.tidy(() => grads.map((g) => tf.mul(g, factor))), norm };", to: "return { grads: grads.map((g) => tf.mul(tf.mul(g, 1), factor)), norm };" },
  { file: "05-pretrain.ts", exercise: "5.3", name: "decay on gradient", from: "const m2 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));", to: "g = tf.add(g, tf.mul(w, h.weightDecay)); h = { ...h, weightDecay: 0 };\n    const m2 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));" },
  { file: "05-pretrain.ts", exercise: "5.3", name: "no bias correction", from: "const mHat = tf.div(m2, 1 - h.beta1 ** t);", to: "const mHat = m2;" },
  { file: "05-pretrain.ts", exercise: "5.3", name: "no v bias correction", from: "const vHat = tf.div(v2, 1 - h.beta2 ** t);", to: "const vHat = v2;" },
  { file: "05-pretrain.ts", exercise: "5.3", name: "eps inside sqrt", from: "tf.add(tf.sqrt(vHat), h.eps)", to: "tf.sqrt(tf.add(vHat, h.eps))" },
  { file: "05-pretrain.ts", exercise: "5.3", name: "decay after step", from: "const w2 = tf.sub(tf.mul(w, 1 - lr * h.weightDecay), step);", to: "const w2 = tf.mul(tf.sub(w, step), 1 - lr * h.weightDecay);" },
  { file: "05-pretrain.ts", exercise: "5.3", name: "decay without lr", from: "const w2 = tf.sub(tf.mul(w, 1 - lr * h.weightDecay), step);", to: "const w2 = tf.sub(tf.mul(w, 1 - h.weightDecay), step);" },
  { file: "05-pretrain.ts", exercise: "5.4", name: "topk no renorm", from: "return out.map((x) => x / sum);", to: "return out;" },
  { file: "05-pretrain.ts", exercise: "5.4", name: "topk ascending", from: "return p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b);", to: "return p.map((_, i) => i).sort((a, b) => p[b] - p[a] || b - a);" },
  { file: "05-pretrain.ts", exercise: "5.4", name: "softmax no max", from: "const e = logits.map((x) => Math.exp(x - max));", to: "const e = logits.map((x) => Math.exp(x));" },
  { file: "05-pretrain.ts", exercise: "5.5", name: "topp excludes crossing", from: "    keep.push(i);\n    mass += probs[i];\n    if (mass >= p - 1e-12) break;", to: "    mass += probs[i];\n    if (mass > p) break;\n    keep.push(i);" },
  { file: "05-pretrain.ts", exercise: "5.5", name: "topp strict >", from: "if (mass >= p - 1e-12) break;", to: "if (mass > p) break;" },
  { file: "05-pretrain.ts", exercise: "5.5", name: "topp on logits", from: "const probs = softmax(logits);\n  const keep", to: "const probs = logits.map(Math.exp);\n  const keep" },
];

describe("course: wrong answers to chapters 0 and 5 fail their exercises", function () {
  this.timeout(30 * 60_000);

  it(`each of ${MUTANTS.length} mutants of the reference solutions fails the exercise it breaks`, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tiaoyu-mutants-"));
    const learners = new Map<string, Mutant>();
    MUTANTS.forEach((m, i) => {
      const solution = fs.readFileSync(path.join(root, "solutions", m.file), "utf8");
      assert.strictEqual(solution.split(m.from).length, 2, `mutant '${m.name}': its text must occur once in solutions/${m.file}`);
      const learner = `m${String(i).padStart(2, "0")}`;
      const chapter = m.file.slice(0, 2); // one class per chapter, so each learner loads only that chapter's spec
      fs.mkdirSync(path.join(tmp, chapter, learner), { recursive: true });
      fs.writeFileSync(path.join(tmp, chapter, learner, m.file), solution.replace(m.from, () => m.to));
      learners.set(learner, m);
    });
    const rows: BatchRow[] = [];
    for (const chapter of [...new Set(MUTANTS.map((m) => m.file.slice(0, 2)))]) {
      rows.push(...(await gradeSubmissions({ submissions: path.join(tmp, chapter), out: path.join(tmp, "out", chapter), chapters: [chapter], timeLimitS: 60 })));
    }
    const survivors = [...learners].filter(([learner, m]) => {
      const row = rows.find((r) => r.learner === learner && r.exercise.startsWith(m.exercise + " "));
      assert.ok(row, `no grade for exercise ${m.exercise} of mutant '${m.name}'`);
      return row.points > 0;
    }).map(([, m]) => `${m.exercise} '${m.name}'`);
    assert.deepStrictEqual(survivors, [], `wrong answers that still earn points: ${survivors.join(", ")}`);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});
