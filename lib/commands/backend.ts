/** `npx tiaoyu backend`: which TensorFlow.js backend would be used, and why. */
import { initBackend } from "../backend";
import { UsageError, wantsHelp } from "../flags";

export async function backendCommand(args: readonly string[] = []): Promise<void> {
  if (wantsHelp(args)) {
    console.log("usage: npx tiaoyu backend\n\nPrints which TensorFlow.js backend would be used, and why (TIAOYU_BACKEND=wasm|cpu|tensorflow picks one).");
    return;
  }
  if (args.length) throw new UsageError(`npx tiaoyu backend takes no options, got ${args.join(" ")}`);
  await initBackend();
}
