/**
 * 结果的可信度: the statistics every accuracy table of the course reports.
 *
 * A held-out accuracy is a count k of right answers out of n questions, so it is uncertain: 12 of 40 and 90 of
 * 300 are both 30%, but the first could well be 16% or 46%. Every table that supports a claim therefore gives
 *   - n, the number of questions;
 *   - a 95% interval for the rate (Wilson's score interval: unlike p ± 1.96·√(p(1−p)/n) it stays inside [0, 1]
 *     and is honest at 0 and at 100%, where the course's rates often sit);
 *   - the base rate of the cheap answer (always the most common answer, or copying the question): a model
 *     that "scores 32%" where always answering 平声 scores 32% has learned nothing.
 * Two rates whose intervals overlap are reported as no difference.
 *
 * Wilson (1927), "Probable inference, the law of succession, and statistical inference".
 */

/** A rate with its 95% interval. */
export interface Rate {
  /** Right answers. */
  readonly k: number;
  /** Questions. */
  readonly n: number;
  /** k / n (NaN when n is 0). */
  readonly rate: number;
  /** Lower end of the interval. */
  readonly low: number;
  /** Upper end of the interval. */
  readonly high: number;
}

/** z of a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/**
 * Wilson's score interval for k successes in n trials.
 * @example wilson(0, 10)   // { rate: 0, low: 0, high: 0.278 }: zero of ten does not mean "never"
 *          wilson(90, 300) // { rate: 0.30, low: 0.251, high: 0.354 }
 */
export function wilson(k: number, n: number, z = Z95): Rate {
  if (!Number.isInteger(n) || n < 0) throw new Error(`wilson: n must be a whole number ≥ 0, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`wilson: k must be a whole number in [0, n=${n}], got ${k}`);
  if (n === 0) return { k, n, rate: NaN, low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At k = 0 and k = n the bounds are exactly 0 and 1; clamp the rounding.
  return { k, n, rate: p, low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half) };
}

/** A rate from a list of right/wrong outcomes. */
export function rateOf(outcomes: readonly boolean[]): Rate {
  return wilson(outcomes.filter(Boolean).length, outcomes.length);
}

/**
 * Whether two rates differ beyond their intervals (the intervals do not overlap). Overlapping intervals are
 * reported as "no difference": a conservative rule, easy to read off a table.
 */
export function clearlyDifferent(a: Rate, b: Rate): boolean {
  return a.high < b.low || b.high < a.low;
}

/**
 * The base rate of always giving the most common answer: what a model scores without knowing anything.
 * @example majorityBaseline(["平", "平", "仄"]) // { answer: "平", ...wilson(2, 3) }
 */
export function majorityBaseline(answers: readonly string[]): Rate & { readonly answer: string | null } {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [a, c] of counts) if (c > bestCount) [best, bestCount] = [a, c];
  return { answer: best, ...wilson(bestCount, answers.length) };
}

/**
 * A rate as a table cell: "62.3% [56.7–67.6]". With `withN`, "… n=300".
 * @example formatRate(wilson(90, 300)) // "30.0% [25.1–35.4]"
 */
export function formatRate(r: Rate, options: { withN?: boolean; digits?: number } = {}): string {
  const d = options.digits ?? 1;
  const pct = (x: number) => (100 * x).toFixed(d);
  const core = r.n === 0 ? "—" : `${pct(r.rate)}% [${pct(r.low)}–${pct(r.high)}]`;
  return options.withN ? `${core} n=${r.n}` : core;
}
