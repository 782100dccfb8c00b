/**
 * Showing a training run while it happens: a progress bar in a terminal, one live loss chart in a notebook.
 *
 * A chart per step would bury a notebook under thousands of outputs, and a line per step scrolls a terminal's
 * useful information away; both are throttled and updated in place instead.
 */
import { inNotebook, LiveDisplay, plot } from "../display";

/** Where progress goes: "auto" picks "notebook" inside tslab, "bar" on a terminal, "lines" when piped (CI, logs). */
export type ProgressMode = "auto" | "notebook" | "bar" | "lines" | "none";

export interface ProgressSnapshot {
  readonly stage: string;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly valLoss: number | null;
  readonly lr: number;
  /** Training tokens per second since this run (or resume) started. */
  readonly tokensPerSecond: number;
  /** Seconds left at the current pace, or null before it can be estimated. */
  readonly etaSeconds: number | null;
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** One status line: "pretrain  120/1000  loss 3.214  val 3.402  lr 6.0e-4  2,345 tok/s  ETA 5:12". */
export function statusLine(p: ProgressSnapshot): string {
  const parts = [
    `${p.stage}  ${p.step}/${p.steps}`,
    `loss ${p.loss.toFixed(3)}`,
    p.valLoss === null ? "" : `val ${p.valLoss.toFixed(3)}`,
    `lr ${p.lr.toExponential(1)}`,
    `${Math.round(p.tokensPerSecond).toLocaleString("en-US")} tok/s`,
    p.etaSeconds === null ? "" : `ETA ${formatDuration(p.etaSeconds)}`,
  ];
  return parts.filter(Boolean).join("  ");
}

function bar(fraction: number, width = 24): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return "[" + "#".repeat(full) + "-".repeat(width - full) + "]";
}

/** Receives every step and every evaluation; draws at most every `intervalMs`, and always at the end. */
export class TrainingProgress {
  private readonly mode: Exclude<ProgressMode, "auto">;
  private readonly train: { x: number[]; y: number[] } = { x: [], y: [] };
  private readonly val: { x: number[]; y: number[] } = { x: [], y: [] };
  private live: LiveDisplay | null = null;
  private lastDraw = 0;
  private last: ProgressSnapshot | null = null;
  private barShown = false;
  private lastLine = "";

  private readonly intervalMs: number;

  /**
   * @param intervalMs least time between draws. Default: 1 s for a terminal bar, 10 s for logged lines, and 5 s in a
   * notebook, where each draw is a message to Jupyter: tslab crashes ("Socket is busy writing") when its own status
   * message meets one of ours still being sent, which frequent large charts made likely in long cells.
   */
  constructor(mode: ProgressMode, intervalMs?: number) {
    this.mode = mode !== "auto" ? mode : inNotebook() ? "notebook" : process.stderr.isTTY ? "bar" : "lines";
    this.intervalMs = intervalMs ?? (this.mode === "lines" ? 10_000 : this.mode === "notebook" ? 5_000 : 1_000);
  }

  /** Earlier points of the curves (from the log of a resumed run), so the chart shows the whole run. */
  seed(train: readonly { step: number; loss: number }[], val: readonly { step: number; loss: number }[]): void {
    for (const r of train) this.train.x.push(r.step), this.train.y.push(r.loss);
    for (const r of val) this.val.x.push(r.step), this.val.y.push(r.loss);
  }

  step(p: ProgressSnapshot): void {
    this.train.x.push(p.step);
    this.train.y.push(p.loss);
    this.last = p;
    if (Date.now() - this.lastDraw >= this.intervalMs) this.draw();
  }

  evaluated(step: number, loss: number): void {
    this.val.x.push(step);
    this.val.y.push(loss);
    if (this.last) this.last = { ...this.last, valLoss: loss };
    this.draw();
  }

  /** Draws the final state and ends the terminal's bar line. */
  finish(message?: string): void {
    this.draw();
    if (this.mode === "bar" && this.barShown) process.stderr.write("\n");
    if (message && this.mode !== "none") {
      if (this.mode === "notebook") this.live?.plot(this.traces(), this.layout(message));
      else console.log(message);
    }
  }

  /** The live chart's curves; the training curve averaged down to at most LIVE_POINTS points, to keep messages small. */
  private traces() {
    return lossTraces(thin(this.train, LIVE_POINTS), this.val);
  }

  private layout(title: string) {
    return lossLayout(title);
  }

  private draw(): void {
    const p = this.last;
    if (!p || this.mode === "none") return;
    const line = statusLine(p);
    if (line === this.lastLine) return; // nothing new since the last draw (e.g. finish right after the last step)
    this.lastLine = line;
    this.lastDraw = Date.now();
    if (this.mode === "notebook") {
      this.live ??= new LiveDisplay();
      this.live.plot(this.traces(), this.layout(line));
    } else if (this.mode === "bar") {
      process.stderr.write(`\r${bar(p.step / p.steps)} ${line}\x1b[K`);
      this.barShown = true;
    } else {
      console.log(line);
    }
  }
}

/** Points of the training curve the live chart sends at most. */
const LIVE_POINTS = 400;

/**
 * A curve of at most `max` points: consecutive points averaged in equal buckets (x: the bucket's last step).
 * @example thin({ x: [1, 2, 3, 4], y: [4, 2, 3, 1] }, 2) // { x: [2, 4], y: [3, 2] }
 */
export function thin(curve: { readonly x: readonly number[]; readonly y: readonly number[] }, max: number): { x: number[]; y: number[] } {
  const n = curve.x.length;
  if (n <= max) return { x: [...curve.x], y: [...curve.y] };
  const x: number[] = [];
  const y: number[] = [];
  for (let b = 0; b < max; b++) {
    const from = Math.floor((b * n) / max);
    const to = Math.floor(((b + 1) * n) / max);
    let sum = 0;
    for (let i = from; i < to; i++) sum += curve.y[i];
    x.push(curve.x[to - 1]);
    y.push(sum / (to - from));
  }
  return { x, y };
}

function lossTraces(train: { x: number[]; y: number[] }, val: { x: number[]; y: number[] }) {
  return [
    { type: "scatter", mode: "lines", name: "train", x: train.x, y: train.y },
    { type: "scatter", mode: "lines+markers", name: "validation", x: val.x, y: val.y },
  ];
}

function lossLayout(title: string) {
  return { title: { text: title, font: { size: 13 } }, xaxis: { title: { text: "step" } }, yaxis: { title: { text: "loss (nats/token)" } } };
}

/** Draws a run's train and validation loss curves (e.g. from `readTrainingLog`), the chart the live display shows. */
export function plotLossCurves(
  history: { readonly train: readonly { step: number; loss: number }[]; readonly val: readonly { step: number; loss: number }[] },
  title = "loss",
): void {
  const xy = (rs: readonly { step: number; loss: number }[]) => ({ x: rs.map((r) => r.step), y: rs.map((r) => r.loss) });
  plot(lossTraces(xy(history.train), xy(history.val)), lossLayout(title));
}
