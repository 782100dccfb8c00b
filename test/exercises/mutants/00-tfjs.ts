/** Plausible wrong answers to chapter 0's exercises: each must fail its grader (test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import type * as S from "../../../solutions/00-tfjs";
import type { Mutant } from "../../grading";

/** Standardization with the statistics taken along `axis`, optionally the sample (N − 1) variance, optionally untidy. */
const standardize = (o: { axis: number; sample?: boolean; tidy?: boolean }) => (x: tf.Tensor2D): tf.Tensor2D => {
  const body = () => {
    const { mean, variance } = tf.moments(x, o.axis, o.axis !== 0);
    const n = x.shape[o.axis];
    return tf.div(tf.sub(x, mean), tf.sqrt(o.sample ? tf.mul(variance, n / (n - 1)) : variance)) as tf.Tensor2D;
  };
  return o.tidy === false ? body() : tf.tidy(body);
};

interface FitMistakes {
  sumLoss?: boolean; // tf.sum where the mean is asked
  noReshape?: boolean; // [N, 1] predictions against [N] targets broadcast to [N, N]
  sequential?: boolean; // b's gradient taken after w has moved
  keepVariables?: boolean; // w, b never disposed
  untidyVariable?: boolean; // tf.variable's initial value left alive
  untidyStep?: boolean; // each step's gradients and loss left alive
}

/** The reference fitLinear with one mistake switched on. */
const fit = (o: FitMistakes) => (X: number[][], y: number[], steps: number, lr: number): { w: number[]; b: number } => {
  const F = X[0].length;
  const xT = tf.tensor2d(X);
  const yT = tf.tensor1d(y);
  const w = tf.tidy(() => tf.variable(tf.zeros([F, 1])));
  const b = o.untidyVariable ? tf.variable(tf.scalar(0)) : tf.tidy(() => tf.variable(tf.scalar(0)));
  const predict = () => tf.add(o.noReshape ? tf.matMul(xT, w) : tf.matMul(xT, w).reshape([-1]), b);
  const loss = () => (o.sumLoss ? tf.sum : tf.mean)(tf.squaredDifference(predict(), yT)) as tf.Scalar;
  const step = () => {
    const { grads } = tf.variableGrads(loss, [w, b]);
    w.assign(tf.sub(w, tf.mul(grads[w.name], lr)));
    const gb = o.sequential ? tf.variableGrads(loss, [b]).grads[b.name] : grads[b.name];
    b.assign(tf.sub(b, tf.mul(gb, lr)));
  };
  for (let i = 0; i < steps; i++) (o.untidyStep ? step() : tf.tidy(step));
  const out = { w: Array.from(w.dataSync()), b: b.dataSync()[0] };
  tf.dispose(o.keepVariables ? [xT, yT] : [xT, yT, w, b]);
  return out;
};

export const mutants: Mutant<typeof S>[] = [
  { exercise: "0.1 standardizeColumns", mistake: "statistics along axis 1 (per row)", patch: { standardizeColumns: standardize({ axis: 1 }) } },
  { exercise: "0.1 standardizeColumns", mistake: "sample standard deviation (divides by N − 1)", patch: { standardizeColumns: standardize({ axis: 0, sample: true }) } },
  { exercise: "0.1 standardizeColumns", mistake: "no tf.tidy: the mean and variance stay alive", patch: { standardizeColumns: standardize({ axis: 0, tidy: false }) } },
  { exercise: "0.2 fitLinear", mistake: "sums the squared errors instead of averaging them", patch: { fitLinear: fit({ sumLoss: true }) } },
  { exercise: "0.2 fitLinear", mistake: "no reshape: [N, 1] predictions broadcast against [N] targets", patch: { fitLinear: fit({ noReshape: true }) } },
  { exercise: "0.2 fitLinear", mistake: "b's gradient taken after w was updated", patch: { fitLinear: fit({ sequential: true }) } },
  { exercise: "0.2 fitLinear", mistake: "never disposes the variables", patch: { fitLinear: fit({ keepVariables: true }) } },
  { exercise: "0.2 fitLinear", mistake: "tf.variable's initial value left alive (not made in tf.tidy)", patch: { fitLinear: fit({ untidyVariable: true }) } },
  { exercise: "0.2 fitLinear", mistake: "each step's gradients left alive (no tf.tidy around the step)", patch: { fitLinear: fit({ untidyStep: true }) } },
];
