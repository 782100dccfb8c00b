/**
 * The learning-rate schedule: linear warmup, then cosine decay to a floor.
 *
 * Why warm up: at step 1 Adam's second-moment estimate is built from a single gradient, so its steps are large and
 * noisy; starting from a small learning rate lets the estimates settle before the full rate is applied.
 * Why decay: late in training smaller steps let the weights settle into a minimum instead of bouncing around it.
 * The cosine shape (Loshchilov and Hutter, "SGDR", 2017) decays slowly at first and last, fastest in the middle;
 * GPT-2/3 and nanoGPT use exactly this schedule, with a floor of about a tenth of the peak.
 *
 *   lr
 *   max ┤    ╭──╮
 *       │   ╱    ╲___
 *       │  ╱         ╲___
 *   min ┤ ╱              ╲______
 *       └─┴────────────────────┴──── step
 *         warmup              decaySteps
 */

export interface ScheduleConfig {
  /** Peak learning rate, reached at the end of warmup. */
  readonly maxLr: number;
  /** The floor the cosine decays to (often maxLr / 10). */
  readonly minLr: number;
  /** Steps of linear warmup from maxLr / warmupSteps up to maxLr (0: start at maxLr). */
  readonly warmupSteps: number;
  /** The step at which the cosine reaches minLr; the rate stays at minLr after it. Usually the run's total steps. */
  readonly decaySteps: number;
}

/** Checks a schedule once, at the boundary, with the offending value in the message. */
export function validateSchedule(c: ScheduleConfig): ScheduleConfig {
  const bad = (field: string, why: string): never => {
    throw new Error(`learning-rate schedule: ${field} = ${(c as unknown as Record<string, unknown>)[field]} ${why}`);
  };
  if (!(c.maxLr > 0) || !Number.isFinite(c.maxLr)) bad("maxLr", "must be a positive number");
  if (!(c.minLr >= 0) || c.minLr > c.maxLr) bad("minLr", `must be between 0 and maxLr (${c.maxLr})`);
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0) bad("warmupSteps", "must be a non-negative integer");
  if (!Number.isInteger(c.decaySteps) || c.decaySteps < c.warmupSteps) {
    bad("decaySteps", `must be an integer ≥ warmupSteps (${c.warmupSteps})`);
  }
  return Object.freeze({ ...c });
}

/**
 * The learning rate for optimizer step `step` (counted from 1, the first update).
 *
 * @example with { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, decaySteps: 110 }:
 *   step 1 → 1e-4 (1/10 of the peak), step 10 → 1e-3, step 60 → 5.5e-4 (halfway down the cosine),
 *   step 110 and later → 1e-4.
 */
export function learningRate(step: number, c: ScheduleConfig): number {
  if (!Number.isInteger(step) || step < 1) throw new Error(`learningRate: step must be an integer ≥ 1, got ${step}`);
  if (step <= c.warmupSteps) return (c.maxLr * step) / c.warmupSteps;
  if (step >= c.decaySteps) return c.minLr;
  const progress = (step - c.warmupSteps) / (c.decaySteps - c.warmupSteps); // 0 → 1
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress)); // 1 → 0
  return c.minLr + cosine * (c.maxLr - c.minLr);
}
