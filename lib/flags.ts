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

/**
 * Runs a command's training with Ctrl-C wired to `signal`: the first Ctrl-C lets the current step finish and a
 * checkpoint be written (the loop watches the signal), a second one exits at once (the last checkpoint is intact).
 * @example await stopOnCtrlC((signal) => runPretraining({ tokenizer, signal }))
 */
export async function stopOnCtrlC<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    console.error("\nstopping after this step (Ctrl-C again to quit at once)…");
    stop.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    return await run(stop.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}
