/**
 * Reading command-line flags of the `npx tiaoyu …` commands (parsed with node:util's parseArgs), and stopping a
 * long command cleanly on Ctrl-C.
 */
import { parseArgs, type ParseArgsConfig } from "util";

/** What a numeric flag may be: an integer or any finite number, and its range (inclusive). */
export interface NumberRule {
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/**
 * A numeric flag's value, or undefined when the flag was not given; a clear error when it is not a number, not an
 * integer where one is needed, or out of range.
 * @example numberFlag("steps", "200", { integer: true, min: 1 }) → 200
 *          numberFlag("lr", "fast") → Error "--lr fast: not a number"
 *          numberFlag("steps", "-5", { integer: true, min: 1 }) → Error "--steps -5: must be an integer from 1 to …"
 */
export function numberFlag(flag: string, value: string | undefined, rule: NumberRule = {}): number | undefined {
  if (value === undefined) return undefined;
  const x = value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(x)) throw new UsageError(`--${flag} ${value}: not a number`);
  const { integer = false, min = -Infinity, max = Infinity } = rule;
  const range =
    min > -Infinity && max < Infinity
      ? `from ${min.toLocaleString("en-US")} to ${max.toLocaleString("en-US")}`
      : min > -Infinity
        ? `≥ ${min.toLocaleString("en-US")}`
        : max < Infinity
          ? `≤ ${max.toLocaleString("en-US")}`
          : "";
  const what = `${integer ? "an integer" : "a number"}${range ? " " + range : ""}`;
  if ((integer && !Number.isInteger(x)) || x < min || x > max) throw new UsageError(`--${flag} ${value}: must be ${what}`);
  return x;
}

/**
 * How many Ctrl-C (or SIGTERM) a stopping run takes before it quits without waiting: the first asks the loop to
 * stop after its step and write a checkpoint, the second only says that the checkpoint is being written, the third
 * quits at once (the previous checkpoint is intact: saves are atomic), for a save that hangs.
 */
const QUIT_AT = 3;

/**
 * Runs a command's training with Ctrl-C and SIGTERM wired to `signal`: the first lets the current step finish and
 * a checkpoint be written (the loop watches the signal every step); a second one, while that happens, says that it
 * is waiting for the checkpoint instead of throwing the last steps away; only a third quits at once.
 * @example await stopOnCtrlC((signal) => runPretraining({ tokenizer, signal }))
 */
export async function stopOnCtrlC<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  let count = 0;
  const onSignal = (name: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      console.error(`\n${name}: stopping after this step, then writing a checkpoint…`);
      stop.abort();
    } else if (count < QUIT_AT) {
      console.error(`\n${name}: still stopping — waiting for the step to finish and its checkpoint to be written (again to quit at once and lose the steps since the last checkpoint)`);
    } else {
      console.error(`\n${name}: quitting without the checkpoint; the previous checkpoint is intact`);
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await run(stop.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The flags every training command shares for its run folder (spread into parseArgs' options). */
export const RUN_FLAGS = {
  resume: { type: "boolean" },
  fresh: { type: "boolean" },
  "delete-old": { type: "boolean" },
  "accept-changes": { type: "boolean" },
} as const;

export const RUN_FLAGS_USAGE = `  --resume               continue from the last checkpoint in the run folder (an error when there is none)
  --fresh                start over although the run folder holds a run: the old one is moved to <folder>.old-N
  --delete-old           with --fresh: delete the old run instead of moving it aside
  --accept-changes       with --resume: continue although --steps, --lr, --batch-size, … differ from the checkpoint's`;

/**
 * The loop's run-folder options from the shared flags: `--resume` must find a checkpoint, `--fresh` keeps the old
 * run aside unless `--delete-old` says otherwise.
 */
export function runFlags(values: { resume?: boolean; fresh?: boolean; "delete-old"?: boolean; "accept-changes"?: boolean }): {
  resume: boolean | "required";
  fresh: boolean | "delete";
  acceptChanges: boolean;
} {
  if (values.resume && values.fresh) throw new UsageError("--resume and --fresh: continue the run or start over, not both");
  if (values["delete-old"] && !values.fresh) throw new UsageError("--delete-old only goes with --fresh (it deletes the run that --fresh replaces)");
  if (values["accept-changes"] && !values.resume) throw new UsageError("--accept-changes only goes with --resume");
  return {
    resume: values.resume ? "required" : false,
    fresh: values.fresh ? (values["delete-old"] ? "delete" : true) : false,
    acceptChanges: values["accept-changes"] ?? false,
  };
}

/** The arguments of the command that resumes a stopped run: the same ones, with --resume instead of --fresh. */
export function resumeCommand(command: string, args: readonly string[]): string {
  const keep = args.filter((a) => !["--resume", "--fresh", "--delete-old"].includes(a));
  return ["npx tiaoyu", command, "--resume", ...keep].join(" ");
}

/** A mistake in how a command was called: the CLI prints it with a pointer to --help and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Edit distance, for "did you mean": `--step` is one edit from `--steps`. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

/**
 * The valid name nearest to `name`, when it is near enough to be a likely typo (or a prefix of exactly one name).
 * @example nearest("step", ["steps", "lr"]) → "steps";  nearest("xyz", ["steps", "lr"]) → null
 */
export function nearest(name: string, valid: readonly string[]): string | null {
  const prefixed = valid.filter((v) => v.startsWith(name));
  if (name.length >= 2 && prefixed.length === 1) return prefixed[0];
  let best: string | null = null;
  let bestD = Infinity;
  for (const v of valid) {
    const d = distance(name, v);
    if (d < bestD) (best = v), (bestD = d);
  }
  return best !== null && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : null;
}

/** True for the ways people ask a program for help: `--help`, `-h`, `help`. */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h") || args[0] === "help";
}

type FlagOptions = NonNullable<ParseArgsConfig["options"]>;
/** What parseCommandFlags returns for a set of options: their values, typed as parseArgs types them. */
export type FlagValues<O extends FlagOptions> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>["values"];

/**
 * Parses a command's flags like the tools people know: `--help`, `-h` or `help` prints `usage` and returns null
 * (the command then exits 0); an unknown flag is named with the nearest valid one; `--steps -5` reaches the number
 * check (parseArgs alone calls a value starting with "-" ambiguous) so that the message says what is allowed.
 * @example const values = parseCommandFlags("pretrain", args, { steps: { type: "string" } }, USAGE); if (!values) return;
 */
export function parseCommandFlags<const O extends FlagOptions>(command: string, args: readonly string[], options: O, usage: string): FlagValues<O> | null {
  const parsed = parseCommandArgs(command, args, options, usage, false);
  return parsed && parsed.values;
}

/** {@link parseCommandFlags} for a command that also takes positional arguments (`rlhf dpo`, `tokenizer encode TEXT`). */
export function parseCommandArgs<const O extends FlagOptions>(
  command: string,
  args: readonly string[],
  options: O,
  usage: string,
  allowPositionals = true,
): { values: FlagValues<O>; positionals: string[] } | null {
  if (wantsHelp(args)) {
    console.log(usage);
    return null;
  }
  const fixed: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const opt = a.startsWith("--") ? options[a.slice(2)] : undefined;
    if (opt?.type === "string" && i + 1 < args.length && /^-(\d|\.\d|Infinity)/.test(args[i + 1])) {
      fixed.push(`${a}=${args[++i]}`);
    } else fixed.push(a);
  }
  const hint = `(npx tiaoyu ${command} --help lists them)`;
  try {
    const { values, positionals } = parseArgs({ args: fixed, options, strict: true, allowPositionals });
    return { values: values as FlagValues<O>, positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-[^' ]*)/.exec(err.message)?.[1];
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) {
      const near = nearest(flag.replace(/^-+/, "").split("=")[0], Object.keys(options));
      throw new UsageError(`npx tiaoyu ${command}: unknown option ${flag}${near ? ` — did you mean --${near}?` : ""} ${hint}`);
    }
    if (err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const arg = /'([^']*)'/.exec(err.message)?.[1] ?? "";
      throw new UsageError(`npx tiaoyu ${command}: unexpected argument '${arg}' (options start with --) ${hint}`);
    }
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
      const name = flag.split(" ")[0];
      const type = options[name.replace(/^-+/, "")]?.type;
      throw new UsageError(`npx tiaoyu ${command}: ${name} ${type === "boolean" ? "takes no value" : "needs a value"} ${hint}`);
    }
    throw new UsageError(`npx tiaoyu ${command}: ${err.message} ${hint}`);
  }
}

/** The most steps a command accepts: the course's longest run is 10,000; more is a typo (a zero too many). */
export const MAX_STEPS = 10_000_000;
/** The largest batch a command accepts; the memory a batch needs is checked separately (lib/model/config.ts). */
export const MAX_BATCH_SIZE = 65_536;
