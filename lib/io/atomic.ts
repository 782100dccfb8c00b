/**
 * Atomic file writes: a file is either the old version or the complete new one, never half of each.
 *
 * The recipe (the same one databases and package managers use):
 *   1. write to a temporary file in the SAME folder (`.poems.jsonl.tmp-<pid>-<random>`),
 *   2. fsync it, so its bytes are on disk before anything points at them,
 *   3. rename it over the target: on POSIX a rename within one file system replaces the name in one step,
 *   4. fsync the folder, so the rename itself survives a power cut.
 * If anything throws before step 3, the temporary file is removed and the target is untouched.
 * A process killed outright (SIGKILL, power loss) cannot clean up after itself, so its temporary file stays
 * behind; the next atomic write to the same target removes temporary files whose process is gone.
 *
 * Used for datasets (chapter 1) and checkpoints (chapter 5): anything a later run will trust.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

const TEMP_MARK = ".tmp-";

/** The temporary name for `file`: hidden, in the same folder (rename only is atomic within one file system). */
function tempPathFor(file: string): string {
  const dir = path.dirname(file);
  const base = path.basename(file);
  return path.join(dir, `.${base}${TEMP_MARK}${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 checks existence without sending anything
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, but belongs to someone else
  }
}

/**
 * Removes temporary files left by earlier writers of `file` that were killed before they could clean up.
 * Only files whose writer process no longer exists are removed, so a concurrent writer is never disturbed.
 * @returns the paths removed
 */
export function sweepStaleTemps(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}${TEMP_MARK}`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || pidAlive(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
      removed.push(path.join(dir, name));
    } catch {
      // Someone else removed it first: fine.
    }
  }
  return removed;
}

/** fsync a folder so that a rename inside it is durable. Some platforms (Windows) cannot open folders: skip there. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Not supported on this platform; the rename is still atomic, only less durable across power loss.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644, before the umask). */
  readonly mode?: number;
}

/**
 * Writes `data` to `file` atomically: afterwards `file` holds exactly `data`, or, if this throws, what it held before.
 * @example await writeFileAtomic("runs/base/meta.json", JSON.stringify(meta))
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const w = await openAtomic(file, options);
  try {
    await w.write(data);
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** The synchronous twin of {@link writeFileAtomic}, for small files written where `await` is not available. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  sweepStaleTemps(file);
  const tmp = tempPathFor(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, "wx", options.mode ?? 0o644);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(path.dirname(file));
}

/**
 * A file being written atomically, piece by piece. Nothing is visible at `path` until {@link commit};
 * {@link abort} (or any failure) throws the new content away and leaves the old file as it was.
 *
 *   const w = await openAtomic("datasets/poems/train.jsonl");
 *   try { for (const line of lines) await w.write(line + "\n"); await w.commit(); }
 *   catch (e) { await w.abort(); throw e; }
 *
 * or simply `await withAtomicFile(file, async (w) => { ... })`.
 */
export class AtomicFile {
  /** Small writes are gathered into chunks of this many bytes: one system call per line would be slow. */
  private static readonly CHUNK = 1 << 16;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private state: "open" | "committed" | "aborted" = "open";
  private written = 0;

  private constructor(
    /** The target: where the file appears on commit. */
    readonly path: string,
    /** The temporary file the bytes go to until commit. */
    readonly tempPath: string,
    private readonly handle: fs.promises.FileHandle,
  ) {}

  /** Opens a temporary file next to `file` (creating the folder if needed). */
  static async open(file: string, options: AtomicWriteOptions = {}): Promise<AtomicFile> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    sweepStaleTemps(file);
    const tmp = tempPathFor(file);
    const handle = await fs.promises.open(tmp, "wx", options.mode ?? 0o644);
    return new AtomicFile(file, tmp, handle);
  }

  /** Bytes written so far (including those still buffered). */
  get bytesWritten(): number {
    return this.written;
  }

  /** Appends text (UTF-8) or bytes. Resolves once the data is buffered or written. */
  async write(data: string | Uint8Array): Promise<void> {
    if (this.state !== "open") throw new Error(`cannot write to ${this.path}: already ${this.state}`);
    // Small byte arrays are copied (the caller may reuse them once we return); large ones, such as a
    // checkpoint's weights, are written straight through without a copy.
    const big = typeof data !== "string" && data.byteLength >= AtomicFile.CHUNK;
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : big ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    this.written += buf.length;
    if (this.pendingBytes >= AtomicFile.CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    let off = 0;
    while (off < chunk.length) off += (await this.handle.write(chunk, off, chunk.length - off)).bytesWritten;
  }

  /** Flushes, fsyncs and renames the temporary file over the target. After this the new content is the file. */
  async commit(): Promise<void> {
    if (this.state !== "open") throw new Error(`cannot commit ${this.path}: already ${this.state}`);
    try {
      await this.flush();
      await this.handle.sync();
      await this.handle.close();
      await fs.promises.rename(this.tempPath, this.path);
    } catch (e) {
      await this.abort();
      throw e;
    }
    this.state = "committed";
    fsyncDirSync(path.dirname(this.path));
  }

  /** Throws the new content away: closes and removes the temporary file. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "aborted";
    this.pending = [];
    await this.handle.close().catch(() => undefined); // may already be closed by a failed commit
    await fs.promises.rm(this.tempPath, { force: true });
  }
}

/** Opens `file` for an atomic, streaming write. See {@link AtomicFile}. */
export function openAtomic(file: string, options: AtomicWriteOptions = {}): Promise<AtomicFile> {
  return AtomicFile.open(file, options);
}

/**
 * Runs `fn` with an atomic file for `file`, commits when `fn` resolves and aborts when it throws.
 * @example await withAtomicFile("out.bin", async (w) => { await w.write(header); await w.write(body); })
 */
export async function withAtomicFile<T>(file: string, fn: (w: AtomicFile) => Promise<T>, options: AtomicWriteOptions = {}): Promise<T> {
  const w = await openAtomic(file, options);
  try {
    const result = await fn(w);
    await w.commit();
    return result;
  } catch (e) {
    await w.abort();
    throw e;
  }
}
