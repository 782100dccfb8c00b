/**
 * Reading command-line flags of the `npx tiaoyu …` commands (parsed with node:util's parseArgs).
 */

/**
 * A numeric flag's value, or undefined when the flag was not given; a clear error when it is not a number.
 * @example numberFlag("steps", "200") → 200;  numberFlag("lr", "fast") → Error "--lr fast: not a number"
 */
export function numberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (!Number.isFinite(x)) throw new Error(`--${flag} ${value}: not a number`);
  return x;
}
