/** `npx tiaoyu backend`: which TensorFlow.js backend would be used, and why. */
import { initBackend } from "../backend";

export async function backendCommand(): Promise<void> {
  await initBackend();
}
